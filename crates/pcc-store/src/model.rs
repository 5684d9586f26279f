//! Row types. Plain data: the rules about them live in pcc-core.

use std::collections::BTreeMap;

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

/// A suggested resolution of a conflicting file, to insert into `auto_fix_suggestions`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSuggestion {
    pub id: String,
    /// The `conflict_resolutions` row it was made for.
    pub conflict_resolution_id: Option<String>,
    pub repo_path: String,
    pub file_path: String,
    /// `STRUCTURAL`, `SEMANTIC`, `CONCURRENT_EDIT`, `TRIVIAL` or `UNKNOWN`.
    pub conflict_type: String,
    pub suggested_resolution: String,
    /// In `0.0..=1.0` (the table checks it).
    pub confidence: f64,
    pub explanation: String,
    /// `strategy_used`.
    pub strategy: String,
    pub base_content: String,
    pub source_content: String,
    pub target_content: String,
    pub generated_at: Timestamp,
    /// JSON text.
    pub metadata: Option<String>,
}

/// A row of `auto_fix_suggestions` (the original's table).
#[derive(Clone, Debug, PartialEq)]
pub struct SuggestionRow {
    pub id: String,
    pub conflict_resolution_id: Option<String>,
    pub repo_path: String,
    pub file_path: String,
    pub conflict_type: String,
    pub suggested_resolution: String,
    pub confidence: f64,
    pub explanation: String,
    pub strategy: String,
    pub base_content: String,
    pub source_content: String,
    pub target_content: String,
    pub generated_at: Timestamp,
    /// JSON text; failed applies are counted under `failedApplies`.
    pub metadata: Option<String>,
    pub applied_at: Option<Timestamp>,
    pub was_auto_applied: bool,
}

/// Which suggestions [`Queries::suggestions`](crate::Queries::suggestions) returns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SuggestionFilter {
    /// Exact repository path.
    pub repo: Option<String>,
    /// Exact repo-relative file path.
    pub file: Option<String>,
    pub min_confidence: f64,
    /// `Some(true)`: only applied ones; `Some(false)`: only those not applied yet.
    pub applied: Option<bool>,
    /// At most this many; 0 means no limit.
    pub limit: usize,
}

/// A detected conflict, to insert into `conflict_resolutions` (unresolved).
#[derive(Clone, Debug, PartialEq)]
pub struct NewConflictRecord {
    pub id: String,
    pub session_id: Option<String>,
    pub repo_path: String,
    pub file_path: String,
    /// `STRUCTURAL`, `SEMANTIC`, `CONCURRENT_EDIT`, `TRIVIAL` or `UNKNOWN`.
    pub conflict_type: String,
    pub base_commit: String,
    pub source_commit: String,
    pub target_commit: String,
    pub conflict_markers: String,
    pub detected_at: Timestamp,
    /// JSON text.
    pub metadata: Option<String>,
}

/// A row of `conflict_resolutions` (the original's table), with the strategy and explanation of
/// the suggestion that resolved it, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct ConflictResolutionRow {
    pub id: String,
    /// `None` once the session row is gone.
    pub session_id: Option<String>,
    pub repo_path: String,
    pub file_path: String,
    pub conflict_type: String,
    pub base_commit: String,
    pub source_commit: String,
    pub target_commit: String,
    /// `AUTO_FIX`, `MANUAL`, `HYBRID` or `ABANDONED`; `None` while unresolved.
    pub resolution_strategy: Option<String>,
    pub confidence: Option<f64>,
    pub conflict_markers: String,
    pub resolved_content: Option<String>,
    pub detected_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub auto_fix_suggestion_id: Option<String>,
    pub metadata: Option<String>,
    /// `strategy_used` of the linked suggestion (`None` without one, or if it was deleted).
    pub auto_fix_strategy: Option<String>,
    /// `explanation` of the linked suggestion.
    pub explanation: Option<String>,
}

/// Which conflicts [`Queries::conflict_history`](crate::Queries::conflict_history) and
/// [`Queries::history_stats`](crate::Queries::history_stats) look at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryFilter {
    /// Exact repository path.
    pub repo: Option<String>,
    /// Exact repo-relative file path.
    pub file: Option<String>,
    pub conflict_type: Option<String>,
    /// `resolution_strategy`.
    pub strategy: Option<String>,
    /// `Some(true)`: only resolved ones (`resolved_at` set); `Some(false)`: only unresolved ones.
    pub resolved: Option<bool>,
    /// At most this many; 0 means no limit. Ignored by `history_stats`.
    pub limit: usize,
    /// Ignored by `history_stats`.
    pub offset: usize,
}

/// Counts over the conflicts a [`HistoryFilter`] selects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryStats {
    pub total: usize,
    /// With `resolved_at` set.
    pub resolved: usize,
    /// With `resolution_strategy = 'AUTO_FIX'`.
    pub auto_fixed: usize,
    /// Mean `confidence_score` of the rows that have one.
    pub average_confidence: Option<f64>,
    pub by_type: BTreeMap<String, usize>,
    /// By `resolution_strategy`; rows without one are not counted (they were not resolved).
    pub by_strategy: BTreeMap<String, usize>,
}

/// How a suggestion strategy has fared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StrategyRecord {
    /// Its suggestions that were applied.
    pub applied: usize,
    /// Failed applies recorded on its suggestions (`failedApplies` in their metadata).
    pub failed: usize,
}
