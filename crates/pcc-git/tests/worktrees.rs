#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Linked worktrees: add, list, status, remove. Every result is checked with the git CLI, which is
//! what the user will run next.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use common::{
    cli_worktree, cli_worktree_paths, git, git_dir, make_executable, ref_exists, rev_parse, status_set, symlink, write,
};
use pcc_git::{ChangeKind, CheckoutStatus, FileChange, GitError, Repo, checkout_status};
use pcc_testkit::{TestEnv, TestRepo, tree_contents};

/// A repository with a committed `.gitignore`, an executable, a symlink and nested files.
fn fixture(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("proj").unwrap();
    repo.write(".gitignore", "*.log\ntarget/\n").unwrap();
    repo.write("src/lib.rs", "pub fn f() {}\n").unwrap();
    repo.write("docs/a b/ünï.md", "unicode\n").unwrap();
    repo.write("tracked.txt", "one\n").unwrap();
    repo.write("gone.txt", "to be deleted\n").unwrap();
    repo.write("run.sh", "#!/bin/sh\necho hi\n").unwrap();
    make_executable(&repo.path.join("run.sh"));
    symlink("src/lib.rs", &repo.path.join("link"));
    repo.commit_all("fixture").unwrap();
    repo
}

fn new_worktree(env: &TestEnv, r: &Repo, dir_name: &str, branch: &str) -> PathBuf {
    let head = r.resolve_commit("HEAD").unwrap();
    r.create_branch(branch, &head).unwrap();
    let path = env.root().join("proj-worktrees").join(dir_name);
    r.add_worktree(&path, branch).unwrap();
    std::fs::canonicalize(path).unwrap()
}

fn kinds(status: &CheckoutStatus) -> HashSet<(String, ChangeKind)> {
    status.changes.iter().map(|FileChange { path, kind }| (path.clone(), *kind)).collect()
}

fn strip(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[test]
fn add_worktree_makes_a_checkout_git_accepts() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let wt = new_worktree(&env, &r, "feature one", "feature/one");

    // git agrees it is a registered worktree on the branch.
    let porcelain = git(&env, &repo.path, &["worktree", "list", "--porcelain"]);
    assert!(porcelain.contains(&format!("worktree {}\n", strip(&wt))), "{porcelain}");
    assert!(porcelain.contains("branch refs/heads/feature/one"), "{porcelain}");
    assert_eq!(git(&env, &wt, &["rev-parse", "--abbrev-ref", "HEAD"]), "feature/one");
    assert_eq!(rev_parse(&env, &wt, "HEAD"), rev_parse(&env, &repo.path, "main"));
    assert_eq!(git(&env, &wt, &["status", "--porcelain", "--untracked-files=all"]), "");
    assert_eq!(git(&env, &repo.path, &["worktree", "prune", "--dry-run", "-v"]), "");

    // Files, modes and symlinks are all there, byte for byte.
    assert_eq!(tree_contents(&wt).unwrap(), tree_contents(&repo.path).unwrap());

    // pcc-git sees it from both sides.
    let from_wt = Repo::discover(&wt).unwrap();
    assert_eq!(from_wt.main_path(), repo.path.as_path());
    assert_eq!(from_wt.checkout(), wt.as_path());
    assert_eq!(from_wt.head_branch().unwrap().as_deref(), Some("feature/one"));
    assert!(!checkout_status(&wt).unwrap().is_dirty());
    assert_eq!(Repo::checkout_head(&wt).unwrap(), Some(r.resolve_commit("main").unwrap()));
}

#[test]
fn add_worktree_at_an_existing_path_changes_nothing() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let head = r.resolve_commit("HEAD").unwrap();
    r.create_branch("b1", &head).unwrap();

    let occupied = env.root().join("occupied");
    write(&occupied, "precious.txt", b"mine\n");
    let empty = env.root().join("empty dir");
    std::fs::create_dir_all(&empty).unwrap();
    let file = env.root().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let before_list = git(&env, &repo.path, &["worktree", "list", "--porcelain"]);
    let before_occupied = tree_contents(&occupied).unwrap();

    for path in [&occupied, &empty, &file] {
        let err = r.add_worktree(path, "b1").unwrap_err();
        assert!(matches!(&err, GitError::WorktreeExists { path: p } if p == path), "{err:?}");
    }
    assert_eq!(tree_contents(&occupied).unwrap(), before_occupied);
    assert!(std::fs::read_dir(&empty).unwrap().next().is_none());
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    assert_eq!(git(&env, &repo.path, &["worktree", "list", "--porcelain"]), before_list);
    assert!(!repo.path.join(".git/worktrees").exists());
}

