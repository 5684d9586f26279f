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
        // Nothing we run may wait for an editor (a rebase keeps every commit message as is).
        .env("GIT_EDITOR", "true")
        .env("GIT_SEQUENCE_EDITOR", "true")
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

/// What [`rebase_checkout`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RebaseOutcome {
    /// The checkout already contains `onto`.
    UpToDate,
    /// Its commits now sit on `onto`: HEAD moved from `from` to `to`.
    Rebased { from: crate::CommitId, to: crate::CommitId },
    /// The rebase stopped on conflicts in these files; it was aborted, so the checkout is exactly
    /// as before.
    Conflicts { files: Vec<String> },
}

/// `git rebase <onto>` in the checkout at `checkout` (canonical path), for what gix cannot do. A
/// checkout with staged or modified tracked files is refused before anything runs (git would
/// refuse too, less clearly); on conflicts the rebase is aborted and the files reported.
pub fn rebase_checkout(checkout: &Path, onto: &crate::CommitId) -> Result<RebaseOutcome> {
    let before = match rebase_preflight(checkout, onto)? {
        Preflight::UpToDate => return Ok(RebaseOutcome::UpToDate),
        Preflight::Ready { head } => head,
    };
    match run_git(checkout, &["rebase", "--no-autostash", onto.as_str()]) {
        Ok(_) => {
            let after = crate::Repo::checkout_head(checkout)?.ok_or(GitError::UnbornHead)?;
            Ok(RebaseOutcome::Rebased { from: before, to: after })
        }
        Err(err) => {
            let files = run_git(checkout, &["diff", "--name-only", "--diff-filter=U", "-z"])
                .map(|out| out.split('\0').filter(|f| !f.is_empty()).map(str::to_string).collect::<Vec<_>>())
                .unwrap_or_default();
            // Put everything back as it was, whatever stopped the rebase.
            let aborted = run_git(checkout, &["rebase", "--abort"]);
            if files.is_empty() {
                return Err(err);
            }
            aborted?;
            Ok(RebaseOutcome::Conflicts { files })
        }
    }
}

/// What [`rebase_preflight`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preflight {
    /// `onto` is already in the checkout's history.
    UpToDate,
    /// Nothing stands in the way; the checkout's HEAD is `head`.
    Ready { head: crate::CommitId },
}

/// Would [`rebase_checkout`] start? The same refusals, and nothing changed: an operation the user
/// has under way, uncommitted changes to tracked files, ignored files the new base would
/// overwrite.
pub fn rebase_preflight(checkout: &Path, onto: &crate::CommitId) -> Result<Preflight> {
    use crate::worktree::ChangeKind;
    let repo = crate::Repo::open(checkout)?;
    // A rebase, merge, cherry-pick or revert the user has under way is theirs: never run into
    // it (git would stop, and the abort would throw their work away).
    if let Some(what) = repo.gix().state() {
        return Err(GitError::OperationInProgress {
            path: checkout.to_path_buf(),
            what: format!("{what:?}").to_lowercase(),
        });
    }
    let status = crate::checkout_status(checkout)?;
    if status.changes.iter().any(|c| c.kind != ChangeKind::Untracked) {
        return Err(GitError::WorktreeDirty { path: checkout.to_path_buf() });
    }
    let head = repo.head_commit()?.ok_or(GitError::UnbornHead)?;
    if repo.merge_base(&head, onto)?.as_ref() == Some(onto) {
        return Ok(Preflight::UpToDate);
    }
    // git overwrites ignored files without asking when the new base tracks them.
    let clobbered = repo.ignored_files_tracked_by(checkout, &head, onto)?;
    if !clobbered.is_empty() {
        return Err(GitError::WouldOverwriteIgnored { path: checkout.to_path_buf(), files: clobbered });
    }
    Ok(Preflight::Ready { head })
}

/// How long a fetch may take before it is given up (an unreachable host, a dead connection).
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// `git fetch --prune origin` in the repository at `path`: credentials, ssh and proxies exactly
/// as the user's git has them, but never a prompt (no terminal prompt, ssh in batch mode unless
/// the user configured their own ssh command) and never longer than [`FETCH_TIMEOUT`].
pub fn fetch_origin(path: &Path) -> Result<()> {
    let args = ["fetch", "--quiet", "--prune", "origin"];
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(path).args(args);
    cmd.env("GIT_TERMINAL_PROMPT", "0").env("GIT_OPTIONAL_LOCKS", "0").stdin(Stdio::null()).stdout(Stdio::null());
    let own_ssh = std::env::var_os("GIT_SSH_COMMAND").is_some()
        || std::env::var_os("GIT_SSH").is_some()
        || run_git(path, &["config", "--get", "core.sshCommand"]).is_ok_and(|v| !v.trim().is_empty());
    if !own_ssh {
        cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    let mut child = cmd.stderr(Stdio::piped()).spawn().map_err(|source| GitError::CliSpawn { source })?;
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut e) = stderr {
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
        }
        text
    });
    let deadline = std::time::Instant::now() + FETCH_TIMEOUT;
    let fail = |stderr: String| GitError::Cli { args: args.join(" "), stderr };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let text = reader.join().unwrap_or_default();
                return if status.success() { Ok(()) } else { Err(fail(text.trim().to_string())) };
            }
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("gave up after {} s", FETCH_TIMEOUT.as_secs())));
            }
            Err(e) => return Err(fail(format!("cannot wait for git: {e}"))),
        }
    }
}
