//! Conflict prediction (PRODUCT.md §4.4): three-way merges computed in memory.
//!
//! A [`MergePredictor`] owns one repository handle whose object writes go to memory
//! (`with_object_memory()`): merged blobs, trees built from a checkout's working files and
//! virtual merge bases all live there and vanish with it. Nothing is written to the object
//! database, no index is read for writing, no lock is taken and no checkout is touched.
//!
//! The two sides of a merge are [`MergeSide`]s: a commit's tree, or the working state of a
//! checkout (its HEAD tree plus staged, modified and untracked-not-ignored files, minus deleted
//! ones). A side belongs to the predictor that made it: its tree may exist only in that
//! predictor's memory. One predictor can be reused for many merges, e.g. every pair of sessions;
//! what it stores grows with each merge (merged blobs with markers, trees), so drop it after a
//! batch. Like git, a merge runs the merge drivers and clean filters the user configured.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice};
use gix::merge::tree::{Conflict, Resolution, ResolutionFailure, TreatAsUnresolved};
use gix::objs::tree::EntryKind;

use crate::error::{GitError, Result, gix_err, io_err};
use crate::repo::{CommitId, Repo, canonical};

/// At most this many hunks are reported per file.
pub const MAX_HUNKS_PER_FILE: usize = 50;
/// At most this many lines of each side's text are kept per hunk.
pub const MAX_HUNK_LINES: usize = 200;
/// Blobs larger than this are not diffed for hunks (the conflict is still reported).
const MAX_DIFF_BYTES: usize = 8 * 1024 * 1024;
/// Nor are files whose changed middle (after the lines all three versions share at the start and
/// the end) is longer than this on any side: the diff's cost grows with length times changes.
const MAX_DIFF_LINES: usize = 5_000;
/// git's binary test looks at this many leading bytes for a NUL.
const BINARY_PROBE: usize = 8000;

/// What kind of conflict a file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConflictKind {
    /// Both sides changed the same lines (or a binary file) differently.
    Content,
    /// Both sides added the path with different content.
    AddAdd,
    /// One side modified what the other deleted.
    ModifyDelete,
    /// Renames that cannot be reconciled (rename/rename, rename/delete).
    Rename,
    /// The sides disagree about what the path is: file, directory, symlink or submodule.
    Type,
}

impl ConflictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Content => "content",
            ConflictKind::AddAdd => "add/add",
            ConflictKind::ModifyDelete => "modify/delete",
            ConflictKind::Rename => "rename",
            ConflictKind::Type => "type",
        }
    }
}

impl std::fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One conflicting region of a text file, as `git merge-file --diff3` would mark it.
///
/// Line numbers are 1-based. A side with `*_lines == 0` changed nothing there but a neighbouring
/// line; its empty region sits just before line `*_start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictHunk {
    pub ours_start: usize,
    pub ours_lines: usize,
    pub theirs_start: usize,
    pub theirs_lines: usize,
    pub base_start: usize,
    pub base_lines: usize,
    /// The region's text on each side (lossy UTF-8, line endings kept), at most
    /// [`MAX_HUNK_LINES`] lines each.
    pub ours: String,
    pub theirs: String,
    pub base: String,
    /// Some side had more than [`MAX_HUNK_LINES`] lines; its text was cut.
    pub truncated: bool,
}

/// One file (or group of paths) that would not merge cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileConflict {
    /// Repo-relative, `/`-separated: where the conflict shows (for renames, the source).
    pub path: String,
    pub kind: ConflictKind,
    /// Every path git would leave unmerged (stage 1-3) index entries at, sorted: both rename
    /// destinations and the source, the name a file was moved aside to (`path~label`) when it
    /// clashed with a directory or symlink, ... For such a clash `path` (the directory or
    /// symlink's location) is not among them; otherwise it is.
    pub paths: Vec<String>,
    /// For content conflicts of text files: the conflicting regions, at most
    /// [`MAX_HUNKS_PER_FILE`]. Empty for binary files and non-content conflicts.
    pub hunks: Vec<ConflictHunk>,
    /// There were more hunks than reported, or the file was too large to diff.
    pub hunks_truncated: bool,
    /// For content conflicts of files (text or binary): the three versions' blob ids, to read
    /// with [`MergePredictor::blob_data`] (a working state's blobs live in the predictor's
    /// memory). `base` is `None` when both sides added the file.
    pub blobs: Option<ConflictBlobs>,
}

/// The blobs of a content conflict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictBlobs {
    pub base: Option<String>,
    pub ours: String,
    pub theirs: String,
}

/// The outcome of an in-memory merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergePrediction {
    /// The merge base used (the best one when there are several; their virtual merge is what was
    /// merged against). `None` when the sides share no history.
    pub base: Option<CommitId>,
    /// No unresolved conflict: git would merge these without stopping.
    pub clean: bool,
    /// Sorted by path.
    pub conflicts: Vec<FileConflict>,
}

