use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// A stand-in for Genesys Cloud (OAuth, users, wrap-up codes, GDPR), for development and tests.
#[derive(Debug, Parser)]
#[command(name = "genesys-sim")]
struct Cli {
    #[arg(long, default_value = "127.0.0.1", env = "GENESYS_SIM_HOST")]
    host: String,
    #[arg(long, default_value_t = 8090, env = "GENESYS_SIM_PORT")]
    port: u16,
    /// JSON seed with `users`, `wrapupCodes` and `gdprSubjects`; the built-in seed when absent.
    #[arg(long, env = "GENESYS_SIM_SEED")]
    seed: Option<PathBuf>,
    #[arg(long, default_value = "ccbridge-dev", env = "GENESYS_SIM_CLIENT_ID")]
    client_id: String,
    #[arg(long, default_value = "ccbridge-dev-secret", env = "GENESYS_SIM_CLIENT_SECRET")]
    client_secret: String,
    /// `expires_in` of issued tokens, in seconds.
    #[arg(long, default_value_t = 86_400, env = "GENESYS_SIM_TOKEN_LIFETIME_SECONDS")]
    token_lifetime_seconds: u64,
    /// Faults from the start, as the JSON `PUT /admin/faults` takes, e.g. '{"latencyMs":200,"errorPercent":10}'.
    #[arg(long, env = "GENESYS_SIM_FAULTS")]
    faults: Option<String>,
    /// Seconds a GDPR request spends in each status.
    #[arg(long, default_value_t = 2.0, env = "GENESYS_SIM_GDPR_STEP_SECONDS")]
    gdpr_step_seconds: f64,
    /// Where the trigger's data action posts each agent's result of a recorded conversation
    /// (result-ingest's `/customers/supportResult`); none: nothing is posted.
    #[arg(long, env = "GENESYS_SIM_WEBHOOK_URL", requires = "webhook_secret")]
    webhook_url: Option<String>,
    /// The data action's Basic user (result-ingest's caller name).
    #[arg(long, default_value = "genesys", env = "GENESYS_SIM_WEBHOOK_USER")]
    webhook_user: String,
    /// The data action's Basic password (that caller's token).
    #[arg(long, env = "GENESYS_SIM_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let seed = match &cli.seed {
        Some(path) => genesys_sim::Seed::from_file(path),
        None => genesys_sim::Seed::default_seed(),
    };
    let seed = match seed {
        Ok(seed) => seed,
        Err(error) => {
            eprintln!("genesys-sim: the seed could not be read: {error:#}");
            return ExitCode::from(2);
        }
    };
    let faults = match cli
        .faults
        .as_deref()
        .map(serde_json::from_str::<genesys_sim::Faults>)
        .transpose()
    {
        Ok(faults) => faults.unwrap_or_default(),
        Err(error) => {
            eprintln!("genesys-sim: --faults is not valid: {error}");
            return ExitCode::from(2);
        }
    };
    let mut config = genesys_sim::SimConfig::development(seed);
    config.faults = faults;
    config.host = cli.host;
    config.port = cli.port;
    config.client_id = cli.client_id;
    config.client_secret = cli.client_secret;
    config.token_lifetime = Duration::from_secs(cli.token_lifetime_seconds);
    config.gdpr_step = Duration::from_secs_f64(cli.gdpr_step_seconds.max(0.0));
    config.webhook = cli
        .webhook_url
        .zip(cli.webhook_secret)
        .map(|(url, secret)| genesys_sim::WebhookTarget {
            url,
            user: cli.webhook_user,
            secret,
        });
    match genesys_sim::start(config) {
        Ok(sim) => {
            println!("genesys-sim listening on {}", sim.url);
            let handle = sim.handle();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                handle.stop(true).await;
            });
            match sim.run_until_stopped().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("genesys-sim: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(error) => {
            eprintln!("genesys-sim: {error:#}");
            ExitCode::FAILURE
        }
    }
}
