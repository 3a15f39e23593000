fn main() -> std::process::ExitCode {
    service_kit::cli::run(&interaction_pairing::SERVICE)
}
