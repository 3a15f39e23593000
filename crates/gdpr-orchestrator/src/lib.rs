//! gdpr-orchestrator: Export Me, Forget Me and Undo Forget for a data subject, across every
//! ccbridge service that holds personal data and Genesys Cloud. Counts first, acts only on
//! confirmation, hides at once, purges after a grace window, keeps deadlines and an audit trail
//! without identifiers. docs/architecture.md has the flow.

pub mod audit;
pub mod bundle;
pub mod legal_hold;
pub mod lifecycle;
pub mod metrics;
pub mod participants;
pub mod plan;
pub mod queue;
pub mod rectification;
pub mod report;
pub mod retentions;
pub mod routes;
pub mod schema;
pub mod scopes;
pub mod settings;
pub mod store;
pub mod worker;

use actix_web::web;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use domain::gdpr::DataSubject;
use domain::HandleNormaliser;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use service_kit::configuration::{invalid, Environment, Settings};
use service_kit::database::{DbPool, Migrations};
use service_kit::queue::{Policy, Runner, Storage as _};
use service_kit::startup::{Routes, ServiceContext, ServiceDefinition};
use sha2::Sha256;
use std::sync::Arc;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite/gdpr-orchestrator");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres/gdpr-orchestrator");

pub static SERVICE: ServiceDefinition = ServiceDefinition {
    name: "gdpr-orchestrator",
    default_config: include_str!("../configuration/defaults.toml"),
    scopes: scopes::ALL_SCOPES,
    migrations: Some(Migrations {
        sqlite: || SQLITE_MIGRATIONS,
        postgres: || POSTGRES_MIGRATIONS,
        append_only: &["gdpr_audit_log", "gdpr_audit_keying"],
    }),
    openapi: routes::openapi,
    setup,
};

/// The keys the orchestrator works with, each checked once at start.
pub struct Keys {
    /// Subject fingerprints.
    pub fingerprint: Hmac<Sha256>,
    pub audit: audit::AuditKey,
    pub bundle: bundle::BundleKey,
}

/// What the routes and the worker share.
pub struct Orchestrator {
    pub settings: settings::GdprSettings,
    /// How a FORGET's confirmation is checked: `gdpr.four_eyes`, with persons the identity
    /// provider signed in outside development.
    pub four_eyes: lifecycle::FourEyes,
    /// Outside development a FORGET is filed by a person the identity provider signed in.
    pub forget_needs_verified_person: bool,
    pub keys: Keys,
    /// How subjects' phone numbers are read (`handles.default_region`).
    pub handles: HandleNormaliser,
}

impl Orchestrator {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let gdpr = gdpr_settings(settings)?;
        let development = settings.application.environment == Environment::Development;
        let four_eyes = match (gdpr.four_eyes, development) {
            (false, _) => lifecycle::FourEyes::Off,
            (true, true) => lifecycle::FourEyes::Named,
            (true, false) => lifecycle::FourEyes::Verified,
        };
        let keys = Keys {
            fingerprint: Hmac::<Sha256>::new_from_slice(gdpr.identifier_key.expose_secret().as_bytes())
                .map_err(|_| invalid("gdpr.identifier_key: not usable as an HMAC key"))?,
            audit: audit::AuditKey::new(&gdpr.audit_key).map_err(|reason| invalid(&reason))?,
            bundle: bundle::BundleKey::new(&gdpr.bundle_key).map_err(|reason| invalid(&reason))?,
        };
        let handles = settings
            .handles
            .normaliser()
            .map_err(|reason| invalid(&format!("handles.default_region: {reason}")))?;
        // The participants verify with the public half: a key that is not its pair would have
        // every call refused.
        let participants: gdpr_participant::ParticipantSettings = settings.section("gdpr_participant")?;
        let signer = gdpr_participant::CallSigner::from_setting(&gdpr.signing_key)
            .map_err(|reason| invalid(&format!("gdpr.signing_key: {reason}")))?;
        let verifier = gdpr_participant::CallVerifier::from_setting(&participants.orchestrator_key)
            .map_err(|reason| invalid(&format!("gdpr_participant.orchestrator_key: {reason}")))?;
        if !verifier.verifies(&signer) {
            return Err(invalid(
                "gdpr.signing_key: not the private half of gdpr_participant.orchestrator_key, which the participants verify with",
            ));
        }
        Ok(Self {
            settings: gdpr,
            four_eyes,
            forget_needs_verified_person: !development,
            keys,
            handles,
        })
    }

    /// A keyed hash of the subject as filed: recognises the same subject again (an open duplicate,
    /// the FORGET an UNDO_FORGET undoes) without storing anything that names them.
    pub fn fingerprint(&self, subject: &DataSubject) -> serde_json::Result<String> {
        let canonical = serde_json::to_vec(subject)?;
        let mut mac = self.keys.fingerprint.clone();
        mac.update(&canonical);
        Ok(hex::encode(mac.finalize().into_bytes()))
    }
}

/// The `[gdpr]` settings, validated.
pub fn gdpr_settings(settings: &Settings) -> anyhow::Result<settings::GdprSettings> {
    let gdpr: settings::GdprSettings = settings.section("gdpr")?;
    gdpr.validate(settings.application.environment)
        .map_err(service_kit::configuration::invalid_all)?;
    Ok(gdpr)
}

/// The GDPR requests' queue: the worker on service-kit's one runner.
pub type Worker = Runner<worker::Worker, queue::GdprRequests>;

/// The worker on `pool` with these settings, its metrics in `registry` (tests build their own and
/// drive it with their clock: `drain(now)`).
pub fn worker(settings: &Settings, pool: DbPool, registry: &prometheus::Registry) -> anyhow::Result<Worker> {
    runner(Arc::new(Orchestrator::new(settings)?), settings, pool, registry)
}

fn runner(
    orchestrator: Arc<Orchestrator>,
    settings: &Settings,
    pool: DbPool,
    registry: &prometheus::Registry,
) -> anyhow::Result<Worker> {
    let policy = Policy::read(settings, "gdpr")?;
    let metrics = Arc::new(metrics::GdprMetrics::register(registry)?);
    let job = worker::Worker::new(pool.clone(), orchestrator, metrics, policy.lease)?;
    Runner::new(pool, job, queue::GdprRequests, policy, registry)
}

fn setup(context: &ServiceContext<'_>) -> anyhow::Result<Routes> {
    let orchestrator = Arc::new(Orchestrator::new(context.settings)?);
    if let (true, Some(pool), Some(background)) =
        (orchestrator.settings.worker_enabled, context.pool, context.background)
    {
        let runner = runner(orchestrator.clone(), context.settings, pool.clone(), context.metrics)?;
        background.spawn(queue::GdprRequests::QUEUE, |shutdown, health| {
            runner.run(shutdown, health)
        });
    }
    // The route serving the holds in force to an expiry asks interaction-pairing as the worker does.
    let participants = web::Data::new(participants::Participants::new(&orchestrator.settings)?);
    let orchestrator = web::Data::from(orchestrator);
    Ok(Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(orchestrator.clone());
        cfg.app_data(participants.clone());
        routes::config(cfg);
    }))
}
