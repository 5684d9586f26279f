use crate::error::CliError;
use crate::{Ctx, Outcome, open_coordinator};

/// Mark the sessions of a process as alive (exits 0 even when there is none)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Process whose sessions are alive
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub pid: i64,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let mut coord = open_coordinator()?;
    let n = coord.heartbeat(a.pid)?;
    if ctx.ui.json {
        ctx.ui.json(&serde_json::json!({ "updated": n }));
    } else if n == 0 {
        ctx.ui.status("Session not found for heartbeat");
    }
    Ok(Outcome::Done(0))
}