#[test]
fn add_worktree_refuses_bad_branches() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let dest = env.root().join("wt");
    let before = git(&env, &repo.path, &["worktree", "list", "--porcelain"]);

    let err = r.add_worktree(&dest, "a..b").unwrap_err();
    assert!(matches!(err, GitError::InvalidBranchName { .. }), "{err:?}");
    // The branch checked out in the main checkout cannot be checked out twice.
    assert!(r.add_worktree(&dest, "main").is_err());
    assert!(!dest.exists(), "a failed add must not leave a directory behind");
    assert_eq!(git(&env, &repo.path, &["worktree", "list", "--porcelain"]), before);
    assert!(!ref_exists(&env, &repo.path, "refs/heads/a..b"));
}

#[test]
fn worktrees_lists_what_git_lists() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    assert!(r.worktrees().unwrap().is_empty());

    let ours = new_worktree(&env, &r, "ours", "ours-branch");
    let theirs = cli_worktree(&env, &repo.path, "theirs", "theirs-branch");
    let detached = env.root().join("wts/detached");
    git(&env, &repo.path, &["worktree", "add", "-q", "--detach", &strip(&detached), "HEAD"]);
    let detached = std::fs::canonicalize(detached).unwrap();
    git(&env, &repo.path, &["worktree", "lock", "--reason", "on a usb stick", &strip(&theirs)]);

    // Listing from a linked worktree gives the same answer as from the main checkout.
    for from in [&repo.path, &ours] {
        let mut list = Repo::discover(from).unwrap().worktrees().unwrap();
        list.sort_by(|a, b| a.path.cmp(&b.path));
        let got: Vec<_> = list.iter().map(|e| (e.path.clone(), e.branch.clone(), e.locked, e.prunable)).collect();
        let mut want = vec![
            (ours.clone(), Some("ours-branch".to_string()), false, false),
            (theirs.clone(), Some("theirs-branch".to_string()), true, false),
            (detached.clone(), None, false, false),
        ];
        want.sort();
        assert_eq!(got, want);
        for e in &list {
            assert!(repo.path.join(".git/worktrees").join(&e.id).is_dir(), "{e:?}");
        }
    }
    let mut listed = cli_worktree_paths(&env, &repo.path);
    listed.retain(|p| p != &repo.path);
    listed.sort();
    let mut ours_listed: Vec<PathBuf> = r.worktrees().unwrap().into_iter().map(|e| e.path).collect();
    ours_listed.sort();
    assert_eq!(ours_listed, listed);

    // A directory deleted by hand shows up as prunable.
    std::fs::remove_dir_all(&detached).unwrap();
    let entry = r.worktrees().unwrap().into_iter().find(|e| e.path == detached).unwrap();
    assert!(entry.prunable);
    assert_eq!(entry.branch, None);
}

#[test]
fn checkout_status_reports_each_kind_and_ignores_ignored_files() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let wt = cli_worktree(&env, &repo.path, "wt", "feature");

    write(&wt, "tracked.txt", b"one\ntwo\n"); // modified
    write(&wt, "staged new.txt", b"staged\n"); // staged (added)
    git(&env, &wt, &["add", "staged new.txt"]);
    write(&wt, "src/lib.rs", b"pub fn g() {}\n"); // staged modification ...
    git(&env, &wt, &["add", "src/lib.rs"]);
    write(&wt, "src/lib.rs", b"pub fn h() {}\n"); // ... and modified again
    std::fs::remove_file(wt.join("gone.txt")).unwrap(); // deleted in the worktree
    write(&wt, "new dir/deeper/ünï new.txt", b"untracked\n"); // untracked in new nested dir
    write(&wt, "debug.log", b"ignored\n"); // ignored
    write(&wt, "target/out.bin", b"ignored too\n"); // ignored directory

    let status = checkout_status(&wt).unwrap();
    let want: HashSet<(String, ChangeKind)> = [
        ("tracked.txt", ChangeKind::Modified),
        ("staged new.txt", ChangeKind::Staged),
        ("src/lib.rs", ChangeKind::Staged),
        ("src/lib.rs", ChangeKind::Modified),
        ("gone.txt", ChangeKind::Modified),
        ("new dir/deeper/ünï new.txt", ChangeKind::Untracked),
    ]
    .into_iter()
    .map(|(p, k)| (p.to_string(), k))
    .collect();
    assert_eq!(kinds(&status), want, "{status:?}");
    assert!(status.is_dirty());
    assert_eq!(status.dirty_count(), 5);

    // The paths are exactly the ones git reports (porcelain, every untracked file).
    let git_paths: BTreeSet<String> = status_set(&env, &wt).into_iter().map(|rec| rec[3..].to_string()).collect();
    let our_paths: BTreeSet<String> = status.changes.iter().map(|c| c.path.clone()).collect();
    assert_eq!(our_paths, git_paths);

    // The main checkout is untouched by all this.
    assert!(!checkout_status(&repo.path).unwrap().is_dirty());
}

