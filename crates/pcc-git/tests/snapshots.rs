#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Snapshots (PRODUCT.md §2.6): the full state of a checkout saved before a forced removal and
//! brought back byte for byte by restore. The user's index is never touched.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{cli_worktree, git, git_dir, git_raw, make_executable, ref_exists, rev_parse, status_set, symlink, write};
use pcc_git::{CommitId, GitError, Repo, SNAPSHOT_REF_PREFIX};
use pcc_testkit::{TestEnv, TestRepo, tree_contents};

type Tree = BTreeMap<String, (Vec<u8>, u32)>;

const BINARY: &[u8] = b"\x00\x01binary\xff\xfe\x00\xc3\x28 not utf-8 \x80\x00";

fn fixture(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("proj").unwrap();
    repo.write(".gitignore", "*.log\n/cache/\n").unwrap();
    repo.write("modified.txt", "original\n").unwrap();
    repo.write("both.txt", "base\n").unwrap();
    repo.write("deleted.txt", "delete me\n").unwrap();
    repo.write("unstaged-later.txt", "stays in index\n").unwrap();
    repo.write("script.sh", "#!/bin/sh\necho hi\n").unwrap();
    repo.write("src/keep.rs", "fn keep() {}\n").unwrap();
    repo.write("to-rename.txt", "this file is renamed with git mv, staged\n").unwrap();
    symlink("src/keep.rs", &repo.path.join("committed-link"));
    repo.commit_all("fixture").unwrap();
    repo
}

/// Everything the brief lists, in a linked worktree whose branch has a commit of its own.
fn dirty_worktree(env: &TestEnv, repo: &TestRepo<'_>) -> PathBuf {
    let wt = cli_worktree(env, &repo.path, "proj-dirty", "feature");
    write(&wt, "committed-on-branch.txt", b"only on the branch\n");
    git(env, &wt, &["add", "-A"]);
    git(env, &wt, &["commit", "-q", "-m", "branch work"]);

    write(&wt, "modified.txt", b"original\nplus an unstaged line\n");
    write(&wt, "staged-new.txt", b"brand new and staged\n");
    git(env, &wt, &["add", "staged-new.txt"]);
    write(&wt, "both.txt", b"base\nstaged line\n");
    git(env, &wt, &["add", "both.txt"]);
    write(&wt, "both.txt", b"base\nstaged line\nunstaged line\n");
    std::fs::remove_file(wt.join("deleted.txt")).unwrap();
    git(env, &wt, &["rm", "-q", "--cached", "unstaged-later.txt"]); // staged deletion, file stays
    std::fs::create_dir_all(wt.join("renamed")).unwrap();
    git(env, &wt, &["mv", "to-rename.txt", "renamed/now.txt"]); // staged rename
    write(&wt, "new/nested/dir/untracked.txt", b"untracked, nested\n");
    write(&wt, "tool", b"#!/bin/sh\nexit 0\n");
    make_executable(&wt.join("tool")); // untracked executable
    make_executable(&wt.join("script.sh")); // tracked file gains +x
    symlink("../modified.txt", &wt.join("new/link-to-modified"));
    symlink("does/not/exist", &wt.join("dangling-link"));
    std::fs::remove_file(wt.join("committed-link")).unwrap();
    symlink("modified.txt", &wt.join("committed-link")); // retargeted symlink
    write(&wt, "bin/data.bin", BINARY);
    write(&wt, "dir with space/ünïcödé file 日本.txt", b"unicode name\n");
    write(&wt, "debug.log", b"ignored\n");
    write(&wt, "cache/big.bin", b"ignored dir\n");
    wt
}

const IGNORED: [&str; 2] = ["debug.log", "cache/big.bin"];

fn without_ignored(mut tree: Tree) -> Tree {
    for p in IGNORED {
        tree.remove(p);
    }
    tree
}

/// Paths git reports as changed (porcelain v1 `XY path`), without ignored files.
fn changed_paths(env: &TestEnv, dir: &Path) -> BTreeSet<String> {
    status_set(env, dir).into_iter().map(|rec| rec[3..].to_string()).collect()
}