impl MergePrediction {
    /// Every conflicting path, sorted and deduplicated (what `git merge-tree --name-only` lists).
    pub fn conflicting_paths(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self.conflicts.iter().flat_map(|c| c.paths.iter().map(String::as_str)).collect();
        set.into_iter().map(str::to_string).collect()
    }
}

/// One side of a predicted merge: a commit, or a checkout's working state.
///
/// Its label names the side in conflict markers and in the names of files moved aside for a
/// file/directory or file/symlink clash (`path~label`, as git does). Defaults: a commit's full id
/// (what `git merge-tree <id> <id>` uses), a checkout's branch name (else its HEAD id).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MergeSide {
    head: Option<gix::ObjectId>,
    tree: gix::ObjectId,
    label: String,
}

impl MergeSide {
    /// The same side under another label, e.g. the branch name the caller resolved it from.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The commit this side starts from (the checkout's HEAD for a working state); `None` for a
    /// checkout on an unborn branch.
    pub fn head(&self) -> Option<CommitId> {
        self.head.map(CommitId::from_oid)
    }

    /// The side's tree id (40 hex). For a working state it usually exists only in the memory of
    /// the predictor that built it.
    pub fn tree_id(&self) -> String {
        self.tree.to_hex().to_string()
    }
}

#[derive(Clone, Copy)]
struct Base {
    commit: Option<gix::ObjectId>,
    tree: gix::ObjectId,
}

/// In-memory merges over one repository; see the module documentation.
pub struct MergePredictor {
    repo: gix::Repository,
    options: gix::merge::tree::Options,
    common_dir: PathBuf,
    bases: RefCell<HashMap<(gix::ObjectId, gix::ObjectId), Base>>,
}

impl std::fmt::Debug for MergePredictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergePredictor").field("common_dir", &self.common_dir).finish()
    }
}

impl Repo {
    /// A predictor for many merges over this repository, all in memory.
    pub fn merge_predictor(&self) -> Result<MergePredictor> {
        let mut repo = self.gix().clone().with_object_memory();
        // Merges read the same trees and blobs again and again; a small cache keeps that cheap.
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        let options = repo.tree_merge_options().map_err(gix_err("read merge configuration"))?;
        Ok(MergePredictor { repo, options, common_dir: self.common_dir()?, bases: RefCell::default() })
    }

    /// Predict merging commit `theirs` into commit `ours`, in memory.
    pub fn predict_merge(&self, ours: &CommitId, theirs: &CommitId) -> Result<MergePrediction> {
        let predictor = self.merge_predictor()?;
        let ours = predictor.commit(ours)?;
        let theirs = predictor.commit(theirs)?;
        predictor.predict(&ours, &theirs)
    }
}

impl MergePredictor {
    /// The side for a commit.
    pub fn commit(&self, id: &CommitId) -> Result<MergeSide> {
        let oid = id.oid()?;
        let tree = self.commit_tree(oid).map_err(|_| GitError::UnknownRevision { rev: id.to_string() })?;
        Ok(MergeSide { head: Some(oid), tree, label: id.to_string() })
    }

    fn commit_tree(&self, id: gix::ObjectId) -> Result<gix::ObjectId> {
        let commit = self.repo.find_commit(id).map_err(gix_err("find commit"))?;
        Ok(commit.tree_id().map_err(gix_err("read commit"))?.detach())
    }

