//! Sessions: register, release (with the disposal rule), heartbeat, status.

use std::path::{Path, PathBuf};

use pcc_git::{CommitId, Repo};
use pcc_store::{GitDetails, NewSession, NewSnapshot, SessionRow, SessionState, Timestamp};

use crate::config::Config;
use crate::coordinator::Coordinator;
use crate::error::{CoreError, Result};
use crate::process;
use crate::rules::{self, CheckoutFacts, Disposal};
use crate::views::{
    LastActivity, MySessionView, Registration, RegistrationDetail, ReleaseOutcome, SessionView, StatusView,
};

/// Whether a session gets its own worktree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Isolation {
    /// The checkout it was started in if no live session uses it, else a new worktree.
    #[default]
    Auto,
    /// Always a new worktree (`--worktree`).
    Always,
    /// Share the checkout it was started in (`--no-worktree`); still registered.
    Never,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RegisteredBy {
    /// `parallel-cc run` / `claude-parallel`: the PID is our supervisor.
    Supervisor,
    /// `parallel-cc register --pid` from another wrapper.
    #[default]
    Register,
    /// Claude Code's hooks (worktree provider).
    Hook,
}

impl RegisteredBy {
    fn as_str(self) -> &'static str {
        match self {
            RegisteredBy::Supervisor => "supervisor",
            RegisteredBy::Register => "register",
            RegisteredBy::Hook => "hook",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RegisterRequest {
    pub repo: PathBuf,
    pub pid: i64,
    /// Start time of `pid`; probed when `None`.
    pub pid_start: Option<i64>,
    pub isolation: Isolation,
    pub base: Option<String>,
    pub branch: Option<String>,
    pub name: Option<String>,
    pub agent: Option<String>,
    pub registered_by: RegisteredBy,
    /// Always a new session, even if `pid` already has one (Claude Code's worktree provider: one
    /// agent process, one worktree per `--worktree` session or subagent).
    pub new_session: bool,
}

/// A worktree reserved in the transaction, created after it.
struct PlannedWorktree {
    path: PathBuf,
    name: String,
    branch: String,
    base: CommitId,
    branch_exists: bool,
}

pub(crate) fn validate_pid(pid: i64) -> Result<()> {
    if pid <= 0 || pid > i64::from(i32::MAX) {
        return Err(CoreError::InvalidPid { pid });
    }
    Ok(())
}

fn random_u32() -> u32 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = std::env::var_os(crate::env::HOME)
    {
        return PathBuf::from(home).join(rest);
    }
    PathBuf::from(p)
}

/// `<parent of main>/<repo>-worktrees`, or `worktree.dir` (relative to the main checkout).
pub(crate) fn worktrees_dir(repo: &Repo, cfg: &Config) -> PathBuf {
    match cfg.str("worktree.dir").filter(|d| !d.trim().is_empty()) {
        Some(d) => {
            let p = expand_home(d.trim());
            if p.is_absolute() { p } else { repo.main_path().join(p) }
        }
        None => {
            let parent = repo.main_path().parent().unwrap_or(repo.main_path());
            parent.join(format!("{}-worktrees", repo.name()))
        }
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

impl Coordinator {
    /// Register a session (PRODUCT.md §2.2). One IMMEDIATE transaction reaps dead sessions of the
    /// repository, decides main checkout versus worktree, and inserts the row; the worktree is
    /// created after commit, and if that fails the row is removed and the error returned.
    pub fn register(&mut self, req: &RegisterRequest) -> Result<RegistrationDetail> {
        let _span = tracing::info_span!("register", pid = req.pid, repo = %req.repo.display()).entered();
        validate_pid(req.pid)?;
        if let Some(name) = &req.name {
            rules::validate_worktree_name(name)
                .map_err(|reason| CoreError::InvalidName { name: name.clone(), reason })?;
        }
        if let Some(branch) = &req.branch {
            pcc_git::validate_branch_name(branch)?;
        }
        let repo = Repo::discover(&req.repo)?;
        let key = path_str(repo.main_path());
        let cfg = self.config(Some(repo.main_path()))?;
        // An explicit --base must exist whatever happens; HEAD is resolved only if needed (an
        // empty repository can still share its main checkout).
        let explicit_base = match &req.base {
            Some(b) => Some(repo.resolve_commit(b)?),
            None => None,
        };
        let pid_start = req.pid_start.or_else(|| process::start_time(req.pid));
        let stale = cfg.stale_minutes();
        let target = repo.checkout().to_path_buf();
        let wt_dir = worktrees_dir(&repo, &cfg);
        let prefix = cfg.worktree_prefix().to_string();

        enum Decision {
            Existing(Registration),
            New { row: Box<NewSession>, planned: Option<PlannedWorktree>, live: usize },
        }
        let now = self.now();
        let clock = self.clock.clone();
        // Liveness needs `self`; gather it for the candidate rows before borrowing the store.
        let pre = self.store.read().open_sessions_for_repo(&key)?;
        let alive: std::collections::HashMap<String, bool> =
            pre.iter().map(|s| (s.id.clone(), s.state == SessionState::Kept || self.is_alive(s, stale))).collect();
        let mut reaped: Vec<SessionRow> = Vec::new();

        let decision = self.store.write(|tx| -> Result<Decision> {
            let sessions = tx.open_sessions_for_repo(&key)?;
            // Rows inserted since the pre-read are new registrations: alive by definition.
            let is_alive = |s: &SessionRow| alive.get(&s.id).copied().unwrap_or(true);
            let mut live = Vec::new();
            for s in &sessions {
                if s.state == SessionState::Kept {
                    continue;
                }
                if is_alive(s) {
                    live.push(s);
                } else {
                    reaped.push(s.clone());
                }
            }
            if let Some(existing) = live.iter().filter(|_| !req.new_session).find(|s| {
                s.pid == req.pid && (s.pid_start_time.is_none() || pid_start.is_none() || s.pid_start_time == pid_start)
            }) {
                return Ok(Decision::Existing(Registration {
                    session_id: existing.id.clone(),
                    worktree_path: existing.worktree_path.clone(),
                    worktree_name: existing.worktree_name.clone(),
                    is_new: false,
                    is_main_repo: existing.is_main_repo,
                    parallel_sessions: live.len(),
                }));
            }
            for r in &reaped {
                if r.is_main_repo || !r.worktree_owned {
                    tx.mark_ended(&r.id, now)?;
                } else {
                    // Conservative until its worktree has been looked at (after this transaction).
                    tx.mark_kept(&r.id, "session ended; checking its worktree", now)?;
                }
            }
            let target_s = path_str(&target);
            let occupied = live.iter().any(|s| s.worktree_path == target_s);
            let use_target = match req.isolation {
                Isolation::Never => true,
                Isolation::Auto => !occupied,
                Isolation::Always => false,
            };
            let id = uuid::Uuid::new_v4().to_string();
            let is_main_target = target == repo.main_path();
            let (row, planned) = if use_target {
                let row = NewSession {
                    id,
                    pid: req.pid,
                    pid_start_time: pid_start,
                    repo_path: key.clone(),
                    worktree_path: target_s.clone(),
                    worktree_name: if is_main_target {
                        None
                    } else {
                        target.file_name().map(|n| n.to_string_lossy().into_owned())
                    },
                    is_main_repo: is_main_target,
                    branch: repo.head_branch().ok().flatten(),
                    base_commit: repo.head_commit().ok().flatten().map(|c| c.to_string()),
                    agent: req.agent.clone(),
                    state: SessionState::Live,
                    registered_by: req.registered_by.as_str().into(),
                    worktree_owned: false,
                    branch_owned: false,
                    now,
                };
                (row, None)
            } else {
                let base = match &explicit_base {
                    Some(b) => b.clone(),
                    None => repo.resolve_commit("HEAD")?,
                };
                let taken: Vec<&str> = sessions.iter().filter_map(|s| s.worktree_name.as_deref()).collect();
                let mut name = req.name.clone().unwrap_or_default();
                let mut attempts = 0;
                loop {
                    if req.name.is_none() {
                        name = rules::worktree_name(&prefix, clock.now_millis(), random_u32());
                    }
                    let path = wt_dir.join(&name);
                    let free = !taken.contains(&name.as_str()) && !path.exists();
                    if free {
                        break;
                    }
                    attempts += 1;
                    if req.name.is_some() || attempts > 8 {
                        return Err(CoreError::Git(pcc_git::GitError::WorktreeExists { path }));
                    }
                }
                let branch = req.branch.clone().unwrap_or_else(|| name.clone());
                pcc_git::validate_branch_name(&branch)?;
                let branch_exists = repo.branch_tip(&branch)?.is_some();
                let path = wt_dir.join(&name);
                let row = NewSession {
                    id,
                    pid: req.pid,
                    pid_start_time: pid_start,
                    repo_path: key.clone(),
                    worktree_path: path_str(&path),
                    worktree_name: Some(name.clone()),
                    is_main_repo: false,
                    branch: Some(branch.clone()),
                    base_commit: Some(base.to_string()),
                    agent: req.agent.clone(),
                    state: SessionState::Starting,
                    registered_by: req.registered_by.as_str().into(),
                    worktree_owned: true,
                    branch_owned: !branch_exists,
                    now,
                };
                (row, Some(PlannedWorktree { path, name, branch, base, branch_exists }))
            };
            tx.insert_session(&row)?;
            Ok(Decision::New { row: Box::new(row), planned, live: live.len() + 1 })
        })?;

        // Dispose of the reaped sessions' worktrees, outside the transaction.
        let mut reaped_out = Vec::new();
        for r in &reaped {
            if !r.is_main_repo && r.worktree_owned {
                match self.dispose(r, false, &cfg) {
                    Ok(o) => reaped_out.push(o),
                    Err(e) => {
                        tracing::warn!(session = %r.id, error = %e, "could not dispose of a dead session's worktree")
                    }
                }
            }
        }

        let (row, planned, live) = match decision {
            Decision::Existing(reg) => {
                return Ok(RegistrationDetail {
                    registration: reg,
                    repo_path: key,
                    branch: None,
                    copied_includes: Vec::new(),
                    reaped: reaped_out,
                    warnings: Vec::new(),
                });
            }
            Decision::New { row, planned, live } => (row, planned, live),
        };
        let mut warnings = Vec::new();
        let mut copied = Vec::new();
        if let Some(p) = &planned {
            if let Err(e) = self.create_worktree(&repo, p) {
                self.store.write(|tx| tx.delete_session(&row.id))?;
                return Err(e);
            }
            match repo.copy_worktree_includes(&p.path) {
                Ok(c) => copied = c,
                Err(e) => warnings.push(format!("could not copy .worktreeinclude files: {e}")),
            }
            if let Some(cmd) = cfg.str("worktree.setup").filter(|c| !c.trim().is_empty())
                && let Err(e) = run_setup(cmd, &p.path, repo.main_path())
            {
                warnings.push(e.to_string());
            }
            self.store.write(|tx| tx.set_state(&row.id, SessionState::Live))?;
        }
        Ok(RegistrationDetail {
            registration: Registration {
                session_id: row.id.clone(),
                worktree_path: row.worktree_path.clone(),
                worktree_name: row.worktree_name.clone(),
                is_new: true,
                is_main_repo: row.is_main_repo,
                parallel_sessions: live,
            },
            repo_path: key,
            branch: row.branch.clone(),
            copied_includes: copied,
            reaped: reaped_out,
            warnings,
        })
    }

    fn create_worktree(&self, repo: &Repo, p: &PlannedWorktree) -> Result<()> {
        let _span = tracing::info_span!("create_worktree", name = %p.name).entered();
        if !p.branch_exists {
            repo.create_branch(&p.branch, &p.base)?;
        }
        if let Err(e) = repo.add_worktree(&p.path, &p.branch) {
            if !p.branch_exists
                && let Err(del) = repo.delete_branch(&p.branch, &p.base)
            {
                tracing::warn!(branch = %p.branch, error = %del, "could not delete the branch of a failed worktree");
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Record the agent child of a supervisor, so the session stays alive while it runs.
    pub fn set_agent_pid(&mut self, session_id: &str, pid: u32) -> Result<()> {
        let pid = i64::from(pid);
        let start = process::start_time(pid);
        self.store.write(|tx| tx.set_agent_pid(session_id, pid, start))?;
        Ok(())
    }

    /// `heartbeat --pid N`: refresh the sessions of that PID; returns how many.
    pub fn heartbeat(&mut self, pid: i64) -> Result<usize> {
        validate_pid(pid)?;
        let now = self.now();
        Ok(self.store.write(|tx| tx.heartbeat_pid(pid, now))?)
    }

    /// `release --pid N`: end the newest open session of that PID.
    pub fn release_pid(&mut self, pid: i64) -> Result<ReleaseOutcome> {
        validate_pid(pid)?;
        let sessions = self.store.read().open_sessions_by_pid(pid)?;
        let Some(s) = sessions.into_iter().rfind(|s| s.state != SessionState::Kept) else {
            return Ok(ReleaseOutcome::not_found());
        };
        self.release_session(&s.id)
    }

    /// End a session and dispose of its checkout by the disposal rule (never forced).
    pub fn release_session(&mut self, id: &str) -> Result<ReleaseOutcome> {
        let _span = tracing::info_span!("release", session = id).entered();
        let s = self.store.read().session(id)?.ok_or_else(|| CoreError::UnknownSession { id: id.to_string() })?;
        if s.state == SessionState::Ended {
            let mut o = ReleaseOutcome::not_found();
            o.reason = Some("session already ended".into());
            o.session_id = Some(s.id);
            return Ok(o);
        }
        let cfg = self.config(Some(Path::new(&s.repo_path)))?;
        self.dispose(&s, false, &cfg)
    }

    /// Apply the disposal rule to an ended (or ending) session. With `force`, work is saved to a
    /// snapshot first and the worktree removed.
    pub(crate) fn dispose(&mut self, s: &SessionRow, force: bool, cfg: &Config) -> Result<ReleaseOutcome> {
        let now = self.now();
        let mut out = ReleaseOutcome {
            released: true,
            worktree_removed: false,
            kept: false,
            reason: None,
            session_id: Some(s.id.clone()),
            worktree_name: s.worktree_name.clone(),
            worktree_path: Some(s.worktree_path.clone()),
            branch: s.branch.clone(),
            branch_deleted: None,
            snapshot: None,
        };
        let keep = |this: &mut Self, out: &mut ReleaseOutcome, reason: String| -> Result<()> {
            this.store.write(|tx| tx.mark_kept(&s.id, &reason, now))?;
            out.kept = true;
            out.reason = Some(reason);
            Ok(())
        };
        if s.is_main_repo || !s.worktree_owned {
            self.store.write(|tx| tx.mark_ended(&s.id, now))?;
            out.reason = Some(if s.is_main_repo {
                "main checkout left as it is".into()
            } else {
                "checkout not created by parallel-cc; left as it is".into()
            });
            return Ok(out);
        }
        let repo = match self.open_repo(&s.repo_path) {
            Ok(r) => r,
            Err(e) => {
                keep(self, &mut out, format!("repository unavailable: {e}"))?;
                return Ok(out);
            }
        };
        let path = PathBuf::from(&s.worktree_path);
        let Gathered { facts, unique, tip } = match gather_checkout(&repo, s) {
            Ok(g) => g,
            Err(reason) => {
                keep(self, &mut out, reason)?;
                return Ok(out);
            }
        };
        match rules::decide_disposal(&facts, cfg.keep_unmerged(), force) {
            Disposal::LeaveCheckout => {
                self.store.write(|tx| tx.mark_ended(&s.id, now))?;
            }
            Disposal::AlreadyGone => {
                if let Err(e) = repo.prune_worktrees() {
                    tracing::warn!(error = %e, "git worktree prune failed");
                }
                if s.branch_owned
                    && unique == Some(0)
                    && let (Some(b), Some(t)) = (&s.branch, &tip)
                {
                    out.branch_deleted = Some(repo.delete_branch(b, t).is_ok());
                }
                self.store.write(|tx| tx.mark_ended(&s.id, now))?;
                out.reason = Some("worktree was already gone".into());
            }
            Disposal::Keep { reason } => {
                keep(self, &mut out, reason)?;
            }
            Disposal::Remove { delete_branch, snapshot_first } => {
                if snapshot_first {
                    match self.snapshot_session(
                        &repo,
                        s,
                        if force { "forced removal" } else { "half-created worktree" },
                    ) {
                        Ok(name) => out.snapshot = Some(name),
                        Err(e) => {
                            keep(self, &mut out, format!("snapshot failed, so the worktree stays: {e}"))?;
                            return Ok(out);
                        }
                    }
                }
                if let Err(e) = repo.remove_worktree(&path, snapshot_first) {
                    keep(self, &mut out, format!("could not remove the worktree: {e}"))?;
                    return Ok(out);
                }
                out.worktree_removed = true;
                if delete_branch {
                    if let (Some(b), Some(t)) = (&s.branch, &tip) {
                        let deleted = repo.delete_branch(b, t);
                        if let Err(e) = &deleted {
                            tracing::warn!(branch = %b, error = %e, "branch kept");
                        }
                        out.branch_deleted = Some(deleted.is_ok());
                    }
                } else if s.branch.is_some() {
                    out.branch_deleted = Some(false);
                    if let Some(unique) = unique.filter(|n| !force && *n > 0) {
                        out.reason = Some(format!(
                            "worktree removed; branch {} keeps {unique} unmerged commit(s)",
                            s.branch.as_deref().unwrap_or("")
                        ));
                    }
                }
                self.store.write(|tx| tx.mark_ended(&s.id, now))?;
            }
        }
        Ok(out)
    }

    /// Save a session's worktree to `refs/parallel-cc/snapshots/<name>`; returns the name.
    pub(crate) fn snapshot_session(&mut self, repo: &Repo, s: &SessionRow, reason: &str) -> Result<String> {
        let now = self.now();
        let (y, mo, d, h, mi, sec) = now.civil();
        let base = s.worktree_name.clone().unwrap_or_else(|| "session".into());
        let mut name = format!("{base}-{y:04}{mo:02}{d:02}-{h:02}{mi:02}{sec:02}");
        let mut n = 1;
        while self.store.read().snapshot(&name)?.is_some()
            || repo.resolve_commit(&format!("{}{name}", pcc_git::SNAPSHOT_REF_PREFIX)).is_ok()
        {
            n += 1;
            name = format!("{base}-{y:04}{mo:02}{d:02}-{h:02}{mi:02}{sec:02}-{n}");
        }
        let outcome =
            repo.snapshot(Path::new(&s.worktree_path), &name, &format!("parallel-cc snapshot of {base} ({reason})"))?;
        if !outcome.skipped.is_empty() {
            repo.delete_snapshot_ref(&outcome.ref_name)?;
            return Err(CoreError::Setup {
                path: PathBuf::from(&s.worktree_path),
                detail: format!(
                    "contains nested repositories that a snapshot cannot hold: {}",
                    outcome.skipped.join(", ")
                ),
            });
        }
        let row = NewSnapshot {
            name: name.clone(),
            repo_path: s.repo_path.clone(),
            session_id: Some(s.id.clone()),
            worktree_path: s.worktree_path.clone(),
            worktree_name: s.worktree_name.clone(),
            branch: s.branch.clone(),
            head_commit: outcome.head.as_ref().map(ToString::to_string),
            commit_id: outcome.commit.to_string(),
            ref_name: outcome.ref_name.clone(),
            file_count: i64::try_from(outcome.file_count).unwrap_or(i64::MAX),
            size_bytes: i64::try_from(outcome.size_bytes).unwrap_or(i64::MAX),
            reason: Some(reason.to_string()),
            now,
        };
        self.store.write(|tx| tx.insert_snapshot(&row))?;
        self.log_snapshot(&format!(
            "{now}\t{name}\t{}\t{}\t{}\t{}\t{reason}",
            s.repo_path,
            s.worktree_path,
            s.branch.as_deref().unwrap_or("-"),
            outcome.commit
        ));
        Ok(name)
    }

    /// The acting session, and how many live sessions share its repository.
    pub fn my_session(&mut self, actor: &crate::claims::Actor) -> Result<MySessionView> {
        let me = self.acting_session(actor)?;
        let stale = self.config(Some(Path::new(&me.repo_path))).map(|c| c.stale_minutes()).unwrap_or(10);
        let rows = self.store.read().open_sessions_for_repo(&me.repo_path)?;
        let parallel = rows.iter().filter(|s| s.state != SessionState::Kept && self.is_alive(s, stale)).count();
        let view = session_view(&me, true, self.now());
        Ok(MySessionView {
            session_id: me.id,
            worktree_path: me.worktree_path,
            worktree_name: me.worktree_name,
            is_main_repo: me.is_main_repo,
            started_at: view.created_at,
            parallel_sessions: parallel.max(1),
            repo_path: me.repo_path,
            branch: me.branch,
            state: view.state,
        })
    }

    /// Sessions for `status` (PRODUCT.md §2.4). `repo`: `None` for every repository. Never reaps
    /// and never writes git state; the only write records the worktree details it looked at.
    pub fn status(&mut self, repo: Option<&Path>, sandbox_only: bool, looks: GitLooks) -> Result<StatusView> {
        let (label, rows) = match repo {
            Some(p) => {
                let r = Repo::discover(p)?;
                let key = path_str(r.main_path());
                let rows = self.store.read().open_sessions_for_repo(&key)?;
                (key, rows)
            }
            None => ("all".to_string(), self.store.read().open_sessions()?),
        };
        let rows: Vec<SessionRow> = rows.into_iter().filter(|s| !sandbox_only || s.execution_mode == "e2b").collect();
        let now = self.now();
        // Worktree sessions whose checkout is still there: the only ones with git details.
        let present: Vec<bool> = rows.iter().map(|r| !r.is_main_repo && Path::new(&r.worktree_path).is_dir()).collect();
        let looks = match looks {
            GitLooks::Recorded => Vec::new(),
            GitLooks::Stalest => {
                choose_looks(&rows, &present, self.config(None).map(|c| c.fresh_worktrees()).unwrap_or(1))
            }
            GitLooks::All => choose_looks(&rows, &present, usize::MAX),
        };
        // The looks run while this thread checks which sessions are alive: both mostly wait on
        // the kernel, and together they are most of the command's time.
        let (mut views, fresh) = std::thread::scope(|scope| {
            let looking = (!looks.is_empty()).then(|| scope.spawn(|| crate::gitinfo::look(&looks)));
            let mut stale_by_repo: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
            let mut views = Vec::with_capacity(rows.len());
            for s in &rows {
                let stale = match stale_by_repo.get(&s.repo_path) {
                    Some(v) => *v,
                    None => {
                        let v = self.config(Some(Path::new(&s.repo_path))).map(|c| c.stale_minutes()).unwrap_or(10);
                        stale_by_repo.insert(s.repo_path.clone(), v);
                        v
                    }
                };
                let alive = s.state != SessionState::Kept && self.is_alive(s, stale);
                views.push(session_view(s, alive, now));
            }
            let fresh = looking.map(|h| h.join().unwrap_or_default()).unwrap_or_default();
            (views, fresh)
        });
        show_git_details(&rows, &present, &mut views, &fresh);
        if !fresh.is_empty() {
            // Best effort: a busy or read-only database only costs the next status a fresh look.
            let saved = self.store.write(|tx| fresh.iter().try_for_each(|(id, d)| tx.set_git_details(id, d)));
            if let Err(e) = saved {
                tracing::debug!(error = %e, "cannot record worktree details");
            }
        }
        Ok(StatusView { repo_path: label, total_sessions: views.len(), sessions: views })
    }
}

/// What the disposal rule needs to know about a session's worktree.
pub(crate) struct Gathered {
    pub facts: CheckoutFacts,
    /// Commits only this branch holds; `None` when they could not be counted.
    pub unique: Option<usize>,
    pub tip: Option<CommitId>,
}

/// Look at a worktree for the disposal rule (dispose and the cleanup dry run share this).
/// `Err` is the reason to keep it: its status could not be read. Commits that cannot be counted
/// count as unmerged, so the worktree is kept.
pub(crate) fn gather_checkout(repo: &Repo, s: &SessionRow) -> std::result::Result<Gathered, String> {
    let path = Path::new(&s.worktree_path);
    let exists = path.exists();
    let (dirty_files, head) = if exists {
        let status = pcc_git::checkout_status(path).map_err(|e| format!("cannot read its status: {e}"))?;
        (status.dirty_count(), Repo::checkout_head(path).ok().flatten())
    } else {
        (0, None)
    };
    let (unique, tip) = match unique_commits(repo, s, head) {
        Ok((n, tip)) => (Some(n), tip),
        Err(e) => {
            tracing::warn!(session = %s.id, error = %e, "cannot count unmerged commits; treating them as unmerged");
            (None, None)
        }
    };
    let facts = CheckoutFacts {
        not_ours: s.is_main_repo || !s.worktree_owned,
        exists,
        never_started: s.state == SessionState::Starting,
        dirty_files,
        unique_commits: unique.unwrap_or(1),
        branch_owned: s.branch_owned,
    };
    Ok(Gathered { facts, unique, tip })
}

/// Commits on the session's branch not contained in its base or any other local branch.
pub(crate) fn unique_commits(repo: &Repo, s: &SessionRow, head: Option<CommitId>) -> Result<(usize, Option<CommitId>)> {
    let tip = match s.branch.as_deref() {
        Some(b) => repo.branch_tip(b)?.or(head),
        None => head,
    };
    let Some(tip) = tip else { return Ok((0, None)) };
    let mut hidden: Vec<CommitId> = repo
        .local_branches()?
        .into_iter()
        .filter(|(name, _)| Some(name.as_str()) != s.branch.as_deref())
        .map(|(_, id)| id)
        .collect();
    if let Some(base) = s.base_commit.as_deref().and_then(CommitId::parse) {
        hidden.push(base);
    }
    Ok((repo.count_unique(&tip, &hidden)?, Some(tip)))
}

fn session_view(s: &SessionRow, alive: bool, now: Timestamp) -> SessionView {
    let state = if s.execution_mode == "e2b" {
        format!("sandbox:{}", s.sandbox_status.as_deref().unwrap_or("unknown").to_ascii_lowercase())
    } else {
        match s.state {
            SessionState::Kept => "kept".into(),
            SessionState::Starting if alive => "starting".into(),
            _ if !alive => "dead".into(),
            _ if s.agent_state.as_deref() == Some("idle") => "idle".into(),
            _ => "active".into(),
        }
    };
    let end = if s.state == SessionState::Kept { s.ended_at.unwrap_or(now) } else { now };
    SessionView {
        session_id: s.id.clone(),
        pid: s.pid,
        worktree_path: s.worktree_path.clone(),
        worktree_name: s.worktree_name.clone(),
        is_main_repo: s.is_main_repo,
        created_at: s.created_at.to_string(),
        last_heartbeat: s.last_heartbeat.to_string(),
        is_alive: alive,
        duration_minutes: ((end.secs() - s.created_at.secs()).max(0) as f64 / 60.0).round() as i64,
        repo_path: s.repo_path.clone(),
        branch: s.branch.clone(),
        agent: s.agent.clone(),
        state,
        kept_reason: s.kept_reason.clone(),
        last_activity: s
            .last_activity_at
            .filter(|_| s.last_tool.is_some())
            .map(|at| LastActivity { tool: s.last_tool.clone(), at: at.to_string() }),
        execution_mode: s.execution_mode.clone(),
        ahead: None,
        behind: None,
        dirty_files: None,
        git_checked_at: None,
    }
}

/// Ahead/behind (against the main checkout's HEAD) and dirty-file counts of worktree sessions:
/// fresh for the `fresh` stalest worktrees and any never looked at (see [`crate::gitinfo`]), else
/// as last recorded; `None`: never look. Returns the fresh ones, for the caller to record.
/// Which worktrees [`Coordinator::status`] looks at afresh (the others show their last recorded
/// details, with the time they were taken).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitLooks {
    /// None: recorded details only (`--no-git`).
    Recorded,
    /// Those never looked at, plus the `status.fresh_worktrees` looked at least recently: a
    /// bounded cost per call however many sessions there are.
    Stalest,
    /// Every worktree (`--watch`, where a redraw every few seconds can afford it).
    All,
}

/// The worktrees `status` looks at afresh: any never looked at, plus the `fresh` looked at least
/// recently.
fn choose_looks(rows: &[SessionRow], present: &[bool], fresh: usize) -> Vec<crate::gitinfo::Look> {
    let mut order: Vec<&SessionRow> = rows.iter().zip(present).filter(|(_, p)| **p).map(|(r, _)| r).collect();
    // Never looked at first, then the oldest looks.
    order.sort_by_key(|r| r.git.as_ref().map(|g| g.checked_ms));
    order
        .into_iter()
        .enumerate()
        .filter(|&(rank, r)| rank < fresh || r.git.is_none())
        .map(|(_, r)| crate::gitinfo::Look { session_id: r.id.clone(), worktree: PathBuf::from(&r.worktree_path) })
        .collect()
}

/// Fill each worktree session's view with the details just `looked` at, or else those recorded.
fn show_git_details(rows: &[SessionRow], present: &[bool], views: &mut [SessionView], looked: &[(String, GitDetails)]) {
    let by_id: std::collections::HashMap<&str, &GitDetails> = looked.iter().map(|(id, d)| (id.as_str(), d)).collect();
    for ((row, view), present) in rows.iter().zip(views.iter_mut()).zip(present) {
        if !present {
            continue;
        }
        let Some(d) = by_id.get(row.id.as_str()).copied().or(row.git.as_ref()) else { continue };
        view.dirty_files = d.dirty_files;
        view.ahead = d.ahead;
        view.behind = d.behind;
        view.git_checked_at = Some(d.checked_at().to_string());
    }
}

/// Run the repository's `worktree.setup` command in a new worktree. The command comes from the
/// user's own configuration and is run as `sh -c <command>`; no value is interpolated into it.
fn run_setup(cmd: &str, worktree: &Path, main: &Path) -> Result<()> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(worktree)
        .env(crate::env::REPO, main)
        .env(crate::env::WORKTREE, worktree)
        .stdin(std::process::Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| CoreError::Setup { path: worktree.to_path_buf(), detail: e.to_string() })?;
    if status.success() {
        Ok(())
    } else {
        Err(CoreError::Setup { path: worktree.to_path_buf(), detail: format!("`{cmd}` exited with {status}") })
    }
}
