//! `cleanup` / `gc` (PRODUCT.md §2.5), snapshots and `restore` (§2.6).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use pcc_git::{CommitId, Repo};
use pcc_store::{SessionRow, SessionState};

use crate::coordinator::Coordinator;
use crate::error::{CoreError, Result};
use crate::session::worktrees_dir;
use crate::views::{CleanupView, KeptWorktree, ReleaseOutcome, RestoreView, SnapshotView};

#[derive(Clone, Debug, Default)]
pub struct CleanupOptions {
    pub dry_run: bool,
    pub force: bool,
    /// Only this repository (any path inside it); `None`: every known repository.
    pub repo: Option<PathBuf>,
}

impl Coordinator {
    /// Reconcile the database, git's worktree list and the directories on disk.
    pub fn cleanup(&mut self, opts: &CleanupOptions) -> Result<CleanupView> {
        let _span = tracing::info_span!("cleanup", dry_run = opts.dry_run, force = opts.force).entered();
        let mut view = CleanupView {
            removed: 0,
            sessions: Vec::new(),
            worktrees_removed: Vec::new(),
            kept: Vec::new(),
            snapshots: Vec::new(),
            pruned: Vec::new(),
            orphans: Vec::new(),
            snapshots_deleted: Vec::new(),
            dry_run: opts.dry_run,
            actions: Vec::new(),
        };
        let repos: Vec<String> = match &opts.repo {
            Some(p) => vec![Repo::discover(p)?.main_path().to_string_lossy().into_owned()],
            None => self.store.read().known_repos()?,
        };
        for repo_key in repos {
            if let Err(e) = self.cleanup_repo(&repo_key, opts, &mut view) {
                view.actions.push(format!("skipped {repo_key}: {e}"));
            }
        }
        self.gc_snapshots(opts, &mut view)?;
        view.removed = view.sessions.len();
        Ok(view)
    }

