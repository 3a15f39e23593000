fn main() -> std::process::ExitCode {
    service_kit::cli::run(&comm_history_writer::SERVICE)
}
