#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Branches and ancestry, checked against the git command line.

mod common;

use common::{git, git_ok, ref_exists, rev_parse};
use pcc_git::{CommitId, GitError, Repo, validate_branch_name};
use pcc_testkit::{TestEnv, TestRepo};

fn id(env: &TestEnv, repo: &TestRepo<'_>, rev: &str) -> CommitId {
    CommitId::parse(&rev_parse(env, &repo.path, rev)).unwrap()
}

#[test]
fn create_branch_and_read_its_tip() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let r = Repo::discover(&repo.path).unwrap();
    let head = r.resolve_commit("HEAD").unwrap();

    assert_eq!(r.branch_tip("feature/x").unwrap(), None);
    r.create_branch("feature/x", &head).unwrap();
    assert_eq!(r.branch_tip("feature/x").unwrap(), Some(head.clone()));
    assert_eq!(rev_parse(&env, &repo.path, "refs/heads/feature/x"), head.as_str());
    // git sees a well-formed branch.
    let listed = git(&env, &repo.path, &["branch", "--format=%(refname:short) %(objectname)"]);
    assert!(listed.lines().any(|l| l == format!("feature/x {head}")), "{listed}");
    assert!(r.local_branches().unwrap().contains(&("feature/x".to_string(), head.clone())));

    // Unicode branch names are fine.
    r.create_branch("ünïcode-分支", &head).unwrap();
    assert!(ref_exists(&env, &repo.path, "refs/heads/ünïcode-分支"));
}

#[test]
fn existing_branch_is_not_overwritten() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let first = rev_parse(&env, &repo.path, "HEAD");
    git(&env, &repo.path, &["branch", "taken"]);
    repo.write("b.txt", "b\n").unwrap();
    repo.commit_all("second").unwrap();

    let r = Repo::discover(&repo.path).unwrap();
    let head = r.resolve_commit("HEAD").unwrap();
    let err = r.create_branch("taken", &head).unwrap_err();
    assert!(matches!(&err, GitError::BranchExists { name } if name == "taken"), "{err:?}");
    assert!(err.hint().is_some());
    assert_eq!(rev_parse(&env, &repo.path, "refs/heads/taken"), first);
    // The checked-out branch too.
    let err = r.create_branch("main", &head).unwrap_err();
    assert!(matches!(err, GitError::BranchExists { .. }), "{err:?}");
}

#[test]
fn invalid_branch_names_are_rejected_and_nothing_is_created() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let r = Repo::discover(&repo.path).unwrap();
    let head = r.resolve_commit("HEAD").unwrap();
    let refs_before = git(&env, &repo.path, &["for-each-ref", "--format=%(refname)"]);

    for bad in [
        "",
        "HEAD",
        "-x",
        "--force",
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
        "a/x.lock/b",
        "/x",
        "x/",
        "a//b",
        "a/.hidden",
        "@{x",
        "@",
        "$(rm -rf ~)",
        "a\nb",
        "a\tb",
        "x.",
    ] {
        let err = validate_branch_name(bad).unwrap_err();
        assert!(matches!(err, GitError::InvalidBranchName { .. }), "{bad:?}: {err:?}");
        let err = r.create_branch(bad, &head).unwrap_err();
        assert!(matches!(err, GitError::InvalidBranchName { .. }), "{bad:?}: {err:?}");
        // Whatever our validator says, git must agree the name is bad (we are never more lenient).
        assert!(
            !git_ok(&env, &repo.path, &["check-ref-format", "--branch", bad])
                || bad == "HEAD"
                || bad == "@"
                || bad.starts_with('-'),
            "{bad:?}"
        );
    }
    for good in ["main2", "feature/x", "parallel-abc-1234", "e2b/fix-2025-01-01-1200", "a.b", "a-b_c", "日本"] {
        validate_branch_name(good).unwrap();
        assert!(git_ok(&env, &repo.path, &["check-ref-format", "--branch", good]), "{good}");
    }
    assert_eq!(git(&env, &repo.path, &["for-each-ref", "--format=%(refname)"]), refs_before);
}

