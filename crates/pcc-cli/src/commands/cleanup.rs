use std::path::PathBuf;

use pcc_core::CleanupOptions;

use crate::error::CliError;
use crate::{Ctx, Outcome, open_coordinator};

/// Reap dead sessions, remove worktrees that hold no work, prune stale entries, delete old
/// snapshots (config cleanup.snapshot_days)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove worktrees holding uncommitted or unmerged work, each after a snapshot
    #[arg(long)]
    pub force: bool,
    /// Only this repository (default: every repository with sessions)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let mut coord = open_coordinator()?;
    let view = coord.cleanup(&CleanupOptions { dry_run: a.dry_run, force: a.force, repo: a.repo })?;
    if ctx.ui.json {
        ctx.ui.json(&view);
        return Ok(Outcome::Done(0));
    }
    ctx.ui.data(if view.dry_run { "Cleanup plan (dry run, nothing changed):" } else { "Cleanup Results:" });
    for line in &view.actions {
        ctx.ui.data(&format!("  - {line}"));
    }
    if !view.dry_run {
        ctx.ui.data(&format!("Sessions removed: {}", view.removed));
        ctx.ui.data(&format!("Worktrees removed: {}", view.worktrees_removed.len()));
        for name in &view.worktrees_removed {
            ctx.ui.data(&format!("  - {name}"));
        }
        if !view.kept.is_empty() {
            ctx.ui.data(&format!("Kept (they hold work): {}", view.kept.len()));
            for k in &view.kept {
                ctx.ui.data(&format!("  - {}: {} ({})", k.worktree_name, k.reason, k.worktree_path));
            }
            ctx.ui.status(
                "hint: commit or discard the work, or run `parallel-cc cleanup --force` (a snapshot is taken first)",
            );
        }
        for s in &view.snapshots {
            ctx.ui.data(&format!("Snapshot saved: {s} (parallel-cc restore {s})"));
        }
    } else if view.actions.is_empty() {
        ctx.ui.data("  nothing to do");
    }
    Ok(Outcome::Done(0))
}