    /// The working state of the checkout at `checkout` (the main checkout or a linked worktree of
    /// this repository): its HEAD tree with every staged, modified and untracked (not ignored)
    /// file as it is on disk, deleted files removed. File modes are kept (executable bit, symlinks
    /// as link blobs); content goes through the checkout's clean filters as `git add` would.
    /// Submodules and nested repositories keep their recorded commit. Read-only.
    pub fn checkout_state(&self, checkout: &Path) -> Result<MergeSide> {
        let root = canonical(checkout)?;
        let wt = Repo::workdir_of(&root)?.with_object_memory();
        if canonical(wt.common_dir())? != self.common_dir {
            return Err(GitError::NotAWorktree { path: root });
        }
        let head_ref = wt.head().map_err(gix_err("read HEAD"))?;
        let head = head_ref.id().map(|id| id.detach());
        let label = match (head_ref.referent_name(), head) {
            (Some(name), _) => lossy(name.shorten()),
            (None, Some(id)) => id.to_hex().to_string(),
            (None, None) => "working-tree".to_string(),
        };
        let head_tree = match head {
            Some(id) => self.commit_tree(id)?,
            None => gix::ObjectId::empty_tree(self.repo.object_hash()),
        };

        // The final state of every path the status mentions: from the index for staged changes,
        // overridden by the file on disk for anything that differs in the working tree.
        let mut state: BTreeMap<BString, Option<(EntryKind, gix::ObjectId)>> = BTreeMap::new();
        let mut from_disk: BTreeSet<BString> = BTreeSet::new();
        let iter = wt
            .status(gix::progress::Discard)
            .map_err(gix_err("status"))?
            .untracked_files(gix::status::UntrackedFiles::Files)
            .tree_index_track_renames(gix::status::tree_index::TrackRenames::Disabled)
            .index_worktree_rewrites(None)
            .index_worktree_submodules(None)
            .into_iter(None)
            .map_err(gix_err("status"))?;
        for item in iter {
            match item.map_err(gix_err("status"))? {
                gix::status::Item::TreeIndex(change) => {
                    use gix::diff::index::ChangeRef;
                    match change {
                        ChangeRef::Addition { location, entry_mode, id, .. }
                        | ChangeRef::Modification { location, entry_mode, id, .. } => {
                            let kind = entry_mode.to_tree_entry_mode().map(|m| m.kind());
                            state.insert(location.into_owned(), kind.map(|k| (k, id.into_owned())));
                        }
                        ChangeRef::Deletion { location, .. } => {
                            state.insert(location.into_owned(), None);
                        }
                        ChangeRef::Rewrite { source_location, location, entry_mode, id, .. } => {
                            state.insert(source_location.into_owned(), None);
                            let kind = entry_mode.to_tree_entry_mode().map(|m| m.kind());
                            state.insert(location.into_owned(), kind.map(|k| (k, id.into_owned())));
                        }
                    }
                }
                gix::status::Item::IndexWorktree(item) => {
                    if item.summary().is_none() {
                        continue;
                    }
                    if let gix::status::index_worktree::Item::DirectoryContents { entry, .. } = &item
                        && matches!(
                            entry.disk_kind,
                            Some(gix::dir::entry::Kind::Repository | gix::dir::entry::Kind::Directory)
                        )
                    {
                        // A nested repository is not part of this one's content.
                        continue;
                    }
                    from_disk.insert(item.rela_path().to_owned());
                }
            }
        }

        if !from_disk.is_empty() {
            let (mut pipeline, index) = wt.filter_pipeline(None).map_err(gix_err("set up filters"))?;
            let file_mode = wt.config_snapshot().boolean("core.fileMode").unwrap_or(true);
            for rela in from_disk {
                let entry = match read_worktree_file(&mut pipeline, &index, &root, rela.as_bstr(), file_mode)? {
                    Some((kind, data)) => {
                        let id = self.repo.write_blob(&data).map_err(gix_err("write blob"))?.detach();
                        Some((kind, id))
                    }
                    None => None,
                };
                state.insert(rela, entry);
            }
        }

        let mut editor = self.repo.edit_tree(head_tree).map_err(gix_err("edit tree"))?;
        // Removals first: a file replaced by a directory (or the reverse) must make way.
        for (path, _) in state.iter().filter(|(_, e)| e.is_none()) {
            editor.remove(path.as_bstr()).map_err(gix_err("edit tree"))?;
        }
        for (path, entry) in &state {
            if let Some((kind, id)) = entry {
                editor.upsert(path.as_bstr(), *kind, *id).map_err(gix_err("edit tree"))?;
            }
        }
        let tree = editor.write().map_err(gix_err("write tree"))?.detach();
        Ok(MergeSide { head, tree, label })
    }

    /// Predict merging `theirs` into `ours`. The base is the merge base of the two sides' HEAD
    /// commits (several merge bases are merged into a virtual one, as git does); without shared
    /// history, the empty tree.
    pub fn predict(&self, ours: &MergeSide, theirs: &MergeSide) -> Result<MergePrediction> {
        let base = match (ours.head, theirs.head) {
            (Some(a), Some(b)) => self.base_of(a, b)?,
            _ => Base { commit: None, tree: gix::ObjectId::empty_tree(self.repo.object_hash()) },
        };
        self.merge(base, ours, theirs)
    }

    /// Like [`predict`](Self::predict) with an explicit base commit (`None`: the empty tree).
    pub fn predict_with_base(
        &self,
        base: Option<&CommitId>,
        ours: &MergeSide,
        theirs: &MergeSide,
    ) -> Result<MergePrediction> {
        let base = match base {
            Some(id) => Base { commit: Some(id.oid()?), tree: self.commit(id)?.tree },
            None => Base { commit: None, tree: gix::ObjectId::empty_tree(self.repo.object_hash()) },
        };
        self.merge(base, ours, theirs)
    }

    fn base_of(&self, a: gix::ObjectId, b: gix::ObjectId) -> Result<Base> {
        let key = if a <= b { (a, b) } else { (b, a) };
        if let Some(base) = self.bases.borrow().get(&key) {
            return Ok(*base);
        }
        let bases: Vec<gix::ObjectId> = self
            .repo
            .merge_bases_many(a, &[b])
            .map_err(gix_err("merge-base"))?
            .into_iter()
            .map(|id| id.detach())
            .collect();
        let base = match bases.as_slice() {
            [] => Base { commit: None, tree: gix::ObjectId::empty_tree(self.repo.object_hash()) },
            [one] => Base { commit: Some(*one), tree: self.commit_tree(*one)? },
            [best, ..] => {
                let virtual_base = self
                    .repo
                    .virtual_merge_base(bases.iter().copied(), self.options.clone())
                    .map_err(gix_err("merge merge-bases"))?;
                Base { commit: Some(*best), tree: virtual_base.tree_id.detach() }
            }
        };
        self.bases.borrow_mut().insert(key, base);
        Ok(base)
    }