#[test]
fn unknown_revisions_are_typed_errors() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let r = Repo::discover(&repo.path).unwrap();
    for rev in
        ["nope", "refs/heads/nope", "-x", "--all", "", "HEAD~5", "0000000000000000000000000000000000000000", "a\0b"]
    {
        let err = r.resolve_commit(rev).unwrap_err();
        assert!(matches!(&err, GitError::UnknownRevision { rev: got } if got == rev), "{rev:?}: {err:?}");
    }
    // A tree is not a commit.
    let tree = rev_parse(&env, &repo.path, "HEAD^{tree}");
    let err = r.resolve_commit(&tree).unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err:?}");
}

#[test]
fn delete_branch_only_when_the_tip_is_as_expected() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let r = Repo::discover(&repo.path).unwrap();
    let c1 = r.resolve_commit("HEAD").unwrap();
    r.create_branch("gone", &c1).unwrap();
    r.create_branch("moved", &c1).unwrap();

    // Matching tip: deleted.
    r.delete_branch("gone", &c1).unwrap();
    assert!(!ref_exists(&env, &repo.path, "refs/heads/gone"));
    assert_eq!(r.branch_tip("gone").unwrap(), None);
    // Deleting what is not there is fine.
    r.delete_branch("gone", &c1).unwrap();

    // The branch moved since the caller looked: it must survive.
    repo.write("b.txt", "b\n").unwrap();
    let c2 = repo.commit_all("second").unwrap();
    git(&env, &repo.path, &["branch", "-f", "moved", &c2]);
    let result = r.delete_branch("moved", &c1);
    assert!(result.is_err(), "deleting a moved branch must report failure");
    assert!(ref_exists(&env, &repo.path, "refs/heads/moved"));
    assert_eq!(rev_parse(&env, &repo.path, "refs/heads/moved"), c2);

    // Invalid names are refused before anything is looked up.
    let err = r.delete_branch("a..b", &c1).unwrap_err();
    assert!(matches!(err, GitError::InvalidBranchName { .. }), "{err:?}");
}

#[test]
fn delete_branch_works_on_packed_refs() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    git(&env, &repo.path, &["branch", "packed"]);
    git(&env, &repo.path, &["branch", "packed-moved"]);
    git(&env, &repo.path, &["pack-refs", "--all"]);
    assert!(!repo.path.join(".git/refs/heads/packed").exists());
    let r = Repo::discover(&repo.path).unwrap();
    let tip = r.branch_tip("packed").unwrap().unwrap();
    r.delete_branch("packed", &tip).unwrap();
    assert!(!ref_exists(&env, &repo.path, "refs/heads/packed"));
    // The neighbour in packed-refs is untouched.
    assert!(ref_exists(&env, &repo.path, "refs/heads/packed-moved"));
    git(&env, &repo.path, &["fsck", "--no-progress"]);

    // A packed branch whose tip moved (now a loose ref) is kept.
    repo.write("b.txt", "b\n").unwrap();
    let c2 = repo.commit_all("second").unwrap();
    git(&env, &repo.path, &["branch", "-f", "packed-moved", &c2]);
    assert!(r.delete_branch("packed-moved", &tip).is_err());
    assert_eq!(rev_parse(&env, &repo.path, "refs/heads/packed-moved"), c2);
}

/// ```text
///   main:    A ─ D ───── M (merged)
///             \         /
///   feat:      B ─ C ──┘
///                \
///   side:         E
///   orphan: O (unrelated history)
/// ```
fn history(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("proj").unwrap();
    let g = |args: &[&str]| git(env, &repo.path, args);
    g(&["checkout", "-q", "-b", "feat"]);
    repo.write("b.txt", "b\n").unwrap();
    repo.commit_all("B").unwrap();
    repo.write("c.txt", "c\n").unwrap();
    repo.commit_all("C").unwrap();
    g(&["checkout", "-q", "-b", "side", "feat~1"]);
    repo.write("e.txt", "e\n").unwrap();
    repo.commit_all("E").unwrap();
    g(&["checkout", "-q", "main"]);
    repo.write("d.txt", "d\n").unwrap();
    repo.commit_all("D").unwrap();
    g(&["checkout", "-q", "-b", "merged"]);
    g(&["merge", "-q", "--no-edit", "feat"]);
    g(&["checkout", "-q", "--orphan", "orphan"]);
    g(&["rm", "-q", "-rf", "."]);
    repo.write("o.txt", "o\n").unwrap();
    repo.commit_all("O").unwrap();
    g(&["checkout", "-q", "main"]);
    repo
}

