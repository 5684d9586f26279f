//! One module per command: each exports `Args` (its doc comment is the help) and `run`.

pub mod claims;
pub mod cleanup;
pub mod completions;
pub mod config;
pub mod conflicts;
pub mod doctor;
pub mod heartbeat;
pub mod hook;
pub mod install;
pub mod mcp;
pub mod merges;
pub mod migrate;
pub mod overlaps;
pub mod register;
pub mod release;
pub mod restore;
pub mod run;
pub mod snapshot;
pub mod status;
pub mod suggestions;

/// Where a new session works: the flags `run` and `register` share.
#[derive(Debug, Default, clap::Args)]
pub struct WorktreeArgs {
    /// Start point of a new worktree
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Branch for a new worktree (default: the worktree name)
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Always work in a new worktree, even as the first session
    #[arg(long, conflicts_with = "no_worktree")]
    pub worktree: bool,
    /// Share the checkout instead of creating a worktree (still registered)
    #[arg(long)]
    pub no_worktree: bool,
    /// Name of the new worktree (default: parallel-<time>-<random>; config worktree.prefix)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

impl WorktreeArgs {
    pub fn isolation(&self) -> pcc_core::Isolation {
        if self.worktree {
            pcc_core::Isolation::Always
        } else if self.no_worktree {
            pcc_core::Isolation::Never
        } else {
            pcc_core::Isolation::Auto
        }
    }
}
