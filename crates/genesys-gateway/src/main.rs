fn main() -> std::process::ExitCode {
    service_kit::cli::run(&genesys_gateway::SERVICE)
}
