use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pcc_core::views::ReleaseOutcome;
use pcc_core::{RegisterRequest, RegisteredBy};

use crate::error::{CliError, EXIT_AGENT_NOT_FOUND, EXIT_FAILED};
use crate::supervisor::{exit_code, run_agent};
use crate::ui::{BOLD, YELLOW, paint};
use crate::{Ctx, Outcome, open_coordinator};

/// Start an agent in its own checkout: the first session gets the main checkout, every later one a
/// new worktree; when the agent exits the session is released and nothing it did is lost
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository (default: the current directory)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    #[command(flatten)]
    pub worktree: super::WorktreeArgs,
    /// The agent and its arguments (default: claude)
    #[arg(last = true, value_name = "AGENT [ARGS]")]
    pub agent: Vec<OsString>,
}

impl Args {
    /// `claude-parallel ARGS`: every argument goes to the agent.
    pub fn for_agent(program: OsString, args: Vec<OsString>) -> Args {
        let mut agent = vec![program];
        agent.extend(args);
        Args { repo: None, worktree: super::WorktreeArgs::default(), agent }
    }
}

fn agent_env(session: &str, repo: &str, worktree: &str) -> Vec<(&'static str, OsString)> {
    vec![
        (pcc_core::env::SESSION_ID, session.into()),
        (pcc_core::env::REPO, repo.into()),
        (pcc_core::env::WORKTREE, worktree.into()),
    ]
}

