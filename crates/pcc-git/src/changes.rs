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

/// The commit checked out in the main checkout at `path` (`None` on an unborn branch), read
/// straight from its refs: no configuration is read and the object store is not opened, which is
/// what the hooks can afford on every tool call. Opens the repository instead when `path/.git` is
/// not a directory or its refs are not plain SHA-1 files gix can read.
pub fn head_commit_of(path: &Path) -> Result<Option<CommitId>> {
    let git_dir = path.join(".git");
    if git_dir.is_dir()
        && let Some(head) = head_from_refs(git_dir)
    {
        return Ok(head);
    }
    Repo::open(path)?.head_commit()
}

/// `HEAD` followed through symbolic refs (loose or packed); `None` when it cannot be read this way.
fn head_from_refs(git_dir: std::path::PathBuf) -> Option<Option<CommitId>> {
    use gix::refs::Target;
    let store = gix::refs::file::Store::at(git_dir, gix::hash::Kind::Sha1);
    let packed = store.cached_packed_buffer().ok()?;
    let packed = packed.as_ref().map(|b| &***b);
    let mut current = store.try_find_packed("HEAD", packed).ok()??;
    // git itself gives up after 5 levels of symbolic refs.
    for _ in 0..5 {
        match current.target {
            Target::Object(id) => return Some(Some(CommitId::from_oid(id))),
            // A reftable repository's HEAD points at this placeholder: not ours to read.
            Target::Symbolic(name) if name.as_bstr() == "refs/heads/.invalid" => return None,
            Target::Symbolic(name) => match store.try_find_packed(name.as_ref(), packed).ok()? {
                Some(next) => current = next,
                None => return Some(None),
            },
        }
    }
    None
}

impl Repo {
    /// The blob of `rel` (repo-relative, `/`-separated) in `commit`, or `None` when the commit has
    /// no such file.
    fn blob_entry(&self, commit: &CommitId, rel: &str) -> Result<Option<gix::ObjectId>> {
        let commit = self.gix().find_commit(commit.oid()?).map_err(gix_err("find commit"))?;
        let tree = commit.tree().map_err(gix_err("read tree"))?;
        let entry = tree.lookup_entry_by_path(Path::new(rel)).map_err(gix_err("look up path"))?;
        Ok(entry.filter(|e| !e.mode().is_tree()).map(|e| e.object_id()))
    }

    /// The blob id (40 hex) of `rel` in `commit`, or `None` when the commit has no such file.
    pub fn blob_id_at(&self, commit: &CommitId, rel: &str) -> Result<Option<String>> {
        Ok(self.blob_entry(commit, rel)?.map(|id| id.to_hex().to_string()))
    }

    /// The content of `rel` in `commit`, or `None` when the commit has no such file.
    pub fn blob_at(&self, commit: &CommitId, rel: &str) -> Result<Option<Vec<u8>>> {
        let Some(id) = self.blob_entry(commit, rel)? else { return Ok(None) };
        let blob = self.gix().find_blob(id).map_err(gix_err("read blob"))?;
        Ok(Some(blob.data.clone()))
    }

    /// The versions git left in the index for `rel` when a merge, rebase, cherry-pick or revert
    /// in this checkout stopped on it (stages 1–3), or `None` when `rel` is not unmerged. A side
    /// is `None` when that stage is absent (added on one side only, deleted on the other).
    pub fn unmerged_stages(&self, rel: &str) -> Result<Option<UnmergedStages>> {
        use gix::index::entry::Stage;
        let index = self.gix().index_or_empty().map_err(gix_err("read index"))?;
        let mut stages = UnmergedStages { operation: self.operation_in_progress(), ..Default::default() };
        let mut any = false;
        for entry in index.entries().iter().filter(|e| e.path(&index) == rel.as_bytes()) {
            let slot = match entry.stage() {
                Stage::Unconflicted => return Ok(None),
                Stage::Base => &mut stages.base,
                Stage::Ours => &mut stages.ours,
                Stage::Theirs => &mut stages.theirs,
            };
            let blob = self.gix().find_blob(entry.id).map_err(gix_err("read blob"))?;
            *slot = Some(blob.data.clone());
            any = true;
        }
        Ok(any.then_some(stages))
    }

