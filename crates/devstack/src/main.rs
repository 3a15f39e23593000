use clap::Parser;
use service_kit::configuration::{LogFormat, TelemetrySettings};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs every ccbridge service in one process on SQLite, for development.
#[derive(Debug, Parser)]
#[command(name = "devstack")]
struct Cli {
    /// Where the SQLite files and development tokens live.
    #[arg(long, default_value = ".devstack-data", env = "DEVSTACK_DATA_DIR")]
    data_dir: PathBuf,
    /// Address every service binds to.
    #[arg(long, default_value = "127.0.0.1", env = "DEVSTACK_HOST")]
    host: String,
    /// Real Genesys Cloud region (e.g. mypurecloud.de); with the client id and secret, the
    /// gateway talks to it instead of genesys-sim.
    #[arg(long, env = "DEVSTACK_GENESYS_REGION", requires_all = ["genesys_client_id", "genesys_client_secret"])]
    genesys_region: Option<String>,
    #[arg(long, env = "DEVSTACK_GENESYS_CLIENT_ID")]
    genesys_client_id: Option<String>,
    #[arg(long, env = "DEVSTACK_GENESYS_CLIENT_SECRET", hide_env_values = true)]
    genesys_client_secret: Option<String>,
    /// Log filter (RUST_LOG wins when set).
    #[arg(long, default_value = "info")]
    log: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = TelemetrySettings {
        log_filter: cli.log.clone(),
        log_format: LogFormat::Pretty,
        otlp_endpoint: None,
        otlp_sample_ratio: 1.0,
    };
    let guard = match service_kit::telemetry::init("devstack", &telemetry) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("devstack: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let genesys = match (cli.genesys_region, cli.genesys_client_id, cli.genesys_client_secret) {
        (Some(region), Some(client_id), Some(client_secret)) => Some(devstack::RealGenesys {
            region,
            client_id,
            client_secret,
        }),
        _ => None,
    };
    let options = devstack::Options {
        data_dir: cli.data_dir,
        host: cli.host,
        ephemeral_ports: false,
        overrides: Vec::new(),
        genesys,
    };
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                let stack = devstack::Devstack::start(&options).await?;
                println!("{}", stack.banner());
                stack.run_until_signalled().await
            })
        });
    guard.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("devstack: {error:#}");
            ExitCode::FAILURE
        }
    }
}