    fn merge(&self, base: Base, ours: &MergeSide, theirs: &MergeSide) -> Result<MergePrediction> {
        let labels = gix::merge::blob::builtin_driver::text::Labels {
            ancestor: Some("base".into()),
            current: Some(ours.label.as_str().into()),
            other: Some(theirs.label.as_str().into()),
        };
        let mut outcome = self
            .repo
            .merge_trees(base.tree, ours.tree, theirs.tree, labels, self.options.clone())
            .map_err(gix_err("merge trees"))?;
        let how = TreatAsUnresolved::git();
        let unresolved: Vec<&Conflict> = outcome.conflicts.iter().filter(|c| c.is_unresolved(how)).collect();
        let mut conflicts = Vec::with_capacity(unresolved.len());
        if !unresolved.is_empty() {
            let merged = outcome.tree.write().map_err(gix_err("write merged tree"))?.detach();
            let merged = self.repo.find_tree(merged).map_err(gix_err("read merged tree"))?;
            for conflict in unresolved {
                conflicts.push(self.describe(conflict, &merged, how)?);
            }
        }
        conflicts.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(MergePrediction { base: base.commit.map(CommitId::from_oid), clean: conflicts.is_empty(), conflicts })
    }

    fn describe(&self, conflict: &Conflict, merged: &gix::Tree<'_>, how: TreatAsUnresolved) -> Result<FileConflict> {
        let kind = conflict_kind(conflict);
        let mut paths = unmerged_paths(conflict, merged, how, self.repo.object_hash())?;
        let ours_location = lossy(conflict.ours.location());
        let path = if kind == ConflictKind::Type {
            // Where the clash is: the file, not the directory entry under it nor the name a side
            // was moved aside to.
            let (a, b) = (conflict.ours.location(), conflict.theirs.location());
            lossy(if a.len() <= b.len() { a } else { b })
        } else if paths.len() == 1 {
            paths[0].clone()
        } else if kind == ConflictKind::Rename {
            rename_source(conflict).unwrap_or(ours_location)
        } else {
            ours_location
        };
        if paths.is_empty() {
            paths.push(path.clone());
        }

        let mut hunks = Vec::new();
        let mut hunks_truncated = false;
        let mut blobs = None;
        let content_conflict =
            conflict.content_merge().is_some_and(|m| matches!(m.resolution, gix::merge::blob::Resolution::Conflict));
        if content_conflict && matches!(kind, ConflictKind::Content | ConflictKind::AddAdd | ConflictKind::Rename) {
            let [base, ours, theirs] = conflict.entries();
            let is_file = |e: &Option<gix::merge::plumbing::tree::ConflictIndexEntry>| {
                e.is_some_and(|e| matches!(e.mode.kind(), EntryKind::Blob | EntryKind::BlobExecutable))
            };
            if let (Some(o), Some(t)) = (ours, theirs)
                && is_file(&ours)
                && is_file(&theirs)
                && (base.is_none() || is_file(&base))
            {
                blobs = Some(ConflictBlobs {
                    base: base.map(|b| b.id.to_hex().to_string()),
                    ours: o.id.to_hex().to_string(),
                    theirs: t.id.to_hex().to_string(),
                });
                let base_data = match base {
                    Some(b) => self.blob(b.id)?,
                    None => Vec::new(),
                };
                let (ours_data, theirs_data) = (self.blob(o.id)?, self.blob(t.id)?);
                if [&base_data, &ours_data, &theirs_data].iter().any(|d| d.len() > MAX_DIFF_BYTES) {
                    hunks_truncated = true;
                } else if ![&base_data, &ours_data, &theirs_data].iter().any(|d| is_binary(d)) {
                    (hunks, hunks_truncated) = conflict_hunks(
                        &String::from_utf8_lossy(&base_data),
                        &String::from_utf8_lossy(&ours_data),
                        &String::from_utf8_lossy(&theirs_data),
                    );
                }
            }
        }
        Ok(FileConflict { path, kind, paths, hunks, hunks_truncated, blobs })
    }

    /// The content of a blob this predictor can see (the repository's, or one it wrote in
    /// memory for a working state), by its 40-hex id.
    pub fn blob_data(&self, id: &str) -> Result<Vec<u8>> {
        let oid =
            gix::ObjectId::from_hex(id.as_bytes()).map_err(|_| GitError::UnknownRevision { rev: id.to_string() })?;
        self.blob(oid)
    }

    fn blob(&self, id: gix::ObjectId) -> Result<Vec<u8>> {
        Ok(self.repo.find_blob(id).map_err(gix_err("read blob"))?.take_data())
    }
}

