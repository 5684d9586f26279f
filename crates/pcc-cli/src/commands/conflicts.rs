use std::path::PathBuf;

use pcc_core::conflicts::{CheckRequest, CheckView, FileConflictView, MatrixView, RebaseView};

use crate::error::{CliError, EXIT_FOUND};
use crate::ui::{BOLD, DIM, GREEN, RED, paint};
use crate::{Ctx, Outcome, open_coordinator, repo_or_cwd};

/// Predict merge conflicts, in memory (nothing in the repository or its checkouts is written)
#[derive(Debug, clap::Subcommand)]
pub enum ConflictsCommand {
    /// Would a branch (or this checkout's working state) merge cleanly into the target? Exit 3 if not
    Check(CheckArgs),
    /// Every pair of live sessions (uncommitted work included), and each against the target. Exit 3 on any conflict
    Matrix {
        /// Repository (default: the current directory's)
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
        /// Target branch (default: main, else master, else the branch of the main checkout)
        #[arg(long, value_name = "BRANCH")]
        target: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Checkout or repository (default: the current directory)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// The branch to merge (default: the checkout's HEAD)
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Where it would be merged (default: main, else master, else the branch of the main checkout)
    #[arg(long, value_name = "BRANCH")]
    pub target: Option<String>,
    /// Merge the checkout's working state: HEAD plus uncommitted and untracked files
    #[arg(long, conflicts_with = "branch")]
    pub uncommitted: bool,
}

/// Rebase this checkout onto the target; on conflicts abort and report them (exit 3)
#[derive(Debug, clap::Args)]
pub struct RebaseArgs {
    /// Checkout (default: the current directory)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Branch to rebase onto (default: main, else master, else the branch of the main checkout)
    #[arg(long, value_name = "BRANCH")]
    pub target: Option<String>,
    /// Only predict (HEAD merged into the target in memory, as `conflicts check`); change nothing
    #[arg(long)]
    pub check: bool,
}

pub fn run(ctx: &Ctx, c: ConflictsCommand) -> Result<Outcome, CliError> {
    match c {
        ConflictsCommand::Check(a) => {
            let req = CheckRequest {
                dir: repo_or_cwd(a.repo)?,
                branch: a.branch,
                target: a.target,
                uncommitted: a.uncommitted,
            };
            check(ctx, &req)
        }
        ConflictsCommand::Matrix { repo, target } => {
            let dir = repo_or_cwd(repo)?;
            let view = open_coordinator()?.conflict_matrix(&dir, target.as_deref())?;
            show_matrix(ctx, &view);
            Ok(Outcome::Done(if view.conflicting > 0 { EXIT_FOUND } else { 0 }))
        }
    }
}

pub fn rebase(ctx: &Ctx, a: RebaseArgs) -> Result<Outcome, CliError> {
    let dir = repo_or_cwd(a.repo)?;
    let mut coord = open_coordinator()?;
    let view: RebaseView = if a.check {
        coord.rebase_check(&dir, a.target.as_deref())?
    } else {
        coord.rebase(&dir, a.target.as_deref())?
    };
    if ctx.ui.json {
        ctx.ui.json(&view);
    } else if view.has_conflicts {
        ctx.ui.warn(&view.message);
        for f in &view.conflicting_files {
            ctx.ui.data(f);
        }
    } else {
        ctx.ui.status(&view.message);
    }
    Ok(Outcome::Done(if view.has_conflicts { EXIT_FOUND } else { 0 }))
}

fn check(ctx: &Ctx, req: &CheckRequest) -> Result<Outcome, CliError> {
    let view: CheckView = open_coordinator()?.check_conflicts(req)?;
    if ctx.ui.json {
        ctx.ui.json(&view);
    } else {
        let verdict = if view.has_conflicts { paint(RED, &view.summary) } else { paint(GREEN, &view.summary) };
        ctx.ui.data(&verdict);
        show_files(ctx, &view.conflicts);
        for g in &view.guidance {
            ctx.ui.status(g);
        }
    }
    Ok(Outcome::Done(if view.has_conflicts { EXIT_FOUND } else { 0 }))
}

fn show_files(ctx: &Ctx, conflicts: &[FileConflictView]) {
    for c in conflicts {
        ctx.ui.data(&format!("  {} {}", paint(BOLD, &c.file), paint(DIM, &format!("({})", c.kind))));
        for h in &c.hunks {
            ctx.ui.data(&format!(
                "    ours lines {}-{}, theirs lines {}-{}",
                h.ours_start,
                h.ours_start + h.ours_lines.saturating_sub(1),
                h.theirs_start,
                h.theirs_start + h.theirs_lines.saturating_sub(1)
            ));
        }
    }
}

fn show_matrix(ctx: &Ctx, v: &MatrixView) {
    for w in &v.warnings {
        ctx.ui.warn(w);
    }
    if ctx.ui.json {
        ctx.ui.json(v);
        return;
    }
    let name = |id: &str| -> String {
        v.sessions
            .iter()
            .find(|s| s.session_id == id)
            .map(|s| format!("{} ({})", id.get(..8).unwrap_or(id), s.branch.as_deref().unwrap_or("-")))
            .unwrap_or_else(|| id.to_string())
    };
    ctx.ui.data(&format!("{} live sessions, target {}", v.sessions.len(), v.target));
    for p in v.pairs.iter().chain(&v.vs_target) {
        let b = if p.b == v.target { v.target.clone() } else { name(&p.b) };
        let verdict = if p.clean { paint(GREEN, "clean") } else { paint(RED, "conflicts") };
        ctx.ui.data(&format!("{} × {}: {verdict}", name(&p.a), b));
        show_files(ctx, &p.conflicts);
    }
}
