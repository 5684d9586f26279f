//! `claude-parallel ARGS…` is exactly `parallel-cc run -- claude ARGS…`: every argument goes to
//! Claude Code, none is taken as a parallel-cc command.
fn main() -> std::process::ExitCode {
    pcc_cli::main_claude_parallel()
}
