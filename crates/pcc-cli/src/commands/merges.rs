use std::path::PathBuf;
use std::time::Duration;

use pcc_core::claims::Actor;
use pcc_core::merges::{DetectionResult, MergeEventsView, SubscriptionsView};

use crate::error::{CliError, EXIT_FAILED};
use crate::ui::{BOLD, DIM, GREEN, paint};
use crate::{Ctx, Outcome, open_coordinator, repo_or_cwd};

/// Background watchers
#[derive(Debug, clap::Subcommand)]
pub enum WatchCommand {
    /// Detect merged branches (live sessions' branches and subscribed ones), once or as a daemon
    Merges(WatchArgs),
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Seconds between polls (at least 5)
    #[arg(long, value_name = "S", default_value_t = 60)]
    pub interval: u64,
    /// Poll once and exit
    #[arg(long)]
    pub once: bool,
    /// Fetch each repository's origin first and compare against origin/<target>
    #[arg(long)]
    pub fetch: bool,
}

/// Merge events and subscriptions
#[derive(Debug, clap::Subcommand)]
pub enum MergeCommand {
    /// Recorded merges, newest first (or, with --subscriptions, active subscriptions)
    Status {
        /// Only this repository
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
        /// Only branches whose name contains this
        #[arg(long, value_name = "NAME")]
        branch: Option<String>,
        /// At most this many events
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
        /// List active subscriptions instead
        #[arg(long)]
        subscriptions: bool,
    },
    /// Is BRANCH merged into the target? Looks now (a merge found is recorded)
    Check {
        #[arg(value_name = "BRANCH")]
        branch: String,
        /// Target branch (default: main, else master, else the branch of the main checkout)
        #[arg(long, value_name = "BRANCH")]
        target: Option<String>,
        /// Repository (default: the current directory's)
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
    },
    /// Tell this session (through its hooks) when BRANCH is merged into the target
    Subscribe {
        #[arg(value_name = "BRANCH")]
        branch: String,
        /// Target branch (default: main, else master, else the branch of the main checkout)
        #[arg(long, value_name = "BRANCH")]
        target: Option<String>,
        /// The session subscribing (default: the one working in the current directory)
        #[arg(long = "session", value_name = "ID", env = "PARALLEL_CC_SESSION_ID", hide_env_values = true)]
        session: Option<String>,
    },
}

pub fn watch(ctx: &Ctx, c: WatchCommand) -> Result<Outcome, CliError> {
    let WatchCommand::Merges(a) = c;
    if a.interval < 5 {
        return Err(CliError::usage("Poll interval must be at least 5 seconds"));
    }
    let mut coord = open_coordinator()?;
    if a.once {
        let r = coord.poll_merges(a.fetch)?;
        show_poll(ctx, &r);
        return Ok(Outcome::Done(0));
    }
    // One daemon per data directory.
    let lock_path = coord.data_dir().join("watch-merges.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| failed(format!("cannot open {}: {e}", lock_path.display())))?;
    if lock.try_lock().is_err() {
        return Err(failed(format!("another `watch merges` is already running (it holds {})", lock_path.display())));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])
        .map_err(|e| failed(format!("cannot catch signals: {e}")))?;
    // The first signal stops the daemon after the current poll; a second one at once.
    std::thread::spawn(move || {
        let mut seen = 0;
        for sig in signals.forever() {
            seen += 1;
            if seen > 1 {
                std::process::exit(128 + sig);
            }
            let _ = tx.send(sig);
        }
    });
    ctx.ui.status("Starting merge detection daemon...");
    ctx.ui.status(&format!("Poll interval: {} seconds", a.interval));
    loop {
        match coord.poll_merges(a.fetch) {
            Ok(r) => show_poll(ctx, &r),
            Err(e) => ctx.ui.warn(&format!("poll failed: {}", CliError::from(e).full_message())),
        }
        match rx.recv_timeout(Duration::from_secs(a.interval)) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            _ => break,
        }
    }
    ctx.ui.status("Stopped.");
    let _ = lock.unlock();
    Ok(Outcome::Done(0))
}

