#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Merged-branch detection (PRODUCT.md §4.3): every way a branch reaches its target, made with
//! the git command line, and the ways it only seems to. Every `merge_state` call is also checked
//! to leave the object database as it was.

mod common;

use common::{cli_worktree, git, rev_parse};
use pcc_git::{CommitId, GitError, MergeHow, MergeState, Repo};
use pcc_testkit::{TestEnv, TestRepo};

const FF: MergeState = MergeState::Merged(MergeHow::FastForward);
const MERGE_COMMIT: MergeState = MergeState::Merged(MergeHow::MergeCommit);
const CONTAINED: MergeState = MergeState::Merged(MergeHow::Contained);

/// A repository whose `main` has `a.txt` and `b.txt`, twenty numbered lines each, so that edits
/// to lines far apart merge cleanly.
fn setup(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("proj").unwrap();
    let lines: String = (1..=20).map(|n| format!("line {n}\n")).collect();
    repo.write("a.txt", &lines).unwrap();
    repo.write("b.txt", &lines).unwrap();
    repo.commit_all("base").unwrap();
    repo
}

/// Replace line `n` of `file` and commit; returns the new commit.
fn edit(repo: &TestRepo<'_>, file: &str, n: usize, text: &str) -> String {
    let old = std::fs::read_to_string(repo.path.join(file)).unwrap_or_default();
    let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
    if lines.len() < n {
        lines.resize(n, String::new());
    }
    lines[n - 1] = text.to_string();
    repo.write(file, &(lines.join("\n") + "\n")).unwrap();
    repo.commit_all(&format!("{file}:{n} = {text}")).unwrap()
}

fn id(repo: &TestRepo<'_>, rev: &str) -> CommitId {
    CommitId::parse(&repo.git(&["rev-parse", "--verify", "--end-of-options", rev]).unwrap()).unwrap()
}

/// `merge_state(branch, main, fork)` with the fork point read from the branch's reflog (or
/// `None`), asserting that it wrote no object.
fn state_with(repo: &TestRepo<'_>, branch: &str, use_fork_point: bool) -> MergeState {
    let r = Repo::discover(&repo.path).unwrap();
    let tip = r.branch_tip(branch).unwrap().unwrap();
    let target = r.branch_tip("main").unwrap().unwrap();
    let fork = if use_fork_point { r.branch_fork_point(branch).unwrap() } else { None };
    if use_fork_point {
        assert!(fork.is_some(), "{branch} has a reflog");
    }
    let objects = repo.object_count().unwrap();
    let state = r.merge_state(&tip, &target, fork.as_ref()).unwrap();
    assert_eq!(repo.object_count().unwrap(), objects, "merge_state wrote objects");
    state
}

fn state(repo: &TestRepo<'_>, branch: &str) -> MergeState {
    state_with(repo, branch, true)
}

/// `feat` forked from main with two commits (a.txt line 3, b.txt line 15), main checked out.
fn feature_branch(repo: &TestRepo<'_>) {
    repo.git(&["switch", "-q", "-c", "feat"]).unwrap();
    edit(repo, "a.txt", 3, "feat three");
    edit(repo, "b.txt", 15, "feat fifteen");
    repo.git(&["switch", "-q", "main"]).unwrap();
}

/// An unrelated commit on main (a.txt line 18). Copies of the branch's commits made after it
/// are new commits: with the tests' fixed dates, a commit re-made on the same parent with the
/// same tree and message would be the very same commit.
fn main_moves(repo: &TestRepo<'_>) {
    edit(repo, "a.txt", 18, "main eighteen");
}

/// The branch's tip is not in main's history: only its changes can be.
fn assert_not_ancestor(repo: &TestRepo<'_>, branch: &str) {
    let r = Repo::discover(&repo.path).unwrap();
    assert!(!r.is_ancestor(&id(repo, branch), &id(repo, "main")).unwrap(), "{branch} is in main's history");
}

