fn main() -> std::process::ExitCode {
    pcc_cli::main_parallel_cc()
}
