use crate::error::CliError;
use crate::ui::{GREEN, YELLOW, paint};
use crate::{Ctx, Outcome, open_coordinator};

/// End the session of a process; its worktree is removed only if it holds no work
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Process whose session ends
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub pid: i64,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let mut coord = open_coordinator()?;
    let out = coord.release_pid(a.pid)?;
    if ctx.ui.json {
        ctx.ui.json(&serde_json::json!({
            "released": out.released,
            "worktreeRemoved": out.worktree_removed,
            "kept": out.kept,
            "reason": out.reason,
        }));
    } else if !out.released {
        ctx.ui.data("Session not found");
    } else {
        ctx.ui.data(&format!("{} Session released", paint(GREEN, "✓")));
        if out.worktree_removed {
            ctx.ui.data("  Worktree cleaned up");
        }
        if out.kept {
            ctx.ui.data(&format!(
                "  {} Worktree kept: {} ({})",
                paint(YELLOW, "⚠"),
                out.worktree_path.as_deref().unwrap_or(""),
                out.reason.as_deref().unwrap_or("")
            ));
        } else if let Some(r) = &out.reason {
            ctx.ui.data(&format!("  {r}"));
        }
    }
    Ok(Outcome::Done(0))
}
