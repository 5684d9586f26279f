#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Repository identity (PRODUCT.md §0.2): the main worktree's canonical path, whatever checkout
//! or subdirectory the repository is reached from; and the typed errors for what is not a usable
//! repository.

mod common;

use common::{cli_worktree, git, rev_parse};
use pcc_git::{GitError, Repo};
use pcc_testkit::TestEnv;

#[test]
fn main_checkout_subdirectory_and_linked_worktree_share_one_identity() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    repo.write("src/deep/nested/file.txt", "x\n").unwrap();
    repo.commit_all("nested").unwrap();
    let linked = cli_worktree(&env, &repo.path, "proj-feature", "feature");
    std::fs::create_dir_all(linked.join("src/deep")).unwrap();

    let from_main = Repo::discover(&repo.path).unwrap();
    let from_sub = Repo::discover(&repo.path.join("src/deep/nested")).unwrap();
    let from_linked = Repo::discover(&linked).unwrap();
    let from_linked_sub = Repo::discover(&linked.join("src/deep")).unwrap();

    for r in [&from_main, &from_sub, &from_linked, &from_linked_sub] {
        assert_eq!(r.main_path(), repo.path.as_path(), "{r:?}");
        assert_eq!(r.name(), "proj");
        assert_eq!(r.common_dir().unwrap(), repo.path.join(".git"));
    }
    assert_eq!(from_main.checkout(), repo.path.as_path());
    assert_eq!(from_sub.checkout(), repo.path.as_path());
    assert!(from_main.is_main_checkout());
    assert!(from_sub.is_main_checkout());

    assert_eq!(from_linked.checkout(), linked.as_path());
    assert_eq!(from_linked_sub.checkout(), linked.as_path());
    assert!(!from_linked.is_main_checkout());
    assert!(!from_linked_sub.is_main_checkout());

    // Each checkout sees its own HEAD.
    assert_eq!(from_main.head_branch().unwrap().as_deref(), Some("main"));
    assert_eq!(from_linked.head_branch().unwrap().as_deref(), Some("feature"));

    // `open` on the exact checkout roots agrees with `discover`.
    let opened = Repo::open(&linked).unwrap();
    assert_eq!(opened.main_path(), repo.path.as_path());
    assert_eq!(opened.checkout(), linked.as_path());
}

#[test]
fn identity_is_canonical_when_reached_through_a_symlink_or_dot_dot() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    repo.write("sub/f.txt", "x\n").unwrap();
    let alias = env.root().join("alias");
    std::os::unix::fs::symlink(&repo.path, &alias).unwrap();

    let via_link = Repo::discover(&alias.join("sub")).unwrap();
    assert_eq!(via_link.main_path(), repo.path.as_path());
    assert_eq!(via_link.checkout(), repo.path.as_path());
    assert!(via_link.is_main_checkout());

    let via_dots = Repo::discover(&repo.path.join("sub/../sub/..")).unwrap();
    assert_eq!(via_dots.main_path(), repo.path.as_path());
}

#[test]
fn hostile_directory_names_work() {
    let env = TestEnv::new().unwrap();
    let name = "we ird \"quoted\" 'single' $(echo no)\nnew line ünïcødé 日本";
    let repo = env.repo(name).unwrap();
    let r = Repo::discover(&repo.path).unwrap();
    assert_eq!(r.main_path(), repo.path.as_path());
    assert_eq!(r.name(), name);
    assert!(r.is_main_checkout());
    assert!(r.head_commit().unwrap().is_some());

    // A linked worktree with an equally hostile name reaches the same identity.
    let linked = cli_worktree(&env, &repo.path, "wt \"q\"\nline ü", "feature");
    let from_linked = Repo::discover(&linked).unwrap();
    assert_eq!(from_linked.main_path(), repo.path.as_path());
    assert_eq!(from_linked.checkout(), linked.as_path());
    assert!(!from_linked.is_main_checkout());
}

