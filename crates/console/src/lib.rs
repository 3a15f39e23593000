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
    settings
        .validate(context.settings.application.environment)
        .map_err(service_kit::configuration::invalid_all)?;
    let key = settings
        .session_key()
        .map_err(|e| service_kit::configuration::invalid(&e))?;
    let provider = if settings.has_identity_provider() {
        Some(oidc::Oidc::new(settings.oidc.clone(), &settings.public_url)?)
    } else {
        None
    };
    let sign_in = web::Data::new(routes::sign_in::SignInMethods {
        provider,
        development: settings.development_sign_in,
    });
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
        cfg.app_data(sign_in.clone())
            .app_data(services.clone())
            .service(web::scope("").wrap(sessions).configure(routes::config));
    }))
}

#[cfg(test)]
mod tests {
    use service_kit::configuration::{Settings, SettingsSources};
    use service_kit::startup::ServiceContext;

    fn setup_error(overrides: &[(&str, &str)]) -> Option<String> {
        // Production keys in place of every development one (`keys` prints them).
        let mut all: Vec<(String, String)> = service_kit::cli::new_keys()
            .lines()
            .filter_map(|line| line.strip_prefix("APP__")?.split_once('='))
            .map(|(key, value)| (key.to_lowercase().replace("__", "."), value.to_owned()))
            .collect();
        all.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let settings = Settings::load(
            SettingsSources {
                service_defaults: super::SERVICE.default_config,
                file: None,
                environment: false,
                overrides: all,
            },
            super::SERVICE.scopes,
        )
        .unwrap();
        let metrics = prometheus::Registry::new();
        let context = ServiceContext {
            settings: &settings,
            metrics: &metrics,
            pool: None,
            background: None,
        };
        super::setup(&context).err().map(|e| format!("{e:#}"))
    }

    #[test]
    fn the_console_does_not_start_with_the_development_sign_in_outside_development() {
        let refused = setup_error(&[("console.development_sign_in", "true")]).unwrap();
        assert!(
            refused.contains("console.development_sign_in: refused outside development"),
            "{refused}"
        );
        assert_eq!(
            setup_error(&[
                ("console.development_sign_in", "true"),
                ("application.environment", "development")
            ]),
            None
        );
    }
}
