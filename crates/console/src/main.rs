fn main() -> std::process::ExitCode {
    service_kit::cli::run(&console::SERVICE)
}
