//! The command line every service binary shares: `serve` (the default), `migrate`, `check-config`.

use crate::configuration::{Settings, SettingsSources};
use crate::database::DbPool;
use crate::startup::{migrate, Application, ServiceContext, ServiceDefinition, Signals};
use crate::telemetry;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
struct Cli {
    /// A TOML settings file; it overrides the embedded defaults, and APP__SECTION__KEY
    /// environment variables override it.
    #[arg(long, short, env = "APP_CONFIG_FILE", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP until SIGTERM (the default).
    Serve,
    /// Apply pending database migrations, then exit (for a Helm pre-upgrade hook).
    Migrate,
    /// Load and validate the settings, then exit.
    CheckConfig,
    /// Print new random keys in the forms the settings take (for a Secret; nothing is stored).
    Keys,
}

/// The whole of a service's `main`: `fn main() -> ExitCode { service_kit::cli::run(&SERVICE) }`.
pub fn run(service: &'static ServiceDefinition) -> ExitCode {
    crate::tls::install();
    let matches = Cli::command().name(service.name).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    if matches!(cli.command, Some(Command::Keys)) {
        print!("{}", new_keys());
        return ExitCode::SUCCESS;
    }
    let sources = SettingsSources {
        service_defaults: service.default_config,
        file: cli.config.as_deref(),
        environment: true,
        overrides: Vec::new(),
    };
    let settings = match Settings::load(sources, service.scopes) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{}: {error}", service.name);
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if matches!(command, Command::CheckConfig) {
        // The service's own sections are checked by its setup, as at start.
        let context = ServiceContext {
            settings: &settings,
            metrics: &prometheus::Registry::new(),
            pool: None,
            background: None,
        };
        return match (service.setup)(&context) {
            Ok(_) => {
                println!("{}: configuration is valid", service.name);
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{}: {error:#}", service.name);
                ExitCode::from(2)
            }
        };
    }
    let guard = match telemetry::init(service.name, &settings.telemetry) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{}: telemetry could not start: {error:#}", service.name);
            return ExitCode::FAILURE;
        }
    };
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                match command {
                    Command::Migrate => {
                        let pool = DbPool::new(&settings.database)?;
                        let applied = migrate(service, &pool, settings.database.runtime_role.as_deref()).await?;
                        tracing::info!(count = applied.len(), "migrations applied");
                        Ok(())
                    }
                    // Answered before the settings were loaded.
                    Command::Keys => Ok(()),
                    Command::Serve | Command::CheckConfig => {
                        let application = Application::build(service, settings, Signals::Handle).await?;
                        application.run_until_stopped().await?;
                        tracing::info!("stopped");
                        Ok(())
                    }
                }
            })
        });
    guard.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "service failed");
            eprintln!("{}: {error:#}", service.name);
            ExitCode::FAILURE
        }
    }
}

/// A new Ed25519 pair for gdpr-orchestrator's participant calls: (`gdpr.signing_key`,
/// `gdpr_participant.orchestrator_key`), both `ed25519:<base64 of 32 bytes>` (the
/// gdpr-participant crate reads them; its tests check a pair printed here).
fn new_signing_pair() -> (String, String) {
    use base64::Engine;
    let signing = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
    let encode = |bytes: [u8; 32]| format!("ed25519:{}", base64::engine::general_purpose::STANDARD.encode(bytes));
    (encode(signing.to_bytes()), encode(signing.verifying_key().to_bytes()))
}

/// New random keys, one line each, for the settings that take them.
pub fn new_keys() -> String {
    use base64::Engine;
    use rand_core::RngCore;
    let random = |length: usize| {
        let mut bytes = vec![0u8; length];
        rand_core::OsRng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let (signing, verifying) = new_signing_pair();
    format!(
        "# gdpr-orchestrator signs GDPR participant calls; every participant verifies (a pair):\n\
         APP__GDPR__SIGNING_KEY={signing}\n\
         APP__GDPR_PARTICIPANT__ORCHESTRATOR_KEY={verifying}\n\
         # gdpr-orchestrator seals export bundles with:\n\
         APP__GDPR__BUNDLE_KEY=aes256:{}\n\
         # HMAC keys (each its own): APP__GDPR__IDENTIFIER_KEY, APP__GDPR__AUDIT_KEY, APP__INGEST__SUPPRESSION_KEY,\n\
         # APP__RECORDS__SUPPRESSION_KEY\n\
         {}\n{}\n{}\n{}\n\
         # the console signs and encrypts its session cookie with:\n\
         APP__CONSOLE__SESSION_KEY={}\n",
        random(32),
        random(48),
        random(48),
        random(48),
        random(48),
        random(64)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_keys_are_each_new_and_in_the_settings_forms() {
        let (first, second) = (super::new_keys(), super::new_keys());
        assert_ne!(first, second);
        assert!(first.contains("APP__GDPR__SIGNING_KEY=ed25519:"), "{first}");
        assert!(first.contains("APP__GDPR__BUNDLE_KEY=aes256:"), "{first}");
        assert!(first.contains("APP__CONSOLE__SESSION_KEY="), "{first}");
        assert!(!first.contains("development-only-"));
    }
}
