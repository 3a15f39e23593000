//! Every ccbridge service in one process, each on its own port, on SQLite files under one data
//! directory, with development tokens, and the console with its development sign-in: what a
//! newcomer runs first. Production runs each binary on its own (docs/operations.md).

use service_kit::configuration::{Settings, SettingsSources};
use service_kit::startup::{Application, ServiceDefinition, Signals};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The services devstack runs, in start order (each after those it calls). Add new ones here and
/// their wiring in [`wiring`].
pub static SERVICES: [&ServiceDefinition; 5] = [
    &comm_history_writer::SERVICE,
    &interaction_pairing::SERVICE,
    &genesys_gateway::SERVICE,
    &result_ingest::SERVICE,
    &gdpr_orchestrator::SERVICE,
];

/// The console, started after the services its pages call. Not among [`SERVICES`]: it serves
/// pages to people, not an API to callers.
pub static CONSOLE: &ServiceDefinition = &console::SERVICE;

/// A development caller: its name, every scope it holds (each service gets those it knows), and
/// whether it may act on behalf of a named person.
struct DevCaller {
    name: &'static str,
    scopes: &'static [&'static str],
    delegates: bool,
}

/// The development callers, the same map as production's (docs/security.md): one per client, each
/// with only the scopes it uses.
const CALLERS: [DevCaller; 10] = [
    // The back-office front end: pairs interactions, reads history.
    DevCaller {
        name: "bofe",
        scopes: &["pairing:write", "pairing:read", "records:read"],
        delegates: false,
    },
    // result-ingest's worker and sweeper: pairings, names, ended conversations, records and late
    // customers.
    DevCaller {
        name: "result_ingest",
        scopes: &[
            "pairing:read",
            "genesys:lookup",
            "genesys:conversations",
            // Its content queue: what was said or written (the gateway), the record's body (the writer).
            "content:read",
            "records:write",
            "records:assign",
            "records:body",
            // Its inbox's retention: the legal holds in force (gdpr-orchestrator).
            "gdpr:retentions",
        ],
        delegates: false,
    },
    // interaction-pairing's outbox: late customers; its pairings' retention: the legal holds in
    // force (gdpr-orchestrator).
    DevCaller {
        name: "interaction_pairing",
        scopes: &["records:assign", "gdpr:retentions"],
        delegates: false,
    },
    // gdpr-orchestrator: the GDPR participant routes of every service.
    DevCaller {
        name: "gdpr_orchestrator",
        scopes: &["gdpr:participant"],
        delegates: false,
    },
    // comm-history-writer's expiry of records past their retention: the legal holds in force
    // and the statutory rules, asked of gdpr-orchestrator before anything expires.
    DevCaller {
        name: "comm_history_writer",
        scopes: &["gdpr:retentions"],
        delegates: false,
    },
    // Genesys' data action posting interaction results.
    DevCaller {
        name: "genesys",
        scopes: &["ingest:webhook"],
        delegates: false,
    },
    // Someone looking after the inbox and the delivery to the bank's history manager.
    DevCaller {
        name: "operator",
        scopes: &["ingest:operate", "records:operate"],
        delegates: false,
    },
    // The data protection officers' tool (the `gdpr` command line): GDPR requests, each in the
    // name of the person running it (`--as`).
    DevCaller {
        name: "dpo",
        scopes: &["dpo"],
        delegates: true,
    },
    // The console: its pages, each in the name of the signed-in person.
    DevCaller {
        name: "console",
        scopes: &[
            "dpo",
            "records:read",
            "records:operate",
            "pairing:write",
            "pairing:read",
            "pairing:operate",
            "ingest:operate",
        ],
        delegates: true,
    },
    // A second data protection officer, to confirm what the first filed (four eyes).
    DevCaller {
        name: "dpo2",
        scopes: &["dpo"],
        delegates: false,
    },
];

/// genesys-sim's port when devstack runs it.
const SIM_PORT: u16 = 8090;

