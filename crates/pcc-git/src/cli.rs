//! The one place that runs the git command line, for what gix cannot do (worktree prune/repair,
//! push, applying patches). Always `git -C <absolute path>`, an argument vector, no prompts, no
//! optional locks; stderr is captured into the error.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{GitError, Result};

pub(crate) fn run_git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| GitError::CliSpawn { source })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(GitError::Cli { args: args.join(" "), stderr: String::from_utf8_lossy(&out.stderr).trim().to_string() })
    }
}

/// `git --version`, e.g. `2.47.3`.
pub fn git_version() -> Result<String> {
    let out = Command::new("git")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| GitError::CliSpawn { source })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.trim().trim_start_matches("git version ").to_string())
}
