//! console: the web page of ccbridge for the people who run it. Server-rendered HTML (askama),
//! sign-in by OpenID Connect with PKCE, a signed and encrypted session cookie, a token on every
//! form. It holds no data of its own: it reads the services.

pub mod bundle_zip;
pub mod oidc;
pub mod routes;
pub mod services;
pub mod session;
pub mod settings;

use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::SameSite;
use actix_web::web;
use service_kit::startup::{Routes, ServiceContext, ServiceDefinition};
use std::sync::Arc;

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "console",
    default_config: include_str!("../configuration/defaults.toml"),
    scopes: &[],
    migrations: None,
    openapi: routes::openapi,
    setup,
};

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    // The identity provider's TLS uses ring, the provider the workspace's other clients compile in;
    // named so a second provider entering the tree cannot make the choice ambiguous. An error
    // only says one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings: settings::ConsoleSettings = context.settings.section("console")?;
    settings.validate().map_err(service_kit::configuration::invalid_all)?;
    let key = settings
        .session_key()
        .map_err(|e| service_kit::configuration::invalid(&e))?;
    let oidc = web::Data::new(oidc::Oidc::new(settings.oidc.clone(), &settings.public_url)?);
    let services = web::Data::new(services::Services::new(settings.services.clone())?);
    let session_length = actix_web::cookie::time::Duration::minutes(i64::try_from(settings.session_minutes)?);
    Ok(Arc::new(move |cfg: &mut web::ServiceConfig| {
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name("ccbridge_console".to_owned())
            .cookie_secure(true)
            .cookie_http_only(true)
            // Lax: the identity provider's redirect back is a top-level GET that must carry it.
            .cookie_same_site(SameSite::Lax)
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(PersistentSession::default().session_ttl(session_length))
            .build();
        cfg.app_data(oidc.clone())
            .app_data(services.clone())
            .service(web::scope("").wrap(sessions).configure(routes::config));
    }))
}