fn lossy(path: &BStr) -> String {
    path.to_str_lossy().into_owned()
}

fn rename_source(conflict: &Conflict) -> Option<String> {
    [&conflict.ours, &conflict.theirs].into_iter().find_map(|change| match change {
        gix::diff::tree_with_rewrites::Change::Rewrite { source_location, .. } => {
            Some(lossy(source_location.as_bstr()))
        }
        _ => None,
    })
}

fn conflict_kind(conflict: &Conflict) -> ConflictKind {
    use gix::diff::tree_with_rewrites::Change;
    let failure_kind = |f: &ResolutionFailure| match f {
        ResolutionFailure::OursModifiedTheirsDeleted => ConflictKind::ModifyDelete,
        ResolutionFailure::OursDeletedTheirsRenamed
        | ResolutionFailure::OursRenamedTheirsRenamedToSameLocation
        | ResolutionFailure::OursRenamedTheirsRenamedDifferently { .. } => ConflictKind::Rename,
        ResolutionFailure::OursModifiedTheirsDirectoryThenOursRenamed { .. }
        | ResolutionFailure::OursDirectoryTheirsNonDirectoryTheirsRenamed { .. }
        | ResolutionFailure::OursAddedTheirsAddedTypeMismatch { .. }
        | ResolutionFailure::OursModifiedTheirsRenamedTypeMismatch => ConflictKind::Type,
        ResolutionFailure::SubmoduleAddAdd => ConflictKind::AddAdd,
        ResolutionFailure::SubmoduleMerge | ResolutionFailure::Unknown => ConflictKind::Content,
    };
    match &conflict.resolution {
        Err(failure) | Ok(Resolution::Forced(failure)) => failure_kind(failure),
        Ok(Resolution::OursModifiedTheirsRenamedAndChangedThenRename { final_location: Some(_), .. }) => {
            ConflictKind::Rename
        }
        Ok(_) => {
            let general = |k: EntryKind| match k {
                EntryKind::BlobExecutable => EntryKind::Blob,
                k => k,
            };
            let (ours, theirs) = (&conflict.ours, &conflict.theirs);
            let deleted = |c: &Change| matches!(c, Change::Deletion { .. });
            if !deleted(ours)
                && !deleted(theirs)
                && general(ours.entry_mode().kind()) != general(theirs.entry_mode().kind())
            {
                ConflictKind::Type
            } else if matches!(ours, Change::Addition { .. }) && matches!(theirs, Change::Addition { .. }) {
                ConflictKind::AddAdd
            } else {
                ConflictKind::Content
            }
        }
    }
}

/// The paths git would leave unmerged (stage 1-3) index entries at for `conflict`. gix knows how
/// to place them (`apply_index_entries`), but only relative to an index of the merged tree: give
/// it a small index holding just the candidate paths that exist in the merged tree.
fn unmerged_paths(
    conflict: &Conflict,
    merged: &gix::Tree<'_>,
    how: TreatAsUnresolved,
    hash: gix::hash::Kind,
) -> Result<Vec<String>> {
    let mut candidates: BTreeSet<BString> = BTreeSet::new();
    for change in [&conflict.ours, &conflict.theirs] {
        candidates.insert(change.location().to_owned());
        candidates.insert(change.source_location().to_owned());
    }
    let moved = match &conflict.resolution {
        Ok(Resolution::SourceLocationAffectedByRename { final_location })
        | Ok(Resolution::OursModifiedTheirsRenamedAndChangedThenRename {
            final_location: Some(final_location), ..
        }) => Some(final_location),
        Err(ResolutionFailure::OursModifiedTheirsDirectoryThenOursRenamed {
            renamed_unique_path_to_modified_blob: p,
        })
        | Err(ResolutionFailure::OursDirectoryTheirsNonDirectoryTheirsRenamed { renamed_unique_path_of_theirs: p })
        | Err(ResolutionFailure::OursAddedTheirsAddedTypeMismatch { their_unique_location: p }) => Some(p),
        _ => None,
    };
    if let Some(p) = moved {
        candidates.insert(p.clone());
    }
    let mut index = gix::index::State::new(hash);
    for path in &candidates {
        let rel = gix::path::from_bstr(path.as_bstr()).map_err(gix_err("path"))?;
        let entry = merged.lookup_entry_by_path(rel.as_ref()).map_err(gix_err("look up path"))?;
        if let Some(entry) = entry.filter(|e| !e.mode().is_tree()) {
            index.dangerously_push_entry(
                Default::default(),
                entry.object_id(),
                gix::index::entry::Flags::empty(),
                gix::index::entry::Mode::FILE,
                path.as_bstr(),
            );
        }
    }
    gix::merge::tree::apply_index_entries(
        std::slice::from_ref(conflict),
        how,
        &mut index,
        gix::merge::tree::apply_index_entries::RemovalMode::Prune,
    );
    let paths: BTreeSet<String> = index
        .entries()
        .iter()
        .filter(|e| e.stage() != gix::index::entry::Stage::Unconflicted)
        .map(|e| lossy(e.path(&index)))
        .collect();
    Ok(paths.into_iter().collect())
}

