//! Helpers shared by the pcc-git integration tests. Everything git-CLI goes through
//! `TestEnv::git`, so the hermetic environment applies; pcc-git itself is only ever given
//! absolute, canonical paths.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pcc_testkit::TestEnv;

/// Run git in `dir` and return trimmed stdout (fails the test on a non-zero exit).
pub fn git(env: &TestEnv, dir: &Path, args: &[&str]) -> String {
    env.git(dir, args).unwrap()
}

/// Run git in `dir`, returning whether it exited successfully.
pub fn git_ok(env: &TestEnv, dir: &Path, args: &[&str]) -> bool {
    env.git_output(dir, args).unwrap().status.success()
}

/// Raw (untrimmed) stdout of a git command.
pub fn git_raw(env: &TestEnv, dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = env.git_output(dir, args).unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Does the full ref `name` exist?
pub fn ref_exists(env: &TestEnv, dir: &Path, name: &str) -> bool {
    git_ok(env, dir, &["show-ref", "--verify", "--quiet", name])
}

pub fn rev_parse(env: &TestEnv, dir: &Path, rev: &str) -> String {
    git(env, dir, &["rev-parse", "--verify", "--end-of-options", rev])
}

/// A linked worktree made by the git CLI (`git worktree add -b <branch> <path>`), canonical path.
pub fn cli_worktree(env: &TestEnv, main: &Path, dir_name: &str, branch: &str) -> PathBuf {
    let path = env.root().join("wts").join(dir_name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    git(env, main, &["worktree", "add", "-q", "-b", branch, path.to_str().unwrap()]);
    std::fs::canonicalize(&path).unwrap()
}

/// The per-worktree git dir (`.git/worktrees/<id>` for a linked worktree).
pub fn git_dir(env: &TestEnv, checkout: &Path) -> PathBuf {
    PathBuf::from(git(env, checkout, &["rev-parse", "--absolute-git-dir"]))
}

/// Paths listed by `git worktree list --porcelain` (the `worktree <path>` lines).
pub fn cli_worktree_paths(env: &TestEnv, main: &Path) -> Vec<PathBuf> {
    let out = git_raw(env, main, &["worktree", "list", "--porcelain", "-z"]);
    out.split(|b| *b == 0)
        .filter_map(|field| field.strip_prefix(b"worktree "))
        .map(|p| PathBuf::from(String::from_utf8(p.to_vec()).unwrap()))
        .collect()
}

/// `git status --porcelain=v1 -z --untracked-files=all --no-renames`, as a sorted set of raw
/// `XY path` records (one path per record).
pub fn status_set(env: &TestEnv, dir: &Path) -> BTreeSet<String> {
    let out = git_raw(env, dir, &["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"]);
    out.split(|b| *b == 0).filter(|r| !r.is_empty()).map(|r| String::from_utf8_lossy(r).into_owned()).collect()
}

#[cfg(unix)]
pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    perms.set_mode(perms.mode() | 0o111);
    std::fs::set_permissions(path, perms).unwrap();
}

#[cfg(unix)]
pub fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

pub fn write(root: &Path, rel: &str, content: &[u8]) {
    pcc_testkit::write_file(root, rel, content).unwrap();
}
