//! The ccbridge services wired together, each a real server on its own port with its own
//! database: genesys-sim in Genesys Cloud's place, genesys-gateway, comm-history-writer,
//! interaction-pairing, result-ingest and, when a test asks for it, gdpr-orchestrator.
//!
//! test-support never links a service (each service's tests depend on test-support), so the
//! calling test crate names the services' definitions ([`StackServices`]); genesys-sim links no
//! service and is started here. Every background worker is off: a test builds the workers it
//! drives from the [`TestApp`]s' settings and pools, and moves their clock itself.
//!
//! ```ignore
//! let stack = StackBuilder::new(StackServices {
//!     gateway: &genesys_gateway::SERVICE,
//!     writer: &comm_history_writer::SERVICE,
//!     pairing: &interaction_pairing::SERVICE,
//!     ingest: &result_ingest::SERVICE,
//!     orchestrator: None,
//! })
//! .trigger()                                   // the sim posts each recorded result to ingest
//! .set(Service::Ingest, "ingest.batch_size", "8")
//! .start()
//! .await;
//! stack.ingest.post_json("/customers/supportResult", callers::GENESYS, &body).await;
//! ```

use crate::app::{spawn_app_on, ReservedPort, TestApp, TestCaller};
use genesys_sim::{Seed, SimConfig, SimState};
use service_kit::startup::ServiceDefinition;
use std::sync::Arc;

/// The callers the stack configures. Services call each other with the fixed tokens below (so a
/// second replica or a restarted service can be configured alike); the people and tools a test
/// plays get random tokens ([`TestApp::token`] answers both).
pub mod callers {
    /// Genesys' data action on result-ingest's webhook (`ingest:webhook`).
    pub const GENESYS: &str = "genesys";
    /// An operator on result-ingest (`ingest:operate`).
    pub const OPERATOR: &str = "operator";
    /// The back office on interaction-pairing (`pairing:write`, `pairing:read`) and
    /// comm-history-writer (`records:read`).
    pub const BOFE: &str = "bofe";
    /// The DPOs' tool on gdpr-orchestrator (`dpo`, may name the person it acts for).
    pub const DPO: &str = "dpo";
    /// gdpr-orchestrator on every participant (`gdpr:participant`).
    pub const ORCHESTRATOR: &str = "gdpr_orchestrator";
    /// result-ingest on the gateway, interaction-pairing and comm-history-writer.
    pub const INGEST: &str = "result_ingest";
    /// interaction-pairing's outbox on comm-history-writer (`records:assign`).
    pub const PAIRING: &str = "interaction_pairing";

    /// Genesys' data action's secret (HTTP Basic `genesys:…` when genesys-sim plays the trigger).
    pub const WEBHOOK_TOKEN: &str = "genesys-webhook-token-0123456789";
    pub const INGEST_TOKEN: &str = "ingest-pipeline-token-0123456789";
    pub const PAIRING_TOKEN: &str = "pairing-pipeline-token-0123456789";
    pub const ORCHESTRATOR_TOKEN: &str = "orchestrator-gdpr-test-token-0123456789";
}

/// The bank's region for national phone numbers, as every service of the stack is configured.
pub const REGION: &str = "CZ";

/// The services' definitions, from the calling test crate.
#[derive(Clone, Copy)]
pub struct StackServices {
    pub gateway: &'static ServiceDefinition,
    pub writer: &'static ServiceDefinition,
    pub pairing: &'static ServiceDefinition,
    pub ingest: &'static ServiceDefinition,
    /// gdpr-orchestrator, started last, calling every other service; none: not started.
    pub orchestrator: Option<&'static ServiceDefinition>,
}

/// One service of the stack, to give settings of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Gateway,
    Writer,
    Pairing,
    Ingest,
    Orchestrator,
}

/// What a test changes in the stack; [`StackBuilder::start`] starts it.
pub struct StackBuilder {
    services: StackServices,
    sim: SimConfig,
    trigger: bool,
    writer_url: Option<String>,
    settings: Vec<(Service, String, String)>,
}

/// The running stack. Dropping it stops nothing the test still holds (each [`TestApp`] keeps its
/// database until dropped).
pub struct Stack {
    pub services: StackServices,
    pub sim: Arc<SimState>,
    pub sim_url: String,
    pub gateway: TestApp,
    pub writer: TestApp,
    pub pairing: TestApp,
    pub ingest: TestApp,
    pub orchestrator: Option<TestApp>,
}

