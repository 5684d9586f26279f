//! The MCP server frontend of parallel-cc (stdio transport, rmcp): binary `parallel-cc-mcp`, and
//! `parallel-cc mcp serve`.
//!
//! Exposes the coordination use cases of `pcc_core::Coordinator` as MCP tools for the agents
//! themselves. Like the CLI it is a thin frontend: every tool calls the same pcc-core method as
//! the matching CLI command and returns the same view. Its stdout carries JSON-RPC only; logs go
//! to stderr.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod args;
mod legacy;
mod server;

pub use server::{Identity, MAX_ARG_LEN, Server};

use rmcp::ServiceExt;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot read the working directory: {0}")]
    Cwd(#[source] std::io::Error),
    #[error("MCP session failed: {0}")]
    Session(String),
}

/// Serve one client over this process's stdin and stdout until it disconnects. The database is
/// `$PARALLEL_CC_DATA_DIR/coordinator.db` (default `~/.parallel-cc`); the session is
/// `PARALLEL_CC_SESSION_ID`, else the one working in the current directory.
pub fn serve_stdio() -> Result<(), ServeError> {
    let data_dir = pcc_core::default_data_dir().map_err(|e| e.to_string());
    let identity = Identity::from_process().map_err(ServeError::Cwd)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ServeError::Runtime)?;
    let served = runtime.block_on(async move {
        let service = Server::new(data_dir, identity)
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| ServeError::Session(e.to_string()))?;
        service.waiting().await.map_err(|e| ServeError::Session(e.to_string()))?;
        Ok(())
    });
    // A read of stdin may still be pending on the blocking pool (the client closed only the
    // other direction): do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    served
}