/// The tree git itself would build for the whole worktree (`git add -A` into a scratch index).
fn expected_worktree_tree(env: &TestEnv, wt: &Path) -> String {
    let scratch = env.root().join("scratch-index");
    std::fs::copy(git_dir(env, wt).join("index"), &scratch).unwrap();
    let run = |args: &[&str]| {
        let out = env.command("git").arg("-C").arg(wt).args(args).env("GIT_INDEX_FILE", &scratch).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    run(&["add", "-A"]);
    let tree = run(&["write-tree"]);
    std::fs::remove_file(&scratch).unwrap();
    tree
}

#[test]
fn snapshot_and_restore_roundtrip_every_kind_of_change() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let wt = dirty_worktree(&env, &repo);
    let r = Repo::discover(&repo.path).unwrap();
    let head = rev_parse(&env, &wt, "HEAD");

    let before_tree = tree_contents(&wt).unwrap();
    assert!(before_tree.contains_key("debug.log"));
    let before_status = status_set(&env, &wt);
    let before_staged = git(&env, &wt, &["diff", "--cached", "--name-only"]);
    let before_index_contents = git_raw(&env, &wt, &["ls-files", "-s", "-z"]);
    let changed = changed_paths(&env, &wt);
    let want_w_tree = expected_worktree_tree(&env, &wt);
    let index_path = git_dir(&env, &wt).join("index");
    let index_before = std::fs::read(&index_path).unwrap();

    let out = r.snapshot(&wt, "first", "snapshot of proj-dirty").unwrap();

    // The user's index and status are untouched.
    assert_eq!(std::fs::read(&index_path).unwrap(), index_before, "snapshot wrote the user's index");
    assert!(!git_dir(&env, &wt).join("index.lock").exists());
    assert_eq!(status_set(&env, &wt), before_status);
    assert_eq!(tree_contents(&wt).unwrap(), before_tree);

    // The ref exists, as git sees it, and the commit is laid out like `git stash create`.
    let ref_name = format!("{SNAPSHOT_REF_PREFIX}first");
    assert_eq!(out.ref_name, ref_name);
    assert_eq!(git(&env, &repo.path, &["show-ref", "--verify", "--hash", &ref_name]), out.commit.as_str());
    assert_eq!(out.head.as_ref().map(CommitId::as_str), Some(head.as_str()));
    assert_eq!(rev_parse(&env, &repo.path, &format!("{}^1", out.commit)), head);
    let index_tree = rev_parse(&env, &repo.path, &format!("{}^2^{{tree}}", out.commit));
    assert_eq!(rev_parse(&env, &repo.path, &format!("{}^2^1", out.commit)), head);
    assert_eq!(rev_parse(&env, &repo.path, &format!("{}^{{tree}}", out.commit)), want_w_tree);
    git(&env, &repo.path, &["fsck", "--no-progress", "--no-dangling"]);

    // Ignored files are not part of a snapshot.
    let w_files = git(&env, &repo.path, &["ls-tree", "-r", "--name-only", "-z", out.commit.as_str()]);
    for p in IGNORED {
        assert!(!w_files.split('\0').any(|f| f == p), "{p} must not be in the snapshot");
    }
    assert_eq!(out.file_count, changed.len(), "changed paths: {changed:?}");
    assert!(out.size_bytes > 0);
    assert!(out.skipped.is_empty());

    // The same name twice is refused and the ref is unchanged.
    let err = r.snapshot(&wt, "first", "again").unwrap_err();
    assert!(matches!(&err, GitError::SnapshotExists { name } if name == "first"), "{err:?}");
    assert_eq!(rev_parse(&env, &repo.path, &ref_name), out.commit.as_str());

    // Now lose everything: force-remove the worktree, delete the branch.
    r.remove_worktree(&wt, true).unwrap();
    assert!(!wt.exists());
    git(&env, &repo.path, &["branch", "-q", "-D", "feature"]);
    assert!(!ref_exists(&env, &repo.path, "refs/heads/feature"));

    // And bring it back somewhere else.
    let dest = env.root().join("restored here");
    let restored = r.restore_snapshot(&out.commit, &dest, "feature").unwrap();
    let dest = std::fs::canonicalize(&dest).unwrap();
    assert_eq!(restored.path, dest);

    assert_eq!(tree_contents(&dest).unwrap(), without_ignored(before_tree));
    assert_eq!(rev_parse(&env, &repo.path, "refs/heads/feature"), head);
    assert_eq!(git(&env, &dest, &["rev-parse", "--abbrev-ref", "HEAD"]), "feature");
    assert_eq!(git(&env, &dest, &["diff", "--cached", "--name-only"]), before_staged);
    assert_eq!(git_raw(&env, &dest, &["ls-files", "-s", "-z"]), before_index_contents);
    assert_eq!(git(&env, &dest, &["write-tree"]), index_tree);
    assert_eq!(status_set(&env, &dest), before_status);
    // git can check out and diff it normally.
    assert_eq!(git(&env, &dest, &["show", ":both.txt"]), "base\nstaged line");
    assert_eq!(std::fs::read(dest.join("bin/data.bin")).unwrap(), BINARY);
}

