//! Building and running a service: one `App` shape for every service, so `main`, `devstack` and
//! tests mount routes, middleware and error handling identically.

use crate::auth::Callers;
use crate::background::{Background, TaskHealth};
use crate::configuration::Settings;
use crate::database::{grant_runtime_role, run_pending_migrations, DbPool, Migrations};
use crate::extract::{json_config, path_config, query_config, BodyLimit};
use crate::health;
use crate::problem::ProblemResponse as _;
use crate::problem::{ApiError, Problem, PROBLEM_JSON};
use crate::telemetry::RootSpan;
use actix_web::dev::{Server, ServerHandle, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;
use std::net::TcpListener;
use std::sync::Arc;
use tracing_actix_web::TracingLogger;

/// What makes a service itself; everything else comes from the kit.
pub struct ServiceDefinition {
    /// Binary and service name (`interaction-pairing`); also the telemetry service name.
    pub name: &'static str,
    /// The service's embedded default settings (TOML), applied over the shared base defaults.
    pub default_config: &'static str,
    /// Every scope the service's routes require.
    pub scopes: &'static [&'static str],
    /// The service's migrations; `None` for a service without a database.
    pub migrations: Option<Migrations>,
    /// The service's own operations and schemas (`#[derive(utoipa::OpenApi)]`); the kit adds the
    /// shared parts ([`crate::openapi::describe`]) and serves it at `/openapi.json`.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// Builds the service's own state once (clients, caches, metrics) and returns what mounts
    /// its routes, so each route module's `config` can register that state as app data.
    pub setup: fn(&ServiceContext<'_>) -> anyhow::Result<Routes>,
}

/// Mounts a service's routes on each worker's `App`.
pub type Routes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// What a service's `setup` may build on.
pub struct ServiceContext<'a> {
    pub settings: &'a Settings,
    /// The registry `/metrics` serves; register the service's own metrics here.
    pub metrics: &'a prometheus::Registry,
    pub pool: Option<&'a DbPool>,
    /// Where to start background work; `None` when nothing will be served (`check-config`).
    pub background: Option<&'a Background>,
}

/// `setup` for a service whose routes need nothing but the shared app data.
pub fn routes_only(config: fn(&mut web::ServiceConfig)) -> anyhow::Result<Routes> {
    Ok(Arc::new(config))
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
    /// The `/metrics`-only server on `application.metrics_port`, when configured.
    metrics_server: Option<(u16, Server)>,
    pool: Option<DbPool>,
    background: Arc<Background>,
    shutdown_timeout: std::time::Duration,
}

impl Application {
    /// Opens the pool, applies migrations when configured, binds the port (0 picks one) and
    /// prepares the server. Nothing is served until [`Application::run_until_stopped`].
    pub async fn build(
        service: &'static ServiceDefinition,
        settings: Settings,
        signals: Signals,
    ) -> anyhow::Result<Self> {
        Self::build_on(service, settings, signals, None).await
    }

