//! Linked worktrees: create, remove, list, and what a checkout holds.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::bstr::ByteSlice;

use crate::error::{GitError, Result, gix_err, io_err};
use crate::repo::{CommitId, Repo, canonical, count_unique};

/// One entry of `git worktree list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorktreeEntry {
    /// The id under `.git/worktrees/`.
    pub id: String,
    /// The checkout path as registered (may no longer exist).
    pub path: PathBuf,
    pub branch: Option<String>,
    pub locked: bool,
    /// git would prune it: the checkout directory is gone.
    pub prunable: bool,
}

/// What kind of change a file has in a checkout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Staged (index differs from HEAD).
    Staged,
    /// Modified, deleted or type-changed in the working tree.
    Modified,
    /// Untracked and not ignored.
    Untracked,
    /// Unmerged entry.
    Conflicted,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Repo-relative, `/`-separated.
    pub path: String,
    pub kind: ChangeKind,
}

/// The state of one checkout, enough for the disposal rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckoutStatus {
    pub changes: Vec<FileChange>,
}

impl CheckoutStatus {
    pub fn is_dirty(&self) -> bool {
        !self.changes.is_empty()
    }
    /// Distinct paths with any change.
    pub fn dirty_count(&self) -> usize {
        let mut paths: Vec<&str> = self.changes.iter().map(|c| c.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        paths.len()
    }
}

impl Repo {
    /// Create a linked worktree at `path` with branch `branch` (which must already exist and not be
    /// checked out elsewhere). On failure nothing is left behind: gix rolls back its registration
    /// and the files it wrote.
    pub fn add_worktree(&self, path: &Path, branch: &str) -> Result<()> {
        crate::repo::validate_branch_name(branch)?;
        if Repo::read_dir_exists(path)? {
            return Err(GitError::WorktreeExists { path: path.to_path_buf() });
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("cannot create directory", parent))?;
        }
        let name: gix::refs::FullName = format!("refs/heads/{branch}")
            .try_into()
            .map_err(|_| GitError::InvalidBranchName { name: branch.to_string(), reason: "not a valid ref".into() })?;
        let _lock = self.worktree_lock()?;
        if let Some(holder) = self.checked_out_at(branch)? {
            return Err(GitError::BranchCheckedOut { name: branch.to_string(), path: holder });
        }
        let interrupt = AtomicBool::new(false);
        self.gix()
            .add_worktree(path, gix::worktree::add::Head::Attached(name), gix::progress::Discard, &interrupt)
            .map_err(gix_err("worktree add"))?;
        Ok(())
    }

    /// The checkout (main or linked) where `branch` is checked out, if any.
    pub fn checked_out_at(&self, branch: &str) -> Result<Option<PathBuf>> {
        let main = Repo::open(self.main_path())?;
        if main.head_branch()?.as_deref() == Some(branch) {
            return Ok(Some(self.main_path().to_path_buf()));
        }
        Ok(self.worktrees()?.into_iter().find(|w| w.branch.as_deref() == Some(branch)).map(|w| w.path))
    }

    /// Worktree registrations are added and removed one process at a time: gix reads every
    /// registration while adding one, and must never see another process's half-written entry.
    /// The lock is a file in the common git dir, released when the guard drops.
    fn worktree_lock(&self) -> Result<std::fs::File> {
        let path = self.common_dir()?.join("parallel-cc-worktrees.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("cannot open lock file", &path))?;
        file.lock().map_err(io_err("cannot lock", &path))?;
        Ok(file)
    }

    /// Remove a linked worktree. Without `force`, refuses when the checkout holds modified, staged or
    /// untracked (not ignored) files; ignored files go with it, as with `git worktree remove`.
    /// The branch is kept.
    pub fn remove_worktree(&self, path: &Path, force: bool) -> Result<()> {
        let path = match canonical(path) {
            Ok(p) => p,
            Err(GitError::NoSuchPath { .. }) => {
                // The checkout is gone already: only the registration is left.
                return self.prune_worktrees();
            }
            Err(e) => return Err(e),
        };
        if path == self.main_path() {
            return Err(GitError::NotAWorktree { path });
        }
        if !force && checkout_status(&path)?.is_dirty() {
            return Err(GitError::WorktreeDirty { path });
        }
        // Remove through the main repository, never from inside the worktree being removed.
        let _lock = self.worktree_lock()?;
        let main = Repo::workdir_of(self.main_path())?;
        let mode =
            if force { gix::worktree::remove::Force::DiscardChanges } else { gix::worktree::remove::Force::Never };
        main.remove_worktree(&path, mode, gix::progress::Discard).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("dirty") || msg.contains("untracked") {
                GitError::WorktreeDirty { path: path.clone() }
            } else if msg.contains("not") && msg.contains("worktree") {
                GitError::NotAWorktree { path: path.clone() }
            } else {
                GitError::Gix { op: "worktree remove", source: Box::new(e) }
            }
        })
    }

    /// The linked worktrees git knows about.
    pub fn worktrees(&self) -> Result<Vec<WorktreeEntry>> {
        let main = Repo::workdir_of(self.main_path())?;
        let mut out = Vec::new();
        for proxy in main.worktrees().map_err(gix_err("list worktrees"))? {
            let id = proxy.id().map_err(gix_err("read worktree id"))?.to_str_lossy().into_owned();
            let path = proxy.base().map_err(gix_err("read worktree registration"))?;
            let locked = proxy.is_locked();
            let prunable = !path.exists();
            let branch = if prunable {
                None
            } else {
                proxy
                    .into_repo_with_possibly_inaccessible_worktree()
                    .ok()
                    .and_then(|r| r.head_name().ok().flatten())
                    .and_then(|n| n.as_bstr().strip_prefix(b"refs/heads/").map(|b| b.to_str_lossy().into_owned()))
            };
            let path = canonical(&path).unwrap_or(path);
            out.push(WorktreeEntry { id, path, branch, locked, prunable });
        }
        Ok(out)
    }

    /// `git worktree prune`: forget registrations whose directory is gone.
    pub fn prune_worktrees(&self) -> Result<()> {
        crate::cli::run_git(self.main_path(), &["worktree", "prune"]).map(|_| ())
    }

    /// HEAD commit of the checkout at `path` (a linked worktree or the main checkout).
    pub fn checkout_head(path: &Path) -> Result<Option<CommitId>> {
        Repo::open(path)?.head_commit()
    }
}

