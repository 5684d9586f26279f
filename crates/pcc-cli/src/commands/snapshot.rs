use std::path::PathBuf;

use crate::error::CliError;
use crate::ui::table;
use crate::{Ctx, Outcome, open_coordinator};

/// Manage snapshots (saved before any forced removal; config cleanup.snapshot_days)
#[derive(Debug, clap::Subcommand)]
pub enum SnapshotCommand {
    /// List snapshots with their age and size
    List {
        /// Only this repository
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
    },
}

fn human_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

fn human_age(minutes: i64) -> String {
    if minutes >= 2 * 24 * 60 {
        format!("{}d", minutes / (24 * 60))
    } else if minutes >= 120 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

pub fn run(ctx: &Ctx, cmd: SnapshotCommand) -> Result<Outcome, CliError> {
    let SnapshotCommand::List { repo } = cmd;
    let coord = open_coordinator()?;
    let list = coord.snapshots(repo.as_deref())?;
    if ctx.ui.json {
        ctx.ui.json(&serde_json::json!({ "snapshots": list, "total": list.len() }));
    } else if list.is_empty() {
        ctx.ui.data("No snapshots");
    } else {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    human_age(s.age_minutes),
                    format!("{} files, {}", s.file_count, human_size(s.size_bytes)),
                    s.branch.clone().unwrap_or_default(),
                    s.reason.clone().unwrap_or_default(),
                    s.repo_path.clone(),
                ]
            })
            .collect();
        ctx.ui.data(&table(&["NAME", "AGE", "SIZE", "BRANCH", "REASON", "REPO"], &rows));
    }
    Ok(Outcome::Done(0))
}