impl StackBuilder {
    pub fn new(services: StackServices) -> Self {
        let mut sim = SimConfig::development(Seed::default_seed().expect("the sim's seed parses"));
        sim.port = 0;
        Self {
            services,
            sim,
            trigger: false,
            writer_url: None,
            settings: Vec::new(),
        }
    }

    /// genesys-sim plays Genesys' trigger: each conversation recorded with
    /// `POST /admin/conversations` is posted to result-ingest's webhook.
    pub fn trigger(mut self) -> Self {
        self.trigger = true;
        self
    }

    /// Changes genesys-sim's configuration (its GDPR steps, faults, …).
    pub fn sim(mut self, change: impl FnOnce(&mut SimConfig)) -> Self {
        change(&mut self.sim);
        self
    }

    /// interaction-pairing and result-ingest call comm-history-writer at `url` instead (a port
    /// the test reserved, to start with the writer down).
    pub fn writer_url(mut self, url: impl Into<String>) -> Self {
        self.writer_url = Some(url.into());
        self
    }

    /// A setting of `service`'s, over the stack's own.
    pub fn set(mut self, service: Service, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((service, key.into(), value.into()));
        self
    }

    /// Several settings of `service`'s.
    pub fn set_all<K: Into<String>, V: Into<String>>(
        mut self,
        service: Service,
        settings: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (key, value) in settings {
            self = self.set(service, key, value);
        }
        self
    }

    /// A setting of every GDPR participant's: the gateway, the writer, interaction-pairing and
    /// result-ingest.
    pub fn participants(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        for service in [Service::Gateway, Service::Writer, Service::Pairing, Service::Ingest] {
            self = self.set(service, key.clone(), value.clone());
        }
        self
    }

    fn settings_of(&self, service: Service) -> impl Iterator<Item = (String, String)> + '_ {
        self.settings
            .iter()
            .filter(move |(s, _, _)| *s == service)
            .map(|(_, k, v)| (k.clone(), v.clone()))
    }

    pub async fn start(mut self) -> Stack {
        let ingest_port = ReservedPort::new();
        if self.trigger {
            self.sim.webhook = Some(genesys_sim::WebhookTarget {
                url: format!("{}/customers/supportResult", ingest_port.url()),
                user: callers::GENESYS.to_owned(),
                secret: callers::WEBHOOK_TOKEN.to_owned(),
            });
        }
        let sim = genesys_sim::start(self.sim.clone()).expect("genesys-sim starts");
        let (sim_url, sim_state) = (sim.url.clone(), sim.state.clone());
        tokio::spawn(sim.run_until_stopped());

        let mut gateway = service_callers(&[(
            callers::INGEST,
            callers::INGEST_TOKEN,
            "genesys:lookup,genesys:conversations,content:read",
        )]);
        for key in ["genesys.api_base_url", "genesys.login_base_url"] {
            gateway.push(setting(key, &sim_url));
        }
        gateway.extend([
            setting("genesys.client_id", "ccbridge-dev"),
            setting("genesys.client_secret", "ccbridge-dev-secret"),
            setting("genesys.deadline_ms", "2000"),
            setting("genesys.max_attempts", "2"),
            // genesys-sim serves transcripts itself, where Genesys' pre-signed URLs point to S3.
            setting("content.transcript_hosts", "127.0.0.1"),
        ]);
        gateway.extend(self.settings_of(Service::Gateway));
        let gateway = spawn(self.services.gateway, &[], &gateway, None).await;

        let writer_settings: Vec<_> = self.settings_of(Service::Writer).collect();
        let writer = start_writer(self.services.writer, None, &writer_settings).await;
        let writer_url = self.writer_url.clone().unwrap_or_else(|| writer.address.clone());

        let mut pairing = service_callers(&[(callers::INGEST, callers::INGEST_TOKEN, "pairing:read")]);
        pairing.extend([
            setting("pairing.comm_history_url", &writer_url),
            setting("pairing.internal_token", callers::PAIRING_TOKEN),
            setting("pairing.outbox_worker_enabled", "false"),
            setting("pairing.backoff_min_ms", "1"),
        ]);
        pairing.extend(self.settings_of(Service::Pairing));
        let pairing = spawn(
            self.services.pairing,
            &[(callers::BOFE, &["pairing:write", "pairing:read"])],
            &pairing,
            None,
        )
        .await;

        let mut ingest = service_callers(&[(callers::GENESYS, callers::WEBHOOK_TOKEN, "ingest:webhook")]);
        ingest.extend([
            setting("ingest.gateway_url", &gateway.address),
            setting("ingest.pairing_url", &pairing.address),
            setting("ingest.comm_history_url", &writer_url),
            setting("ingest.internal_token", callers::INGEST_TOKEN),
            setting("ingest.worker_enabled", "false"),
            setting("ingest.sweep_enabled", "false"),
            setting("ingest.backoff_min_ms", "1"),
            setting("ingest.backoff_max_ms", "20"),
            setting("ingest.request_timeout_ms", "3000"),
        ]);
        ingest.extend(self.settings_of(Service::Ingest));
        let ingest = spawn(
            self.services.ingest,
            &[(callers::OPERATOR, &["ingest:operate"])],
            &ingest,
            Some(ingest_port),
        )
        .await;

        let orchestrator = match self.services.orchestrator {
            None => None,
            Some(definition) => {
                let mut orchestrator = vec![
                    setting("gdpr.result_ingest_url", &ingest.address),
                    setting("gdpr.comm_history_url", &writer.address),
                    setting("gdpr.pairing_url", &pairing.address),
                    setting("gdpr.gateway_url", &gateway.address),
                    setting("gdpr.internal_token", callers::ORCHESTRATOR_TOKEN),
                    setting("gdpr.worker_enabled", "false"),
                    setting("gdpr.backoff_min_ms", "1"),
                    setting("gdpr.backoff_max_ms", "10"),
                    setting("gdpr.external_poll_seconds", "1"),
                    setting("gdpr.request_timeout_ms", "3000"),
                    // The stack's tests are about other rules: the requester's verification is
                    // recorded when a test records it, and waited for where a test sets
                    // "required" (the service's default).
                    setting("gdpr.requester_verification", "advisory"),
                    setting("auth.callers.dpo.delegates", "true"),
                    setting("handles.default_region", REGION),
                ];
                orchestrator.extend(self.settings_of(Service::Orchestrator));
                Some(spawn(definition, &[(callers::DPO, &["dpo"])], &orchestrator, None).await)
            }
        };
        Stack {
            services: self.services,
            sim: sim_state,
            sim_url,
            gateway,
            writer,
            pairing,
            ingest,
            orchestrator,
        }
    }
}