/// Real Genesys Cloud for the gateway; without it devstack runs genesys-sim in its place.
#[derive(Debug, Clone)]
pub struct RealGenesys {
    pub region: String,
    pub client_id: String,
    pub client_secret: String,
}

pub struct Options {
    pub data_dir: PathBuf,
    pub host: String,
    /// Bind every service to a free port instead of its default (tests).
    pub ephemeral_ports: bool,
    /// More settings for one service, over devstack's own: `(service, key, value)` (tests).
    pub overrides: Vec<(&'static str, String, String)>,
    /// `None`: run genesys-sim and point the gateway at it.
    pub genesys: Option<RealGenesys>,
}

pub struct RunningService {
    pub name: &'static str,
    pub url: String,
}

pub struct Devstack {
    pub services: Vec<RunningService>,
    /// Caller name → development token.
    pub tokens: BTreeMap<String, String>,
    applications: Vec<Application>,
    simulator: Option<genesys_sim::RunningSim>,
}

impl Devstack {
    /// Creates the data directory and tokens if needed, starts genesys-sim unless real Genesys
    /// is configured, then migrates and binds every service.
    pub async fn start(options: &Options) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&options.data_dir)?;
        let tokens = load_or_create_tokens(&options.data_dir)?;
        let mut services = Vec::new();
        let (simulator, genesys_settings) = match &options.genesys {
            Some(real) => (
                None,
                vec![
                    ("genesys.region".to_owned(), real.region.clone()),
                    ("genesys.client_id".to_owned(), real.client_id.clone()),
                    ("genesys.client_secret".to_owned(), real.client_secret.clone()),
                ],
            ),
            None => {
                let mut config = genesys_sim::SimConfig::development(genesys_sim::Seed::default_seed()?);
                config.host = options.host.clone();
                config.port = if options.ephemeral_ports { 0 } else { SIM_PORT };
                let simulator = genesys_sim::start(config.clone())?;
                services.push(RunningService {
                    name: "genesys-sim",
                    url: simulator.url.clone(),
                });
                let settings = vec![
                    ("genesys.api_base_url".to_owned(), simulator.url.clone()),
                    ("genesys.login_base_url".to_owned(), simulator.url.clone()),
                    ("genesys.client_id".to_owned(), config.client_id),
                    ("genesys.client_secret".to_owned(), config.client_secret),
                    // genesys-sim serves transcripts itself, where Genesys' pre-signed URLs point to S3.
                    ("content.transcript_hosts".to_owned(), options.host.clone()),
                ];
                (Some(simulator), settings)
            }
        };
        let mut applications = Vec::new();
        for service in SERVICES.into_iter().chain([CONSOLE]) {
            let own = wiring(service.name, &services, &genesys_settings, &tokens)?;
            let settings = settings_for(service, options, &tokens, own)?;
            let application = Application::build(service, settings, Signals::Ignore)
                .await
                .map_err(|e| anyhow::anyhow!("{} did not start: {e:#}", service.name))?;
            services.push(RunningService {
                name: service.name,
                url: format!("http://{}:{}", options.host, application.port()),
            });
            applications.push(application);
        }
        if let Some(simulator) = &simulator {
            // genesys-sim plays Genesys' trigger: each conversation recorded with
            // `POST /admin/conversations` is posted to result-ingest's webhook, as the data action does.
            let ingest = services
                .iter()
                .find(|s| s.name == "result-ingest")
                .ok_or_else(|| anyhow::anyhow!("result-ingest did not start"))?;
            simulator.state.set_webhook(Some(genesys_sim::WebhookTarget {
                url: format!("{}/customers/supportResult", ingest.url),
                user: "genesys".to_owned(),
                secret: tokens
                    .get("genesys")
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("no development token for genesys"))?,
            }));
        }
        Ok(Self {
            services,
            tokens,
            applications,
            simulator,
        })
    }

    /// A banner for the terminal: where each service is and how to call it.
    pub fn banner(&self) -> String {
        let mut text = String::from("\nccbridge devstack is running (Ctrl-C stops it)\n\n");
        for service in &self.services {
            text.push_str(&format!("  {:<22} {}\n", service.name, service.url));
        }
        if let Some(console) = self.services.iter().find(|s| s.name == CONSOLE.name) {
            text.push_str(&format!(
                "\nThe console: {} (development sign-in: pick any name and roles)\n",
                console.url
            ));
        }
        text.push_str("\nDevelopment tokens (send as Authorization: Bearer <token>):\n");
        for (caller, token) in &self.tokens {
            text.push_str(&format!("  {caller:<10} {token}\n"));
        }
        text
    }

    /// Serves until Ctrl-C or SIGTERM, then stops every service gracefully.
    pub async fn run_until_signalled(self) -> anyhow::Result<()> {
        // Each server runs as its own task: a server's future must keep being polled while it
        // processes its stop command, or stopping it would wait forever.
        let mut handles = Vec::new();
        let mut tasks = Vec::new();
        for application in self.applications {
            handles.push(application.handle());
            tasks.push(tokio::spawn(application.run_until_stopped()));
        }
        if let Some(simulator) = self.simulator {
            handles.push(simulator.handle());
            tasks.push(tokio::spawn(simulator.run_until_stopped()));
        }
        let servers = futures_util::future::try_join_all(tasks);
        tokio::pin!(servers);
        tokio::select! {
            finished = &mut servers => {
                finished?.into_iter().collect::<std::io::Result<Vec<()>>>()?;
            }
            () = shutdown_signal() => {
                tracing::info!("stopping every service");
                futures_util::future::join_all(handles.iter().map(|h| h.stop(true))).await;
                servers.await?.into_iter().collect::<std::io::Result<Vec<()>>>()?;
                tracing::info!("every service stopped");
            }
        }
        Ok(())
    }
}

