use crate::error::{CliError, EXIT_FAILED};
use crate::{Ctx, Outcome};

/// The MCP server (the tools agents call to coordinate)
#[derive(Debug, clap::Subcommand)]
pub enum McpCommand {
    /// Serve MCP on stdin/stdout until the client disconnects (what `install --mcp` registers);
    /// the same server as the `parallel-cc-mcp` binary. stdout carries JSON-RPC only
    Serve,
}

pub fn run(_ctx: &Ctx, c: McpCommand) -> Result<Outcome, CliError> {
    let McpCommand::Serve = c;
    pcc_mcp::serve_stdio().map_err(|e| CliError::Failed {
        message: e.to_string(),
        hint: None,
        code: "mcp_failed",
        exit: EXIT_FAILED,
    })?;
    Ok(Outcome::Done(0))
}
