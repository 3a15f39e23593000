fn main() -> std::process::ExitCode {
    service_kit::cli::run(&result_ingest::SERVICE)
}
