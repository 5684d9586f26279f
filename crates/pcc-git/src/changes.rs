//! Which files a checkout changes, for the overlap radar (PRODUCT.md §4.2): everything that
//! differs from a base commit, committed or not, and a cheap per-file test for the hooks.

use std::path::Path;

use gix::bstr::ByteSlice;

use crate::error::{Result, gix_err, io_err};
use crate::repo::{CommitId, Repo};

/// The git object id a file's content would have as a blob (40 hex), or `None` when there is no
/// file. A symbolic link hashes as its target, as git stores it.
pub fn file_blob_id(path: &Path) -> Result<Option<String>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("cannot inspect", path)(e)),
    };
    let data = if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).map_err(io_err("cannot read link", path))?;
        gix::path::os_str_into_bstr(target.as_os_str()).map_err(gix_err("read link"))?.to_vec()
    } else if meta.is_file() {
        std::fs::read(path).map_err(io_err("cannot read", path))?
    } else {
        return Ok(None);
    };
    let id =
        gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, &data).map_err(gix_err("hash file"))?;
    Ok(Some(id.to_hex().to_string()))
}

impl Repo {
    /// The blob id of `rel` (repo-relative, `/`-separated) in `commit`, or `None` when the commit
    /// has no such file.
    pub fn blob_id_at(&self, commit: &CommitId, rel: &str) -> Result<Option<String>> {
        let repo = self.gix();
        let commit = repo.find_commit(commit.oid()?).map_err(gix_err("find commit"))?;
        let tree = commit.tree().map_err(gix_err("read tree"))?;
        let entry = tree.lookup_entry_by_path(Path::new(rel)).map_err(gix_err("look up path"))?;
        Ok(entry.filter(|e| !e.mode().is_tree()).map(|e| e.object_id().to_hex().to_string()))
    }

    /// The content of `rel` in `commit`, or `None` when the commit has no such file.
    pub fn blob_at(&self, commit: &CommitId, rel: &str) -> Result<Option<Vec<u8>>> {
        let repo = self.gix();
        let commit = repo.find_commit(commit.oid()?).map_err(gix_err("find commit"))?;
        let tree = commit.tree().map_err(gix_err("read tree"))?;
        let Some(entry) = tree.lookup_entry_by_path(Path::new(rel)).map_err(gix_err("look up path"))? else {
            return Ok(None);
        };
        if entry.mode().is_tree() {
            return Ok(None);
        }
        let blob = repo.find_blob(entry.object_id()).map_err(gix_err("read blob"))?;
        Ok(Some(blob.data.clone()))
    }

    /// The commit both `a` and `b` descend from (the best one), if any.
    pub fn merge_base(&self, a: &CommitId, b: &CommitId) -> Result<Option<CommitId>> {
        let base = self.gix().merge_base(a.oid()?, b.oid()?).map_err(gix_err("merge-base"))?;
        Ok(base.map(|id| CommitId::from_oid(id.detach())))
    }
}

/// Repo-relative paths (sorted, `/`-separated) that differ in the checkout at `path` from the tree
/// of `base`: committed since, staged, modified, deleted or untracked (not ignored). With no base,
/// from the checkout's HEAD. Read-only: the index is never written.
pub fn changed_since(path: &Path, base: Option<&CommitId>) -> Result<Vec<String>> {
    let repo = Repo::workdir_of(path)?;
    let mut status = repo
        .status(gix::progress::Discard)
        .map_err(gix_err("status"))?
        .untracked_files(gix::status::UntrackedFiles::Files)
        .tree_index_track_renames(gix::status::tree_index::TrackRenames::Disabled)
        .index_worktree_rewrites(None)
        .index_worktree_options_mut(|o| o.thread_limit = Some(1));
    if let Some(base) = base {
        let tree =
            repo.find_commit(base.oid()?).map_err(gix_err("find commit"))?.tree_id().map_err(gix_err("read tree"))?;
        status = status.head_tree(tree.detach());
    }
    let iter = status.into_iter(None).map_err(gix_err("status"))?;
    let mut paths = Vec::new();
    for item in iter {
        let item = item.map_err(gix_err("status"))?;
        if let gix::status::Item::IndexWorktree(i) = &item
            && i.summary().is_none()
        {
            continue;
        }
        paths.push(item.location().to_str_lossy().into_owned());
    }
    paths.sort_unstable();
    paths.dedup();
    Ok(paths)
}
