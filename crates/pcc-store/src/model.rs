//! Row types. Plain data: the rules about them live in pcc-core.

use crate::time::Timestamp;

/// Where a session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Row reserved, worktree being created; no agent has run yet.
    Starting,
    /// The agent may be running.
    Live,
    /// Ended, but its worktree holds work, so both stay.
    Kept,
    /// Ended and disposed of; the row stays as history.
    Ended,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Starting => "starting",
            SessionState::Live => "live",
            SessionState::Kept => "kept",
            SessionState::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "starting" => SessionState::Starting,
            "live" => SessionState::Live,
            "kept" => SessionState::Kept,
            "ended" => SessionState::Ended,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub id: String,
    pub pid: i64,
    pub repo_path: String,
    pub worktree_path: String,
    pub worktree_name: Option<String>,
    pub is_main_repo: bool,
    pub created_at: Timestamp,
    pub last_heartbeat: Timestamp,
    pub execution_mode: String,
    pub sandbox_id: Option<String>,
    pub sandbox_status: Option<String>,
    pub pid_start_time: Option<i64>,
    pub agent_pid: Option<i64>,
    pub agent_pid_start_time: Option<i64>,
    pub branch: Option<String>,
    pub base_commit: Option<String>,
    pub agent: Option<String>,
    pub state: SessionState,
    pub agent_state: Option<String>,
    pub kept_reason: Option<String>,
    pub ended_at: Option<Timestamp>,
    pub last_activity_at: Option<Timestamp>,
    pub last_tool: Option<String>,
    pub registered_by: String,
    pub worktree_owned: bool,
    pub branch_owned: bool,
    /// Last known git details of the worktree; `None` until `status` first looked.
    pub git: Option<GitDetails>,
}

/// Dirty-file count and ahead/behind of a worktree, as seen at `checked_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitDetails {
    pub dirty_files: Option<usize>,
    pub ahead: Option<usize>,
    pub behind: Option<usize>,
    /// Milliseconds since the epoch.
    pub checked_ms: i64,
}

impl GitDetails {
    pub fn checked_at(&self) -> Timestamp {
        Timestamp(self.checked_ms.div_euclid(1000))
    }
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: String,
    pub pid: i64,
    pub pid_start_time: Option<i64>,
    pub repo_path: String,
    pub worktree_path: String,
    pub worktree_name: Option<String>,
    pub is_main_repo: bool,
    pub branch: Option<String>,
    pub base_commit: Option<String>,
    pub agent: Option<String>,
    pub state: SessionState,
    pub registered_by: String,
    pub worktree_owned: bool,
    pub branch_owned: bool,
    pub now: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotRow {
    pub name: String,
    pub repo_path: String,
    pub session_id: Option<String>,
    pub worktree_path: String,
    pub worktree_name: Option<String>,
    pub branch: Option<String>,
    pub head_commit: Option<String>,
    pub commit_id: String,
    pub ref_name: String,
    pub file_count: i64,
    pub size_bytes: i64,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub restored_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct NewSnapshot {
    pub name: String,
    pub repo_path: String,
    pub session_id: Option<String>,
    pub worktree_path: String,
    pub worktree_name: Option<String>,
    pub branch: Option<String>,
    pub head_commit: Option<String>,
    pub commit_id: String,
    pub ref_name: String,
    pub file_count: i64,
    pub size_bytes: i64,
    pub reason: Option<String>,
    pub now: Timestamp,
}

/// A file a session's agent edited, as reported by its hooks (the overlap radar).
#[derive(Clone, Debug, PartialEq)]
pub struct TouchedFile {
    pub session_id: String,
    /// Repo-relative, `/`-separated.
    pub file_path: String,
    pub last_tool: Option<String>,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    pub edits: i64,
    /// Sorted ids of the sessions the agent was last warned about for this file.
    pub warned_about: Option<String>,
}

/// A row of `file_claims` (the original's table).
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimRow {
    pub id: String,
    pub session_id: String,
    pub repo_path: String,
    /// Repo-relative; a path ending in `/` is a directory claim covering everything below it.
    pub file_path: String,
    /// `EXCLUSIVE`, `SHARED` or `INTENT`.
    pub mode: String,
    pub claimed_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    /// JSON, e.g. `{"reason":"…"}`.
    pub metadata: Option<String>,
    /// The mode it had before its last escalation.
    pub escalated_from: Option<String>,
    pub is_active: bool,
    pub released_at: Option<Timestamp>,
    /// Why it ended: `released`, `session_ended`, `stale` (the original's cleanup), …
    pub ended_reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewClaim {
    pub id: String,
    pub session_id: String,
    pub repo_path: String,
    pub file_path: String,
    pub mode: String,
    pub expires_at: Timestamp,
    pub metadata: Option<String>,
    pub now: Timestamp,
}

/// A row of `merge_events` (the original's table): a branch found merged into a target, once
/// per branch tip.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeEventRow {
    pub id: String,
    pub repo_path: String,
    pub branch: String,
    /// The branch tip that was found merged.
    pub source_commit: String,
    pub target: String,
    pub target_commit: String,
    pub merged_at: Option<Timestamp>,
    pub detected_at: Option<Timestamp>,
    /// Delivered to at least one subscribed session.
    pub notification_sent: bool,
}

/// A row of `subscriptions` (the original's table): a session waiting to hear that a branch was
/// merged into a target.
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriptionRow {
    pub id: String,
    pub session_id: String,
    pub repo_path: String,
    pub branch: String,
    pub target: String,
    pub created_at: Option<Timestamp>,
    /// When the session was told.
    pub notified_at: Option<Timestamp>,
    pub is_active: bool,
}