/// How each service finds those it calls (they started before it), with its own caller's token.
fn wiring(
    service: &str,
    started: &[RunningService],
    genesys: &[(String, String)],
    tokens: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<(String, String)>> {
    // A service calls its siblings as the caller named after it (`result_ingest`).
    let internal_token = tokens
        .get(&service.replace('-', "_"))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no development token for {service}"));
    let url_of = |name: &str| {
        started
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.url.clone())
            .unwrap_or_default()
    };
    let setting = |key: &str, value: String| (key.to_owned(), value);
    Ok(match service {
        // gdpr-orchestrator starts after it, on its default port (records.orchestrator_url's).
        "comm-history-writer" => vec![setting("records.orchestrator_token", internal_token?)],
        // Likewise pairing.orchestrator_url's and ingest.orchestrator_url's default port.
        "interaction-pairing" => {
            let token = internal_token?;
            vec![
                setting("pairing.comm_history_url", url_of("comm-history-writer")),
                setting("pairing.internal_token", token.clone()),
                setting("pairing.orchestrator_token", token),
            ]
        }
        "genesys-gateway" => genesys.to_vec(),
        "result-ingest" => {
            let token = internal_token?;
            vec![
                setting("ingest.gateway_url", url_of("genesys-gateway")),
                setting("ingest.pairing_url", url_of("interaction-pairing")),
                setting("ingest.comm_history_url", url_of("comm-history-writer")),
                setting("ingest.internal_token", token.clone()),
                setting("ingest.orchestrator_token", token),
                // A demo's pace: a dropped webhook is recovered within seconds, not minutes.
                setting("ingest.sweep_settle_seconds", "5".to_owned()),
                setting("ingest.sweep_interval_seconds", "5".to_owned()),
                // Every channel's content, asked for again within seconds (genesys-sim transcribes
                // a call when told to: scripts/demo.sh).
                setting("ingest.content.channels", "VOICE,CHAT,SMS,EMAIL".to_owned()),
                setting("ingest.content.first_ask_after", "1 second".to_owned()),
                setting("ingest.content.wait_for", "10 minutes".to_owned()),
                setting("ingest.content.backoff_min_ms", "1000".to_owned()),
                setting("ingest.content.backoff_max_ms", "5000".to_owned()),
                // The IVR leaves the bank's customer id in this participant attribute.
                setting(
                    "ingest.participant_data.customer_id_attributes",
                    "bankCustomerId".to_owned(),
                ),
            ]
        }
        "gdpr-orchestrator" => vec![
            setting("gdpr.result_ingest_url", url_of("result-ingest")),
            setting("gdpr.comm_history_url", url_of("comm-history-writer")),
            setting("gdpr.pairing_url", url_of("interaction-pairing")),
            setting("gdpr.gateway_url", url_of("genesys-gateway")),
            setting("gdpr.internal_token", internal_token?),
            // No identity provider in devstack, and only a person it signed in records how a
            // requester was verified: nothing waits for it here (the audit says
            // requesterVerified false). A test about it passes "required".
            setting("gdpr.requester_verification", "advisory".to_owned()),
        ],
        "console" => {
            let token = tokens
                .get("console")
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no development token for the console"))?;
            let mut settings = vec![
                // No identity provider in devstack: people pick a name and roles.
                setting("console.development_sign_in", "true".to_owned()),
                setting("console.oidc.issuer", String::new()),
            ];
            for (key, name) in [
                ("interaction_pairing", "interaction-pairing"),
                ("comm_history_writer", "comm-history-writer"),
                ("genesys_gateway", "genesys-gateway"),
                ("result_ingest", "result-ingest"),
                ("gdpr_orchestrator", "gdpr-orchestrator"),
            ] {
                settings.push(setting(&format!("console.services.{key}_url"), url_of(name)));
                if key != "genesys_gateway" {
                    settings.push(setting(&format!("console.services.{key}_token"), token.clone()));
                }
            }
            settings
        }
        _ => Vec::new(),
    })
}