pub fn merge(ctx: &Ctx, c: MergeCommand) -> Result<Outcome, CliError> {
    let mut coord = open_coordinator()?;
    match c {
        MergeCommand::Status { repo, branch, limit, subscriptions } => {
            let limit = if limit == 0 { 20 } else { limit };
            if subscriptions {
                let repo = repo.map(|r| r.to_string_lossy().into_owned());
                let v: SubscriptionsView = coord.merge_subscriptions(repo.as_deref(), branch.as_deref())?;
                if ctx.ui.json {
                    ctx.ui.json(&v);
                } else if v.subscriptions.is_empty() {
                    ctx.ui.data("No active subscriptions");
                } else {
                    for s in &v.subscriptions {
                        ctx.ui.data(&format!(
                            "○ {} → {}  {}",
                            paint(BOLD, &s.branch_name),
                            s.target_branch,
                            paint(DIM, &format!("session {}, repo {}", &s.session_id, s.repo_path))
                        ));
                    }
                }
                return Ok(Outcome::Done(0));
            }
            let v: MergeEventsView = coord.merge_events(repo.as_deref(), branch.as_deref(), limit)?;
            if ctx.ui.json {
                ctx.ui.json(&v);
            } else if v.events.is_empty() {
                ctx.ui.data("No merges recorded");
            } else {
                for e in &v.events {
                    let mark = if e.notification_sent { paint(GREEN, "✓") } else { "○".to_string() };
                    ctx.ui.data(&format!("{mark} {} → {}", paint(BOLD, &e.branch_name), e.target_branch));
                    ctx.ui.data(&format!(
                        "    Repo: {}  Detected: {}  Source commit: {}",
                        e.repo_path,
                        e.detected_at.as_deref().unwrap_or("?"),
                        e.source_commit.get(..8).unwrap_or(&e.source_commit)
                    ));
                }
            }
            Ok(Outcome::Done(0))
        }
        MergeCommand::Check { branch, target, repo } => {
            let v = coord.merge_status(&repo_or_cwd(repo)?, &branch, target.as_deref())?;
            if ctx.ui.json {
                ctx.ui.json(&v);
            } else {
                ctx.ui.data(&paint(if v.is_merged { GREEN } else { BOLD }, &v.message));
            }
            Ok(Outcome::Done(0))
        }
        MergeCommand::Subscribe { branch, target, session } => {
            let actor = Actor { session_id: session.filter(|s| !s.trim().is_empty()), cwd: repo_or_cwd(None)? };
            let v = coord.subscribe_merge(&actor, &branch, target.as_deref())?;
            if ctx.ui.json {
                ctx.ui.json(&v);
            } else {
                ctx.ui.status(&v.message);
                ctx.ui.data(&v.subscription.id);
            }
            Ok(Outcome::Done(0))
        }
    }
}

fn show_poll(ctx: &Ctx, r: &DetectionResult) {
    if ctx.ui.json {
        ctx.ui.json(r);
        return;
    }
    for e in &r.new_merges {
        ctx.ui.data(&format!(
            "● {} → {}  ({})",
            paint(BOLD, &e.branch_name),
            e.target_branch,
            e.how.as_deref().unwrap_or("merged")
        ));
        ctx.ui.data(&format!("    Repo: {}  Detected: {}", e.repo_path, e.detected_at.as_deref().unwrap_or("?")));
    }
    for err in &r.errors {
        ctx.ui.warn(err);
    }
    ctx.ui.status(&format!(
        "{} new merge{}, {} branch{} checked, {} subscription{} to notify",
        r.new_merges.len(),
        if r.new_merges.len() == 1 { "" } else { "s" },
        r.branches_checked,
        if r.branches_checked == 1 { "" } else { "es" },
        r.notifications_sent,
        if r.notifications_sent == 1 { "" } else { "s" }
    ));
}

fn failed(message: String) -> CliError {
    CliError::Failed { message, hint: None, code: "watch_failed", exit: EXIT_FAILED }
}