#[test]
fn fast_forward_merge() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);

    repo.git(&["merge", "-q", "--ff-only", "feat"]).unwrap();
    assert_eq!(state(&repo, "feat"), FF);
    // Still a fast-forward once main moves on.
    main_moves(&repo);
    assert_eq!(state(&repo, "feat"), FF);
    assert_eq!(MergeHow::FastForward.as_str(), "fast-forward");
}

#[test]
fn merge_commit() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    main_moves(&repo);
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge feat", "feat"]).unwrap();
    assert_eq!(state(&repo, "feat"), MERGE_COMMIT);
    assert_eq!(MergeHow::MergeCommit.as_str(), "merge-commit");

    // --no-ff while main has not moved: the tip is still only the merge's second parent.
    repo.git(&["switch", "-q", "-c", "feat2"]).unwrap();
    edit(&repo, "b.txt", 1, "feat2 one");
    repo.git(&["switch", "-q", "main"]).unwrap();
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge feat2", "feat2"]).unwrap();
    assert_eq!(state(&repo, "feat2"), MERGE_COMMIT);
}

#[test]
fn squash_merge() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    main_moves(&repo);
    repo.git(&["merge", "-q", "--squash", "feat"]).unwrap();
    repo.commit_all("feat, squashed").unwrap();
    assert_not_ancestor(&repo, "feat");
    assert_eq!(state(&repo, "feat"), CONTAINED);
    assert_eq!(state_with(&repo, "feat", false), CONTAINED, "no fork point needed");
    assert_eq!(MergeHow::Contained.as_str(), "squash-or-rebase");
}

#[test]
fn rebased_branch_then_fast_forwarded() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    let created_at = id(&repo, "main");
    feature_branch(&repo);
    main_moves(&repo);
    repo.git(&["switch", "-q", "feat"]).unwrap();
    repo.git(&["rebase", "-q", "main"]).unwrap();
    repo.git(&["switch", "-q", "main"]).unwrap();
    repo.git(&["merge", "-q", "--ff-only", "feat"]).unwrap();

    let r = Repo::discover(&repo.path).unwrap();
    assert_eq!(r.branch_fork_point("feat").unwrap(), Some(created_at), "the rebase kept the creation entry");
    assert_eq!(state(&repo, "feat"), FF);
}

/// GitHub's "rebase and merge": main gets new copies of the branch's commits; the local branch
/// keeps the originals.
#[test]
fn rebase_and_merge_with_copied_commits() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    main_moves(&repo);
    repo.git(&["cherry-pick", "main..feat"]).unwrap();
    assert_not_ancestor(&repo, "feat");
    assert_eq!(state(&repo, "feat"), CONTAINED);

    // The same through a rebased copy of the branch fast-forwarded into main.
    repo.git(&["switch", "-q", "-c", "feat2", "feat"]).unwrap();
    edit(&repo, "b.txt", 8, "feat2 eight");
    repo.git(&["switch", "-q", "-c", "feat2-rebased", "feat2"]).unwrap();
    repo.git(&["rebase", "-q", "main"]).unwrap();
    repo.git(&["switch", "-q", "main"]).unwrap();
    repo.git(&["merge", "-q", "--ff-only", "feat2-rebased"]).unwrap();
    assert_not_ancestor(&repo, "feat2");
    assert_eq!(state(&repo, "feat2"), CONTAINED);
}

#[test]
fn rebase_merge_after_which_main_moved_on() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    main_moves(&repo);
    repo.git(&["cherry-pick", "main..feat"]).unwrap();
    // Unrelated work on main afterwards, in the same files and a new one.
    edit(&repo, "a.txt", 10, "main ten");
    edit(&repo, "b.txt", 1, "main one");
    edit(&repo, "c.txt", 1, "new file");
    assert_not_ancestor(&repo, "feat");
    assert_eq!(state(&repo, "feat"), CONTAINED);
}

