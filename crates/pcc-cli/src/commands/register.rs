use std::path::PathBuf;

use pcc_core::{RegisterRequest, RegisteredBy};

use crate::error::CliError;
use crate::ui::{GREEN, YELLOW, paint};
use crate::{Ctx, Outcome, open_coordinator};

/// Register a session for a process: the first live session gets the main checkout, later ones a
/// new worktree
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository (any path inside it)
    #[arg(long, value_name = "PATH")]
    pub repo: PathBuf,
    /// Process that owns the session (the session lives while it runs)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub pid: i64,
    #[command(flatten)]
    pub worktree: super::WorktreeArgs,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let mut coord = open_coordinator()?;
    let req = RegisterRequest {
        repo: a.repo,
        pid: a.pid,
        pid_start: None,
        isolation: a.worktree.isolation(),
        base: a.worktree.base,
        branch: a.worktree.branch,
        name: a.worktree.name,
        agent: None,
        registered_by: RegisteredBy::Register,
        new_session: false,
    };
    let detail = coord.register(&req)?;
    for w in &detail.warnings {
        ctx.ui.warn(w);
    }
    let r = &detail.registration;
    if ctx.ui.json {
        ctx.ui.json(r);
    } else {
        if r.is_main_repo {
            ctx.ui.data(&format!("{} Registered in main repository", paint(GREEN, "✓")));
        } else if r.is_new {
            ctx.ui.data(&format!(
                "{} Created worktree: {}",
                paint(GREEN, "✓"),
                r.worktree_name.as_deref().unwrap_or("")
            ));
        } else {
            ctx.ui.data(&format!(
                "{} Already registered: {}",
                paint(GREEN, "✓"),
                r.worktree_name.as_deref().unwrap_or("main")
            ));
        }
        ctx.ui.data(&format!("  Path: {}", r.worktree_path));
        ctx.ui.data(&format!("  Session: {}", r.session_id));
        if r.parallel_sessions > 1 {
            ctx.ui.data(&format!("  {} {} parallel sessions active", paint(YELLOW, "⚠"), r.parallel_sessions));
        }
    }
    Ok(Outcome::Done(0))
}
