//! Every environment variable parallel-cc reads, declared once (documented in docs/env.md).

/// Data directory (database, config, snapshots log). Default `~/.parallel-cc`.
pub const DATA_DIR: &str = "PARALLEL_CC_DATA_DIR";
/// Set by `parallel-cc run` for the agent: the session id.
pub const SESSION_ID: &str = "PARALLEL_CC_SESSION_ID";
/// Set by `parallel-cc run` for the agent: the main worktree of the repository.
pub const REPO: &str = "PARALLEL_CC_REPO";
/// Set by `parallel-cc run` for the agent: the session's checkout.
pub const WORKTREE: &str = "PARALLEL_CC_WORKTREE";
/// Log filter (`tracing` syntax), e.g. `debug` or `pcc_core=trace`.
pub const LOG: &str = "PARALLEL_CC_LOG";
/// How long to wait for a locked database, in milliseconds (default 5000).
pub const DB_BUSY_TIMEOUT_MS: &str = "PARALLEL_CC_DB_BUSY_TIMEOUT_MS";
/// Configuration keys are also read from `PARALLEL_CC_<SECTION>_<KEY>`, e.g.
/// `PARALLEL_CC_SESSION_STALE_MINUTES`; see [`crate::config::KEYS`].
pub const CONFIG_PREFIX: &str = "PARALLEL_CC_";
/// Checked by `doctor` (presence only; never printed).
pub const E2B_API_KEY: &str = "E2B_API_KEY";
pub const ANTHROPIC_API_KEY: &str = "ANTHROPIC_API_KEY";
/// Home directory, for `~/.parallel-cc` and `~/.claude`.
pub const HOME: &str = "HOME";
/// Set by Claude Code for its hooks: the project root (the session's checkout).
pub const CLAUDE_PROJECT_DIR: &str = "CLAUDE_PROJECT_DIR";
/// Set by Claude Code (2.1.330+) for its hooks: the PID of the claude process.
pub const CLAUDE_PID: &str = "CLAUDE_PID";
/// The user's shell (basename `bash`, `zsh` or `fish`), for `install --alias`.
pub const SHELL: &str = "SHELL";