#[test]
fn not_a_repository_is_a_typed_error() {
    let env = TestEnv::new().unwrap();
    let plain = env.root().join("plain dir");
    std::fs::create_dir_all(plain.join("sub")).unwrap();
    let err = Repo::discover(&plain.join("sub")).unwrap_err();
    assert!(matches!(err, GitError::NotARepo { .. }), "{err:?}");
    assert!(err.hint().is_some());
    let err = Repo::open(&plain).unwrap_err();
    assert!(matches!(err, GitError::NotARepo { .. }), "{err:?}");
}

#[test]
fn nonexistent_path_is_no_such_path() {
    let env = TestEnv::new().unwrap();
    let missing = env.root().join("does/not/exist");
    let err = Repo::discover(&missing).unwrap_err();
    assert!(matches!(&err, GitError::NoSuchPath { path } if path == &missing), "{err:?}");
    let err = Repo::open(&missing).unwrap_err();
    assert!(matches!(err, GitError::NoSuchPath { .. }), "{err:?}");
}

#[test]
fn bare_repository_is_refused() {
    let env = TestEnv::new().unwrap();
    let bare = env.root().join("bare.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&env, &bare, &["init", "-q", "--bare", "-b", "main"]);
    let err = Repo::discover(&bare).unwrap_err();
    assert!(matches!(err, GitError::Bare { .. }), "{err:?}");
    assert!(err.hint().is_some());
    let err = Repo::open(&bare).unwrap_err();
    assert!(matches!(err, GitError::Bare { .. }), "{err:?}");
}

#[test]
fn repository_without_commits_has_an_unborn_head() {
    let env = TestEnv::new().unwrap();
    let path = env.root().join("empty");
    std::fs::create_dir_all(&path).unwrap();
    git(&env, &path, &["init", "-q", "-b", "trunk"]);

    let r = Repo::discover(&path).unwrap();
    assert_eq!(r.main_path(), std::fs::canonicalize(&path).unwrap().as_path());
    assert!(r.is_main_checkout());
    assert_eq!(r.head_commit().unwrap(), None);
    assert_eq!(r.head_branch().unwrap().as_deref(), Some("trunk"));
    let err = r.resolve_commit("HEAD").unwrap_err();
    assert!(matches!(err, GitError::UnbornHead), "{err:?}");
    let err = r.resolve_commit("trunk").unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err:?}");
    assert!(r.local_branches().unwrap().is_empty());
}

#[test]
fn detached_head_has_no_branch_but_resolves() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let first = rev_parse(&env, &repo.path, "HEAD");
    repo.write("b.txt", "b\n").unwrap();
    repo.commit_all("second").unwrap();
    git(&env, &repo.path, &["checkout", "-q", "--detach", &first]);

    let r = Repo::discover(&repo.path).unwrap();
    assert_eq!(r.head_branch().unwrap(), None);
    assert_eq!(r.resolve_commit("HEAD").unwrap().as_str(), first);
    assert_eq!(r.head_commit().unwrap().unwrap().as_str(), first);
    // Branches are still there and resolvable.
    assert_eq!(r.resolve_commit("main").unwrap().as_str(), rev_parse(&env, &repo.path, "main"));
}

#[test]
fn resolve_commit_accepts_what_git_accepts() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let c1 = rev_parse(&env, &repo.path, "HEAD");
    repo.write("b.txt", "b\n").unwrap();
    let c2 = repo.commit_all("second").unwrap();
    git(&env, &repo.path, &["tag", "-a", "-m", "annotated", "v1", &c1]);
    git(&env, &repo.path, &["tag", "light", &c2]);
    let r = Repo::discover(&repo.path).unwrap();

    for (rev, want) in [
        ("HEAD", &c2),
        ("main", &c2),
        ("refs/heads/main", &c2),
        ("HEAD~1", &c1),
        ("v1", &c1), // annotated tag peels to its commit
        ("light", &c2),
        (c1.as_str(), &c1),
        (&c2[..10], &c2),
    ] {
        assert_eq!(r.resolve_commit(rev).unwrap().as_str(), want, "{rev}");
    }
    let id = r.resolve_commit("HEAD").unwrap();
    assert_eq!(id.short(), &c2[..8]);
    assert_eq!(pcc_git::CommitId::parse(&c2), Some(id));
    assert_eq!(pcc_git::CommitId::parse("not hex"), None);
}
