use std::path::PathBuf;
use std::time::Duration;

use pcc_core::views::{SessionView, StatusView};
use pcc_core::{GitLooks, Timestamp};

use crate::error::CliError;
use crate::ui::{DIM, GREEN, RED, YELLOW, paint, table};
use crate::{Ctx, Outcome, open_coordinator};

/// Show sessions: where each works, whether it lives, what its worktree holds
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository to show (default: the one of the current directory, else all)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Show every repository
    #[arg(long, conflicts_with = "repo")]
    pub all: bool,
    /// Only sandboxed (E2B) sessions
    #[arg(long)]
    pub sandbox_only: bool,
    /// Redraw a live table until interrupted (never takes git locks)
    #[arg(long, conflicts_with = "json")]
    pub watch: bool,
    /// Seconds between redraws with --watch
    #[arg(long, default_value_t = 2, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// Do not look at worktrees now: show their last recorded details (ahead/behind, dirty files)
    #[arg(long)]
    pub no_git: bool,
}

fn scope(a: &Args) -> Option<PathBuf> {
    if a.all {
        return None;
    }
    if let Some(r) = &a.repo {
        return Some(r.clone());
    }
    // The repository of the current directory, if there is one (status finds its identity).
    std::env::current_dir().ok().and_then(|d| pcc_core::checkout_root(&d))
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let mut coord = open_coordinator()?;
    let repo = scope(&a);
    if a.watch {
        let mut err_streak = 0;
        loop {
            let looks = if a.no_git { GitLooks::Recorded } else { GitLooks::All };
            match coord.status(repo.as_deref(), a.sandbox_only, looks) {
                Ok(view) => {
                    err_streak = 0;
                    // Clear the screen and redraw from the top.
                    ctx.ui.data(&format!(
                        "\x1b[2J\x1b[H{}\n\n{}",
                        render(&view),
                        paint(DIM, "refreshing; Ctrl-C to stop")
                    ));
                }
                Err(e) => {
                    err_streak += 1;
                    if err_streak > 3 {
                        return Err(e.into());
                    }
                }
            }
            std::thread::sleep(Duration::from_secs(a.interval));
        }
    }
    let looks = if a.no_git { GitLooks::Recorded } else { GitLooks::Stalest };
    let view = coord.status(repo.as_deref(), a.sandbox_only, looks)?;
    if ctx.ui.json {
        ctx.ui.json(&view);
    } else {
        ctx.ui.data(&render(&view));
    }
    Ok(Outcome::Done(0))
}

fn state_cell(s: &SessionView) -> String {
    let text = match &s.kept_reason {
        Some(r) if s.state == "kept" => format!("kept: {r}"),
        _ => s.state.clone(),
    };
    match s.state.as_str() {
        "active" | "starting" => paint(GREEN, &text),
        "idle" => text,
        "dead" => paint(RED, &text),
        _ => paint(YELLOW, &text),
    }
}

pub fn render(view: &StatusView) -> String {
    if view.sessions.is_empty() {
        return if view.repo_path == "all" {
            "No active sessions".into()
        } else {
            format!("No active sessions in {}", view.repo_path)
        };
    }
    let mut out = format!("Active Sessions: {}", view.total_sessions);
    if view.repo_path != "all" {
        out.push_str(&format!("  ({})", view.repo_path));
    }
    out.push('\n');
    let now = Timestamp::now();
    let rows: Vec<Vec<String>> = view
        .sessions
        .iter()
        .map(|s| {
            let alive = if s.is_alive { paint(GREEN, "●") } else { paint(RED, "○") };
            let mut git = match (s.ahead, s.behind, s.dirty_files) {
                (Some(a), Some(b), Some(d)) => format!("+{a} -{b} ~{d}"),
                (_, _, Some(d)) => format!("~{d}"),
                _ => String::new(),
            };
            // Details from an earlier look say how old they are.
            let age = s.git_checked_at.as_deref().and_then(Timestamp::parse).map(|t| now.secs() - t.secs());
            if let Some(age) = age.filter(|&a| a >= 5 && !git.is_empty()) {
                git.push_str(&paint(DIM, &format!(" ({} ago)", short_age(age))));
            }
            let activity = s
                .last_activity
                .as_ref()
                .map(|l| format!("{} {}", l.tool.as_deref().unwrap_or(""), l.at))
                .unwrap_or_default();
            vec![
                format!("{alive} {}", s.pid),
                s.worktree_name.clone().unwrap_or_else(|| "(main)".into()),
                s.branch.clone().unwrap_or_default(),
                state_cell(s),
                format!("{}m", s.duration_minutes),
                git,
                activity,
                s.worktree_path.clone(),
            ]
        })
        .collect();
    out.push_str(&table(&["PID", "CHECKOUT", "BRANCH", "STATE", "AGE", "GIT", "LAST TOOL", "PATH"], &rows));
    out
}

fn short_age(secs: i64) -> String {
    match secs {
        ..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}