const BRANCHES: [&str; 5] = ["main", "feat", "side", "merged", "orphan"];

#[test]
fn ancestry_agrees_with_git() {
    let env = TestEnv::new().unwrap();
    let repo = history(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let mut revs: Vec<&str> = BRANCHES.to_vec();
    revs.extend(["feat~1", "main~1"]);

    for a in &revs {
        for b in &revs {
            let (ia, ib) = (id(&env, &repo, a), id(&env, &repo, b));
            let git_says = git_ok(&env, &repo.path, &["merge-base", "--is-ancestor", a, b]);
            assert_eq!(r.is_ancestor(&ia, &ib).unwrap(), git_says, "is_ancestor({a}, {b})");

            let ahead: usize = git(&env, &repo.path, &["rev-list", "--count", &format!("{b}..{a}")]).parse().unwrap();
            let behind: usize = git(&env, &repo.path, &["rev-list", "--count", &format!("{a}..{b}")]).parse().unwrap();
            assert_eq!(r.ahead_behind(&ia, &ib).unwrap(), (ahead, behind), "ahead_behind({a}, {b})");
        }
    }
}

#[test]
fn count_unique_agrees_with_git_rev_list() {
    let env = TestEnv::new().unwrap();
    let repo = history(&env);
    let r = Repo::discover(&repo.path).unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("feat", &[]),
        ("merged", &[]),
        ("feat", &["main"]),
        ("merged", &["main"]),
        ("merged", &["main", "feat"]),
        ("merged", &["side"]),
        ("side", &["feat", "main"]),
        ("main", &["merged"]),
        ("orphan", &["main"]),
        ("merged", &["orphan", "side"]),
    ];
    for (tip, hidden) in cases {
        let mut args = vec!["rev-list".to_string(), "--count".to_string(), tip.to_string()];
        args.extend(hidden.iter().map(|h| format!("^{h}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let want: usize = git(&env, &repo.path, &args).parse().unwrap();
        let hidden_ids: Vec<CommitId> = hidden.iter().map(|h| id(&env, &repo, h)).collect();
        assert_eq!(r.count_unique(&id(&env, &repo, tip), &hidden_ids).unwrap(), want, "{tip} ^{hidden:?}");
    }
}

#[test]
fn contained_in_other_branch_agrees_with_git_branch_contains() {
    let env = TestEnv::new().unwrap();
    let repo = history(&env);
    let r = Repo::discover(&repo.path).unwrap();
    for tip in BRANCHES {
        let containing = git(&env, &repo.path, &["branch", "--format=%(refname:short)", "--contains", tip]);
        let others: Vec<&str> = containing.lines().filter(|b| *b != tip).collect();
        let got = r.contained_in_other_branch(&id(&env, &repo, tip), tip).unwrap();
        assert_eq!(got, !others.is_empty(), "{tip}: other branches containing it: {others:?}");
    }
    // Sanity on the fixture itself: feat is merged, side and orphan are not.
    assert!(r.contained_in_other_branch(&id(&env, &repo, "feat"), "feat").unwrap());
    assert!(!r.contained_in_other_branch(&id(&env, &repo, "side"), "side").unwrap());
    assert!(!r.contained_in_other_branch(&id(&env, &repo, "orphan"), "orphan").unwrap());
    // A commit sitting on no branch at all, reachable only from a tag, is not "contained".
    git(&env, &repo.path, &["checkout", "-q", "--detach", "side"]);
    repo.write("z.txt", "z\n").unwrap();
    let dangling = repo.commit_all("Z").unwrap();
    git(&env, &repo.path, &["tag", "keep", &dangling]);
    git(&env, &repo.path, &["checkout", "-q", "main"]);
    assert!(!r.contained_in_other_branch(&CommitId::parse(&dangling).unwrap(), "side").unwrap());
}