    /// The operation this checkout is in the middle of (`merge`, `rebase`, `cherry-pick`, …),
    /// as git's state files say.
    pub fn operation_in_progress(&self) -> Option<&'static str> {
        use gix::state::InProgress;
        Some(match self.gix().state()? {
            InProgress::Merge => "merge",
            InProgress::Rebase | InProgress::RebaseInteractive | InProgress::ApplyMailboxRebase => "rebase",
            InProgress::CherryPick | InProgress::CherryPickSequence => "cherry-pick",
            InProgress::Revert | InProgress::RevertSequence => "revert",
            InProgress::ApplyMailbox => "am",
            InProgress::Bisect => "bisect",
        })
    }

    /// Files `onto` tracks that `head` does not, and that exist in the checkout at `checkout`
    /// anyway (as ignored files: untracked ones git itself refuses to overwrite). Checking out
    /// `onto` there would overwrite them.
    pub(crate) fn ignored_files_tracked_by(
        &self,
        checkout: &Path,
        head: &CommitId,
        onto: &CommitId,
    ) -> Result<Vec<String>> {
        let repo = self.gix();
        let head_tree =
            repo.find_commit(head.oid()?).map_err(gix_err("find commit"))?.tree().map_err(gix_err("read tree"))?;
        let onto_tree =
            repo.find_commit(onto.oid()?).map_err(gix_err("find commit"))?.tree().map_err(gix_err("read tree"))?;
        let files = |tree: &gix::Tree<'_>| -> Result<std::collections::HashSet<gix::bstr::BString>> {
            let mut recorder = gix::traverse::tree::Recorder::default();
            tree.traverse().breadthfirst(&mut recorder).map_err(gix_err("read tree"))?;
            Ok(recorder.records.into_iter().filter(|e| !e.mode.is_tree()).map(|e| e.filepath).collect())
        };
        let (before, after) = (files(&head_tree)?, files(&onto_tree)?);
        let mut out = Vec::new();
        for path in after.difference(&before) {
            let rel = path.to_str_lossy();
            if std::fs::symlink_metadata(checkout.join(rel.as_ref())).is_ok() {
                out.push(rel.into_owned());
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The commit both `a` and `b` descend from (the best one), if any.
    pub fn merge_base(&self, a: &CommitId, b: &CommitId) -> Result<Option<CommitId>> {
        let base = self.gix().merge_base(a.oid()?, b.oid()?).map_err(gix_err("merge-base"))?;
        Ok(base.map(|id| CommitId::from_oid(id.detach())))
    }
}

/// What the checkout at `path` changes, and from where: repo-relative paths (sorted,
/// `/`-separated) that differ from the base, committed since, staged, modified, deleted or untracked
/// (not ignored). The base is where the checkout forked off `main_head`'s line (the merge base of
/// its HEAD and `main_head`), else `fallback`; with neither, its own HEAD (uncommitted changes
/// only). One repository open; read-only: the index is never written.
pub fn changes_since_fork(
    path: &Path,
    main_head: Option<&CommitId>,
    fallback: Option<&CommitId>,
) -> Result<(Vec<String>, Option<CommitId>)> {
    let repo = Repo::workdir_of(path)?;
    let fork = match (repo.head_id().ok(), main_head) {
        (Some(head), Some(main)) => {
            repo.merge_base(head.detach(), main.oid()?).ok().flatten().map(|id| CommitId::from_oid(id.detach()))
        }
        _ => None,
    };
    let base = fork.or_else(|| fallback.cloned());
    let mut status = repo
        .status(gix::progress::Discard)
        .map_err(gix_err("status"))?
        .untracked_files(gix::status::UntrackedFiles::Files)
        .tree_index_track_renames(gix::status::tree_index::TrackRenames::Disabled)
        .index_worktree_rewrites(None)
        .index_worktree_options_mut(|o| o.thread_limit = Some(1));
    if let Some(base) = &base {
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
    Ok((paths, base))
}

/// A file's unmerged index entries: what git's stopped merge holds for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnmergedStages {
    /// The operation that stopped (`merge`, `rebase`, …), when git's state files say.
    pub operation: Option<&'static str>,
    /// Stage 1: the merge base's version.
    pub base: Option<Vec<u8>>,
    /// Stage 2: the checked-out side's version (`HEAD`; in a rebase, the branch being rebased onto).
    pub ours: Option<Vec<u8>>,
    /// Stage 3: the version being merged in.
    pub theirs: Option<Vec<u8>>,
}
