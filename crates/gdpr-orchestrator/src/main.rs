fn main() -> std::process::ExitCode {
    service_kit::cli::run(&gdpr_orchestrator::SERVICE)
}
