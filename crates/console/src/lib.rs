//! console: the web page of ccbridge for the people who run it. Server-rendered HTML (askama),
//! sign-in by OpenID Connect with PKCE, sessions kept on the server (its own database) behind a
//! signed and encrypted cookie, a token on every form. It holds no other data of its own: it
//! reads the services.

pub mod bank_time;
pub mod bundle_zip;
pub mod charts;
pub mod oidc;
pub mod renewal;
pub mod routes;
pub mod schema;
pub mod services;
pub mod session;
pub mod session_store;
pub mod settings;

use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::SessionMiddleware;
use actix_web::cookie::SameSite;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use service_kit::database::Migrations;
use service_kit::startup::{Routes, ServiceContext, ServiceDefinition};
use std::sync::Arc;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite/console");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres/console");

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "console",
    default_config: include_str!("../configuration/defaults.toml"),
    scopes: &[],
    migrations: Some(Migrations {
        sqlite: || SQLITE_MIGRATIONS,
        postgres: || POSTGRES_MIGRATIONS,
        append_only: &[],
    }),
    openapi: routes::openapi,
    setup,
};

/// How often ended and expired sessions are deleted.
const HOUSEKEEPING_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The headers every page carries: what the browser may load, frame, post to and send on.
/// `form-action` names the identity provider too: a form posted after the session ended is
/// sent on to sign-in there, and Chromium checks the redirects a form's post follows.
fn security_headers(https: bool, provider: Option<&url::Url>) -> DefaultHeaders {
    let form_action = provider.map_or_else(
        || "'self'".to_owned(),
        |issuer| format!("'self' {}", issuer.origin().ascii_serialization()),
    );
    let mut headers = DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            format!("default-src 'self'; frame-ancestors 'none'; form-action {form_action}; base-uri 'none'"),
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        // Pages hold personal data: never kept by the browser or a proxy. The stylesheet says
        // otherwise itself (DefaultHeaders leaves a header the response has).
        .add(("Cache-Control", "no-store"));
    if https {
        headers = headers.add(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"));
    }
    headers
}

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    // The identity provider's TLS uses ring, the provider the workspace's other clients compile in;
    // named so a second provider entering the tree cannot make the choice ambiguous. An error
    // only says one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = settings::ConsoleSettings::load(context.settings)?;
    settings
        .validate(context.settings.application.environment)
        .map_err(service_kit::configuration::invalid_all)?;
    let key = settings
        .session_key()
        .map_err(|e| service_kit::configuration::invalid(&e))?;
    let provider = settings
        .identity_provider()
        .map(|issuer| oidc::Oidc::new(settings.oidc.clone(), issuer.clone(), &settings.public_url))
        .transpose()?;
    let issuer = settings.identity_provider().map(|issuer| issuer.url().clone());
    let Some(pool) = context.pool else {
        // `check-config`: the settings are checked; nothing is served.
        return Ok(Arc::new(|_: &mut web::ServiceConfig| {}));
    };
    let lifetimes = session_store::Lifetimes {
        session: time::Duration::minutes(i64::from(settings.session_minutes.get())),
        idle: time::Duration::minutes(i64::from(settings.idle_minutes.get())),
    };
    let store = session_store::DbSessionStore::new(pool.clone(), key.master(), lifetimes)?;
    if let Some(background) = context.background {
        let store = store.clone();
        background.spawn("session housekeeping", move |shutdown, health| {
            store.keep_house(HOUSEKEEPING_EVERY, shutdown, health)
        });
    }
    let sign_in = web::Data::new(routes::sign_in::SignInMethods {
        provider,
        development: settings.development_sign_in,
        public_url: settings.public_url.clone(),
    });
    let services = web::Data::new(services::Services::new(&settings.services, &settings.oidc.ca_bundle)?);
    let bank_time = web::Data::new(settings.time_zone.clone());
    let session_length = actix_web::cookie::time::Duration::minutes(i64::from(settings.session_minutes.get()));
    let https = settings.is_https();
    // Over https the `__Host-` prefix: the browser takes the cookie only Secure, from this host,
    // for every path, and no sibling domain can set one in its place.
    let cookie_name = if https {
        "__Host-ccbridge_console"
    } else {
        "ccbridge_console"
    };
    Ok(Arc::new(move |cfg: &mut web::ServiceConfig| {
        let sessions = SessionMiddleware::builder(store.clone(), key.clone())
            .cookie_name(cookie_name.to_owned())
            .cookie_secure(true)
            .cookie_http_only(true)
            .cookie_path("/".to_owned())
            // Lax: the identity provider's redirect back is a top-level GET that must carry it.
            .cookie_same_site(SameSite::Lax)
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(PersistentSession::default().session_ttl(session_length))
            .build();
        cfg.app_data(sign_in.clone())
            .app_data(services.clone())
            .app_data(bank_time.clone())
            // For the renewal's compare-and-set (renewal.rs).
            .app_data(web::Data::new(store.clone()))
            .service(
                web::scope("")
                    .wrap(actix_web::middleware::from_fn(renewal::renew))
                    .wrap(sessions)
                    .wrap(actix_web::middleware::from_fn(session_store::passive))
                    .wrap(security_headers(https, issuer.as_ref()))
                    .configure(routes::config),
            );
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

    #[test]
    fn a_setting_that_does_not_parse_stops_the_console_naming_its_key() {
        for (key, value) in [
            ("console.oidc.resource", "no such place"),
            ("console.oidc.issuer", "no such place"),
            ("console.public_url", "console.bank.example"),
            ("console.services.result_ingest_url", "no such place"),
            ("console.idle_minutes", "0"),
            ("console.time_zone", "Europe/Atlantis"),
        ] {
            let refused = setup_error(&[(key, value)]).unwrap_or_default();
            println!("{refused}");
            assert!(refused.contains(&format!("{key}: ")), "{key}: {refused}");
            assert!(
                value.len() < 3 || !refused.contains(value),
                "{key}: the value is not shown: {refused}"
            );
        }
    }
}