#[test]
fn checkout_status_sees_staged_deletion_mode_change_and_typechange() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let wt = cli_worktree(&env, &repo.path, "wt", "feature");
    git(&env, &wt, &["rm", "-q", "gone.txt"]); // staged deletion
    make_executable(&wt.join("tracked.txt")); // mode change only
    std::fs::remove_file(wt.join("link")).unwrap(); // symlink becomes a file
    write(&wt, "link", b"now a file\n");

    let status = checkout_status(&wt).unwrap();
    let want: HashSet<(String, ChangeKind)> =
        [("gone.txt", ChangeKind::Staged), ("tracked.txt", ChangeKind::Modified), ("link", ChangeKind::Modified)]
            .into_iter()
            .map(|(p, k)| (p.to_string(), k))
            .collect();
    assert_eq!(kinds(&status), want, "{status:?}");
    assert_eq!(status.dirty_count(), 3);
}

#[test]
fn checkout_status_sees_a_same_size_edit_right_after_checkout() {
    // File times are compared to the nanosecond, so files written in the same second as the index
    // are not re-read on every status; an edit in that same second must still be seen.
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let wt = new_worktree(&env, &r, "fresh", "fresh");
    assert!(checkout_status(&wt).unwrap().changes.is_empty());
    write(&wt, "tracked.txt", b"two\n");
    let status = checkout_status(&wt).unwrap();
    assert_eq!(kinds(&status), HashSet::from([("tracked.txt".to_string(), ChangeKind::Modified)]));
    // The same edit in a checkout git made (git stores nanoseconds in its index too).
    let cli = cli_worktree(&env, &repo.path, "cli", "cli");
    write(&cli, "tracked.txt", b"two\n");
    let status = checkout_status(&cli).unwrap();
    assert_eq!(kinds(&status), HashSet::from([("tracked.txt".to_string(), ChangeKind::Modified)]));
}

#[test]
fn checkout_status_does_not_write_the_index() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let wt = cli_worktree(&env, &repo.path, "wt", "feature");
    write(&wt, "tracked.txt", b"changed\n");
    let index = git_dir(&env, &wt).join("index");
    let before = std::fs::read(&index).unwrap();
    let mtime = std::fs::metadata(&index).unwrap().modified().unwrap();
    checkout_status(&wt).unwrap();
    assert_eq!(std::fs::read(&index).unwrap(), before);
    assert_eq!(std::fs::metadata(&index).unwrap().modified().unwrap(), mtime);
    assert!(!git_dir(&env, &wt).join("index.lock").exists());
}

#[test]
fn remove_refuses_a_dirty_worktree_and_keeps_the_files() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();

    // Modified tracked file.
    let modified = new_worktree(&env, &r, "modified", "b-modified");
    write(&modified, "tracked.txt", b"work in progress\n");
    // Only an untracked file.
    let untracked = new_worktree(&env, &r, "untracked", "b-untracked");
    write(&untracked, "deep/new/notes.txt", b"precious\n");
    // Only a staged file.
    let staged = new_worktree(&env, &r, "staged", "b-staged");
    write(&staged, "s.txt", b"staged\n");
    git(&env, &staged, &["add", "s.txt"]);

    for wt in [&modified, &untracked, &staged] {
        let before = tree_contents(wt).unwrap();
        let err = r.remove_worktree(wt, false).unwrap_err();
        assert!(matches!(&err, GitError::WorktreeDirty { path } if path == wt), "{err:?}");
        assert_eq!(tree_contents(wt).unwrap(), before);
        assert!(cli_worktree_paths(&env, &repo.path).contains(wt));
        assert!(git_dir(&env, wt).is_dir());
    }
    assert_eq!(std::fs::read(untracked.join("deep/new/notes.txt")).unwrap(), b"precious\n");
    // The staged blob is still in the index.
    assert_eq!(git(&env, &staged, &["diff", "--cached", "--name-only"]), "s.txt");
}

