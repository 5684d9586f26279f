use std::path::PathBuf;

use crate::error::CliError;
use crate::ui::{GREEN, paint};
use crate::{Ctx, Outcome, open_coordinator};

/// Recreate the worktree and branch of a snapshot with every file as it was
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Snapshot name (see `parallel-cc snapshot list`)
    pub name: String,
    /// Where to recreate the worktree (default: where it was)
    #[arg(long, value_name = "PATH")]
    pub path: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let mut coord = open_coordinator()?;
    let view = coord.restore(&a.name, a.path.as_deref())?;
    if ctx.ui.json {
        ctx.ui.json(&view);
    } else {
        ctx.ui.data(&format!("{} Restored {} into {}", paint(GREEN, "✓"), view.name, view.worktree_path));
        ctx.ui.data(&format!("  Branch: {}", view.branch));
        ctx.ui.data(&format!("  Files written: {}, deleted: {}", view.files_written, view.files_deleted));
    }
    Ok(Outcome::Done(0))
}
