use std::path::PathBuf;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Git failures, typed by what the user can do about them. gix's error type stays inside: it is
/// kept only as a `source`.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("path does not exist: {path}")]
    NoSuchPath { path: PathBuf },
    #[error("not a git repository: {path}")]
    NotARepo {
        path: PathBuf,
        #[source]
        source: Option<Source>,
    },
    #[error("bare repositories have no checkout to work in: {path}")]
    Bare { path: PathBuf },
    #[error("unknown revision {rev:?}")]
    UnknownRevision { rev: String },
    #[error("the repository has no commits yet")]
    UnbornHead,
    #[error("invalid branch name {name:?}: {reason}")]
    InvalidBranchName { name: String, reason: String },
    #[error("branch {name:?} already exists")]
    BranchExists { name: String },
    #[error("branch {name:?} is already checked out in {path}")]
    BranchCheckedOut { name: String, path: PathBuf },
    #[error("worktree path already exists: {path}")]
    WorktreeExists { path: PathBuf },
    #[error("{path} is not a linked worktree of this repository")]
    NotAWorktree { path: PathBuf },
    #[error("worktree {path} holds uncommitted or untracked changes")]
    WorktreeDirty { path: PathBuf },
    #[error("snapshot ref {name} already exists")]
    SnapshotExists { name: String },
    #[error("git {op} failed")]
    Gix {
        op: &'static str,
        #[source]
        source: Source,
    },
    #[error("{} has a {what} in progress", path.display())]
    OperationInProgress { path: PathBuf, what: String },
    #[error("rebasing {} would overwrite files it does not track: {}", path.display(), files.join(", "))]
    WouldOverwriteIgnored { path: PathBuf, files: Vec<String> },
    #[error("`git {args}` failed: {stderr}")]
    Cli { args: String, stderr: String },
    #[error("cannot run git: {source}")]
    CliSpawn {
        #[source]
        source: std::io::Error,
    },
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl GitError {
    pub fn hint(&self) -> Option<String> {
        match self {
            GitError::NotARepo { .. } => Some("run inside a git repository, or pass --repo <path>".into()),
            GitError::Bare { .. } => {
                Some("use a repository with a working tree (a clone or `git worktree add`)".into())
            }
            GitError::UnknownRevision { .. } => Some("check the name with `git rev-parse --verify <rev>`".into()),
            GitError::UnbornHead => Some("make a first commit, then try again".into()),
            GitError::InvalidBranchName { .. } => Some("branch names follow `git check-ref-format --branch`".into()),
            GitError::BranchCheckedOut { .. } => {
                Some("a branch can be checked out in one checkout only; choose another --branch".into())
            }
            GitError::BranchExists { .. } => Some("choose another --branch, or omit it to get a generated name".into()),
            GitError::CliSpawn { .. } => Some("install git (>= 2.30) and make sure it is on PATH".into()),
            GitError::OperationInProgress { .. } => {
                Some("finish it (or abort it) with git first; parallel-cc will not touch it".into())
            }
            GitError::WouldOverwriteIgnored { .. } => {
                Some("move those files aside (or commit them), then rebase again".into())
            }
            _ => None,
        }
    }
}

pub(crate) fn gix_err(op: &'static str) -> impl FnOnce(gix::Error) -> GitError {
    move |e| GitError::Gix { op, source: Box::new(e) }
}

pub(crate) fn io_err(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> GitError {
    let path = path.into();
    move |source| GitError::Io { op, path, source }
}

pub type Result<T, E = GitError> = std::result::Result<T, E>;
