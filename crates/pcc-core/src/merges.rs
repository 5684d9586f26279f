//! Merge detection (PRODUCT.md §4.3): which session branches (and subscribed branches) have been
//! merged into their target, by fast-forward, merge commit, squash or rebase; events recorded
//! once per branch tip; subscribed sessions told through their post-tool-use hook.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pcc_git::{CommitId, MergeState, Repo, validate_branch_name};
use pcc_store::{MergeEventRow, SessionRow, SessionState, SubscriptionRow, Timestamp, WriteTx};
use serde::Serialize;

use crate::claims::Actor;
use crate::coordinator::{Coordinator, alive_at};
use crate::error::{CoreError, Result};
use crate::hooks::{path_text, short_id};

/// A merge event as every frontend shows it (the original's `MergeEvent`, plus `how`).
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeEventView {
    pub id: String,
    pub repo_path: String,
    pub branch_name: String,
    pub source_commit: String,
    pub target_branch: String,
    pub target_commit: String,
    pub merged_at: Option<String>,
    pub detected_at: Option<String>,
    pub notification_sent: bool,
    /// `fast-forward`, `merge-commit` or `squash-or-rebase` (absent for events of the original).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    pub id: String,
    pub session_id: String,
    pub repo_path: String,
    pub branch_name: String,
    pub target_branch: String,
    pub created_at: Option<String>,
    pub notified_at: Option<String>,
    pub is_active: bool,
}

/// What `subscribe_merge` did (the original's `{subscribed, message}`, plus the subscription).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeView {
    pub success: bool,
    pub subscribed: bool,
    pub message: String,
    pub subscription: SubscriptionView,
}

/// Is one branch merged into its target (`merge check`, MCP `check_merge_status`)?
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeStatusView {
    pub branch_name: String,
    pub target_branch: String,
    pub is_merged: bool,
    /// The event that records the merge of the branch's current tip (or, for a branch that no
    /// longer exists, its latest recorded merge).
    pub merge_event: Option<MergeEventView>,
    pub message: String,
}

