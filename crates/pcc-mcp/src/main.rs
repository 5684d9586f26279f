//! `parallel-cc-mcp`: the parallel-cc MCP server on stdio (the same server as
//! `parallel-cc mcp serve`). stdout is JSON-RPC only; logs go to stderr, filtered by
//! `PARALLEL_CC_LOG` (default `warn`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let filter = std::env::var(pcc_core::env::LOG)
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
    match pcc_mcp::serve_stdio() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