#[test]
fn snapshot_of_a_clean_worktree_is_its_head() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let wt = cli_worktree(&env, &repo.path, "clean", "clean");
    write(&wt, "debug.log", b"ignored only\n");
    let r = Repo::discover(&wt).unwrap();

    let out = r.snapshot(&wt, "clean-1", "clean").unwrap();
    assert_eq!(out.file_count, 0);
    assert_eq!(out.size_bytes, 0);
    let head = rev_parse(&env, &wt, "HEAD");
    assert_eq!(out.head.as_ref().map(CommitId::as_str), Some(head.as_str()));
    let head_tree = rev_parse(&env, &wt, "HEAD^{tree}");
    assert_eq!(rev_parse(&env, &wt, &format!("{}^{{tree}}", out.commit)), head_tree);
    assert_eq!(rev_parse(&env, &wt, &format!("{}^2^{{tree}}", out.commit)), head_tree);
    assert!(ref_exists(&env, &repo.path, "refs/parallel-cc/snapshots/clean-1"));

    // Restored on a new branch: a clean checkout of HEAD.
    let dest = env.root().join("clean-restored");
    r.restore_snapshot(&out.commit, &dest, "clean-restored").unwrap();
    assert_eq!(git(&env, &dest, &["status", "--porcelain", "--untracked-files=all"]), "");
    assert_eq!(rev_parse(&env, &dest, "HEAD"), head);
    let mut want = tree_contents(&wt).unwrap();
    want.remove("debug.log");
    assert_eq!(tree_contents(&dest).unwrap(), want);
}

#[test]
fn snapshot_with_only_untracked_files() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let wt = cli_worktree(&env, &repo.path, "untracked", "untracked");
    write(&wt, "a.txt", b"a\n");
    write(&wt, "deep/er/b.bin", BINARY);
    write(&wt, "ünï côdé/c d.txt", b"c\n");
    write(&wt, "debug.log", b"ignored\n");
    let before = tree_contents(&wt).unwrap();
    let r = Repo::discover(&repo.path).unwrap();

    let out = r.snapshot(&wt, "untracked-1", "untracked only").unwrap();
    assert_eq!(out.file_count, 3);
    assert_eq!(out.size_bytes, (2 + BINARY.len() + 2) as u64);
    // The index commit is HEAD's tree: nothing was staged.
    assert_eq!(rev_parse(&env, &wt, &format!("{}^2^{{tree}}", out.commit)), rev_parse(&env, &wt, "HEAD^{tree}"));

    r.remove_worktree(&wt, true).unwrap();
    let dest = env.root().join("untracked-restored");
    // The branch still exists at the snapshot's HEAD: restore reuses it.
    r.restore_snapshot(&out.commit, &dest, "untracked").unwrap();
    let mut want = before;
    want.remove("debug.log");
    assert_eq!(tree_contents(&dest).unwrap(), want);
    assert_eq!(git(&env, &dest, &["diff", "--cached", "--name-only"]), "");
    let untracked: BTreeSet<String> = changed_paths(&env, &dest);
    let want_untracked: BTreeSet<String> =
        ["a.txt", "deep/er/b.bin", "ünï côdé/c d.txt"].into_iter().map(String::from).collect();
    assert_eq!(untracked, want_untracked);
}

#[test]
fn snapshot_of_the_main_checkout_leaves_it_alone() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    repo.write("modified.txt", "changed in main\n").unwrap();
    repo.write("new.txt", "new\n").unwrap();
    git(&env, &repo.path, &["add", "new.txt"]);
    let r = Repo::discover(&repo.path).unwrap();
    let index = repo.path.join(".git/index");
    let index_before = std::fs::read(&index).unwrap();
    let status_before = status_set(&env, &repo.path);

    let out = r.snapshot(&repo.path, "main-1", "main").unwrap();
    assert_eq!(std::fs::read(&index).unwrap(), index_before);
    assert_eq!(status_set(&env, &repo.path), status_before);
    assert_eq!(out.file_count, 2);
    assert_eq!(git(&env, &repo.path, &["show", &format!("{}:modified.txt", out.commit)]), "changed in main");
    assert_eq!(git(&env, &repo.path, &["show", &format!("{}^2:new.txt", out.commit)]), "new");
}