/// One poll (`watch merges --once`), the original's `MergeDetectionResult`.
#[derive(Clone, Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DetectionResult {
    pub new_merges: Vec<MergeEventView>,
    /// Subscriptions whose branch was newly found merged: their sessions are told at their next
    /// tool call (the post-tool-use hook, which runs for MCP tool calls too).
    pub notifications_sent: usize,
    pub subscriptions_checked: usize,
    /// Branches checked (subscribed ones and live sessions' branches).
    pub branches_checked: usize,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeEventsView {
    pub events: Vec<MergeEventView>,
    pub total: usize,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionsView {
    pub subscriptions: Vec<SubscriptionView>,
    pub total: usize,
}

impl Coordinator {
    /// Look once at every watched branch: active subscriptions, and the branches of live
    /// worktree sessions against their repository's default branch. With `fetch`, each
    /// repository's `origin` is fetched first and targets are read from `origin/<target>` when
    /// that exists.
    pub fn poll_merges(&mut self, fetch: bool) -> Result<DetectionResult> {
        let subs = self.store.read().subscriptions(None, None, None, false)?;
        let sessions = self.store.read().open_sessions()?;
        let now = self.now();
        let stale = self.config(None).map(|c| c.stale_minutes()).unwrap_or(10);
        let mut result = DetectionResult { subscriptions_checked: subs.len(), ..DetectionResult::default() };
        // Per repository: (branch, target), the target `None` for its default branch.
        let mut watched: BTreeMap<String, BTreeSet<(String, Option<String>)>> = BTreeMap::new();
        for s in &subs {
            watched.entry(s.repo_path.clone()).or_default().insert((s.branch.clone(), Some(s.target.clone())));
        }
        for s in sessions.iter().filter(|s| !s.is_main_repo && s.execution_mode != "e2b") {
            let alive = s.state != SessionState::Kept && alive_at(s, stale, now);
            if let Some(b) = s.branch.as_ref().filter(|_| alive) {
                watched.entry(s.repo_path.clone()).or_default().insert((b.clone(), None));
            }
        }
        for (repo_path, pairs) in watched {
            // Each repository is opened, and fetched, once per poll.
            let repo = match Repo::open(Path::new(&repo_path)) {
                Ok(r) => r,
                Err(e) => {
                    result.errors.push(format!("{repo_path}: {e}"));
                    continue;
                }
            };
            if fetch && let Err(e) = pcc_git::fetch_origin(Path::new(&repo_path)) {
                result.errors.push(format!("{repo_path}: fetch: {e}"));
            }
            let default = if pairs.iter().any(|(_, t)| t.is_none()) {
                crate::conflicts::default_branch(&repo)
                    .map_err(|e| result.errors.push(format!("{repo_path}: {e}")))
                    .ok()
            } else {
                None
            };
            let pairs: BTreeSet<(String, String)> =
                pairs.into_iter().filter_map(|(b, t)| Some((b, t.or_else(|| default.clone())?))).collect();
            for (branch, target) in pairs {
                result.branches_checked += 1;
                match self.detect_one(&repo, &repo_path, &branch, &target, fetch, &sessions) {
                    Ok(Some(ev)) => {
                        result.notifications_sent += subs
                            .iter()
                            .filter(|s| s.repo_path == repo_path && s.branch == branch && s.target == target)
                            .count();
                        result.new_merges.push(ev);
                    }
                    Ok(None) => {}
                    Err(e) => result.errors.push(format!("{repo_path}: {branch} → {target}: {e}")),
                }
            }
        }
        Ok(result)
    }

    /// Is `branch` merged into `target` at its current tip, and not recorded yet? Records it.
    fn detect_one(
        &mut self,
        repo: &Repo,
        repo_path: &str,
        branch: &str,
        target: &str,
        fetch: bool,
        sessions: &[SessionRow],
    ) -> Result<Option<MergeEventView>> {
        if branch == target {
            return Ok(None);
        }
        validate_branch_name(branch)?;
        validate_branch_name(target)?;
        let Some(tip) = repo.branch_tip(branch)? else { return Ok(None) };
        // A branch that was only ever moved along (created, caught up with its target by a
        // rebase, merge or reset) has nothing of its own to be merged, wherever its tip is.
        if repo.branch_made_commits(branch).ok().flatten() == Some(false) {
            return Ok(None);
        }
        let local = repo.branch_tip(target)?;
        let remote = if fetch { repo.resolve_commit(&format!("refs/remotes/origin/{target}")).ok() } else { None };
        // The target as far as it goes: the remote one, unless the local one contains it.
        let target_tip = match (local, remote) {
            (Some(l), Some(r)) if repo.merge_base(&l, &r)?.as_ref() == Some(&r) => l,
            (_, Some(r)) => r,
            (Some(l), None) => l,
            (None, None) => return Ok(None),
        };
        let fork = sessions
            .iter()
            .filter(|s| s.repo_path == repo_path && s.branch.as_deref() == Some(branch))
            .filter(|s| matches!(s.state, SessionState::Live | SessionState::Starting))
            .find_map(|s| s.base_commit.as_deref().and_then(CommitId::parse))
            .or_else(|| repo.branch_fork_point(branch).ok().flatten());
        let how = match repo.merge_state(&tip, &target_tip, fork.as_ref())? {
            MergeState::Merged(how) => how,
            MergeState::NotMerged | MergeState::Empty => return Ok(None),
        };
        let now = self.now();
        let row = MergeEventRow {
            id: uuid::Uuid::new_v4().to_string(),
            repo_path: repo_path.to_string(),
            branch: branch.to_string(),
            source_commit: tip.to_string(),
            target: target.to_string(),
            target_commit: target_tip.to_string(),
            merged_at: Some(now),
            detected_at: Some(now),
            notification_sent: false,
        };
        // Once per branch tip: the check and the insert are one transaction.
        let inserted = self.store.write(|tx| -> Result<bool> {
            if tx.merge_event_for(repo_path, branch, target, tip.as_str())?.is_some() {
                return Ok(false);
            }
            tx.insert_merge_event(&row)?;
            Ok(true)
        })?;
        Ok(inserted.then(|| MergeEventView { how: Some(how.as_str().to_string()), ..event_view(&row) }))
    }

    /// `merge status`: recorded events, newest first.
    pub fn merge_events(&self, repo: Option<&Path>, branch: Option<&str>, limit: usize) -> Result<MergeEventsView> {
        let key = match repo {
            Some(p) => Some(path_text(Repo::discover(p)?.main_path())),
            None => None,
        };
        let rows = self.store.read().merge_events(key.as_deref(), branch, limit)?;
        let events: Vec<MergeEventView> = rows.iter().map(event_view).collect();
        Ok(MergeEventsView { total: events.len(), events })
    }

    /// `merge status --subscriptions`: active subscriptions (substring filters, as the original).
    pub fn merge_subscriptions(&self, repo: Option<&str>, branch: Option<&str>) -> Result<SubscriptionsView> {
        let rows = self.store.read().subscriptions(repo, branch, None, false)?;
        let subscriptions: Vec<SubscriptionView> = rows.iter().map(subscription_view).collect();
        Ok(SubscriptionsView { total: subscriptions.len(), subscriptions })
    }

    /// `merge check`: is `branch` merged into `target` (default: the repository's default
    /// branch)? Looks now, like one poll of `watch merges` for this branch, so the answer does not
    /// depend on a watcher running; a merge found is recorded (and subscribers told) as by the
    /// watcher. A branch that no longer exists is answered from the recorded events.
    pub fn merge_status(&mut self, dir: &Path, branch: &str, target: Option<&str>) -> Result<MergeStatusView> {
        let repo = Repo::discover(dir)?;
        let repo_path = path_text(repo.main_path());
        let target = merge_target(&repo, branch, target)?;
        if repo.branch_tip(&target)?.is_none() {
            return Err(CoreError::Git(pcc_git::GitError::UnknownRevision { rev: target }));
        }
        let event = match repo.branch_tip(branch)? {
            Some(tip) => {
                let sessions = self.store.read().open_sessions_for_repo(&repo_path)?;
                match self.detect_one(&repo, &repo_path, branch, &target, false, &sessions)? {
                    Some(new) => Some(new),
                    None => self
                        .store
                        .read()
                        .merge_event_for(&repo_path, branch, &target, tip.as_str())?
                        .map(|e| event_view(&e)),
                }
            }
            // Gone: its latest recorded merge (newest first; the branch filter is a substring).
            None => match self
                .store
                .read()
                .merge_events(Some(&repo_path), Some(branch), 1000)?
                .iter()
                .find(|e| e.branch == branch && e.target == target)
                .map(event_view)
            {
                Some(e) => Some(e),
                None => {
                    return Err(CoreError::Git(pcc_git::GitError::UnknownRevision { rev: branch.to_string() }));
                }
            },
        };
        let message = match &event {
            Some(e) => format!(
                "{branch} was merged into {target}{} (found {})",
                e.how.as_deref().map(|h| format!(" ({h})")).unwrap_or_default(),
                e.detected_at.as_deref().unwrap_or("?")
            ),
            None => format!("{branch} is not merged into {target}"),
        };
        Ok(MergeStatusView {
            branch_name: branch.to_string(),
            target_branch: target,
            is_merged: event.is_some(),
            merge_event: event,
            message,
        })
    }

    /// `merge subscribe`: the acting session wants to hear when `branch` is merged into `target`.
    pub fn subscribe_merge(&mut self, actor: &Actor, branch: &str, target: Option<&str>) -> Result<SubscribeView> {
        let me = self.acting_session(actor)?;
        validate_branch_name(branch)?;
        let repo = Repo::open(Path::new(&me.repo_path))?;
        let target = merge_target(&repo, branch, target)?;
        let row = SubscriptionRow {
            id: uuid::Uuid::new_v4().to_string(),
            session_id: me.id.clone(),
            repo_path: me.repo_path.clone(),
            branch: branch.to_string(),
            target,
            created_at: Some(self.now()),
            notified_at: None,
            is_active: true,
        };
        self.store.write(|tx| tx.insert_subscription(&row))?;
        Ok(SubscribeView {
            success: true,
            subscribed: true,
            message: format!("this session will be told when {} is merged into {}", row.branch, row.target),
            subscription: subscription_view(&row),
        })
    }
}

/// For the post-tool-use hook, inside its write transaction: what `me` subscribed to and has been
/// merged since, as a message for the agent; those subscriptions are marked notified (and the
/// events delivered) in the same transaction, so each is told once.
pub(crate) fn take_merge_notices(tx: &WriteTx<'_>, me: &SessionRow, now: Timestamp) -> Result<Option<String>> {
    let pending = tx.pending_merge_notices(&me.id)?;
    if pending.is_empty() {
        return Ok(None);
    }
    for (s, e) in &pending {
        tx.mark_notified(&s.id, &e.id, now)?;
    }
    let lines: Vec<String> = pending
        .iter()
        .map(|(_, e)| {
            format!(
                "branch {} was merged into {} (commit {}, found {})",
                e.branch,
                e.target,
                short_id(&e.source_commit),
                e.detected_at.map(|t| t.to_string()).unwrap_or_default()
            )
        })
        .collect();
    Ok(Some(format!(
        "parallel-cc: {}. If this session builds on it, update: `parallel-cc rebase` (it aborts and lists the \
         files on conflicts), or check first with `parallel-cc conflicts check`.",
        lines.join("; ")
    )))
}

/// The target a branch is merged into: the one given (validated), else the repository's default
/// branch; never the branch itself.
fn merge_target(repo: &Repo, branch: &str, target: Option<&str>) -> Result<String> {
    validate_branch_name(branch)?;
    let target = match target {
        Some(t) => {
            validate_branch_name(t)?;
            t.to_string()
        }
        None => crate::conflicts::default_branch(repo)?,
    };
    if branch == target {
        return Err(CoreError::InvalidArgs { reason: format!("{branch} cannot be merged into itself") });
    }
    Ok(target)
}

fn event_view(e: &MergeEventRow) -> MergeEventView {
    MergeEventView {
        id: e.id.clone(),
        repo_path: e.repo_path.clone(),
        branch_name: e.branch.clone(),
        source_commit: e.source_commit.clone(),
        target_branch: e.target.clone(),
        target_commit: e.target_commit.clone(),
        merged_at: e.merged_at.map(|t| t.to_string()),
        detected_at: e.detected_at.map(|t| t.to_string()),
        notification_sent: e.notification_sent,
        how: None,
    }
}

fn subscription_view(s: &SubscriptionRow) -> SubscriptionView {
    SubscriptionView {
        id: s.id.clone(),
        session_id: s.session_id.clone(),
        repo_path: s.repo_path.clone(),
        branch_name: s.branch.clone(),
        target_branch: s.target.clone(),
        created_at: s.created_at.map(|t| t.to_string()),
        notified_at: s.notified_at.map(|t| t.to_string()),
        is_active: s.is_active,
    }
}
