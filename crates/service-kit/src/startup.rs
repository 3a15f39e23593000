//! Building and running a service: one `App` shape for every service, so `main`, `devstack` and
//! tests mount routes, middleware and error handling identically.

use crate::auth::Callers;
use crate::configuration::Settings;
use crate::database::{run_pending_migrations, DbPool, Migrations};
use crate::extract::{json_config, path_config, query_config, BodyLimit};
use crate::health;
use crate::problem::{ApiError, Problem, PROBLEM_JSON};
use actix_web::dev::{Server, ServerHandle, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;
use std::net::TcpListener;
use tracing_actix_web::TracingLogger;

/// What makes a service itself; everything else comes from the kit.
pub struct ServiceDefinition {
    /// Binary and service name (`interaction-pairing`); also the telemetry service name.
    pub name: &'static str,
    /// The service's embedded default settings (TOML), applied over the shared base defaults.
    pub default_config: &'static str,
    /// Every scope the service's routes require.
    pub scopes: &'static [&'static str],
    pub migrations: Migrations,
    /// Mounts the service's routes (each route module's `config`).
    pub routes: fn(&mut web::ServiceConfig),
}

/// How the server reacts to the process' signals: binaries stop gracefully on SIGTERM; tests and
/// devstack (several servers in one process) stop through their handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signals {
    Handle,
    Ignore,
}

pub struct Application {
    port: u16,
    server: Server,
    pool: DbPool,
}

impl Application {
    /// Opens the pool, applies migrations when configured, binds the port (0 picks one) and
    /// prepares the server. Nothing is served until [`Application::run_until_stopped`].
    pub async fn build(
        service: &'static ServiceDefinition,
        settings: Settings,
        signals: Signals,
    ) -> anyhow::Result<Self> {
        let pool = DbPool::new(&settings.database)?;
        if settings.database.migrate_on_start {
            migrate(service, &pool).await?;
        }
        let listener = TcpListener::bind((
            settings.application.host.as_str(),
            settings.application.port,
        ))
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot bind {}:{}: {e}",
                settings.application.host,
                settings.application.port
            )
        })?;
        let port = listener.local_addr()?.port();

        let metrics = PrometheusMetricsBuilder::new("ccbridge")
            .registry(prometheus::Registry::new())
            .const_labels([("service".to_owned(), service.name.to_owned())].into())
            .endpoint("/metrics")
            // Label by route pattern, never by raw path: ids stay out of label values.
            .mask_unmatched_patterns("UNMATCHED")
            .build()
            .map_err(|e| anyhow::anyhow!("metrics could not be registered: {e}"))?;
        let callers = web::Data::new(Callers::from_settings(&settings.auth));
        let pool_data = web::Data::new(pool.clone());
        let body_limit = settings.application.max_body_bytes;

        let server = HttpServer::new(move || {
            App::new()
                .wrap(ErrorHandlers::new().default_handler(as_problem_json))
                .wrap(metrics.clone())
                .wrap(TracingLogger::default())
                .app_data(pool_data.clone())
                .app_data(callers.clone())
                .app_data(BodyLimit(body_limit))
                .app_data(json_config(body_limit))
                .app_data(path_config())
                .app_data(query_config())
                .configure(health::config)
                .configure(service.routes)
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::NotFound(
                        "no such route".to_owned(),
                    ))
                }))
        })
        .listen(listener)?
        .shutdown_timeout(settings.application.shutdown_timeout_seconds);
        let server = match signals {
            Signals::Handle => server.run(),
            Signals::Ignore => server.disable_signals().run(),
        };
        tracing::info!(
            service = service.name,
            port,
            database = pool.backend().name(),
            "service listening"
        );
        Ok(Self { port, server, pool })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Stops the server gracefully (in-flight requests finish) when asked.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Applies pending migrations on a blocking thread.
pub async fn migrate(
    service: &'static ServiceDefinition,
    pool: &DbPool,
) -> anyhow::Result<Vec<String>> {
    let pool = pool.clone();
    let applied = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut connection = pool.get_blocking()?;
        run_pending_migrations(&mut connection, service.name, &service.migrations)
    })
    .await??;
    if applied.is_empty() {
        tracing::debug!(service = service.name, "database schema is up to date");
    } else {
        tracing::info!(service = service.name, applied = ?applied, "applied database migrations");
    }
    Ok(applied)
}

/// Gives every error response a problem+json body: actix's own 404/405/413 and any response
/// built without one. Responses that already are problem+json pass through unchanged.
fn as_problem_json<B>(response: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let preserved: Vec<_> = [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER]
        .into_iter()
        .filter_map(|name| {
            response
                .headers()
                .get(&name)
                .map(|value| (name, value.clone()))
        })
        .collect();
    let (request, _) = response.into_parts();
    let mut problem = Problem::for_status(status).to_response();
    for (name, value) in preserved {
        problem.headers_mut().insert(name, value);
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, problem).map_into_right_body(),
    ))
}
