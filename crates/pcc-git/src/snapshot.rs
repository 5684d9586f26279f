//! Snapshots: the whole state of a checkout saved as commits before any forced removal
//! (PRODUCT.md §2.6), and brought back by `restore`.
//!
//! Layout, as `git stash create` does it: commit `I` holds the index (parent: HEAD) and commit
//! `W` holds the working tree including untracked, non-ignored files (parents: HEAD, I). `W` is
//! stored under `refs/parallel-cc/snapshots/<name>`. Trees are built in the object database from
//! HEAD's tree plus the status of the checkout; the user's index file is never written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gix::bstr::{BString, ByteSlice};
use gix::objs::tree::EntryKind;
use gix::refs::transaction::PreviousValue;

use crate::error::{GitError, Result, gix_err, io_err};
use crate::repo::{CommitId, Repo, canonical};

pub const SNAPSHOT_REF_PREFIX: &str = "refs/parallel-cc/snapshots/";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotOutcome {
    /// The `W` commit, stored under `ref_name`.
    pub commit: CommitId,
    pub ref_name: String,
    /// HEAD of the checkout when the snapshot was taken (`None` on an unborn branch).
    pub head: Option<CommitId>,
    /// Paths whose content differs from HEAD (staged, modified, deleted or untracked).
    pub file_count: usize,
    /// Bytes of working-tree content saved for those paths.
    pub size_bytes: u64,
    /// Paths that could not be captured (nested repositories); their removal must be refused.
    pub skipped: Vec<String>,
}

fn signature() -> gix::actor::Signature {
    gix::actor::Signature {
        name: "parallel-cc".into(),
        email: "parallel-cc@localhost".into(),
        time: gix::date::Time::now_utc(),
    }
}

fn entry_kind(mode: gix::index::entry::Mode) -> Option<EntryKind> {
    mode.to_tree_entry_mode().map(|m| m.kind())
}

/// Read a working-tree file into the object database; `None` if it no longer exists.
/// `rela` stays bytes: a lossy UTF-8 conversion would miss (and so drop) non-UTF-8 file names.
fn blob_from_disk(
    repo: &gix::Repository,
    root: &Path,
    rela: &gix::bstr::BStr,
) -> Result<Option<(EntryKind, gix::ObjectId, u64)>> {
    let path = root.join(gix::path::from_bstr(rela).map_err(gix_err("path"))?);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("cannot read", &path)(e)),
    };
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&path).map_err(io_err("cannot read link", &path))?;
        let bytes = gix::path::into_bstr(target).map_err(gix_err("read link"))?.into_owned();
        let id = repo.write_blob(bytes.as_slice()).map_err(gix_err("write blob"))?;
        return Ok(Some((EntryKind::Link, id.detach(), bytes.len() as u64)));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(io_err("cannot read", &path))?;
    let id = repo.write_blob(&bytes).map_err(gix_err("write blob"))?;
    #[cfg(unix)]
    let exec = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    };
    #[cfg(not(unix))]
    let exec = false;
    Ok(Some((if exec { EntryKind::BlobExecutable } else { EntryKind::Blob }, id.detach(), bytes.len() as u64)))
}

