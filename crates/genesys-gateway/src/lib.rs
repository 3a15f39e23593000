//! genesys-gateway: the one door from ccbridge to Genesys Cloud. Agent and wrap-up code names
//! (cached, coalesced, rate limited, retried) for result-ingest, and Genesys' GDPR API as a GDPR
//! participant, for gdpr-orchestrator alone (signed calls), and the ended conversations
//! result-ingest's sweep compares with what the webhook delivered, and a conversation's content
//! (transcripts, e-mail text) for result-ingest's content queue. Keeps no state of its own: no
//! database.

pub mod body;
pub mod content;
pub mod conversations;
pub mod error;
pub mod gdpr;
pub mod lookups;
pub mod metrics;
pub mod models;
pub mod oauth;
pub mod routes;
pub mod scopes;
pub mod settings;
pub mod upstream;

use actix_web::web;
use service_kit::startup::{Routes, ServiceContext, ServiceDefinition};
use std::sync::Arc;

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "genesys-gateway",
    default_config: include_str!("../configuration/defaults.toml"),
    scopes: scopes::ALL_SCOPES,
    migrations: None,
    openapi: routes::openapi,
    setup,
};

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    let settings = settings::load(context.settings)?;
    settings.validate().map_err(service_kit::configuration::invalid_all)?;
    let metrics = Arc::new(metrics::GatewayMetrics::register(context.metrics)?);
    let api = Arc::new(upstream::GenesysApi::new(&settings, metrics.clone())?);
    let roots = service_kit::tls::ca_bundle("genesys.ca_bundle", &settings.ca_bundle).map_err(anyhow::Error::msg)?;
    let content_settings = content::settings::load(context.settings)?;
    content_settings
        .validate()
        .map_err(service_kit::configuration::invalid_all)?;
    let downloads = content::download::TranscriptDownloads::new(
        content_settings.clone(),
        &roots,
        context.settings.application.environment,
        metrics.clone(),
    )?;
    let content = web::Data::new(content::ContentSource::new(
        api.clone(),
        downloads,
        &content_settings,
        &settings,
        metrics.clone(),
    ));
    let lookups = web::Data::new(lookups::Lookups::new(api.clone(), &settings, metrics));
    let api = web::Data::from(api);
    let verifier = gdpr_participant::verifier(context.settings)?;
    Ok(Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(lookups.clone())
            .app_data(api.clone())
            .app_data(content.clone());
        routes::config(cfg, verifier.clone());
    }))
}
