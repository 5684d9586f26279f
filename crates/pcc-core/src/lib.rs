//! The parallel-cc engine: what other tools embed.
//!
//! [`Coordinator`] composes the building blocks (pcc-store for SQLite, pcc-git for repositories and
//! worktrees) into the use cases: `register`, `release`, `heartbeat`, `status`, `cleanup`,
//! snapshots and `restore`, `doctor`, configuration. Pure rules (naming, liveness, the disposal
//! decision) live in [`rules`] without I/O; time comes from a replaceable [`clock::Clock`].
//!
//! It must not print or read the terminal: frontends (pcc-cli, pcc-mcp) render the returned views.
//! Slow work (git checkout, snapshots) never runs inside a database transaction.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod autofix;
pub mod claims;
mod cleanup;
pub mod clock;
pub mod config;
pub mod conflicts;
mod coordinator;
mod doctor;
pub mod env;
mod error;
mod fsutil;
mod gitinfo;
pub mod hook_input;
mod hooks;
pub mod install;
pub mod merges;
pub mod overlaps;
pub mod process;
pub mod rules;
mod session;
pub mod views;

pub use cleanup::CleanupOptions;
pub use coordinator::{Coordinator, default_data_dir};
pub use error::{CoreError, ExitClass, GitError, Result, StoreError};
pub use hooks::{HookEnv, HookEvent, HookReply};
pub use pcc_store::Timestamp;
pub use session::{GitLooks, Isolation, RegisterRequest, RegisteredBy};

/// The main worktree of the repository containing `path`, if any.
pub fn repo_root(path: &std::path::Path) -> Option<std::path::PathBuf> {
    pcc_git::Repo::discover(path).ok().map(|r| r.main_path().to_path_buf())
}

/// The root of the checkout containing `path`, if any, found without opening the repository:
/// cheaper than [`repo_root`] when the caller only needs a path inside the repository.
pub fn checkout_root(path: &std::path::Path) -> Option<std::path::PathBuf> {
    pcc_git::Repo::find_checkout(path)
}

/// Where `path` lies inside its checkout (`""` at the root), if it is inside one.
pub fn relative_in_checkout(path: &std::path::Path) -> Option<std::path::PathBuf> {
    let repo = pcc_git::Repo::discover(path).ok()?;
    let canonical = std::fs::canonicalize(path).ok()?;
    canonical.strip_prefix(repo.checkout()).ok().map(std::path::Path::to_path_buf)
}