impl Repo {
    /// Save the full state of the checkout at `worktree` under `refs/parallel-cc/snapshots/<name>`.
    pub fn snapshot(&self, worktree: &Path, name: &str, message: &str) -> Result<SnapshotOutcome> {
        let ref_name = format!("{SNAPSHOT_REF_PREFIX}{name}");
        let root = canonical(worktree)?;
        let repo = Repo::workdir_of(&root)?;
        if repo.try_find_reference(ref_name.as_str()).map_err(gix_err("find snapshot ref"))?.is_some() {
            return Err(GitError::SnapshotExists { name: name.to_string() });
        }
        let head = repo.head().map_err(gix_err("read HEAD"))?.id().map(|id| id.detach());
        let head_tree = match head {
            Some(_) => repo.head_tree_id().map_err(gix_err("read HEAD tree"))?.detach(),
            None => gix::ObjectId::empty_tree(repo.object_hash()),
        };

        let iter = repo
            .status(gix::progress::Discard)
            .map_err(gix_err("status"))?
            .untracked_files(gix::status::UntrackedFiles::Files)
            .into_iter(None)
            .map_err(gix_err("status"))?;
        let mut index_edits = repo.edit_tree(head_tree).map_err(gix_err("edit tree"))?;
        let mut worktree_paths: Vec<BString> = Vec::new();
        let mut skipped = Vec::new();
        let mut changed: BTreeSet<BString> = BTreeSet::new();
        for item in iter {
            let item = item.map_err(gix_err("status"))?;
            match item {
                gix::status::Item::TreeIndex(change) => {
                    use gix::diff::index::ChangeRef;
                    changed.insert(change.location().to_owned());
                    match change {
                        ChangeRef::Addition { location, entry_mode, id, .. }
                        | ChangeRef::Modification { location, entry_mode, id, .. } => {
                            if let Some(kind) = entry_kind(entry_mode) {
                                index_edits
                                    .upsert(location.as_ref(), kind, id.into_owned())
                                    .map_err(gix_err("edit tree"))?;
                            }
                        }
                        ChangeRef::Deletion { location, .. } => {
                            index_edits.remove(location.as_ref()).map_err(gix_err("edit tree"))?;
                        }
                        ChangeRef::Rewrite { source_location, location, entry_mode, id, .. } => {
                            changed.insert(source_location.clone().into_owned());
                            index_edits.remove(source_location.as_ref()).map_err(gix_err("edit tree"))?;
                            if let Some(kind) = entry_kind(entry_mode) {
                                index_edits
                                    .upsert(location.as_ref(), kind, id.into_owned())
                                    .map_err(gix_err("edit tree"))?;
                            }
                        }
                    }
                }
                gix::status::Item::IndexWorktree(i) => {
                    if i.summary().is_none() {
                        continue;
                    }
                    let path = i.rela_path().to_owned();
                    if let gix::status::index_worktree::Item::DirectoryContents { entry, .. } = &i
                        && matches!(
                            entry.disk_kind,
                            Some(gix::dir::entry::Kind::Repository | gix::dir::entry::Kind::Directory)
                        )
                    {
                        skipped.push(path.to_str_lossy().into_owned());
                        continue;
                    }
                    changed.insert(path.clone());
                    worktree_paths.push(path);
                }
            }
        }
        let index_tree = index_edits.write().map_err(gix_err("write tree"))?.detach();

        let mut wt_edits = repo.edit_tree(index_tree).map_err(gix_err("edit tree"))?;
        let mut size_bytes = 0u64;
        for path in &worktree_paths {
            match blob_from_disk(&repo, &root, path.as_bstr())? {
                Some((kind, id, len)) => {
                    size_bytes += len;
                    wt_edits.upsert(path.as_bstr(), kind, id).map_err(gix_err("edit tree"))?;
                }
                None => {
                    wt_edits.remove(path.as_bstr()).map_err(gix_err("edit tree"))?;
                }
            }
        }
        let wt_tree = wt_edits.write().map_err(gix_err("write tree"))?.detach();

        let sig = signature();
        let mut buf = gix::date::parse::TimeBuf::default();
        let sig_ref = sig.to_ref(&mut buf);
        let parents: Vec<gix::ObjectId> = head.into_iter().collect();
        let index_commit = repo
            .new_commit_as(sig_ref, sig_ref, format!("index on {name}\n"), index_tree, parents.clone())
            .map_err(gix_err("write commit"))?
            .id;
        let mut w_parents = parents;
        w_parents.push(index_commit);
        let w_commit = repo
            .new_commit_as(sig_ref, sig_ref, format!("{message}\n"), wt_tree, w_parents)
            .map_err(gix_err("write commit"))?
            .id;
        repo.reference(ref_name.as_str(), w_commit, PreviousValue::MustNotExist, "parallel-cc: snapshot")
            .map_err(gix_err("write snapshot ref"))?;
        Ok(SnapshotOutcome {
            commit: CommitId::from_oid(w_commit),
            ref_name,
            head: head.map(CommitId::from_oid),
            file_count: changed.len(),
            size_bytes,
            skipped,
        })
    }

    /// Delete a snapshot ref.
    pub fn delete_snapshot_ref(&self, ref_name: &str) -> Result<()> {
        let Some(r) = self.gix().try_find_reference(ref_name).map_err(gix_err("find snapshot ref"))? else {
            return Ok(());
        };
        r.delete().map_err(gix_err("delete snapshot ref"))
    }