#[test]
fn restore_refuses_a_branch_that_moved_and_an_occupied_destination() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let wt = cli_worktree(&env, &repo.path, "w", "w");
    write(&wt, "x.txt", b"x\n");
    let r = Repo::discover(&repo.path).unwrap();
    let out = r.snapshot(&wt, "w-1", "w").unwrap();
    r.remove_worktree(&wt, true).unwrap();

    // The branch moved on since the snapshot: restoring onto it would lie about HEAD.
    let dest = env.root().join("dest");
    repo.write("later.txt", "later\n").unwrap();
    let later = repo.commit_all("later").unwrap();
    git(&env, &repo.path, &["branch", "-f", "w", &later]);
    let err = r.restore_snapshot(&out.commit, &dest, "w").unwrap_err();
    assert!(matches!(err, GitError::BranchExists { .. }), "{err:?}");
    assert!(!dest.exists());
    assert_eq!(rev_parse(&env, &repo.path, "refs/heads/w"), later);

    // An occupied destination.
    write(&dest, "mine.txt", b"mine\n");
    let err = r.restore_snapshot(&out.commit, &dest, "fresh").unwrap_err();
    assert!(matches!(err, GitError::WorktreeExists { .. }), "{err:?}");
    assert_eq!(std::fs::read(dest.join("mine.txt")).unwrap(), b"mine\n");
    assert!(!ref_exists(&env, &repo.path, "refs/heads/fresh"), "a failed restore must not leave a new branch behind");

    // Not a snapshot commit.
    let plain = r.resolve_commit("HEAD").unwrap();
    assert!(r.restore_snapshot(&plain, &env.root().join("dest2"), "fresh2").is_err());
}

#[test]
fn snapshot_ref_can_be_deleted() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let out = r.snapshot(&repo.path, "tmp", "tmp").unwrap();
    assert!(ref_exists(&env, &repo.path, &out.ref_name));
    r.delete_snapshot_ref(&out.ref_name).unwrap();
    assert!(!ref_exists(&env, &repo.path, &out.ref_name));
    r.delete_snapshot_ref(&out.ref_name).unwrap();
    // The name is free again.
    r.snapshot(&repo.path, "tmp", "tmp").unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn snapshot_keeps_files_whose_names_are_not_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let wt = cli_worktree(&env, &repo.path, "latin1", "latin1");
    let name = OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(wt.join(name), b"latin-1 name\n").unwrap();
    let before = tree_contents(&wt).unwrap();
    let r = Repo::discover(&repo.path).unwrap();

    let out = r.snapshot(&wt, "latin1", "non-utf8").unwrap();
    assert_eq!(out.file_count, 1);
    let listed = git_raw(&env, &repo.path, &["ls-tree", "-r", "--name-only", "-z", out.commit.as_str()]);
    assert!(listed.split(|b| *b == 0).any(|n| n == b"caf\xe9.txt"), "{}", String::from_utf8_lossy(&listed));

    r.remove_worktree(&wt, true).unwrap();
    let dest = env.root().join("latin1-restored");
    r.restore_snapshot(&out.commit, &dest, "latin1").unwrap();
    assert_eq!(std::fs::read(dest.join(name)).unwrap(), b"latin-1 name\n");
    assert_eq!(tree_contents(&dest).unwrap(), before);
}

#[test]
fn nested_repositories_are_reported_as_skipped() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let wt = cli_worktree(&env, &repo.path, "nested", "nested");
    let sub = wt.join("vendor/sub");
    std::fs::create_dir_all(&sub).unwrap();
    git(&env, &sub, &["init", "-q"]);
    write(&sub, "f.txt", b"inner\n");
    git(&env, &sub, &["add", "."]);
    git(&env, &sub, &["commit", "-q", "-m", "inner"]);
    write(&wt, "modified.txt", b"outer change\n");

    // The checkout counts as dirty, so removal without force is refused ...
    let status = pcc_git::checkout_status(&wt).unwrap();
    assert!(status.changes.iter().any(|c| c.path == "vendor/sub"), "{status:?}");
    let r = Repo::discover(&repo.path).unwrap();
    assert!(matches!(r.remove_worktree(&wt, false).unwrap_err(), GitError::WorktreeDirty { .. }));

    // ... and the snapshot says what it could not capture.
    let out = r.snapshot(&wt, "nested-1", "nested").unwrap();
    assert_eq!(out.skipped, vec!["vendor/sub".to_string()]);
    assert_eq!(out.file_count, 1);
    assert_eq!(git(&env, &repo.path, &["show", &format!("{}:modified.txt", out.commit)]), "outer change");
    assert!(sub.join("f.txt").exists());
}
