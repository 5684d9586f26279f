use std::path::PathBuf;

use pcc_core::autofix::{AnalyzeRequest, AnalyzeView, HistoryRequest, HistoryView};
use pcc_core::conflicts::{CheckRequest, CheckView, FileConflictView, MatrixView, RebaseView};

use crate::error::{CliError, EXIT_FOUND};
use crate::ui::{BOLD, DIM, GREEN, RED, paint};
use crate::{Ctx, Outcome, open_coordinator, repo_or_cwd};

/// Predict and analyse merge conflicts, in memory (nothing in the repository or its checkouts is
/// written); `conflicts` alone lists the history of detected and resolved conflicts
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<ConflictsCommand>,
    #[command(flatten)]
    pub history: HistoryArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConflictsCommand {
    /// Analyse each conflicting file with tree-sitter: class, severity, regions. Exit 3 if any
    Analyze(AnalyzeArgs),
    /// Detected conflicts and how they were resolved (the default)
    History(HistoryArgs),
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
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Only this file (repository-relative; `./`, `../` and absolute paths are read from the
    /// current directory)
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
}

#[derive(Debug, Default, clap::Args)]
pub struct HistoryArgs {
    /// Repository (default: the current directory's; with --all, every repository)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Every repository
    #[arg(long, conflicts_with = "repo")]
    pub all: bool,
    /// Only this file (repo-relative)
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// Only this class: TRIVIAL, STRUCTURAL, SEMANTIC, CONCURRENT_EDIT
    #[arg(long = "type", value_name = "TYPE")]
    pub conflict_type: Option<String>,
    /// Only this resolution: AUTO_FIX, MANUAL, HYBRID, ABANDONED
    #[arg(long, value_name = "STRATEGY")]
    pub strategy: Option<String>,
    /// Only resolved conflicts
    #[arg(long)]
    pub resolved: bool,
    /// At most this many entries
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Skip this many entries (newest first)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub offset: usize,
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

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let c = a.command.unwrap_or(ConflictsCommand::History(a.history));
    match c {
        ConflictsCommand::Analyze(a) => analyze(ctx, a),
        ConflictsCommand::History(h) => history(ctx, h),
        ConflictsCommand::Check(a) => check(ctx, &a.request()?),
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

impl CheckArgs {
    pub fn request(self) -> Result<CheckRequest, CliError> {
        Ok(CheckRequest {
            dir: repo_or_cwd(self.repo)?,
            branch: self.branch,
            target: self.target,
            uncommitted: self.uncommitted,
        })
    }
}

fn analyze(ctx: &Ctx, a: AnalyzeArgs) -> Result<Outcome, CliError> {
    let req = AnalyzeRequest { check: a.check.request()?, file: a.file };
    let v: AnalyzeView = open_coordinator()?.analyze_conflicts(&req)?;
    if ctx.ui.json {
        ctx.ui.json(&v);
        return Ok(Outcome::Done(if v.has_conflicts { EXIT_FOUND } else { 0 }));
    }
    if !v.has_conflicts {
        let clean = v.note.clone().unwrap_or_else(|| format!("{} merges cleanly into {}", v.source, v.target));
        ctx.ui.data(&paint(GREEN, &clean));
        return Ok(Outcome::Done(0));
    }
    ctx.ui.data(&format!(
        "{} → {}: {} conflicting file{}",
        v.source,
        v.target,
        v.conflicts.len(),
        if v.conflicts.len() == 1 { "" } else { "s" }
    ));
    for f in &v.conflicts {
        let class = f.conflict_type.unwrap_or("not analysed");
        let colour = match f.conflict_type {
            Some("TRIVIAL") => GREEN,
            Some("STRUCTURAL") => BOLD,
            _ => RED,
        };
        ctx.ui.data(&format!(
            "  {} {} {}",
            paint(BOLD, &f.file_path),
            paint(colour, class),
            paint(
                DIM,
                &format!(
                    "({}, {}{})",
                    f.severity.unwrap_or("-"),
                    f.method,
                    f.language.map(|l| format!(", {l}")).unwrap_or_default()
                )
            )
        ));
        if let Some(r) = f.not_analysed.as_ref().or(f.fallback_reason.as_ref()) {
            ctx.ui.data(&format!("    {}", paint(DIM, r)));
        }
        for issue in &f.semantic_issues {
            ctx.ui.data(&format!("    {}", paint(RED, issue)));
        }
        for r in &f.regions {
            ctx.ui.data(&format!(
                "    ours lines {}-{}, theirs lines {}-{}: {} — {}",
                r.ours_start,
                r.ours_start + r.ours_lines.saturating_sub(1),
                r.theirs_start,
                r.theirs_start + r.theirs_lines.saturating_sub(1),
                r.conflict_type,
                r.reason
            ));
        }
    }
    ctx.ui.status("`parallel-cc suggestions generate` proposes resolutions");
    Ok(Outcome::Done(EXIT_FOUND))
}

fn history(ctx: &Ctx, h: HistoryArgs) -> Result<Outcome, CliError> {
    let dir = if h.all { None } else { Some(repo_or_cwd(h.repo)?) };
    let req = HistoryRequest {
        dir,
        file: h.file,
        conflict_type: h.conflict_type.map(|t| t.to_ascii_uppercase()),
        strategy: h.strategy.map(|t| t.to_ascii_uppercase()),
        resolved: h.resolved.then_some(true),
        limit: h.limit,
        offset: h.offset,
    };
    let v: HistoryView = open_coordinator()?.conflict_history(&req)?;
    if ctx.ui.json {
        // The original's `conflicts --json` fields (`resolutions`, `total`) next to the MCP tool's.
        let doc = serde_json::json!({
            "resolutions": &v.history,
            "total": v.pagination.total,
            "history": &v.history,
            "statistics": &v.statistics,
            "pagination": &v.pagination,
        });
        ctx.ui.json(&doc);
        return Ok(Outcome::Done(0));
    }
    if v.history.is_empty() {
        ctx.ui.status("No conflicts recorded yet (`parallel-cc suggestions generate` records what it analyses)");
        return Ok(Outcome::Done(0));
    }
    for e in &v.history {
        let state = match (&e.resolution_strategy, &e.resolved_at) {
            (Some(s), Some(at)) => paint(GREEN, &format!("{s} {at}")),
            _ => paint(DIM, "unresolved"),
        };
        ctx.ui.data(&format!("{} {} {}", paint(BOLD, &e.file_path), e.conflict_type, state));
        ctx.ui.data(&format!(
            "  detected {}{}{}",
            e.detected_at,
            e.auto_fix_strategy.as_deref().map(|s| format!(", strategy {s}")).unwrap_or_default(),
            e.confidence.map(|c| format!(", confidence {:.0}%", c * 100.0)).unwrap_or_default()
        ));
    }
    ctx.ui.status(&format!(
        "{} of {} shown; {} resolved, {} unresolved, auto-fix rate {:.0}%",
        v.history.len(),
        v.pagination.total,
        v.statistics.total_resolutions,
        v.statistics.unresolved,
        v.statistics.auto_fix_rate * 100.0
    ));
    Ok(Outcome::Done(0))
}