/// A working-tree file as git would store it (clean filters applied), or `None` when there is
/// nothing trackable at `rela` (gone, or a directory).
fn read_worktree_file(
    pipeline: &mut gix::filter::Pipeline<'_>,
    index: &gix::index::State,
    root: &Path,
    rela: &BStr,
    file_mode: bool,
) -> Result<Option<(EntryKind, Vec<u8>)>> {
    let rel_path = gix::path::from_bstr(rela).map_err(gix_err("path"))?;
    let path = root.join(&rel_path);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        // NotADirectory: a parent directory was replaced by a file.
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
            return Ok(None);
        }
        Err(e) => return Err(io_err("cannot inspect", &path)(e)),
    };
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&path).map_err(io_err("cannot read link", &path))?;
        let bytes = gix::path::into_bstr(target).map_err(gix_err("read link"))?.into_owned();
        return Ok(Some((EntryKind::Link, bytes.into())));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    let file = std::fs::File::open(&path).map_err(io_err("cannot read", &path))?;
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    {
        use gix::filter::plumbing::pipeline::convert::ToGitOutcome;
        match pipeline.convert_to_git(file, &rel_path, index).map_err(gix_err("apply filters"))? {
            ToGitOutcome::Unchanged(mut file) => {
                file.read_to_end(&mut data).map_err(io_err("cannot read", &path))?;
            }
            ToGitOutcome::Buffer(buf) => data.extend_from_slice(buf),
            ToGitOutcome::Process(mut stream) => {
                stream.read_to_end(&mut data).map_err(io_err("cannot filter", &path))?;
            }
        }
    }
    let executable = if file_mode {
        is_executable(&meta)
    } else {
        // core.fileMode=false: the file system's bits mean nothing; keep what the index says.
        index.entry_by_path(rela).is_some_and(|e| e.mode == gix::index::entry::Mode::FILE_EXECUTABLE)
    };
    Ok(Some((if executable { EntryKind::BlobExecutable } else { EntryKind::Blob }, data)))
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// git's test: a NUL byte in the first 8000 bytes.
fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_PROBE)].contains(&0)
}

/// A changed run of lines: `base` lines replaced by `side` lines (0-based, end-exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Edit {
    base: Range<usize>,
    side: Range<usize>,
}

/// The line edits turning `base` into `side`.
fn line_edits(base: &str, side: &str) -> Vec<Edit> {
    let patch = diffy::DiffOptions::new().set_context_len(0).create_patch(base, side);
    let mut edits = Vec::new();
    for hunk in patch.hunks() {
        // diffy's ranges are 1-based, except that an empty range names the line before it.
        let start = |r: diffy::HunkRange| if r.is_empty() { r.start() } else { r.start().saturating_sub(1) };
        let (mut b, mut s) = (start(hunk.old_range()), start(hunk.new_range()));
        let mut current: Option<Edit> = None;
        for line in hunk.lines() {
            match line {
                diffy::Line::Context(_) => {
                    edits.extend(current.take());
                    b += 1;
                    s += 1;
                }
                diffy::Line::Delete(_) => {
                    current.get_or_insert(Edit { base: b..b, side: s..s }).base.end += 1;
                    b += 1;
                }
                diffy::Line::Insert(_) => {
                    current.get_or_insert(Edit { base: b..b, side: s..s }).side.end += 1;
                    s += 1;
                }
            }
        }
        edits.extend(current.take());
    }
    edits
}

/// Where a group of one side's edits, covering base lines `lo..hi` together with the other
/// side's, lands in that side.
fn side_range(group: &[Edit], lo: usize, hi: usize) -> Range<usize> {
    match (group.first(), group.last()) {
        (Some(first), Some(last)) => {
            let start = first.side.start.saturating_sub(first.base.start.saturating_sub(lo));
            let end = last.side.end + hi.saturating_sub(last.base.end);
            start..end
        }
        _ => lo..hi,
    }
}

