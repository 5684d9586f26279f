//! What use cases return: plain serialisable views, shared by the CLI and the MCP server.
//! Field names follow the original tool (camelCase); new fields are additions, never renames.

use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub session_id: String,
    pub worktree_path: String,
    pub worktree_name: Option<String>,
    pub is_new: bool,
    pub is_main_repo: bool,
    pub parallel_sessions: usize,
}

/// Extra facts about a registration that the JSON of `register` does not carry.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistrationDetail {
    pub registration: Registration,
    pub repo_path: String,
    pub branch: Option<String>,
    pub copied_includes: Vec<String>,
    /// Sessions reaped while registering, with what happened to their checkouts.
    pub reaped: Vec<ReleaseOutcome>,
    /// Non-fatal problems (setup command failed, …), for stderr.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseOutcome {
    pub released: bool,
    pub worktree_removed: bool,
    pub kept: bool,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

impl ReleaseOutcome {
    pub fn not_found() -> Self {
        ReleaseOutcome {
            released: false,
            worktree_removed: false,
            kept: false,
            reason: Some("no session with that pid".into()),
            session_id: None,
            worktree_name: None,
            worktree_path: None,
            branch: None,
            branch_deleted: None,
            snapshot: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastActivity {
    pub tool: Option<String>,
    pub at: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub session_id: String,
    pub pid: i64,
    pub worktree_path: String,
    pub worktree_name: Option<String>,
    pub is_main_repo: bool,
    pub created_at: String,
    pub last_heartbeat: String,
    pub is_alive: bool,
    pub duration_minutes: i64,
    pub repo_path: String,
    pub branch: Option<String>,
    pub agent: Option<String>,
    /// `active`, `idle`, `kept`, `starting`, `sandbox:<status>`, or `dead` (not yet reaped).
    pub state: String,
    pub kept_reason: Option<String>,
    pub last_activity: Option<LastActivity>,
    pub execution_mode: String,
    pub ahead: Option<usize>,
    pub behind: Option<usize>,
    pub dirty_files: Option<usize>,
    /// When `dirtyFiles`, `ahead` and `behind` were taken (they may be from an earlier look).
    pub git_checked_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// The repository shown, or `"all"`.
    pub repo_path: String,
    pub total_sessions: usize,
    pub sessions: Vec<SessionView>,
}

/// The acting session (MCP `get_my_session`).
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MySessionView {
    pub session_id: String,
    pub worktree_path: String,
    pub worktree_name: Option<String>,
    pub is_main_repo: bool,
    pub started_at: String,
    /// Live sessions of this repository, this one included.
    pub parallel_sessions: usize,
    pub repo_path: String,
    pub branch: Option<String>,
    /// As in `status`: `active`, `idle`, `starting`, …
    pub state: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KeptWorktree {
    pub worktree_name: String,
    pub reason: String,
    pub worktree_path: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CleanupView {
    pub removed: usize,
    pub sessions: Vec<String>,
    pub worktrees_removed: Vec<String>,
    pub kept: Vec<KeptWorktree>,
    pub snapshots: Vec<String>,
    pub pruned: Vec<String>,
    pub orphans: Vec<String>,
    pub snapshots_deleted: Vec<String>,
    pub dry_run: bool,
    /// Human-readable plan (dry run) or log of what was done.
    pub actions: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotView {
    pub name: String,
    pub repo_path: String,
    pub worktree_name: Option<String>,
    pub worktree_path: String,
    pub branch: Option<String>,
    pub commit: String,
    pub ref_name: String,
    pub created_at: String,
    pub age_minutes: i64,
    pub file_count: i64,
    pub size_bytes: i64,
    pub reason: Option<String>,
    pub restored_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestoreView {
    pub name: String,
    pub worktree_path: String,
    pub branch: String,
    pub files_written: usize,
    pub files_deleted: usize,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Warn,
    Fail,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DoctorCheck {
    pub name: String,
    pub status: CheckStatus,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    pub checks: Vec<DoctorCheck>,
    pub ok: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MigrateView {
    pub success: bool,
    pub from: Option<String>,
    pub to: String,
    pub migrations: Vec<String>,
    pub schema_version: i64,
    pub backup: Option<String>,
}