#[test]
fn empty_branch_is_empty_not_merged() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    repo.git(&["branch", "fresh"]).unwrap();
    assert_eq!(state(&repo, "fresh"), MergeState::Empty);
    assert_eq!(state_with(&repo, "fresh", false), MergeState::Empty);
    // Main moves on: the branch still has nothing of its own.
    edit(&repo, "a.txt", 5, "main five");
    assert_eq!(state(&repo, "fresh"), MergeState::Empty);
    assert_eq!(state_with(&repo, "fresh", false), MergeState::Empty);

    // Created by parallel-cc, at a commit that is not main's tip.
    let r = Repo::discover(&repo.path).unwrap();
    let older = id(&repo, "main~1");
    r.create_branch("session", &older).unwrap();
    assert_eq!(state(&repo, "session"), MergeState::Empty);

    // Reset back behind where it was created: still no commits of its own.
    repo.git(&["branch", "-f", "fresh", "main~2"]).unwrap();
    assert_eq!(state(&repo, "fresh"), MergeState::Empty);
}

/// Without a fork point a tip main already contains cannot be told from an unused branch: both
/// count as empty. What is not an ancestor is still checked.
#[test]
fn without_a_fork_point_an_ancestor_tip_is_empty() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge feat", "feat"]).unwrap();
    assert_eq!(state(&repo, "feat"), MERGE_COMMIT);
    assert_eq!(state_with(&repo, "feat", false), MergeState::Empty);

    // A fork point that is not in the repository (e.g. garbage-collected) is ignored.
    let r = Repo::discover(&repo.path).unwrap();
    let gone = CommitId::parse("0123456789abcdef0123456789abcdef01234567").unwrap();
    let state = r.merge_state(&id(&repo, "feat"), &id(&repo, "main"), Some(&gone)).unwrap();
    assert_eq!(state, MergeState::Empty);
}

#[test]
fn branch_with_unmerged_commits_is_not_merged() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);
    assert_eq!(state_with(&repo, "feat", false), MergeState::NotMerged);

    // Merged once, then more work on the branch.
    repo.git(&["merge", "-q", "--ff-only", "feat"]).unwrap();
    repo.git(&["switch", "-q", "feat"]).unwrap();
    edit(&repo, "a.txt", 12, "feat twelve");
    repo.git(&["switch", "-q", "main"]).unwrap();
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);

    // Main ahead of the fork, branch ahead of main's merge base: a plain diverged branch.
    edit(&repo, "b.txt", 19, "main nineteen");
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);
}

#[test]
fn partially_squashed_branch_is_not_merged() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    main_moves(&repo);
    // Only the a.txt change reaches main, squashed by hand.
    edit(&repo, "a.txt", 3, "feat three");
    assert_not_ancestor(&repo, "feat~1");
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);
}

/// The branch's first commit was cherry-picked into main, its second was not.
#[test]
fn cherry_picked_first_commit_of_two_is_not_merged() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    main_moves(&repo);
    repo.git(&["cherry-pick", "feat~1"]).unwrap();
    assert_not_ancestor(&repo, "feat~1");
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);
    // And a branch whose only commit was cherry-picked, that then got more commits.
    repo.git(&["switch", "-q", "-c", "solo"]).unwrap();
    edit(&repo, "a.txt", 7, "solo seven");
    repo.git(&["switch", "-q", "main"]).unwrap();
    edit(&repo, "b.txt", 19, "main nineteen");
    repo.git(&["cherry-pick", "solo"]).unwrap();
    assert_not_ancestor(&repo, "solo");
    assert_eq!(state(&repo, "solo"), CONTAINED);
    repo.git(&["switch", "-q", "solo"]).unwrap();
    edit(&repo, "b.txt", 7, "solo seven");
    repo.git(&["switch", "-q", "main"]).unwrap();
    assert_eq!(state(&repo, "solo"), MergeState::NotMerged);
}

