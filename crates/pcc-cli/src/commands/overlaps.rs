use crate::error::CliError;
use crate::ui::{BOLD, DIM, GREEN, RED, YELLOW, paint};
use crate::{Ctx, Outcome, open_coordinator, repo_or_cwd};

/// Show files that two or more live sessions are changing (edited through their hooks, or
/// changed in their checkouts, committed or not), and whether their changes would merge
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository (default: the current directory's)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<std::path::PathBuf>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let repo = repo_or_cwd(a.repo)?;
    let mut coord = open_coordinator()?;
    let view = coord.overlaps(&repo)?;
    for w in &view.warnings {
        ctx.ui.warn(w);
    }
    if ctx.ui.json {
        ctx.ui.json(&view);
        return Ok(Outcome::Done(0));
    }
    if view.overlaps.is_empty() {
        ctx.ui.data(&format!("No overlapping changes among {} live sessions", view.live_sessions));
        return Ok(Outcome::Done(0));
    }
    ctx.ui.data(&format!(
        "{} file{} changed by more than one live session:",
        view.total,
        if view.total == 1 { "" } else { "s" }
    ));
    for o in &view.overlaps {
        let verdict = match o.merges_cleanly {
            Some(true) => paint(GREEN, "merges cleanly"),
            Some(false) => paint(RED, "would conflict"),
            None => paint(YELLOW, "merge not checked"),
        };
        ctx.ui.data(&format!("\n{}  ({verdict})", paint(BOLD, &o.file)));
        for s in &o.sessions {
            let mut how = Vec::new();
            if s.changed {
                how.push("changed in its checkout".to_string());
            }
            if let Some(at) = &s.last_edit_at {
                how.push(format!("edited by its agent at {at}"));
            }
            let place = if s.is_main_repo { "main checkout".to_string() } else { s.worktree_path.clone() };
            ctx.ui.data(&format!(
                "  ● {} {} {}",
                s.session_id.get(..8).unwrap_or(&s.session_id),
                s.branch.as_deref().unwrap_or("-"),
                paint(DIM, &format!("({place}; {})", how.join(", ")))
            ));
        }
    }
    Ok(Outcome::Done(0))
}