    /// As [`Application::build`], serving on `listener` when given (tests hand over a port they
    /// reserved) instead of binding `application.host:port`.
    pub async fn build_on(
        service: &'static ServiceDefinition,
        settings: Settings,
        signals: Signals,
        listener: Option<TcpListener>,
    ) -> anyhow::Result<Self> {
        // Before the service's setup builds its clients (tests and devstack come in here too).
        crate::tls::install();
        let pool = match &service.migrations {
            Some(_) => Some(DbPool::new(&settings.database)?),
            None => None,
        };
        if let Some(pool) = pool.as_ref().filter(|_| settings.database.migrate_on_start) {
            migrate(service, pool, settings.database.runtime_role.as_deref()).await?;
        }
        let listener = match listener {
            Some(listener) => listener,
            None => {
                TcpListener::bind((settings.application.host.as_str(), settings.application.port)).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot bind {}:{}: {e}",
                        settings.application.host,
                        settings.application.port
                    )
                })?
            }
        };
        let port = listener.local_addr()?.port();

        let registry = prometheus::Registry::new();
        let task_health = web::Data::new(TaskHealth::new(std::time::Duration::from_secs(
            settings.application.worker_unhealthy_after_seconds,
        )));
        let background = Arc::new(Background::new(task_health.clone().into_inner()));
        registry.register(Box::new(crate::background::TaskHealthMetric::new(
            task_health.clone().into_inner(),
        )?))?;
        let context = ServiceContext {
            settings: &settings,
            metrics: &registry,
            pool: pool.as_ref(),
            background: Some(&background),
        };
        let routes =
            (service.setup)(&context).map_err(|e| anyhow::anyhow!("{} could not be set up: {e:#}", service.name))?;
        // `application.metrics_port_only`: the middleware still counts, `/metrics` is served on the
        // metrics port alone (below).
        let metrics_port_only = settings.application.metrics_port_only;
        let scrape_registry = registry.clone();
        let mut metrics = PrometheusMetricsBuilder::new("ccbridge")
            .registry(registry)
            .const_labels([("service".to_owned(), service.name.to_owned())].into());
        if !metrics_port_only {
            metrics = metrics.endpoint("/metrics");
        }
        let metrics = metrics
            // Label by route pattern, never by raw path: ids stay out of label values.
            .mask_unmatched_patterns("UNMATCHED")
            .build()
            .map_err(|e| anyhow::anyhow!("metrics could not be registered: {e}"))?;
        let callers = web::Data::new(Callers::from_settings(
            &settings.auth,
            settings.application.environment,
        )?);
        let description = web::Data::new(crate::openapi::to_json(&crate::openapi::describe(
            service.name,
            (service.openapi)(),
        )));
        let pool_data = pool.clone().map(web::Data::new);
        let body_limit = settings.application.max_body_bytes;
        let metrics_server = match settings.application.metrics_port {
            None => None,
            Some(metrics_port) => {
                let listener = TcpListener::bind((settings.application.host.as_str(), metrics_port))
                    .map_err(|e| anyhow::anyhow!("cannot bind the metrics port {metrics_port}: {e}"))?;
                let bound = listener.local_addr()?.port();
                let metrics = metrics.clone();
                let scrape_registry = scrape_registry.clone();
                // Only `/metrics` (answered by the middleware, or by `scrape` where the middleware
                // serves none); everything else is 404.
                let server = HttpServer::new(move || {
                    let app = App::new()
                        .wrap(ErrorHandlers::new().default_handler(as_problem_json))
                        .wrap(metrics.clone());
                    let registry = scrape_registry.clone();
                    app.route("/metrics", web::get().to(move || std::future::ready(scrape(&registry))))
                })
                .workers(1)
                .listen(listener)?
                .disable_signals()
                .run();
                Some((bound, server))
            }
        };

        let server = HttpServer::new(move || {
            let routes = routes.clone();
            let mut app = App::new()
                .wrap(ErrorHandlers::new().default_handler(as_problem_json))
                .wrap(metrics.clone())
                .wrap(TracingLogger::<RootSpan>::new())
                .app_data(callers.clone())
                .app_data(task_health.clone())
                .app_data(web::Data::new(crate::telemetry::ServiceName(service.name)))
                .app_data(BodyLimit(body_limit))
                .app_data(json_config(body_limit))
                .app_data(path_config())
                .app_data(query_config());
            if let Some(pool) = &pool_data {
                app = app.app_data(pool.clone());
            }
            app.configure(health::config)
                .app_data(description.clone())
                .route(
                    "/openapi.json",
                    web::get()
                        .to(serve_description)
                        .wrap(actix_web::middleware::from_fn(crate::auth::require_caller)),
                )
                .configure(move |cfg| routes(cfg))
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::NotFound("no such route".to_owned()))
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
            database = pool.as_ref().map_or("none", |p| p.backend().name()),
            "service listening"
        );
        let shutdown_timeout = std::time::Duration::from_secs(settings.application.shutdown_timeout_seconds);
        Ok(Self {
            port,
            server,
            metrics_server,
            pool,
            background,
            shutdown_timeout,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `/metrics`-only server, when `application.metrics_port` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(port, _)| *port)
    }

    /// The service's pool; `None` for a service without a database.
    pub fn pool(&self) -> Option<&DbPool> {
        self.pool.as_ref()
    }

    /// Stops the server gracefully (in-flight requests finish) when asked.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then stops the background tasks (they finish their unit of work).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|(_, server)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let served = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        self.background.stop(self.shutdown_timeout).await;
        served
    }
}

/// `GET /openapi.json`: the service's OpenAPI description.
async fn serve_description(description: web::Data<String>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(description.get_ref().clone())
}

/// Applies pending migrations on a blocking thread, then grants `runtime_role` (when the service
/// runs as another role than the migrations' owner) what the service needs.
pub async fn migrate(
    service: &'static ServiceDefinition,
    pool: &DbPool,
    runtime_role: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let Some(migrations) = &service.migrations else {
        return Ok(Vec::new());
    };
    let pool = pool.clone();
    let runtime_role = runtime_role.map(str::to_owned);
    let applied = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut connection = pool.get_blocking()?;
        let applied = run_pending_migrations(&mut connection, service.name, migrations)?;
        if let Some(role) = &runtime_role {
            grant_runtime_role(&mut connection, role, migrations)?;
        }
        Ok(applied)
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
    // A problem already, or a page a service rendered for a person on purpose (the console's).
    let is_problem_or_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON) || v.starts_with("text/html"));
    if is_problem_or_page {
        return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
    }
    let status = response.status();
    let preserved: Vec<_> = [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER]
        .into_iter()
        .filter_map(|name| response.headers().get(&name).map(|value| (name, value.clone())))
        .collect();
    let (request, _) = response.into_parts();
    let mut problem = Problem::for_status(status.as_u16()).to_response();
    for (name, value) in preserved {
        problem.headers_mut().insert(name, value);
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, problem).map_into_right_body(),
    ))
}

/// `/metrics` in Prometheus' text format, where the metrics middleware serves none itself.
fn scrape(registry: &prometheus::Registry) -> actix_web::HttpResponse {
    use prometheus::Encoder;
    let mut body = Vec::new();
    match prometheus::TextEncoder::new().encode(&registry.gather(), &mut body) {
        Ok(()) => actix_web::HttpResponse::Ok()
            .content_type(prometheus::TEXT_FORMAT)
            .body(body),
        Err(error) => {
            tracing::error!(error = %error, "metrics could not be encoded");
            actix_web::HttpResponse::InternalServerError().finish()
        }
    }
}
