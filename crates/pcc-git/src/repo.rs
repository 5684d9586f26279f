//! Repository identity and references.

use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;
use gix::refs::transaction::PreviousValue;

use crate::error::{GitError, Result, gix_err, io_err};

/// A full 40-hex commit id. gix's id types stay inside this crate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(String);

impl CommitId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The first 8 characters, for people.
    pub fn short(&self) -> &str {
        self.0.get(..8).unwrap_or(&self.0)
    }
    pub(crate) fn from_oid(id: impl Into<gix::ObjectId>) -> Self {
        CommitId(id.into().to_hex().to_string())
    }
    pub(crate) fn oid(&self) -> Result<gix::ObjectId> {
        gix::ObjectId::from_hex(self.0.as_bytes()).map_err(|_| GitError::UnknownRevision { rev: self.0.clone() })
    }
    /// Parse a stored id (as written by this crate).
    pub fn parse(hex: &str) -> Option<Self> {
        gix::ObjectId::from_hex(hex.as_bytes()).ok().map(CommitId::from_oid)
    }
}

impl std::fmt::Display for CommitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One git repository, reached from any of its checkouts.
///
/// `main_path` is the identity (PRODUCT.md §0.2): the canonical path of the main worktree,
/// derived from the common git dir, the same from the main checkout, a subdirectory or any linked
/// worktree. `checkout` is the root of the checkout the repository was discovered from.
pub struct Repo {
    pub(crate) repo: gix::Repository,
    main_path: PathBuf,
    checkout: PathBuf,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo").field("main_path", &self.main_path).field("checkout", &self.checkout).finish()
    }
}

pub(crate) fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => GitError::NoSuchPath { path: path.to_path_buf() },
        _ => GitError::Io { op: "cannot resolve", path: path.to_path_buf(), source: e },
    })
}

impl Repo {
    /// Find the repository containing `path` (a checkout root, a subdirectory, or a linked worktree).
    pub fn discover(path: &Path) -> Result<Repo> {
        let path = canonical(path)?;
        // Find the checkout by walking up (cheap: no configuration is read), then open it once.
        let (found, _trust) = gix::discover::upwards(&path)
            .map_err(|e| GitError::NotARepo { path: path.clone(), source: Some(Box::new(e)) })?;
        let (git_dir, work_dir) = found.into_repository_and_work_tree_directories();
        let repo = Repo::workdir_of(work_dir.as_deref().unwrap_or(&git_dir))?;
        Self::from_gix(repo, &path)
    }

    /// The root of the checkout containing `path`, found by walking up without opening the
    /// repository (no configuration is read): enough to tell whether `path` is in a checkout at
    /// all. `None` outside any checkout, and for a bare repository.
    pub fn find_checkout(path: &Path) -> Option<PathBuf> {
        let path = canonical(path).ok()?;
        let (found, _trust) = gix::discover::upwards(&path).ok()?;
        found.into_repository_and_work_tree_directories().1
    }

    /// Open the repository whose main worktree (or linked worktree) is exactly `path`.
    pub fn open(path: &Path) -> Result<Repo> {
        let path = canonical(path)?;
        let repo = Repo::workdir_of(&path)?;
        Self::from_gix(repo, &path)
    }

    fn from_gix(repo: gix::Repository, asked: &Path) -> Result<Repo> {
        let Some(workdir) = repo.workdir() else {
            return Err(GitError::Bare { path: asked.to_path_buf() });
        };
        let checkout = canonical(workdir)?;
        let main_path = if repo.git_dir() == repo.common_dir() {
            checkout.clone()
        } else {
            let main = repo.main_repo().map_err(gix_err("open main worktree"))?;
            let Some(main_workdir) = main.workdir() else {
                return Err(GitError::Bare { path: main.git_dir().to_path_buf() });
            };
            canonical(main_workdir)?
        };
        // Always work through canonical absolute paths: gix mis-handles worktree removal when the
        // repository was opened through a relative path (CRATES.md §2(b)).
        let repo = if repo.workdir() != Some(checkout.as_path()) { Repo::workdir_of(&checkout)? } else { repo };
        Ok(Repo { repo, main_path, checkout })
    }

    /// The repository's identity: canonical path of its main worktree.
    pub fn main_path(&self) -> &Path {
        &self.main_path
    }

    /// Root of the checkout this handle was opened from.
    pub fn checkout(&self) -> &Path {
        &self.checkout
    }

    pub fn is_main_checkout(&self) -> bool {
        self.checkout == self.main_path
    }