/// The conflicting regions of a three-way text merge, as diff3 finds them: runs where both
/// sides changed overlapping or touching base lines, and not identically. Returns at most
/// [`MAX_HUNKS_PER_FILE`] hunks and whether that is not all (more hunks, or a changed middle too
/// long to diff line by line: then no hunks).
fn conflict_hunks(base: &str, ours: &str, theirs: &str) -> (Vec<ConflictHunk>, bool) {
    let base_lines: Vec<&str> = base.split_inclusive('\n').collect();
    let ours_lines: Vec<&str> = ours.split_inclusive('\n').collect();
    let theirs_lines: Vec<&str> = theirs.split_inclusive('\n').collect();
    // Lines all three share at the start and the end are nobody's change; diffing only the
    // middle keeps large files with small changes cheap (the diff costs length x differences).
    let all = [&base_lines, &ours_lines, &theirs_lines];
    let prefix = common_run(base_lines.iter(), ours_lines.iter(), theirs_lines.iter());
    let suffix = common_run(
        base_lines.get(prefix..).unwrap_or_default().iter().rev(),
        ours_lines.get(prefix..).unwrap_or_default().iter().rev(),
        theirs_lines.get(prefix..).unwrap_or_default().iter().rev(),
    );
    let middle = |l: &Vec<&str>| l.get(prefix..l.len() - suffix).unwrap_or_default().concat();
    if all.iter().any(|l| l.len() - prefix - suffix > MAX_DIFF_LINES) {
        return (Vec::new(), true);
    }
    let (base_mid, ours_mid, theirs_mid) = (middle(&base_lines), middle(&ours_lines), middle(&theirs_lines));
    let shift = |r: Range<usize>| r.start + prefix..r.end + prefix;

    let mut hunks = Vec::new();
    for (b, o, t) in conflict_regions(&line_edits(&base_mid, &ours_mid), &line_edits(&base_mid, &theirs_mid)) {
        let (b, o, t) = (shift(b), shift(o), shift(t));
        let ours_text = ours_lines.get(o.clone()).unwrap_or_default();
        let theirs_text = theirs_lines.get(t.clone()).unwrap_or_default();
        if ours_text == theirs_text {
            continue;
        }
        if hunks.len() == MAX_HUNKS_PER_FILE {
            return (hunks, true);
        }
        let base_text = base_lines.get(b.clone()).unwrap_or_default();
        let take = |lines: &[&str]| lines.iter().take(MAX_HUNK_LINES).copied().collect::<String>();
        hunks.push(ConflictHunk {
            ours_start: o.start + 1,
            ours_lines: o.len(),
            theirs_start: t.start + 1,
            theirs_lines: t.len(),
            base_start: b.start + 1,
            base_lines: b.len(),
            ours: take(ours_text),
            theirs: take(theirs_text),
            base: take(base_text),
            truncated: [ours_text.len(), theirs_text.len(), base_text.len()].iter().any(|n| *n > MAX_HUNK_LINES),
        });
    }
    (hunks, false)
}

/// How many leading items the three sequences share.
fn common_run<'a>(
    a: impl Iterator<Item = &'a &'a str>,
    b: impl Iterator<Item = &'a &'a str>,
    c: impl Iterator<Item = &'a &'a str>,
) -> usize {
    a.zip(b).zip(c).take_while(|((x, y), z)| x == y && x == z).count()
}

