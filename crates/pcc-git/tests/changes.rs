#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The cheap per-file look-ups the hooks use, checked against the git command line.

mod common;

use common::{git, rev_parse};
use pcc_git::{CommitId, Repo, file_blob_id, head_commit_of};
use pcc_testkit::TestEnv;

#[test]
fn head_is_read_from_loose_and_packed_refs_detached_and_unborn() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let head = rev_parse(&env, &repo.path, "HEAD");
    assert_eq!(head_commit_of(&repo.path).unwrap().unwrap().as_str(), head);

    // Packed refs only (what `git gc` leaves behind).
    repo.write("b.txt", "b\n").unwrap();
    let second = repo.commit_all("second").unwrap();
    git(&env, &repo.path, &["pack-refs", "--all", "--prune"]);
    assert!(!repo.path.join(".git/refs/heads/main").exists());
    assert_eq!(head_commit_of(&repo.path).unwrap().unwrap().as_str(), second);

    // Detached HEAD.
    git(&env, &repo.path, &["checkout", "-q", "--detach", &head]);
    assert_eq!(head_commit_of(&repo.path).unwrap().unwrap().as_str(), head);

    // A branch with no commits yet.
    git(&env, &repo.path, &["checkout", "-q", "--orphan", "fresh"]);
    assert_eq!(head_commit_of(&repo.path).unwrap(), None);
    assert_eq!(Repo::open(&repo.path).unwrap().head_commit().unwrap(), None);
}

#[test]
fn head_of_a_checkout_whose_git_dir_is_elsewhere_is_still_found() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let head = rev_parse(&env, &repo.path, "HEAD");
    // `.git` as a file pointing at the real git dir (git init --separate-git-dir).
    let elsewhere = env.root().join("gitdirs").join("proj.git");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::rename(repo.path.join(".git"), &elsewhere).unwrap();
    std::fs::write(repo.path.join(".git"), format!("gitdir: {}\n", elsewhere.display())).unwrap();
    git(&env, &repo.path, &["config", "core.worktree", repo.path.to_str().unwrap()]);
    assert_eq!(head_commit_of(&repo.path).unwrap().unwrap().as_str(), head);
}

#[test]
fn blob_ids_match_git() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    repo.write("src/a.rs", "fn a() {}\n").unwrap();
    let commit = repo.commit_all("add a").unwrap();
    let expected = git(&env, &repo.path, &["rev-parse", &format!("{commit}:src/a.rs")]);

    let on_disk = file_blob_id(&repo.path.join("src/a.rs")).unwrap().unwrap();
    assert_eq!(on_disk, git(&env, &repo.path, &["hash-object", "src/a.rs"]));
    assert_eq!(on_disk, expected);
    assert_eq!(file_blob_id(&repo.path.join("src/missing.rs")).unwrap(), None);
    assert_eq!(file_blob_id(&repo.path.join("src")).unwrap(), None, "a directory is no file");

    let r = Repo::open(&repo.path).unwrap();
    let at = CommitId::parse(&commit).unwrap();
    assert_eq!(r.blob_id_at(&at, "src/a.rs").unwrap().unwrap(), expected);
    assert_eq!(r.blob_id_at(&at, "src/missing.rs").unwrap(), None);
    assert_eq!(r.blob_id_at(&at, "src").unwrap(), None, "a tree is no blob");
}

#[test]
fn unmerged_stages_are_what_git_left_in_the_index() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    repo.write("a.txt", "base\n").unwrap();
    repo.commit_all("base").unwrap();
    git(&env, &repo.path, &["checkout", "-q", "-b", "feature"]);
    repo.write("a.txt", "feature\n").unwrap();
    repo.write("new.txt", "only on feature\n").unwrap();
    repo.commit_all("feature").unwrap();
    git(&env, &repo.path, &["checkout", "-q", "main"]);
    repo.write("a.txt", "main\n").unwrap();
    repo.commit_all("main").unwrap();

    let open = || Repo::open(&repo.path).unwrap();
    assert_eq!(open().unmerged_stages("a.txt").unwrap(), None, "no merge yet");
    assert_eq!(open().operation_in_progress(), None);

    assert!(!common::git_ok(&env, &repo.path, &["merge", "-q", "feature"]));
    let stages = open().unmerged_stages("a.txt").unwrap().unwrap();
    assert_eq!(stages.operation, Some("merge"));
    assert_eq!(stages.base.as_deref(), Some(&b"base\n"[..]));
    assert_eq!(stages.ours.as_deref(), Some(&b"main\n"[..]));
    assert_eq!(stages.theirs.as_deref(), Some(&b"feature\n"[..]));
    assert_eq!(open().unmerged_stages("new.txt").unwrap(), None, "merged cleanly");
    assert_eq!(open().unmerged_stages("missing.txt").unwrap(), None);

    // Resolved and staged: no longer unmerged.
    repo.write("a.txt", "both\n").unwrap();
    git(&env, &repo.path, &["add", "a.txt"]);
    assert_eq!(open().unmerged_stages("a.txt").unwrap(), None);
}
