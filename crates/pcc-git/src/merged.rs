//! Merged-branch detection (PRODUCT.md §4.3): has a branch's work reached its target?
//!
//! A branch is merged when its tip is an ancestor of the target (a fast-forward or a merge
//! commit), or when its changes are already in the target: merging it would change nothing (a
//! squash merge, or a rebase merge that copied its commits). That second test is an in-memory
//! three-way merge on a `with_object_memory()` handle, so nothing is written to the object database.
//!
//! A branch with no commits of its own is *empty*, never merged: the original reported every
//! freshly created branch as merged at once (ORIGINAL.md §6.1), and "merged" is what may later
//! let a branch and its worktree be cleaned up. So every doubt resolves towards "not merged" or
//! "empty". What "its own commits" are needs the commit the branch was created at (its fork
//! point, from its reflog: [`Repo::branch_fork_point`]); without it, a tip the target already
//! contains cannot be told from a branch nobody committed to, and counts as empty.

use gix::merge::tree::TreatAsUnresolved;

use crate::error::{GitError, Result, gix_err, io_err};
use crate::repo::{CommitId, Repo, validate_branch_name};

/// The first-parent walk that tells a fast-forward from a merge commit stops after this many
/// commits (and calls it a merge commit): both are "merged", only the label could be wrong.
const MAX_FIRST_PARENT_STEPS: usize = 10_000;

/// How a branch reached its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeHow {
    /// The tip is on the target's first-parent history: the target was fast-forwarded to it (or
    /// past it).
    FastForward,
    /// The tip is an ancestor of the target reached only through a merge commit's other parent.
    MergeCommit,
    /// The tip is not an ancestor, but its changes are in the target: merging it would change
    /// nothing (squash merge, rebase merge, cherry-picks).
    Contained,
}

impl MergeHow {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeHow::FastForward => "fast-forward",
            MergeHow::MergeCommit => "merge-commit",
            MergeHow::Contained => "squash-or-rebase",
        }
    }
}

impl std::fmt::Display for MergeHow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a branch stands against its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeState {
    /// The branch has changes the target does not have (or nothing shows it was merged).
    NotMerged,
    /// The branch has no commits of its own; see the module documentation.
    Empty,
    Merged(MergeHow),
}

impl Repo {
    /// Is the branch at `branch_tip` merged into the target at `target_tip`? `fork_point` is the
    /// commit the branch was created at ([`branch_fork_point`](Self::branch_fork_point)), `None`
    /// when unknown. Read-only; the object database is not written.
    ///
    /// In order:
    /// 1. `Empty` when the tip is the fork point or an ancestor of it (no commits of its own).
    /// 2. When the tip is an ancestor of the target: without a fork point `Empty` (nothing tells an
    ///    unused branch from a fast-forwarded one); else `Merged(FastForward)` when the tip is on
    ///    the target's first-parent history, `Merged(MergeCommit)` otherwise.
    /// 3. `Merged(Contained)` when merging the branch into the target cleanly yields exactly the
    ///    target's tree, and the branch changes something relative to the merge base (a branch
    ///    whose commits cancel out brings nothing, so it shows no merge either).
    /// 4. Otherwise `NotMerged`: also for unrelated histories and for merges that would conflict.
    ///
    /// A fork point that is not a commit of this repository (e.g. garbage-collected) is ignored.
    pub fn merge_state(
        &self,
        branch_tip: &CommitId,
        target_tip: &CommitId,
        fork_point: Option<&CommitId>,
    ) -> Result<MergeState> {
        let tip = self.existing_commit(branch_tip)?;
        let target = self.existing_commit(target_tip)?;
        let fork = match fork_point {
            Some(f) => match self.existing_commit(f) {
                Ok(id) => Some(id),
                Err(_) => {
                    tracing::debug!(fork_point = %f, "fork point is not a commit here; ignored");
                    None
                }
            },
            None => None,
        };

        if let Some(fork) = fork
            && self.oid_is_ancestor(tip, fork)?
        {
            return Ok(MergeState::Empty);
        }
        if self.oid_is_ancestor(tip, target)? {
            let Some(fork) = fork else { return Ok(MergeState::Empty) };
            let how = if self.on_first_parent_line(tip, target, fork)? {
                MergeHow::FastForward
            } else {
                MergeHow::MergeCommit
            };
            return Ok(MergeState::Merged(how));
        }
        if self.merging_changes_nothing(tip, target)? {
            return Ok(MergeState::Merged(MergeHow::Contained));
        }
        Ok(MergeState::NotMerged)
    }

    /// The commit `branch` was created at: the new value of the oldest entry of its reflog, when
    /// that entry records the branch's creation (its previous value is null).
    ///
    /// `None` when the branch does not exist, has no reflog (created with
    /// `core.logAllRefUpdates=false`, or by a tool that writes none), its reflog was expired or
    /// truncated (the oldest entry is then a later move, not the creation), its oldest line is
    /// unreadable, or the commit is no longer in the repository. A renamed or copied branch keeps
    /// its reflog, and so its fork point.
    pub fn branch_fork_point(&self, branch: &str) -> Result<Option<CommitId>> {
        let Some(lines) = self.reflog(branch)? else { return Ok(None) };
        let Some(oldest) = lines.first() else { return Ok(None) };
        if !oldest.previous_oid.is_null() {
            return Ok(None);
        }
        let id = oldest.new_oid;
        if id.is_null() || self.gix().find_commit(id).is_err() {
            return Ok(None);
        }
        Ok(Some(CommitId::from_oid(id)))
    }

