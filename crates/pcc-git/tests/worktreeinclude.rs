#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `.worktreeinclude` (PRODUCT.md §2.1 step 3): ignored files named by the include file are copied
//! from the main checkout into a new worktree; tracked and visible-untracked files never are.

mod common;

use std::path::PathBuf;

use common::{git, write};
use pcc_git::{Repo, WORKTREE_INCLUDE_FILE, checkout_status};
use pcc_testkit::{TestEnv, TestRepo, tree_contents};

fn fixture(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("proj").unwrap();
    repo.write(".gitignore", ".env\nsecrets/\n*.local\nbuild/\n").unwrap();
    repo.commit_all("ignore").unwrap();
    repo.write("tracked.local", "tracked, force-added\n").unwrap();
    git(env, &repo.path, &["add", "-f", "tracked.local"]);
    git(env, &repo.path, &["commit", "-q", "-m", "tracked.local"]);

    repo.write(".env", "API_KEY=secret\n").unwrap();
    write(&repo.path, "secrets/a.key", b"\x00key bytes\xff");
    repo.write("config/x.local", "local config\n").unwrap();
    repo.write("build/big.bin", "big\n").unwrap();
    repo.write("notes.txt", "untracked, not ignored\n").unwrap();
    // The tracked file has local edits in the main checkout: they must not travel either.
    repo.write("tracked.local", "edited in main\n").unwrap();
    repo
}

fn new_worktree(env: &TestEnv, r: &Repo, branch: &str) -> PathBuf {
    let head = r.resolve_commit("HEAD").unwrap();
    r.create_branch(branch, &head).unwrap();
    let dest = env.root().join("proj-worktrees").join(branch);
    r.add_worktree(&dest, branch).unwrap();
    std::fs::canonicalize(dest).unwrap()
}

#[test]
fn copies_exactly_the_ignored_files_named_by_worktreeinclude() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    repo.write(WORKTREE_INCLUDE_FILE, ".env\nsecrets/\n*.local\n").unwrap();
    let r = Repo::discover(&repo.path).unwrap();
    let dest = new_worktree(&env, &r, "wt");
    let fresh = tree_contents(&dest).unwrap();

    let copied = r.copy_worktree_includes(&dest).unwrap();
    assert_eq!(copied, vec![".env".to_string(), "config/x.local".to_string(), "secrets/a.key".to_string()]);

    let after = tree_contents(&dest).unwrap();
    let main = tree_contents(&repo.path).unwrap();
    for p in &copied {
        assert_eq!(after.get(p), main.get(p), "{p} copied byte for byte");
    }
    let mut added: Vec<&String> = after.keys().filter(|k| !fresh.contains_key(*k)).collect();
    added.sort();
    assert_eq!(added, copied.iter().collect::<Vec<_>>(), "nothing else appeared");
    assert!(!dest.join("build").exists());
    assert!(!dest.join("notes.txt").exists());
    assert_eq!(std::fs::read(dest.join("tracked.local")).unwrap(), b"tracked, force-added\n");
    // The copied files are ignored in the worktree too: it stays clean.
    assert!(!checkout_status(&dest).unwrap().is_dirty());
    assert_eq!(git(&env, &dest, &["status", "--porcelain", "--untracked-files=all"]), "");
    // The main checkout is not changed by the copy.
    assert_eq!(tree_contents(&repo.path).unwrap(), main);
}

#[test]
fn the_same_from_a_linked_worktree_handle() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    repo.write(WORKTREE_INCLUDE_FILE, ".env\nsecrets/\n*.local\n").unwrap();
    let r = Repo::discover(&repo.path).unwrap();
    let first = new_worktree(&env, &r, "first");
    // The include list is the main checkout's, even when asked through another worktree.
    let from_linked = Repo::discover(&first).unwrap();
    let dest = new_worktree(&env, &from_linked, "second");
    let copied = from_linked.copy_worktree_includes(&dest).unwrap();
    assert_eq!(copied, vec![".env".to_string(), "config/x.local".to_string(), "secrets/a.key".to_string()]);
}

#[test]
fn only_ignored_files_are_copied_even_when_named() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    repo.write(WORKTREE_INCLUDE_FILE, "notes.txt\ntracked.local\nREADME.md\n.env\n").unwrap();
    let r = Repo::discover(&repo.path).unwrap();
    let dest = new_worktree(&env, &r, "wt");
    let copied = r.copy_worktree_includes(&dest).unwrap();
    assert_eq!(copied, vec![".env".to_string()]);
    assert!(!dest.join("notes.txt").exists());
    assert_eq!(std::fs::read(dest.join("tracked.local")).unwrap(), b"tracked, force-added\n");
}

#[test]
fn no_worktreeinclude_copies_nothing() {
    let env = TestEnv::new().unwrap();
    let repo = fixture(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let dest = new_worktree(&env, &r, "wt");
    let fresh = tree_contents(&dest).unwrap();
    assert_eq!(r.copy_worktree_includes(&dest).unwrap(), Vec::<String>::new());
    assert_eq!(tree_contents(&dest).unwrap(), fresh);

    // An empty include file, or one with only comments, copies nothing either.
    repo.write(WORKTREE_INCLUDE_FILE, "# nothing\n\n").unwrap();
    assert_eq!(r.copy_worktree_includes(&dest).unwrap(), Vec::<String>::new());
    assert_eq!(tree_contents(&dest).unwrap(), fresh);
}
