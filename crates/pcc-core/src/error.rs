use std::path::PathBuf;

pub use pcc_git::GitError;
pub use pcc_store::StoreError;

/// Errors of the engine. Each frontend maps them to exit codes and JSON with [`CoreError::code`]
/// and [`CoreError::exit_class`]; the messages name the thing that failed.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Install(#[from] crate::install::InstallError),
    #[error("invalid pid {pid}: must be between 1 and 2147483647")]
    InvalidPid { pid: i64 },
    #[error("invalid worktree name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("--worktree and --no-worktree cannot be used together")]
    ConflictingModes,
    #[error("no session with id {id}")]
    UnknownSession { id: String },
    #[error("no snapshot named {name:?}")]
    UnknownSnapshot { name: String },
    #[error("{reason}")]
    InvalidArgs { reason: String },
    #[error("invalid claim: {reason}")]
    InvalidClaim { reason: String },
    #[error("no claim with id {id}")]
    UnknownClaim { id: String },
    #[error("claim {id} has already ended")]
    ClaimNotActive { id: String },
    #[error("claim {id} belongs to session {owner}")]
    NotClaimOwner { id: String, owner: String },
    #[error("no parallel-cc session works in {}", dir.display())]
    NoSession { dir: PathBuf },
    #[error("{0}")]
    ClaimConflict(Box<crate::claims::ClaimConflict>),
    #[error("hook {event}: {reason}")]
    Hook { event: &'static str, reason: String },
    #[error("cannot restore {name:?}: {path} already exists")]
    RestoreTargetExists { name: String, path: PathBuf },
    #[error("worktree setup command failed in {path}: {detail}")]
    Setup { path: PathBuf, detail: String },
    #[error("invalid configuration in {origin}: key {key}: {reason}")]
    Config { origin: String, key: String, reason: String },
    #[error("cannot parse configuration file {path}: {reason}")]
    ConfigParse { path: PathBuf, reason: String },
    #[error("unknown configuration key {key:?}")]
    UnknownConfigKey { key: String },
    #[error("cannot determine the data directory: set PARALLEL_CC_DATA_DIR or HOME")]
    NoDataDir,
    #[error("unknown suggestion {id}")]
    UnknownSuggestion { id: String },
    #[error("suggestion {id} was already applied ({at})")]
    AlreadyApplied { id: String, at: String },
    #[error("{reason}")]
    ApplyRefused { path: PathBuf, reason: String, hint: Option<String> },
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How a failure should end the process (PRODUCT.md §0: 1 operation failed, 2 usage or config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitClass {
    Failed,
    Usage,
}

impl CoreError {
    /// Stable snake_case identifier for the JSON error document.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Store(e) => match e {
                StoreError::DataDir { .. } | StoreError::Unwritable { .. } => "data_dir_unwritable",
                StoreError::Corrupt { .. } => "database_corrupt",
                StoreError::Locked { .. } => "database_locked",
                StoreError::TooNew { .. } => "database_too_new",
                StoreError::Backup { .. } => "database_backup_failed",
                StoreError::Migration { .. } => "database_migration_failed",
                _ => "database_error",
            },
            CoreError::Git(e) => match e {
                GitError::NoSuchPath { .. } => "no_such_path",
                GitError::NotARepo { .. } => "not_a_git_repo",
                GitError::Bare { .. } => "bare_repo",
                GitError::UnknownRevision { .. } => "unknown_revision",
                GitError::UnbornHead => "no_commits",
                GitError::InvalidBranchName { .. } => "invalid_branch_name",
                GitError::BranchExists { .. } => "branch_exists",
                GitError::BranchCheckedOut { .. } => "branch_checked_out",
                GitError::WorktreeExists { .. } => "worktree_exists",
                GitError::NotAWorktree { .. } => "not_a_worktree",
                GitError::WorktreeDirty { .. } => "worktree_dirty",
                GitError::OperationInProgress { .. } => "operation_in_progress",
                GitError::WouldOverwriteIgnored { .. } => "would_overwrite_ignored",
                GitError::SnapshotExists { .. } => "snapshot_exists",
                GitError::CliSpawn { .. } => "git_not_found",
                _ => "git_error",
            },
            CoreError::Install(e) => e.code(),
            CoreError::InvalidPid { .. } => "invalid_pid",
            CoreError::InvalidName { .. } => "invalid_name",
            CoreError::ConflictingModes => "conflicting_options",
            CoreError::UnknownSession { .. } => "unknown_session",
            CoreError::UnknownSnapshot { .. } => "unknown_snapshot",
            CoreError::Hook { .. } => "hook_failed",
            CoreError::InvalidClaim { .. } => "invalid_claim",
            CoreError::InvalidArgs { .. } => "usage",
            CoreError::UnknownClaim { .. } => "unknown_claim",
            CoreError::ClaimNotActive { .. } => "claim_not_active",
            CoreError::NotClaimOwner { .. } => "not_claim_owner",
            CoreError::NoSession { .. } => "no_session",
            CoreError::ClaimConflict(_) => "claim_conflict",
            CoreError::RestoreTargetExists { .. } => "restore_target_exists",
            CoreError::Setup { .. } => "worktree_setup_failed",
            CoreError::Config { .. } => "invalid_config",
            CoreError::ConfigParse { .. } => "invalid_config",
            CoreError::UnknownConfigKey { .. } => "unknown_config_key",
            CoreError::NoDataDir => "no_data_dir",
            CoreError::UnknownSuggestion { .. } => "unknown_suggestion",
            CoreError::AlreadyApplied { .. } => "already_applied",
            CoreError::ApplyRefused { .. } => "apply_refused",
            CoreError::Io { .. } => "io_error",
        }
    }

    pub fn exit_class(&self) -> ExitClass {
        match self {
            CoreError::InvalidPid { .. }
            | CoreError::InvalidName { .. }
            | CoreError::ConflictingModes
            | CoreError::Config { .. }
            | CoreError::ConfigParse { .. }
            | CoreError::UnknownConfigKey { .. }
            | CoreError::NoDataDir
            | CoreError::InvalidClaim { .. }
            | CoreError::InvalidArgs { .. } => ExitClass::Usage,
            CoreError::Git(GitError::InvalidBranchName { .. }) => ExitClass::Usage,
            CoreError::Install(e) if e.is_usage() => ExitClass::Usage,
            _ => ExitClass::Failed,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            CoreError::Store(e) => e.hint(),
            CoreError::Git(e) => e.hint(),
            CoreError::Install(e) => e.hint(),
            CoreError::UnknownSnapshot { .. } => Some("list snapshots with `parallel-cc snapshot list`".into()),
            CoreError::UnknownConfigKey { .. } => Some("list known keys with `parallel-cc config list`".into()),
            CoreError::ConfigParse { path, .. } => Some(format!("fix or remove {}", path.display())),
            CoreError::RestoreTargetExists { .. } => Some("move the directory aside, or pass --path".into()),
            CoreError::UnknownClaim { .. } => Some("list claims with `parallel-cc claims --all`".into()),
            CoreError::UnknownSuggestion { .. } => Some("list suggestions with `parallel-cc suggestions list`".into()),
            CoreError::AlreadyApplied { .. } => {
                Some("see `parallel-cc conflicts history`; generate new suggestions if the file changed since".into())
            }
            CoreError::ApplyRefused { hint: Some(hint), .. } => Some(hint.clone()),
            CoreError::ApplyRefused { path, hint: None, .. } => Some(format!(
                "{} was left as it was; run `parallel-cc suggestions generate` again, or resolve it by hand",
                path.display()
            )),
            CoreError::NotClaimOwner { .. } => {
                Some("run it from that session, or pass --force to release another session's claim".into())
            }
            CoreError::NoSession { .. } => Some(
                "run it inside a session's checkout (`parallel-cc status` lists them), or pass --session ID / set \
                 PARALLEL_CC_SESSION_ID"
                    .into(),
            ),
            CoreError::ClaimConflict(_) => Some(
                "work on other files first, or ask that session to release its claim (`parallel-cc claims` lists claims)"
                    .into(),
            ),
            _ => None,
        }
    }
}

pub(crate) fn io_err(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CoreError {
    let path = path.into();
    move |source| CoreError::Io { op, path, source }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