    /// Were commits ever made on `branch` itself (its reflog records a commit, `git am`,
    /// cherry-pick or revert), as opposed to it only being moved along (created, fast-forwarded,
    /// rebased without commits of its own, reset)? `None` without a readable reflog.
    ///
    /// The commit graph alone cannot tell a fast-forward merge of a branch's commits from a
    /// branch that merely caught up with its target: this is what can.
    pub fn branch_made_commits(&self, branch: &str) -> Result<Option<bool>> {
        let Some(lines) = self.reflog(branch)? else { return Ok(None) };
        if lines.is_empty() {
            return Ok(None);
        }
        Ok(Some(lines.iter().any(|line| {
            let m = String::from_utf8_lossy(line.message.as_ref());
            ["commit", "am", "cherry-pick", "revert"].iter().any(|k| m.starts_with(k))
        })))
    }

    /// The branch's reflog, oldest first; `None` when the branch or its reflog does not exist, or
    /// a line of it cannot be read.
    fn reflog(&self, branch: &str) -> Result<Option<Vec<gix::refs::log::Line>>> {
        validate_branch_name(branch)?;
        let full = format!("refs/heads/{branch}");
        let Some(reference) = self.gix().try_find_reference(full.as_str()).map_err(gix_err("find branch"))? else {
            return Ok(None);
        };
        let mut log = reference.log_iter();
        let reflog_path = self.gix().common_dir().join("logs").join(&full);
        let Some(lines) = log.all().map_err(io_err("cannot read reflog", reflog_path))? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for line in lines {
            match line {
                Ok(l) => out.push(l.into()),
                Err(e) => {
                    tracing::debug!(branch, error = %e, "unreadable reflog entry");
                    return Ok(None);
                }
            }
        }
        Ok(Some(out))
    }

    fn existing_commit(&self, id: &CommitId) -> Result<gix::ObjectId> {
        let oid = id.oid()?;
        self.gix().find_commit(oid).map_err(|_| GitError::UnknownRevision { rev: id.to_string() })?;
        Ok(oid)
    }

    fn oid_is_ancestor(&self, ancestor: gix::ObjectId, descendant: gix::ObjectId) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        let base = self.gix().merge_base(ancestor, descendant).map_err(gix_err("merge-base"))?;
        Ok(base.is_some_and(|b| b.detach() == ancestor))
    }

    /// Does the target's first-parent history pass through `tip` (an ancestor of `target`)?
    /// The walk stops at `fork`: `tip` is not an ancestor of it (else the branch is empty), so it
    /// cannot lie below it. It also stops at a root and after [`MAX_FIRST_PARENT_STEPS`].
    fn on_first_parent_line(&self, tip: gix::ObjectId, target: gix::ObjectId, fork: gix::ObjectId) -> Result<bool> {
        let mut id = target;
        for _ in 0..MAX_FIRST_PARENT_STEPS {
            if id == tip {
                return Ok(true);
            }
            if id == fork {
                return Ok(false);
            }
            let commit = self.gix().find_commit(id).map_err(gix_err("find commit"))?;
            let Some(parent) = commit.parent_ids().next() else { return Ok(false) };
            id = parent.detach();
        }
        Ok(false)
    }

    /// Would merging `tip` into `target` leave the target's tree as it is, while the branch does
    /// change something relative to the merge base? In memory: merged blobs, trees and a virtual
    /// merge base (several merge bases, as git does) never reach the object database.
    fn merging_changes_nothing(&self, tip: gix::ObjectId, target: gix::ObjectId) -> Result<bool> {
        let mut repo = self.gix().clone().with_object_memory();
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        let tree_of = |id: gix::ObjectId| -> Result<gix::ObjectId> {
            let commit = repo.find_commit(id).map_err(gix_err("find commit"))?;
            Ok(commit.tree_id().map_err(gix_err("read commit"))?.detach())
        };
        let options = repo
            .tree_merge_options()
            .map_err(gix_err("read merge configuration"))?
            .with_fail_on_conflict(Some(TreatAsUnresolved::git()));

        let bases: Vec<gix::ObjectId> = repo
            .merge_bases_many(tip, &[target])
            .map_err(gix_err("merge-base"))?
            .into_iter()
            .map(|id| id.detach())
            .collect();
        let base_tree = match bases.as_slice() {
            // Unrelated histories: git refuses to merge them by default.
            [] => return Ok(false),
            [one] => tree_of(*one)?,
            _ => repo
                .virtual_merge_base(bases.iter().copied(), options.clone())
                .map_err(gix_err("merge merge-bases"))?
                .tree_id
                .detach(),
        };
        let (tip_tree, target_tree) = (tree_of(tip)?, tree_of(target)?);
        if tip_tree == base_tree {
            // The branch's commits cancel out: merging it changes nothing, but not because it
            // was merged.
            return Ok(false);
        }
        let labels = gix::merge::blob::builtin_driver::text::Labels {
            ancestor: Some("base".into()),
            current: Some("target".into()),
            other: Some("branch".into()),
        };
        let mut outcome =
            repo.merge_trees(base_tree, target_tree, tip_tree, labels, options).map_err(gix_err("merge trees"))?;
        if outcome.failed_on_first_unresolved_conflict || outcome.has_unresolved_conflicts(TreatAsUnresolved::git()) {
            return Ok(false);
        }
        let merged = outcome.tree.write().map_err(gix_err("write merged tree"))?.detach();
        Ok(merged == target_tree)
    }
}