/// A squash-merged branch whose changes main then reverted: the changes are not in main, so it is
/// not "contained". (A fast-forwarded branch stays merged after a revert: its commits are still
/// in main's history.)
#[test]
fn squash_merge_reverted_on_main_is_not_merged() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    repo.git(&["merge", "-q", "--squash", "feat"]).unwrap();
    repo.commit_all("feat, squashed").unwrap();
    assert_eq!(state(&repo, "feat"), CONTAINED);
    repo.git(&["revert", "--no-edit", "HEAD"]).unwrap();
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);

    repo.git(&["switch", "-q", "-c", "ff"]).unwrap();
    edit(&repo, "a.txt", 9, "ff nine");
    repo.git(&["switch", "-q", "main"]).unwrap();
    repo.git(&["merge", "-q", "--ff-only", "ff"]).unwrap();
    repo.git(&["revert", "--no-edit", "HEAD"]).unwrap();
    assert_eq!(state(&repo, "ff"), FF);
}

/// A branch whose commits cancel out: merging it changes nothing, yet it was never merged.
#[test]
fn branch_that_undid_its_own_change_is_not_merged() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    repo.git(&["switch", "-q", "-c", "feat"]).unwrap();
    edit(&repo, "a.txt", 3, "feat three");
    edit(&repo, "a.txt", 3, "line 3");
    repo.git(&["switch", "-q", "main"]).unwrap();
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);
    edit(&repo, "b.txt", 4, "main four");
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);
}

#[test]
fn conflicting_branch_is_not_merged() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    feature_branch(&repo);
    edit(&repo, "a.txt", 3, "main three");
    assert_eq!(state(&repo, "feat"), MergeState::NotMerged);

    // The branch's only change conflicts: the merge stops there, and what it built so far is
    // main's tree. That is not "merging changes nothing".
    repo.git(&["switch", "-q", "-c", "one-change", "main~1"]).unwrap();
    edit(&repo, "a.txt", 3, "one-change three");
    repo.git(&["switch", "-q", "main"]).unwrap();
    assert_eq!(state(&repo, "one-change"), MergeState::NotMerged);
}

#[test]
fn fork_point_is_where_the_branch_was_created() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    let base = id(&repo, "main");
    edit(&repo, "a.txt", 1, "main one");
    // Created at an older commit than main's tip, then committed to.
    repo.git(&["branch", "feat", base.as_str()]).unwrap();
    repo.git(&["switch", "-q", "feat"]).unwrap();
    edit(&repo, "a.txt", 3, "feat three");
    edit(&repo, "a.txt", 4, "feat four");
    repo.git(&["switch", "-q", "main"]).unwrap();
    let r = Repo::discover(&repo.path).unwrap();
    assert_eq!(r.branch_fork_point("feat").unwrap(), Some(base.clone()));

    // Renamed: the reflog moves with it.
    repo.git(&["branch", "-m", "feat", "feature/renamed"]).unwrap();
    assert_eq!(r.branch_fork_point("feature/renamed").unwrap(), Some(base.clone()));
    assert_eq!(r.branch_fork_point("feat").unwrap(), None);

    // Created by parallel-cc.
    let main = id(&repo, "main");
    r.create_branch("session", &main).unwrap();
    assert_eq!(r.branch_fork_point("session").unwrap(), Some(main.clone()));

    // Created with a linked worktree, and read from inside it.
    let wt = cli_worktree(&env, &repo.path, "wt", "in-worktree");
    git(&env, &wt, &["commit", "-q", "--allow-empty", "-m", "in worktree"]);
    let from_wt = Repo::discover(&wt).unwrap();
    assert_eq!(from_wt.branch_fork_point("in-worktree").unwrap(), Some(main.clone()));
    assert_ne!(rev_parse(&env, &wt, "HEAD"), main.as_str());

    // main's own reflog starts at the repository's first commit.
    let root = repo.git(&["rev-list", "--max-parents=0", "main"]).unwrap();
    assert_eq!(r.branch_fork_point("main").unwrap().map(|c| c.to_string()), Some(root));
}