#[test]
fn remove_clean_worktree_with_ignored_files_keeps_the_branch() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let wt = new_worktree(&env, &r, "clean", "b-clean");
    // A commit on the branch, so we can tell the branch survived with its work.
    write(&wt, "committed.txt", b"committed\n");
    git(&env, &wt, &["add", "-A"]);
    git(&env, &wt, &["commit", "-q", "-m", "work"]);
    let tip = rev_parse(&env, &wt, "HEAD");
    write(&wt, "debug.log", b"ignored\n");
    write(&wt, "target/debug/out.bin", b"\0ignored\n");
    let admin = git_dir(&env, &wt);
    assert!(admin.starts_with(repo.path.join(".git/worktrees")));

    // Removing from a handle discovered inside the worktree must work too (and must not leave
    // the registration behind: CRATES.md §2(b)).
    let from_inside = Repo::discover(&wt).unwrap();
    from_inside.remove_worktree(&wt, false).unwrap();

    assert!(!wt.exists());
    assert!(!admin.exists());
    assert!(!cli_worktree_paths(&env, &repo.path).contains(&wt));
    assert_eq!(git(&env, &repo.path, &["worktree", "prune", "--dry-run", "-v"]), "");
    assert!(r.worktrees().unwrap().is_empty());
    assert_eq!(rev_parse(&env, &repo.path, "refs/heads/b-clean"), tip);
    // The main checkout is untouched.
    assert!(!checkout_status(&repo.path).unwrap().is_dirty());
}

#[test]
fn forced_remove_discards_a_dirty_worktree() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let wt = new_worktree(&env, &r, "dirty", "b-dirty");
    write(&wt, "tracked.txt", b"changed\n");
    write(&wt, "untracked.txt", b"new\n");
    git(&env, &wt, &["add", "untracked.txt"]);
    write(&wt, "more/untracked.txt", b"new\n");
    let admin = git_dir(&env, &wt);

    r.remove_worktree(&wt, true).unwrap();
    assert!(!wt.exists());
    assert!(!admin.exists());
    assert!(!cli_worktree_paths(&env, &repo.path).contains(&wt));
    assert!(ref_exists(&env, &repo.path, "refs/heads/b-dirty"));
}

#[test]
fn remove_after_the_directory_was_deleted_by_hand_prunes_the_registration() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let wt = cli_worktree(&env, &repo.path, "vanished", "b-vanished");
    let admin = git_dir(&env, &wt);
    std::fs::remove_dir_all(&wt).unwrap();
    assert!(cli_worktree_paths(&env, &repo.path).contains(&wt));

    r.remove_worktree(&wt, false).unwrap();
    assert!(!cli_worktree_paths(&env, &repo.path).contains(&wt));
    assert!(!admin.exists());
    assert!(ref_exists(&env, &repo.path, "refs/heads/b-vanished"));
}

#[test]
fn remove_never_deletes_what_is_not_a_linked_worktree() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let wt = new_worktree(&env, &r, "real", "b-real");
    write(&wt, "sub/dir/file.txt", b"x\n");
    git(&env, &wt, &["add", "-A"]);
    git(&env, &wt, &["commit", "-q", "-m", "sub"]);

    // The main checkout.
    let before_main = tree_contents(&repo.path).unwrap();
    for force in [false, true] {
        let err = r.remove_worktree(&repo.path, force).unwrap_err();
        assert!(matches!(err, GitError::NotAWorktree { .. }), "{err:?}");
    }
    assert_eq!(tree_contents(&repo.path).unwrap(), before_main);

    // A directory that is not a worktree at all, and a subdirectory of a real worktree.
    let stranger = env.root().join("stranger");
    write(&stranger, "keep.txt", b"keep\n");
    let sub = wt.join("sub/dir");
    for path in [&stranger, &sub] {
        let before = tree_contents(path).unwrap();
        assert!(r.remove_worktree(path, true).is_err(), "{}", path.display());
        assert_eq!(tree_contents(path).unwrap(), before, "{}", path.display());
    }
    assert!(cli_worktree_paths(&env, &repo.path).contains(&wt));
    assert!(wt.join("README.md").exists());
}

#[test]
fn a_removed_worktree_can_be_added_again_at_the_same_path() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let wt = new_worktree(&env, &r, "again", "b-again");
    r.remove_worktree(&wt, false).unwrap();
    r.add_worktree(&wt, "b-again").unwrap();
    assert_eq!(git(&env, &wt, &["status", "--porcelain"]), "");
    assert_eq!(git(&env, &wt, &["rev-parse", "--abbrev-ref", "HEAD"]), "b-again");
    assert_eq!(r.worktrees().unwrap().len(), 1);
}