    /// Recreate a checkout from a snapshot: a worktree at `dest` on `branch` (created at the
    /// snapshot's HEAD if missing), every file as it was, and the index as it was.
    pub fn restore_snapshot(&self, commit: &CommitId, dest: &Path, branch: &str) -> Result<RestoredFiles> {
        let repo = self.gix();
        let w = repo.find_commit(commit.oid()?).map_err(gix_err("find snapshot commit"))?;
        let parents: Vec<gix::ObjectId> = w.parent_ids().map(|p| p.detach()).collect();
        let w_tree = w.tree_id().map_err(gix_err("read snapshot"))?.detach();
        let (head, index_commit) = match parents.as_slice() {
            [head, index] => (Some(*head), *index),
            [index] => (None, *index),
            _ => {
                return Err(GitError::UnknownRevision { rev: commit.to_string() });
            }
        };
        let Some(head) = head else {
            return Err(GitError::UnbornHead);
        };
        let head_id = CommitId::from_oid(head);
        // Refuse an occupied destination before anything is created.
        if Repo::read_dir_exists(dest)? {
            return Err(GitError::WorktreeExists { path: dest.to_path_buf() });
        }
        let created = match self.branch_tip(branch)? {
            None => {
                self.create_branch(branch, &head_id)?;
                true
            }
            Some(tip) if tip == head_id => false,
            Some(_) => {
                return Err(GitError::BranchExists { name: branch.to_string() });
            }
        };
        if let Err(e) = self.add_worktree(dest, branch) {
            if created {
                // Best effort: do not leave a branch behind that the caller never got to use.
                let _ = self.delete_branch(branch, &head_id);
            }
            return Err(e);
        }
        let dest = canonical(dest)?;

        // Write every file of W that differs from HEAD, and delete what W does not have.
        let head_tree = repo.find_commit(head).map_err(gix_err("find commit"))?.tree().map_err(gix_err("read tree"))?;
        let head_files: BTreeMap<BString, (gix::objs::tree::EntryMode, gix::ObjectId)> = head_tree
            .traverse()
            .breadthfirst
            .files()
            .map_err(gix_err("read tree"))?
            .into_iter()
            .filter(|e| !e.mode.is_tree())
            .map(|e| (e.filepath, (e.mode, e.oid)))
            .collect();
        let w_tree_obj = repo.find_tree(w_tree).map_err(gix_err("read tree"))?;
        let w_files = w_tree_obj.traverse().breadthfirst.files().map_err(gix_err("read tree"))?;
        let mut written = 0usize;
        let mut w_paths = std::collections::BTreeSet::new();
        for e in w_files.into_iter().filter(|e| !e.mode.is_tree()) {
            w_paths.insert(e.filepath.clone());
            if head_files.get(&e.filepath) == Some(&(e.mode, e.oid)) {
                continue;
            }
            let rel = gix::path::from_bstr(e.filepath.as_bstr()).map_err(gix_err("path"))?.into_owned();
            let path = dest.join(&rel);
            write_entry(repo, &path, e.mode.kind(), e.oid)?;
            written += 1;
        }
        let mut deleted = 0usize;
        for path in head_files.keys().filter(|p| !w_paths.contains(*p)) {
            let p = dest.join(gix::path::from_bstr(path.as_bstr()).map_err(gix_err("path"))?);
            match std::fs::remove_file(&p) {
                Ok(()) => deleted += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("cannot remove", &p)(e)),
            }
        }

        // The index as it was: a new index file from I's tree (stat data empty, so git re-checks).
        let wt_repo = Repo::workdir_of(&dest)?;
        let i_tree =
            repo.find_commit(index_commit).map_err(gix_err("find commit"))?.tree_id().map_err(gix_err("read tree"))?;
        let mut index = wt_repo.index_from_tree(&i_tree).map_err(gix_err("build index"))?;
        index.write(Default::default()).map_err(|e| GitError::Gix { op: "write index", source: Box::new(e) })?;
        Ok(RestoredFiles { path: dest, written, deleted })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredFiles {
    pub path: PathBuf,
    pub written: usize,
    pub deleted: usize,
}

fn write_entry(repo: &gix::Repository, path: &Path, kind: EntryKind, id: gix::ObjectId) -> Result<()> {
    let blob = repo.find_blob(id).map_err(gix_err("read blob"))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err("cannot create directory", parent))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(_) => std::fs::remove_file(path).map_err(io_err("cannot replace", path))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("cannot inspect", path)(e)),
    }
    match kind {
        EntryKind::Link => {
            let target = gix::path::from_bstr(blob.data.as_bstr()).map_err(gix_err("path"))?.into_owned();
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, path).map_err(io_err("cannot create link", path))?;
            #[cfg(not(unix))]
            std::fs::write(path, blob.data.as_slice()).map_err(io_err("cannot write", path))?;
        }
        _ => {
            std::fs::write(path, blob.data.as_slice()).map_err(io_err("cannot write", path))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = if kind == EntryKind::BlobExecutable { 0o755 } else { 0o644 };
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                    .map_err(io_err("cannot set mode", path))?;
            }
        }
    }
    Ok(())
}