#[test]
fn fork_point_is_unknown_without_a_creation_entry() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    let r = Repo::discover(&repo.path).unwrap();

    // No reflog at all.
    repo.git(&["-c", "core.logAllRefUpdates=false", "branch", "nolog"]).unwrap();
    assert!(!repo.path.join(".git/logs/refs/heads/nolog").exists());
    assert_eq!(r.branch_fork_point("nolog").unwrap(), None);

    // The creation entry expired: the oldest entry left is a later move, not the creation.
    repo.git(&["branch", "feat"]).unwrap();
    repo.git(&["switch", "-q", "feat"]).unwrap();
    edit(&repo, "a.txt", 3, "feat three");
    repo.git(&["switch", "-q", "main"]).unwrap();
    assert!(r.branch_fork_point("feat").unwrap().is_some());
    repo.git(&["reflog", "delete", "feat@{1}"]).unwrap();
    assert_eq!(repo.git(&["reflog", "show", "--format=%H", "feat"]).unwrap().lines().count(), 1);
    assert_eq!(r.branch_fork_point("feat").unwrap(), None);

    // No such branch.
    assert_eq!(r.branch_fork_point("missing").unwrap(), None);
}

#[test]
fn invalid_names_and_unknown_commits_are_errors() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    let r = Repo::discover(&repo.path).unwrap();
    for bad in ["", "-x", "a..b", "$(touch pwned)"] {
        let err = r.branch_fork_point(bad).unwrap_err();
        assert!(matches!(err, GitError::InvalidBranchName { .. }), "{bad:?}: {err:?}");
    }
    let main = id(&repo, "main");
    let missing = CommitId::parse("0123456789abcdef0123456789abcdef01234567").unwrap();
    let err = r.merge_state(&missing, &main, None).unwrap_err();
    assert!(matches!(&err, GitError::UnknownRevision { rev } if rev == missing.as_str()), "{err:?}");
    let err = r.merge_state(&main, &missing, None).unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err:?}");
}

/// The in-memory merges write merged blobs, trees and virtual merge bases: none of it may reach
/// the object database. Here the merge of a.txt yields content no commit has, and the criss-cross
/// history needs a virtual merge base.
#[test]
fn merge_state_writes_no_objects() {
    let env = TestEnv::new().unwrap();
    let repo = setup(&env);
    // Criss-cross: two branches that each merged the other.
    repo.git(&["switch", "-q", "-c", "x"]).unwrap();
    edit(&repo, "a.txt", 2, "x two");
    repo.git(&["switch", "-q", "-c", "y", "main"]).unwrap();
    edit(&repo, "b.txt", 2, "y two");
    repo.git(&["switch", "-q", "x"]).unwrap();
    repo.git(&["merge", "-q", "--no-ff", "-m", "y into x", "y~0"]).unwrap();
    repo.git(&["switch", "-q", "y"]).unwrap();
    repo.git(&["merge", "-q", "--no-ff", "-m", "x~1 into y", "x~1"]).unwrap();
    edit(&repo, "a.txt", 17, "y seventeen");
    repo.git(&["switch", "-q", "x"]).unwrap();
    edit(&repo, "a.txt", 8, "x eight");
    repo.git(&["switch", "-q", "main"]).unwrap();
    repo.git(&["reset", "-q", "--hard", "x"]).unwrap();
    let bases = repo.git(&["merge-base", "--all", "main", "y"]).unwrap();
    assert_eq!(bases.lines().count(), 2, "criss-cross: {bases}");

    let r = Repo::discover(&repo.path).unwrap();
    let objects = repo.object_count().unwrap();
    // a.txt changed on both sides in different places: a clean content merge, new blob and tree.
    assert_eq!(r.merge_state(&id(&repo, "y"), &id(&repo, "main"), None).unwrap(), MergeState::NotMerged);
    // Squash y into main: now merging y changes nothing.
    repo.git(&["merge", "-q", "--squash", "y"]).unwrap();
    repo.commit_all("y, squashed").unwrap();
    let objects_after_squash = repo.object_count().unwrap();
    assert!(objects_after_squash > objects);
    assert_eq!(r.merge_state(&id(&repo, "y"), &id(&repo, "main"), None).unwrap(), CONTAINED);
    assert_eq!(repo.object_count().unwrap(), objects_after_squash);
    assert_eq!(repo.git(&["status", "--porcelain"]).unwrap(), "");
}