/// Changes in the checkout at `path`: staged, modified, untracked-not-ignored, conflicted.
/// Read-only: the index is never written (the `GIT_OPTIONAL_LOCKS=0` behaviour of git).
pub fn checkout_status(path: &Path) -> Result<CheckoutStatus> {
    status_of(&Repo::workdir_of(path)?)
}

/// What `status` shows for one linked worktree: its dirty file count and (ahead, behind) relative
/// to the HEAD of the repository's main checkout, from a single repository open. Read-only like
/// [`checkout_status`].
pub fn checkout_summary(path: &Path) -> Result<CheckoutSummary> {
    let mut repo = Repo::workdir_of(path)?;
    // The status and the two walks below read the same few commits and trees again and again.
    repo.object_cache_size_if_unset(256 * 1024);
    let dirty_files = status_of(&repo)?.dirty_count();
    let ahead_behind = match (main_checkout_head(&repo), repo.head_id().ok()) {
        (Some(main), Some(head)) => {
            let head = CommitId::from_oid(head.detach());
            match head == main {
                true => Some((0, 0)),
                false => Some((count_unique(&repo, &head, &main)?, count_unique(&repo, &main, &head)?)),
            }
        }
        _ => None,
    };
    Ok(CheckoutSummary { dirty_files, ahead_behind })
}

/// The commit checked out in the main worktree, read through a linked worktree's repository
/// without opening the main one: its HEAD file sits in the common dir, and branches are shared.
fn main_checkout_head(repo: &gix::Repository) -> Option<CommitId> {
    let text = std::fs::read_to_string(repo.common_dir().join("HEAD")).ok()?;
    let text = text.trim();
    let oid = match text.strip_prefix("ref:") {
        Some(name) => repo.find_reference(name.trim()).ok()?.into_fully_peeled_id().ok()?.detach(),
        None => gix::ObjectId::from_hex(text.as_bytes()).ok()?,
    };
    Some(CommitId::from_oid(oid))
}

/// See [`checkout_summary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckoutSummary {
    pub dirty_files: usize,
    /// `None` when either side has no commit.
    pub ahead_behind: Option<(usize, usize)>,
}

fn status_of(repo: &gix::Repository) -> Result<CheckoutStatus> {
    // Renames are irrelevant to a change count, and a thread pool per small checkout costs more
    // than it saves: `status` runs one of these per worktree, already in parallel.
    let iter = repo
        .status(gix::progress::Discard)
        .map_err(gix_err("status"))?
        .untracked_files(gix::status::UntrackedFiles::Files)
        .tree_index_track_renames(gix::status::tree_index::TrackRenames::Disabled)
        .index_worktree_rewrites(None)
        .index_worktree_options_mut(|o| o.thread_limit = Some(1))
        .into_iter(None)
        .map_err(gix_err("status"))?;
    let mut changes = Vec::new();
    for item in iter {
        let item = item.map_err(gix_err("status"))?;
        let kind = match &item {
            gix::status::Item::TreeIndex(_) => ChangeKind::Staged,
            gix::status::Item::IndexWorktree(i) => {
                use gix::status::index_worktree::iter::Summary;
                match i.summary() {
                    None => continue,
                    Some(Summary::Added) => ChangeKind::Untracked,
                    Some(Summary::Conflict) => ChangeKind::Conflicted,
                    Some(_) => ChangeKind::Modified,
                }
            }
        };
        changes.push(FileChange { path: item.location().to_str_lossy().into_owned(), kind });
    }
    Ok(CheckoutStatus { changes })
}
