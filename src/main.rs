fn main() -> std::process::ExitCode {
    plusone::cli::main()
}