    fn cleanup_repo(&mut self, repo_key: &str, opts: &CleanupOptions, view: &mut CleanupView) -> Result<()> {
        let repo_path = Path::new(repo_key);
        if !repo_path.exists() {
            // The repository itself is gone: its sessions can only be history now.
            let rows = self.store.read().open_sessions_for_repo(repo_key)?;
            for s in rows {
                view.actions.push(format!("end session {} (repository {repo_key} no longer exists)", s.id));
                if !opts.dry_run {
                    let now = self.now();
                    self.store.write(|tx| tx.mark_ended(&s.id, now))?;
                }
                view.sessions.push(s.id);
            }
            return Ok(());
        }
        let repo = self.open_repo(repo_key)?;
        let cfg = self.config(Some(repo_path))?;
        let stale = cfg.stale_minutes();
        let rows = self.store.read().open_sessions_for_repo(repo_key)?;
        let mut live_paths: HashSet<String> = HashSet::new();
        for s in &rows {
            let alive = s.state != SessionState::Kept && self.is_alive(s, stale);
            if alive {
                live_paths.insert(s.worktree_path.clone());
                continue;
            }
            self.cleanup_session(&repo, s, opts, view, &cfg)?;
        }

        // Git's own registrations: prune entries whose directory is gone.
        let entries = repo.worktrees().unwrap_or_default();
        let prunable: Vec<_> = entries.iter().filter(|e| e.prunable).collect();
        if !prunable.is_empty() {
            for e in &prunable {
                view.pruned.push(e.path.display().to_string());
                view.actions.push(format!("prune git worktree entry {} (directory is gone)", e.path.display()));
            }
            if !opts.dry_run
                && let Err(e) = repo.prune_worktrees()
            {
                view.actions.push(format!("git worktree prune failed: {e}"));
            }
        }

        // Orphans: worktrees parallel-cc created that no open session owns.
        let all = self.store.read().all_sessions_for_repo(repo_key)?;
        let open_paths: HashSet<&str> =
            all.iter().filter(|s| s.state != SessionState::Ended).map(|s| s.worktree_path.as_str()).collect();
        let wt_dir = worktrees_dir(&repo, &cfg);
        let prefix = cfg.worktree_prefix().to_string();
        for e in entries.iter().filter(|e| !e.prunable) {
            let p = e.path.to_string_lossy().into_owned();
            if open_paths.contains(p.as_str()) || live_paths.contains(&p) {
                continue;
            }
            // Ours if a session row says we created it, or it sits in our folder with our prefix.
            let owner = all.iter().rev().find(|s| s.worktree_path == p && s.worktree_owned);
            let in_our_dir = e.path.parent() == Some(wt_dir.as_path())
                && e.path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix));
            if owner.is_none() && !in_our_dir {
                continue;
            }
            let name = e.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            view.orphans.push(p.clone());
            // Treat it as a kept session whose row ended: the same disposal rule applies.
            let row = match owner {
                Some(o) => o.clone(),
                None => orphan_row(repo_key, &e.path, &name, e.branch.clone()),
            };
            self.cleanup_session(&repo, &row, opts, view, &cfg)?;
        }
        Ok(())
    }

    fn cleanup_session(
        &mut self,
        repo: &Repo,
        s: &SessionRow,
        opts: &CleanupOptions,
        view: &mut CleanupView,
        cfg: &crate::config::Config,
    ) -> Result<()> {
        let label = s.worktree_name.clone().unwrap_or_else(|| "main".into());
        if opts.dry_run {
            let plan = plan_disposal(repo, s, opts.force, cfg.keep_unmerged());
            view.actions.push(format!("{label}: {plan}"));
            if s.state != SessionState::Ended {
                view.sessions.push(s.id.clone());
            }
            return Ok(());
        }
        let was_open = s.state != SessionState::Ended;
        let outcome: ReleaseOutcome = if was_open || !s.worktree_owned {
            self.dispose(s, opts.force, cfg)?
        } else {
            // An ended row whose worktree is still there: reopen it as kept, then apply the rule.
            let now = self.now();
            self.store.write(|tx| tx.mark_kept(&s.id, "found again by cleanup", now))?;
            let mut reopened = s.clone();
            reopened.state = SessionState::Kept;
            self.dispose(&reopened, opts.force, cfg)?
        };
        if was_open && !outcome.kept {
            view.sessions.push(s.id.clone());
        }
        if outcome.worktree_removed {
            view.worktrees_removed.push(label.clone());
        }
        if let Some(snap) = &outcome.snapshot {
            view.snapshots.push(snap.clone());
        }
        if outcome.kept {
            view.kept.push(KeptWorktree {
                worktree_name: label.clone(),
                reason: outcome.reason.clone().unwrap_or_default(),
                worktree_path: s.worktree_path.clone(),
            });
        }
        view.actions.push(format!(
            "{label}: {}",
            if outcome.kept {
                format!("kept ({})", outcome.reason.unwrap_or_default())
            } else if outcome.worktree_removed {
                "worktree removed".to_string()
            } else {
                outcome.reason.unwrap_or_else(|| "session ended".into())
            }
        ));
        Ok(())
    }

    fn gc_snapshots(&mut self, opts: &CleanupOptions, view: &mut CleanupView) -> Result<()> {
        let now = self.now();
        let snaps = self.store.read().snapshots(None)?;
        for snap in snaps {
            let cfg = self.config(Some(Path::new(&snap.repo_path)))?;
            let max_age = cfg.snapshot_days().saturating_mul(86_400);
            if now.secs() - snap.created_at.secs() <= max_age {
                continue;
            }
            view.actions.push(format!("delete snapshot {} (older than {} days)", snap.name, cfg.snapshot_days()));
            view.snapshots_deleted.push(snap.name.clone());
            if opts.dry_run {
                continue;
            }
            if let Ok(repo) = self.open_repo(&snap.repo_path) {
                repo.delete_snapshot_ref(&snap.ref_name)?;
            }
            self.store.write(|tx| tx.mark_snapshot_deleted(&snap.name, now))?;
        }
        Ok(())
    }

    /// Snapshots of one repository (or all), newest first.
    pub fn snapshots(&self, repo: Option<&Path>) -> Result<Vec<SnapshotView>> {
        let key = match repo {
            Some(p) => Some(Repo::discover(p)?.main_path().to_string_lossy().into_owned()),
            None => None,
        };
        let now = self.now();
        Ok(self
            .store
            .read()
            .snapshots(key.as_deref())?
            .into_iter()
            .map(|s| SnapshotView {
                age_minutes: (now.secs() - s.created_at.secs()).max(0) / 60,
                name: s.name,
                repo_path: s.repo_path,
                worktree_name: s.worktree_name,
                worktree_path: s.worktree_path,
                branch: s.branch,
                commit: s.commit_id,
                ref_name: s.ref_name,
                created_at: s.created_at.to_string(),
                file_count: s.file_count,
                size_bytes: s.size_bytes,
                reason: s.reason,
                restored_at: s.restored_at.map(|t| t.to_string()),
            })
            .collect())
    }

    /// Recreate the worktree and branch of a snapshot, with every file as it was.
    /// `path`: where to put it (default: where it was).
    pub fn restore(&mut self, name: &str, path: Option<&Path>) -> Result<RestoreView> {
        let snap =
            self.store.read().snapshot(name)?.ok_or_else(|| CoreError::UnknownSnapshot { name: name.to_string() })?;
        let repo = self.open_repo(&snap.repo_path)?;
        let dest = path.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(&snap.worktree_path));
        if dest.exists() {
            return Err(CoreError::RestoreTargetExists { name: name.to_string(), path: dest });
        }
        let commit =
            CommitId::parse(&snap.commit_id).ok_or_else(|| CoreError::UnknownSnapshot { name: name.to_string() })?;
        let mut branch = snap.branch.clone().unwrap_or_else(|| name.to_string());
        // If the branch moved on (or is checked out elsewhere), restore onto a fresh branch.
        if let (Some(tip), Some(head)) =
            (repo.branch_tip(&branch)?, snap.head_commit.as_deref().and_then(CommitId::parse))
        {
            let checked_out = repo.worktrees()?.iter().any(|w| w.branch.as_deref() == Some(branch.as_str()))
                || repo.head_branch()?.as_deref() == Some(branch.as_str());
            if tip != head || checked_out {
                branch = format!("restored/{name}");
            }
        }
        let restored = repo.restore_snapshot(&commit, &dest, &branch)?;
        let now = self.now();
        self.store.write(|tx| tx.mark_snapshot_restored(name, now))?;
        Ok(RestoreView {
            name: name.to_string(),
            worktree_path: restored.path.to_string_lossy().into_owned(),
            branch,
            files_written: restored.written,
            files_deleted: restored.deleted,
        })
    }
}