impl Stack {
    /// comm-history-writer again, as the stack configures it, on `port` when given, with
    /// `settings` of its own (`database.url` to restart it on its database).
    pub async fn start_writer(&self, port: Option<ReservedPort>, settings: &[(String, String)]) -> TestApp {
        start_writer(self.services.writer, port, settings).await
    }

    /// gdpr-orchestrator (panics when the stack was started without it).
    pub fn orchestrator(&self) -> &TestApp {
        self.orchestrator
            .as_ref()
            .expect("the stack was started without gdpr-orchestrator")
    }
}

/// comm-history-writer as the stack configures it: result-ingest, interaction-pairing and
/// gdpr-orchestrator may call it, the back office reads it.
pub async fn start_writer(
    writer: &'static ServiceDefinition,
    port: Option<ReservedPort>,
    settings: &[(String, String)],
) -> TestApp {
    let mut overrides = service_callers(&[
        (
            callers::INGEST,
            callers::INGEST_TOKEN,
            "records:write,records:assign,records:body",
        ),
        (callers::PAIRING, callers::PAIRING_TOKEN, "records:assign"),
    ]);
    overrides.extend_from_slice(settings);
    spawn(writer, &[(callers::BOFE, &["records:read"])], &overrides, port).await
}

/// The settings every participant of the stack shares: the region, gdpr-orchestrator's caller
/// and the services in `others` as callers (name, token, scopes).
fn service_callers(others: &[(&str, &str, &str)]) -> Vec<(String, String)> {
    let mut settings = vec![setting("handles.default_region", REGION)];
    for (name, token, scopes) in [(callers::ORCHESTRATOR, callers::ORCHESTRATOR_TOKEN, "gdpr:participant")]
        .iter()
        .chain(others)
    {
        settings.push((format!("auth.callers.{name}.token"), (*token).to_owned()));
        settings.push((format!("auth.callers.{name}.scopes"), (*scopes).to_owned()));
    }
    settings
}

fn setting(key: &str, value: impl AsRef<str>) -> (String, String) {
    (key.to_owned(), value.as_ref().to_owned())
}

async fn spawn(
    service: &'static ServiceDefinition,
    test_callers: &[TestCaller<'_>],
    settings: &[(String, String)],
    port: Option<ReservedPort>,
) -> TestApp {
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    spawn_app_on(service, test_callers, &overrides, port.unwrap_or_default()).await
}