    /// The repository's directory name, for naming the worktree folder.
    pub fn name(&self) -> String {
        self.main_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "repo".into())
    }

    /// Resolve a revision (`HEAD`, a branch, a tag, an id) to a commit.
    pub fn resolve_commit(&self, rev: &str) -> Result<CommitId> {
        if rev.is_empty() || rev.starts_with('-') || rev.contains('\0') {
            return Err(GitError::UnknownRevision { rev: rev.to_string() });
        }
        if rev == "HEAD" {
            return self.head_commit()?.ok_or(GitError::UnbornHead);
        }
        let id = self.repo.rev_parse_single(rev).map_err(|_| GitError::UnknownRevision { rev: rev.to_string() })?;
        let commit = id
            .object()
            .and_then(|o| o.peel_to_commit())
            .map_err(|_| GitError::UnknownRevision { rev: rev.to_string() })?;
        Ok(CommitId::from_oid(commit.id))
    }

    /// HEAD's commit, `None` on an unborn branch.
    pub fn head_commit(&self) -> Result<Option<CommitId>> {
        let head = self.repo.head().map_err(gix_err("read HEAD"))?;
        Ok(head.id().map(|id| CommitId::from_oid(id.detach())))
    }

    /// The branch checked out here, `None` when HEAD is detached.
    pub fn head_branch(&self) -> Result<Option<String>> {
        let name = self.repo.head_name().map_err(gix_err("read HEAD"))?;
        Ok(name.and_then(|n| n.as_bstr().strip_prefix(b"refs/heads/").map(|b| b.to_str_lossy().into_owned())))
    }

    pub fn branch_tip(&self, branch: &str) -> Result<Option<CommitId>> {
        validate_branch_name(branch)?;
        let r =
            self.repo.try_find_reference(format!("refs/heads/{branch}").as_str()).map_err(gix_err("find branch"))?;
        match r {
            None => Ok(None),
            Some(mut r) => Ok(Some(CommitId::from_oid(r.peel_to_id().map_err(gix_err("peel branch"))?.detach()))),
        }
    }

    /// All local branches and their tips.
    pub fn local_branches(&self) -> Result<Vec<(String, CommitId)>> {
        let refs = self.repo.references().map_err(gix_err("list references"))?;
        let mut out = Vec::new();
        for r in refs.local_branches().map_err(gix_err("list branches"))? {
            let Ok(mut r) = r else { continue };
            let name = r.name().shorten().to_str_lossy().into_owned();
            if let Ok(id) = r.peel_to_id() {
                out.push((name, CommitId::from_oid(id.detach())));
            }
        }
        Ok(out)
    }

    /// Create `refs/heads/<name>` at `at`; fails if it exists.
    pub fn create_branch(&self, name: &str, at: &CommitId) -> Result<()> {
        validate_branch_name(name)?;
        if self.branch_tip(name)?.is_some() {
            return Err(GitError::BranchExists { name: name.to_string() });
        }
        self.repo
            .reference(
                format!("refs/heads/{name}").as_str(),
                at.oid()?,
                PreviousValue::MustNotExist,
                "branch: created by parallel-cc",
            )
            .map_err(gix_err("create branch"))?;
        Ok(())
    }

    /// Delete a local branch, only if it still points at `expected` (so a branch that moved since
    /// the caller looked is never deleted).
    pub fn delete_branch(&self, name: &str, expected: &CommitId) -> Result<()> {
        validate_branch_name(name)?;
        let full = format!("refs/heads/{name}");
        let Some(r) = self.repo.try_find_reference(full.as_str()).map_err(gix_err("find branch"))? else {
            return Ok(());
        };
        let edit = gix::refs::transaction::RefEdit {
            change: gix::refs::transaction::Change::Delete {
                expected: PreviousValue::MustExistAndMatch(gix::refs::Target::Object(expected.oid()?)),
                log: gix::refs::transaction::RefLog::AndReference,
            },
            name: r.name().to_owned(),
            deref: false,
        };
        self.repo.edit_reference(edit).map_err(gix_err("delete branch"))?;
        Ok(())
    }

    /// Is `ancestor` reachable from `descendant` (or equal to it)?
    pub fn is_ancestor(&self, ancestor: &CommitId, descendant: &CommitId) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        let base = self.repo.merge_base(ancestor.oid()?, descendant.oid()?).map_err(gix_err("merge-base"))?;
        Ok(base.map(|b| b.detach()) == Some(ancestor.oid()?))
    }

    /// Commits reachable from `tip` and not from any of `hidden`.
    pub fn count_unique(&self, tip: &CommitId, hidden: &[CommitId]) -> Result<usize> {
        let hidden: Vec<gix::ObjectId> = hidden.iter().map(CommitId::oid).collect::<Result<_>>()?;
        count_unique_oids(&self.repo, tip, hidden)
    }

    /// (ahead, behind) of `tip` relative to `base`.
    pub fn ahead_behind(&self, tip: &CommitId, base: &CommitId) -> Result<(usize, usize)> {
        Ok((self.count_unique(tip, std::slice::from_ref(base))?, self.count_unique(base, std::slice::from_ref(tip))?))
    }

    /// Is `tip` contained in (an ancestor of, or equal to) a local branch other than
    /// `except_branch`? Tags and remote-tracking refs are not considered.
    pub fn contained_in_other_branch(&self, tip: &CommitId, except_branch: &str) -> Result<bool> {
        for (name, id) in self.local_branches()? {
            if name == except_branch {
                continue;
            }
            if self.is_ancestor(tip, &id)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(crate) fn gix(&self) -> &gix::Repository {
        &self.repo
    }

    /// Path of the common git dir (`.git` of the main worktree).
    pub fn common_dir(&self) -> Result<PathBuf> {
        canonical(self.repo.common_dir())
    }

    /// Open the checkout at `path`. Reference updates write reflog entries, which need a
    /// committer: for a user without a configured git identity gix falls back to `parallel-cc`
    /// (its `gitoxide.committer.*Fallback` keys apply only when no identity is configured, and
    /// the user's configuration files are not touched).
    ///
    /// File times are compared to the nanosecond (git's `USE_NSEC`; git stores the nanoseconds in
    /// the index either way). Otherwise every file written in the same second as the index — all
    /// of a fresh worktree — counts as "racily clean" and has its content re-read by each status
    /// until something rewrites the index, which parallel-cc never does.
    pub(crate) fn workdir_of(path: &Path) -> Result<gix::Repository> {
        let options = gix::open::Options::default().config_overrides([
            "gitoxide.committer.nameFallback=parallel-cc",
            "gitoxide.committer.emailFallback=parallel-cc@localhost",
            "gitoxide.core.useNsec=true",
        ]);
        gix::open_opts(path, options)
            .map_err(|e| GitError::NotARepo { path: path.to_path_buf(), source: Some(Box::new(e)) })
    }

    pub(crate) fn read_dir_exists(path: &Path) -> Result<bool> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("cannot inspect", path)(e)),
        }
    }
}

