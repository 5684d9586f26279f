//! `.worktreeinclude`: gitignored files (such as `.env`) copied from the main checkout into a new
//! worktree. The file uses gitignore syntax; only paths that git ignores are copied, so tracked
//! and untracked-but-visible files never are.

use std::path::Path;

use gix::bstr::{BStr, ByteSlice};

use crate::error::{Result, gix_err, io_err};
use crate::repo::Repo;

pub const WORKTREE_INCLUDE_FILE: &str = ".worktreeinclude";

struct Include {
    search: gix::ignore::Search,
}

impl Include {
    fn load(main: &Path) -> Result<Option<Include>> {
        let file = main.join(WORKTREE_INCLUDE_FILE);
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("cannot read", &file)(e)),
        };
        let mut search = gix::ignore::Search::default();
        search
            .add_patterns_buffer(
                &bytes,
                file.clone(),
                Some(main),
                gix::ignore::search::Ignore { support_precious: false },
            )
            .map_err(io_err("cannot parse", &file))?;
        Ok(Some(Include { search }))
    }

    fn matches(&self, rela: &BStr, is_dir: bool) -> bool {
        self.search
            .pattern_matching_relative_path(rela, Some(is_dir), gix::glob::pattern::Case::Sensitive)
            .is_some_and(|m| !m.pattern.is_negative())
    }
}

impl Repo {
    /// Copy the ignored files named by the main checkout's `.worktreeinclude` into `dest`.
    /// Returns the repo-relative paths copied.
    pub fn copy_worktree_includes(&self, dest: &Path) -> Result<Vec<String>> {
        let main = self.main_path();
        let Some(include) = Include::load(main)? else {
            return Ok(Vec::new());
        };
        let repo = Repo::workdir_of(main)?;
        let index = repo.index_or_empty().map_err(gix_err("read index"))?;
        let options = repo
            .dirwalk_options()
            .map_err(gix_err("dirwalk"))?
            .emit_ignored(Some(gix::dir::walk::EmissionMode::Matching))
            .emit_untracked(gix::dir::walk::EmissionMode::CollapseDirectory)
            .emit_tracked(false)
            .recurse_repositories(false);
        let interrupt = std::sync::atomic::AtomicBool::new(false);
        let mut collect = gix::dir::walk::delegate::Collect::default();
        repo.dirwalk(&index, None::<&str>, &interrupt, options, &mut collect).map_err(gix_err("dirwalk"))?;
        let mut copied = Vec::new();
        for (entry, _) in collect.unorded_entries {
            if entry.status != gix::dir::entry::Status::Ignored(gix::ignore::Kind::Expendable) {
                continue;
            }
            let rela = entry.rela_path.to_str_lossy().into_owned();
            let is_dir = matches!(entry.disk_kind, Some(gix::dir::entry::Kind::Directory));
            if include.matches(entry.rela_path.as_bstr(), is_dir) {
                copy_tree(&main.join(&rela), &dest.join(&rela), &rela, &mut copied)?;
            } else if is_dir {
                // A pattern may name something inside an ignored directory (`config/*.key`).
                copy_matching_below(&include, main, dest, &rela, &mut copied)?;
            }
        }
        copied.sort();
        Ok(copied)
    }
}

fn copy_matching_below(
    include: &Include,
    main: &Path,
    dest: &Path,
    rela_dir: &str,
    copied: &mut Vec<String>,
) -> Result<()> {
    let dir = main.join(rela_dir);
    let entries = std::fs::read_dir(&dir).map_err(io_err("cannot read", &dir))?;
    for entry in entries {
        let entry = entry.map_err(io_err("cannot read", &dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rela = format!("{rela_dir}/{name}");
        let ft = entry.file_type().map_err(io_err("cannot inspect", entry.path()))?;
        if include.matches(rela.as_bytes().as_bstr(), ft.is_dir()) {
            copy_tree(&entry.path(), &dest.join(&rela), &rela, copied)?;
        } else if ft.is_dir() {
            copy_matching_below(include, main, dest, &rela, copied)?;
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path, rela: &str, copied: &mut Vec<String>) -> Result<()> {
    let meta = std::fs::symlink_metadata(from).map_err(io_err("cannot inspect", from))?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io_err("cannot create directory", parent))?;
    }
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(io_err("cannot read link", from))?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(target, to).map_err(io_err("cannot create link", to))?;
        copied.push(rela.to_string());
    } else if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(io_err("cannot create directory", to))?;
        for entry in std::fs::read_dir(from).map_err(io_err("cannot read", from))? {
            let entry = entry.map_err(io_err("cannot read", from))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            copy_tree(&entry.path(), &to.join(&name), &format!("{rela}/{name}"), copied)?;
        }
    } else if meta.is_file() {
        std::fs::copy(from, to).map_err(io_err("cannot copy", from))?;
        copied.push(rela.to_string());
    }
    Ok(())
}