/// Show a spinner on stderr if registration (worktree creation) takes over a second.
fn slow_progress(ctx: &Ctx) -> (Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>) {
    let done = Arc::new(AtomicBool::new(false));
    if ctx.ui.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return (done, None);
    }
    let flag = done.clone();
    let t = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(1) {
            if flag.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message("creating worktree…");
        bar.enable_steady_tick(Duration::from_millis(100));
        while !flag.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        bar.finish_and_clear();
    });
    (done, Some(t))
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let mut agent = a.agent.clone();
    if agent.is_empty() {
        agent.push(OsString::from("claude"));
    }
    let program = agent.remove(0);
    let agent_name = Path::new(&program).file_name().map(|n| n.to_string_lossy().into_owned());
    let start_dir = crate::repo_or_cwd(a.repo.clone())?;

    if pcc_core::repo_root(&start_dir).is_none() {
        if a.repo.is_some() {
            // An explicit --repo that is not a repository is a mistake worth stopping for.
            return Err(pcc_core::CoreError::Git(pcc_core::GitError::NotARepo { path: start_dir, source: None }).into());
        }
        ctx.ui.status("parallel-cc: not in a git repository; running the agent without coordination");
        return spawn_plain(&program, &agent, &start_dir);
    }

    let mut coord = open_coordinator()?;
    let req = RegisterRequest {
        repo: start_dir.clone(),
        pid: i64::from(std::process::id()),
        pid_start: None,
        isolation: a.worktree.isolation(),
        base: a.worktree.base,
        branch: a.worktree.branch,
        name: a.worktree.name,
        agent: agent_name,
        registered_by: RegisteredBy::Supervisor,
        new_session: false,
    };
    let (done, spinner) = slow_progress(ctx);
    let registered = coord.register(&req);
    done.store(true, Ordering::SeqCst);
    if let Some(t) = spinner {
        let _ = t.join();
    }
    let detail = registered?;
    for w in &detail.warnings {
        ctx.ui.warn(w);
    }
    let reg = &detail.registration;
    if ctx.ui.json {
        let text = serde_json::to_string(reg).unwrap_or_default();
        ctx.ui.warn_raw(&text);
    }
    // Keep the user's position: a subdirectory of the checkout maps to the same one in a worktree.
    let checkout = PathBuf::from(&reg.worktree_path);
    let cwd = pcc_core::relative_in_checkout(&start_dir)
        .map(|rel| checkout.join(rel))
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| checkout.clone());
    let others = reg.parallel_sessions.saturating_sub(1);
    if reg.is_main_repo {
        ctx.ui.status(&format!(
            "{} session {} in the main checkout {}{}",
            paint(BOLD, "parallel-cc:"),
            short(&reg.session_id),
            reg.worktree_path,
            if others > 0 { format!(" ({others} other live session(s))") } else { String::new() }
        ));
    } else {
        ctx.ui.status(&format!(
            "{} session {} works in worktree {} on branch {} ({} live session(s))\n  {}",
            paint(BOLD, "parallel-cc:"),
            short(&reg.session_id),
            reg.worktree_name.as_deref().unwrap_or(""),
            detail.branch.as_deref().unwrap_or(""),
            reg.parallel_sessions,
            reg.worktree_path
        ));
    }

    let envs = agent_env(&reg.session_id, &detail.repo_path, &reg.worktree_path);
    let session_id = reg.session_id.clone();
    let mut agent_pid_error = None;
    let status = run_agent(&program, &agent, &cwd, &envs, |pid| {
        if let Err(e) = coord.set_agent_pid(&session_id, pid) {
            agent_pid_error = Some(e);
        }
    });
    if let Some(e) = agent_pid_error {
        ctx.ui.warn(&format!("could not record the agent's pid: {e}"));
    }
    let released = coord.release_session(&session_id);
    match status {
        Ok(st) => {
            match &released {
                Ok(out) => ctx.ui.status(&summary(out, &detail.repo_path)),
                Err(e) => ctx.ui.warn(&format!("could not release the session: {e} (run `parallel-cc cleanup` later)")),
            }
            Ok(Outcome::Done(exit_code(st)))
        }
        Err(e) => Err(spawn_error(&program, &e)),
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn spawn_plain(program: &OsString, args: &[OsString], cwd: &Path) -> Result<Outcome, CliError> {
    match run_agent(program, args, cwd, &[], |_| {}) {
        Ok(st) => Ok(Outcome::Done(exit_code(st))),
        Err(e) => Err(spawn_error(program, &e)),
    }
}

/// The agent could not be started: exit 127 when it does not exist, as a shell reports it.
fn spawn_error(program: &OsString, e: &std::io::Error) -> CliError {
    let not_found = e.kind() == std::io::ErrorKind::NotFound;
    CliError::Failed {
        message: format!("cannot start the agent {}: {e}", program.to_string_lossy()),
        hint: not_found.then(|| "install it, or name another agent: parallel-cc run -- <command> [args]".to_string()),
        code: if not_found { "agent_not_found" } else { "agent_failed" },
        exit: if not_found { EXIT_AGENT_NOT_FOUND } else { EXIT_FAILED },
    }
}

/// One paragraph: what was kept and why, and what to do next.
pub fn summary(out: &ReleaseOutcome, repo: &str) -> String {
    let name = out.worktree_name.as_deref().unwrap_or("");
    let path = out.worktree_path.as_deref().unwrap_or("");
    let branch = out.branch.as_deref().unwrap_or("");
    let head = paint(BOLD, "parallel-cc:");
    if out.kept {
        return format!(
            "{head} {} worktree {name} kept at {path} ({}).\n  resume: cd {path} && claude    merge: git -C {repo} merge {branch}    when done: parallel-cc cleanup",
            paint(YELLOW, "⚠"),
            out.reason.as_deref().unwrap_or("it holds work")
        );
    }
    if out.worktree_removed {
        return match out.branch_deleted {
            Some(true) => {
                format!("{head} session ended; worktree {name} held no work and was removed with its branch {branch}.")
            }
            _ => format!(
                "{head} session ended; worktree {name} removed, branch {branch} kept{}.\n  merge: git -C {repo} merge {branch}",
                out.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            ),
        };
    }
    format!("{head} session ended ({}).", out.reason.as_deref().unwrap_or("checkout left as it is"))
}