fn orphan_row(repo_key: &str, path: &Path, name: &str, branch: Option<String>) -> SessionRow {
    SessionRow {
        id: format!("orphan:{name}"),
        pid: 0,
        repo_path: repo_key.to_string(),
        worktree_path: path.to_string_lossy().into_owned(),
        worktree_name: Some(name.to_string()),
        is_main_repo: false,
        created_at: pcc_store::Timestamp(0),
        last_heartbeat: pcc_store::Timestamp(0),
        execution_mode: "local".into(),
        sandbox_id: None,
        sandbox_status: None,
        pid_start_time: None,
        agent_pid: None,
        agent_pid_start_time: None,
        branch,
        base_commit: None,
        agent: None,
        state: SessionState::Kept,
        agent_state: None,
        kept_reason: None,
        ended_at: None,
        last_activity_at: None,
        last_tool: None,
        registered_by: "register".into(),
        worktree_owned: true,
        // No record of who made the branch: never delete it.
        branch_owned: false,
        git: None,
    }
}

/// What cleanup would do with a session, without doing it (for `--dry-run`).
fn plan_disposal(repo: &Repo, s: &SessionRow, force: bool, keep_unmerged: bool) -> String {
    if s.is_main_repo || !s.worktree_owned {
        return "end session (checkout left as it is)".into();
    }
    let facts = match crate::session::gather_checkout(repo, s) {
        Ok(g) => g.facts,
        Err(reason) => return format!("keep ({reason})"),
    };
    match crate::rules::decide_disposal(&facts, keep_unmerged, force) {
        crate::rules::Disposal::Keep { reason } => format!("keep ({reason})"),
        crate::rules::Disposal::Remove { delete_branch, snapshot_first } => format!(
            "{}remove worktree{}",
            if snapshot_first { "snapshot, then " } else { "" },
            if delete_branch { " and branch" } else { ", keep branch" }
        ),
        crate::rules::Disposal::AlreadyGone => "end session (worktree already gone)".into(),
        crate::rules::Disposal::LeaveCheckout => "end session".into(),
    }
}