fn settings_for(
    service: &ServiceDefinition,
    options: &Options,
    tokens: &BTreeMap<String, String>,
    own: Vec<(String, String)>,
) -> anyhow::Result<Settings> {
    let database = options.data_dir.join(format!("{}.db", service.name));
    let mut overrides = own;
    // devstack is a development machine: the embedded development keys are accepted.
    overrides.push(("application.environment".to_owned(), "development".to_owned()));
    overrides.push(("application.host".to_owned(), options.host.clone()));
    overrides.push(("database.url".to_owned(), format!("sqlite://{}", database.display())));
    if options.ephemeral_ports {
        overrides.push(("application.port".to_owned(), "0".to_owned()));
    }
    overrides.extend(
        options
            .overrides
            .iter()
            .filter(|(name, _, _)| *name == service.name)
            .map(|(_, key, value)| (key.clone(), value.clone())),
    );
    for caller in &CALLERS {
        let scopes: Vec<&str> = caller
            .scopes
            .iter()
            .copied()
            .filter(|s| service.scopes.contains(s))
            .collect();
        if scopes.is_empty() {
            continue;
        }
        let name = caller.name;
        let token = tokens
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("no development token for {name}"))?;
        overrides.push((format!("auth.callers.{name}.token"), token.clone()));
        overrides.push((format!("auth.callers.{name}.scopes"), scopes.join(",")));
        if caller.delegates {
            overrides.push((format!("auth.callers.{name}.delegates"), "true".to_owned()));
        }
    }
    let sources = SettingsSources {
        service_defaults: service.default_config,
        file: None,
        environment: false,
        overrides,
    };
    Ok(Settings::load(sources, service.scopes)?)
}

/// Tokens live in `<data dir>/dev-tokens.json`, so they stay the same across restarts.
fn load_or_create_tokens(data_dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let path = data_dir.join("dev-tokens.json");
    let mut tokens: BTreeMap<String, String> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not valid: {e}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e.into()),
    };
    let before = tokens.len();
    for caller in &CALLERS {
        tokens
            .entry(caller.name.to_owned())
            .or_insert_with(|| format!("dev-{}-{}", caller.name, uuid::Uuid::new_v4().simple()));
    }
    if tokens.len() != before {
        std::fs::write(&path, serde_json::to_string_pretty(&tokens)?)?;
    }
    Ok(tokens)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
