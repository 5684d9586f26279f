//! Git access for parallel-cc.
//!
//! Repository identity (the main worktree, reached from any checkout), branches, linked worktree
//! create/remove/list, checkout status, snapshots of a checkout's full state, conflict prediction
//! by in-memory three-way merges (`merge.rs`), and the `.worktreeinclude` bootstrap. Everything goes through gix; the git command line is used only
//! where gix cannot (worktree prune), through one runner in `cli.rs`.
//!
//! It must not decide policy (what to keep, what to remove: that is pcc-core's disposal rule),
//! touch the database, or print. Paths are canonical and absolute before gix sees them. gix types
//! do not leave the crate.

mod changes;
mod cli;
mod error;
mod include;
mod merge;
mod merged;
mod repo;
mod snapshot;
mod worktree;

pub use changes::{UnmergedStages, changes_since_fork, file_blob_id, head_commit_of};
pub use cli::{Preflight, RebaseOutcome, fetch_origin, git_version, rebase_checkout, rebase_preflight};
pub use error::{GitError, Result};
pub use include::WORKTREE_INCLUDE_FILE;
pub use merge::{
    ConflictBlobs, ConflictHunk, ConflictKind, FileConflict, MAX_HUNK_LINES, MAX_HUNKS_PER_FILE, MergePrediction,
    MergePredictor, MergeSide,
};
pub use merged::{MergeHow, MergeState};
pub use repo::{CommitId, Repo, validate_branch_name};
pub use snapshot::{RestoredFiles, SNAPSHOT_REF_PREFIX, SnapshotOutcome};
pub use worktree::{
    ChangeKind, CheckoutStatus, CheckoutSummary, FileChange, WorktreeEntry, checkout_status, checkout_summary,
};