/// Validate a branch name the way `git check-ref-format --branch` does, plus `HEAD` and a leading
/// `-` (which would read as an option).
pub fn validate_branch_name(name: &str) -> Result<()> {
    let bad = |reason: &str| Err(GitError::InvalidBranchName { name: name.to_string(), reason: reason.to_string() });
    if name.is_empty() {
        return bad("empty");
    }
    if name == "HEAD" || name == "@" || name.starts_with('-') {
        return bad("reserved");
    }
    if name.len() > 255 {
        return bad("longer than 255 bytes");
    }
    if name.chars().any(|c| c.is_control() || c == ' ') {
        return bad("contains a space or a control character");
    }
    // gix validates full ref names: a bare `main` would fail its "standalone names are uppercase" rule.
    let full = format!("refs/heads/{name}");
    match gix::validate::reference::branch_name(full.as_bytes().as_bstr()) {
        Ok(_) => Ok(()),
        Err(e) => bad(&e.to_string()),
    }
}

/// Commits reachable from `tip` but not from `hidden`.
pub(crate) fn count_unique(repo: &gix::Repository, tip: &CommitId, hidden: &CommitId) -> Result<usize> {
    count_unique_oids(repo, tip, vec![hidden.oid()?])
}

fn count_unique_oids(repo: &gix::Repository, tip: &CommitId, hidden: Vec<gix::ObjectId>) -> Result<usize> {
    let walk = repo.rev_walk([tip.oid()?]).with_hidden(hidden).all().map_err(gix_err("walk commits"))?;
    let mut n = 0;
    for info in walk {
        info.map_err(gix_err("walk commits"))?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::validate_branch_name;

    #[test]
    fn branch_names_follow_git_rules() {
        for ok in ["main", "feature/x", "parallel-abc-1234", "e2b/fix-2025-01-01-1200", "ünïcode"] {
            assert!(validate_branch_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "HEAD",
            "-x",
            "a b",
            "a..b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "x.lock",
            "/x",
            "x/",
            "a//b",
            "@{x",
            "@",
            "$(rm -rf ~)",
            "a\nb",
        ] {
            assert!(validate_branch_name(bad).is_err(), "{bad:?}");
        }
    }
}
