use pcc_core::views::CheckStatus;

use crate::error::{CliError, EXIT_FOUND};
use crate::ui::{GREEN, RED, YELLOW, paint};
use crate::{Ctx, Outcome, open_coordinator};

/// Check the installation (git, data dir, database, config, hooks, MCP, keys, worktrees); exit 3
/// if a check fails
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &Ctx, _a: Args) -> Result<Outcome, CliError> {
    let coord = open_coordinator()?;
    let repo = std::env::current_dir().ok().and_then(|d| pcc_core::repo_root(&d));
    let report = coord.doctor(repo.as_deref());
    if ctx.ui.json {
        ctx.ui.json(&report);
    } else {
        ctx.ui.data("System Health Check");
        for c in &report.checks {
            let mark = match c.status {
                CheckStatus::Ok => paint(GREEN, "✓"),
                CheckStatus::Warn => paint(YELLOW, "⚠"),
                CheckStatus::Fail => paint(RED, "✗"),
            };
            ctx.ui.data(&format!("{mark} {}: {}", c.name, c.message));
            if let (Some(h), false) = (&c.hint, c.status == CheckStatus::Ok) {
                ctx.ui.data(&format!("    hint: {h}"));
            }
        }
    }
    Ok(Outcome::Done(if report.ok { 0 } else { EXIT_FOUND }))
}
