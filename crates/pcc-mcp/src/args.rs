//! Tool inputs. Names and shapes follow the original tool (ORIGINAL.md §9); each doc comment
//! becomes the field's `description` in the tool's input schema.

use pcc_core::rules::ClaimMode;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct RepoArgs {
    /// Any path in the repository (default: this session's checkout). Worktrees of one repository share their sessions.
    pub repo_path: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeArgs {
    /// The branch that would be merged.
    pub branch: String,
    /// The branch it is merged into (default: main, else master, else the main checkout's branch).
    pub target_branch: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckConflictsArgs {
    /// The branch (or revision) to merge.
    pub current_branch: String,
    /// The branch to merge it into.
    pub target_branch: String,
    /// Merge this checkout's working state (HEAD plus uncommitted and untracked files) instead of the branch's commits; `currentBranch` must then be the branch checked out here.
    #[serde(default)]
    pub include_uncommitted: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebaseArgs {
    /// The branch to rebase this checkout onto.
    pub target_branch: String,
    /// Only predict what a rebase would meet; change nothing.
    #[serde(default)]
    pub check_only: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct MergeEventsArgs {
    /// Any path in the repository (default: this session's checkout).
    pub repo_path: Option<String>,
    /// At most this many events, newest first (1–1000, default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimFileArgs {
    /// The file, or a directory with a trailing `/`: relative to this session's checkout, or absolute inside one of the repository's checkouts.
    pub file_path: String,
    /// EXCLUSIVE (default): only this session changes it; SHARED; INTENT.
    pub mode: Option<ClaimMode>,
    /// Why, shown to other sessions.
    pub reason: Option<String>,
    /// Lifetime in hours, 1–8760 (default 24); the claim also ends with the session.
    pub ttl_hours: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseArgs {
    /// The claim's id (from `claim_file` or `list_file_claims`).
    pub claim_id: String,
    /// Release a claim of another session.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalateArgs {
    /// The claim's id.
    pub claim_id: String,
    /// The new, stronger mode (INTENT → SHARED → EXCLUSIVE).
    pub mode: ClaimMode,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListClaimsArgs {
    /// Only claims covering one of these files or directories.
    pub file_paths: Option<Vec<String>>,
    /// Only claims of this session.
    pub session_id: Option<String>,
    /// Ended and expired claims too.
    #[serde(default)]
    pub include_expired: bool,
    /// Any path in the repository (default: this session's checkout).
    #[serde(rename = "repo_path")]
    pub repo_path: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatrixArgs {
    /// The branch every session is also checked against (default: main, else master).
    pub target_branch: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedConflictsArgs {
    /// The branch (or revision) to merge.
    pub current_branch: String,
    /// The branch to merge it into.
    pub target_branch: String,
    /// Accepted for the original's shape: the analysis always includes the semantic checks (default true).
    pub analyze_semantics: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuggestionsArgs {
    /// The conflicting file, relative to the repository's root (as `detect_advanced_conflicts` lists it).
    pub file_path: String,
    /// The branch (or revision) to merge.
    pub current_branch: String,
    /// The branch to merge it into.
    pub target_branch: String,
    /// Only suggestions at least this confident, 0–1 (default 0.5).
    pub min_confidence: Option<f64>,
    /// At most this many suggestions, best first, 1–10 (default 3).
    pub max_suggestions: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyFixArgs {
    /// The suggestion's id (from `get_auto_fix_suggestions`).
    pub suggestion_id: String,
    /// Show what would change; write nothing (default false).
    pub dry_run: Option<bool>,
    /// Accepted for the original's shape: the previous file is always backed up (default true).
    pub create_backup: Option<bool>,
    /// Write it even though no merge is stopped on the file: an ordinary edit, and merging the
    /// branches will still stop on the file (default false).
    pub force: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryArgs {
    /// Only conflicts of this file (relative to the repository's root).
    pub file_path: Option<String>,
    /// Only conflicts of this type: STRUCTURAL, SEMANTIC, CONCURRENT_EDIT or TRIVIAL.
    pub conflict_type: Option<String>,
    /// Only conflicts resolved this way: AUTO_FIX, MANUAL, HYBRID or ABANDONED.
    pub resolution_strategy: Option<String>,
    /// At most this many, newest first, 1–100 (default 20).
    pub limit: Option<u32>,
    /// Skip this many first (default 0).
    pub offset: Option<u32>,
    /// Any path in the repository (default: this session's checkout).
    #[serde(rename = "repo_path")]
    pub repo_path: Option<String>,
}

/// `detectAdvancedConflicts`, as the original's reference documented it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyDetectArgs {
    /// The file, relative to the repository's root.
    pub file_path: String,
    /// The branch this checkout's HEAD is merged into (default: main, else master).
    pub base_branch: Option<String>,
}

/// `getAutoFixSuggestions`, as the original's reference documented it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacySuggestionsArgs {
    /// Read as the conflicting file's path (this checkout's HEAD merged into the default branch).
    pub conflict_id: String,
}