/// Regions (base, ours, theirs line ranges) where both sides' edits `a` and `b` overlap or touch
/// (git counts adjacent changes as conflicting). Whether the sides actually differ there is the
/// caller's test.
fn conflict_regions(a: &[Edit], b: &[Edit]) -> Vec<(Range<usize>, Range<usize>, Range<usize>)> {
    let (mut i, mut j) = (0, 0);
    let mut regions = Vec::new();
    while i < a.len() || j < b.len() {
        let (i0, j0) = (i, j);
        let first = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.base.start <= y.base.start => {
                i += 1;
                x
            }
            (Some(x), None) => {
                i += 1;
                x
            }
            (_, Some(y)) => {
                j += 1;
                y
            }
            (None, None) => break,
        };
        let (lo, mut hi) = (first.base.start, first.base.end);
        loop {
            let mut grew = false;
            while let Some(x) = a.get(i).filter(|x| x.base.start <= hi) {
                hi = hi.max(x.base.end);
                i += 1;
                grew = true;
            }
            while let Some(y) = b.get(j).filter(|y| y.base.start <= hi) {
                hi = hi.max(y.base.end);
                j += 1;
                grew = true;
            }
            if !grew {
                break;
            }
        }
        let (ours_group, theirs_group) = (&a[i0..i], &b[j0..j]);
        if !ours_group.is_empty() && !theirs_group.is_empty() {
            regions.push((lo..hi, side_range(ours_group, lo, hi), side_range(theirs_group, lo, hi)));
        }
    }
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hunks(base: &str, ours: &str, theirs: &str) -> Vec<(usize, usize, usize, usize, String, String, String)> {
        let (h, truncated) = conflict_hunks(base, ours, theirs);
        assert!(!truncated);
        h.into_iter()
            .map(|h| (h.ours_start, h.ours_lines, h.theirs_start, h.theirs_lines, h.ours, h.theirs, h.base))
            .collect()
    }

    #[test]
    fn same_line_changed_differently_is_one_hunk() {
        let base = "a\nb\nc\nd\n";
        assert_eq!(
            hunks(base, "a\nB1\nc\nd\n", "a\nB2\nc\nd\n"),
            vec![(2, 1, 2, 1, "B1\n".into(), "B2\n".into(), "b\n".into())]
        );
    }

    #[test]
    fn separate_and_identical_changes_do_not_conflict() {
        let base = "1\n2\n3\n4\n5\n6\n";
        assert!(hunks(base, "one\n2\n3\n4\n5\n6\n", "1\n2\n3\n4\n5\nsix\n").is_empty());
        assert!(hunks(base, "1\n2\nthree\n4\n5\n6\n", "1\n2\nthree\n4\n5\n6\n").is_empty());
    }

    #[test]
    fn adjacent_changes_conflict_and_line_numbers_follow_each_side() {
        // ours inserts two lines at the top (shifting everything) and changes line 4; theirs
        // changes line 5, next to it.
        let base = "1\n2\n3\n4\n5\n6\n";
        let ours = "x\ny\n1\n2\n3\nfour\n5\n6\n";
        let theirs = "1\n2\n3\n4\nfive\n6\n";
        assert_eq!(
            hunks(base, ours, theirs),
            vec![(6, 2, 4, 2, "four\n5\n".into(), "4\nfive\n".into(), "4\n5\n".into())]
        );
    }

    #[test]
    fn deletion_against_change_and_insertions_at_one_point() {
        let base = "a\nb\nc\n";
        // ours deletes b, theirs changes it: ours' region is empty, before line 2.
        assert_eq!(hunks(base, "a\nc\n", "a\nB\nc\n"), vec![(2, 0, 2, 1, String::new(), "B\n".into(), "b\n".into())]);
        // both insert different lines after a
        assert_eq!(
            hunks(base, "a\nX\nb\nc\n", "a\nY\nb\nc\n"),
            vec![(2, 1, 2, 1, "X\n".into(), "Y\n".into(), String::new())]
        );
        // add/add: empty base
        assert_eq!(hunks("", "x\n", "y\n"), vec![(1, 1, 1, 1, "x\n".into(), "y\n".into(), String::new())]);
        // no trailing newline on one side
        assert_eq!(hunks("a\n", "a", "b\n"), vec![(1, 1, 1, 1, "a".into(), "b\n".into(), "a\n".into())]);
    }

    #[test]
    fn hunks_are_bounded() {
        let base: String = (0..300).map(|i| format!("{i}\n")).collect();
        let ours: String = (0..300).map(|i| format!("o{i}\n")).collect();
        let theirs: String = (0..300).map(|i| format!("t{i}\n")).collect();
        let (h, more) = conflict_hunks(&base, &ours, &theirs);
        assert!(!more);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].ours_lines, h[0].theirs_lines), (300, 300));
        assert_eq!(h[0].ours.lines().count(), MAX_HUNK_LINES);
        assert!(h[0].truncated);

        // 60 separate conflicting lines, every other line unchanged
        let base: String = (0..120).map(|i| format!("{i}\n")).collect();
        let side = |p: &str| {
            (0..120).map(|i| if i % 2 == 0 { format!("{p}{i}\n") } else { format!("{i}\n") }).collect::<String>()
        };
        let (h, more) = conflict_hunks(&base, &side("o"), &side("t"));
        assert_eq!(h.len(), MAX_HUNKS_PER_FILE);
        assert!(more);
        assert_eq!((h[1].ours_start, h[1].ours.as_str()), (3, "o2\n"));
    }

    #[test]
    fn shared_leading_and_trailing_lines_keep_large_files_cheap() {
        let lines = |n: usize, mid: &str| -> String {
            (0..n).map(|i| if i == n / 2 { format!("{mid}\n") } else { format!("line {i}\n") }).collect()
        };
        let (h, more) = conflict_hunks(&lines(30_000, "base"), &lines(30_000, "ours"), &lines(30_000, "theirs"));
        assert!(!more);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].ours_start, h[0].theirs_start, h[0].base_start), (15_001, 15_001, 15_001));
        assert_eq!((h[0].ours.as_str(), h[0].base.as_str()), ("ours\n", "base\n"));

        // Both sides rewrote a long file entirely: too costly to diff, reported without hunks.
        let rewrite = |p: &str| (0..MAX_DIFF_LINES + 1).map(|i| format!("{p} {i}\n")).collect::<String>();
        assert_eq!(conflict_hunks(&rewrite("b"), &rewrite("o"), &rewrite("t")), (Vec::new(), true));

        // Changes at the very end, after every shared line.
        assert_eq!(
            hunks("1\n2\n", "1\n2\nX\n", "1\n2\nY\n"),
            vec![(3, 1, 3, 1, "X\n".into(), "Y\n".into(), String::new())]
        );
        assert_eq!(
            hunks("1\n2\n3\n", "1\n2\n", "1\n2\nthree\n"),
            vec![(3, 0, 3, 1, String::new(), "three\n".into(), "3\n".into())]
        );
    }

    #[test]
    fn binary_test_is_gits() {
        assert!(is_binary(b"abc\0def"));
        assert!(!is_binary(b"plain text\n"));
        let mut late = vec![b'a'; BINARY_PROBE];
        late.push(0);
        assert!(!is_binary(&late));
    }
}
