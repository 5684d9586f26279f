//! Ending sessions through the CLI: `release`, `cleanup`, `cleanup --force` and `restore` never
//! lose work (PRODUCT.md §0.1, §2.3, §2.5, §2.6).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, RunExt, Sleeper, path_str};
use pcc_testkit::{tree_contents, write_file};
use serde_json::{Value, json};

/// A repository with a main session and one worktree session, both owned by live processes.
struct Setup {
    env: Env,
    repo: PathBuf,
    main: Sleeper,
    agent: Option<Sleeper>,
    session: String,
    worktree: PathBuf,
    name: String,
}

impl Setup {
    fn new(no_identity: bool) -> Setup {
        let env = Env::new();
        let repo = env.repo("repo");
        repo.write("src/lib.rs", "pub fn f() -> u32 {\n    1\n}\n").unwrap();
        repo.write("docs/guide.md", "guide\n").unwrap();
        repo.commit_all("more files").unwrap();
        let repo = repo.path.clone();
        let register = |pid: u32| {
            let mut c = if no_identity { env.pcc_no_identity() } else { env.pcc() };
            c.args(["register", "--json", "--pid", &pid.to_string()]).arg("--repo").arg(&repo).out().ok().json()
        };
        let main = Sleeper::new();
        let m = register(main.pid());
        assert_eq!(m["isMainRepo"], true, "{m:#}");
        let agent = Sleeper::new();
        let w = register(agent.pid());
        assert_eq!(w["isMainRepo"], false, "{w:#}");
        let worktree = PathBuf::from(w["worktreePath"].as_str().unwrap());
        let name = w["worktreeName"].as_str().unwrap().to_string();
        assert!(worktree.is_dir());
        assert!(env.branch_exists(&repo, &name));
        Setup {
            session: w["sessionId"].as_str().unwrap().to_string(),
            env,
            repo,
            main,
            agent: Some(agent),
            worktree,
            name,
        }
    }

    fn pcc(&self, no_identity: bool) -> Command {
        if no_identity { self.env.pcc_no_identity() } else { self.env.pcc() }
    }

    fn agent_pid(&self) -> String {
        self.agent.as_ref().unwrap().pid().to_string()
    }

    fn release(&self, no_identity: bool) -> Value {
        self.pcc(no_identity).args(["release", "--json", "--pid", &self.agent_pid()]).out().ok().json()
    }

    fn cleanup(&self, no_identity: bool, extra: &[&str]) -> Value {
        self.pcc(no_identity).args(["cleanup", "--json"]).args(extra).out().ok().json()
    }

    fn listed_by_git(&self) -> bool {
        self.env.git_worktrees(&self.repo).iter().any(|p| Path::new(p) == self.worktree)
    }
}

#[test]
fn releasing_a_clean_worktree_with_nothing_ahead_removes_it_and_its_branch() {
    let s = Setup::new(false);
    let out = s.release(false);
    assert_eq!(out, json!({"released": true, "worktreeRemoved": true, "kept": false, "reason": null}));
    assert!(!s.worktree.exists(), "the worktree directory is gone");
    assert!(!s.listed_by_git(), "git no longer lists the worktree");
    assert!(!s.env.branch_exists(&s.repo, &s.name), "the branch parallel-cc made for it is gone");
    let status = s.env.status(&s.repo);
    assert!(Env::session(&status, &s.session).is_none(), "a released session is not listed: {status:#}");
    // The main checkout and its session are untouched.
    assert_eq!(status["totalSessions"], 1);
    assert!(s.repo.join("src/lib.rs").is_file());
}

#[test]
fn releasing_an_unknown_pid_reports_released_false() {
    let env = Env::new();
    let nobody = Sleeper::new();
    let out = env.pcc().args(["release", "--json", "--pid", &nobody.pid().to_string()]).out().ok().json();
    assert_eq!(out["released"], false);
    assert_eq!(out["worktreeRemoved"], false);
    assert_eq!(out["kept"], false);
}

/// The kinds of work a worktree can hold when its session ends.
#[derive(Clone, Copy, Debug)]
enum Work {
    /// Modified, staged, deleted, new (executable, symlink, nested) files.
    Uncommitted,
    /// Only a new file that git does not track (and that is not ignored).
    UntrackedOnly,
    /// Everything committed, on a commit that no other branch has.
    CommitAhead,
}

fn make_work(s: &Setup, work: Work) {
    let w = &s.worktree;
    match work {
        Work::Uncommitted => {
            write_file(w, "src/lib.rs", b"pub fn f() -> u32 {\n    2 // changed\n}\n").unwrap();
            write_file(w, "staged.txt", b"staged but not committed\n").unwrap();
            s.env.git(w, &["add", "staged.txt"]);
            std::fs::remove_file(w.join("docs/guide.md")).unwrap();
            write_file(w, "new/deep/notes.md", "unicode ünï \u{1F600}\n".as_bytes()).unwrap();
            write_file(w, "bin/run.sh", b"#!/bin/sh\necho hi\n").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(w.join("bin/run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
                std::os::unix::fs::symlink("../src/lib.rs", w.join("new/link.rs")).unwrap();
            }
            write_file(w, "blob.bin", &(0u8..=255).cycle().take(70_000).collect::<Vec<u8>>()).unwrap();
        }
        Work::UntrackedOnly => {
            write_file(w, "untracked.txt", b"only here\n").unwrap();
        }
        Work::CommitAhead => {
            write_file(w, "feature.rs", b"pub fn feature() {}\n").unwrap();
            s.env.git(w, &["add", "-A"]);
            s.env.git(w, &["commit", "-q", "-m", "work ahead"]);
        }
    }
}

/// release keeps the worktree; status shows it kept; cleanup (plain and dry run) keeps every
/// file; cleanup --force snapshots then removes it; restore brings every file back.
fn work_survives_release_cleanup_and_force(work: Work, no_identity: bool) {
    let s = Setup::new(no_identity);
    make_work(&s, work);
    let before = tree_contents(&s.worktree).unwrap();
    let head_before = s.env.git(&s.worktree, &["rev-parse", "HEAD"]);

    // release: kept, with the reason.
    let out = s.release(no_identity);
    assert_eq!(out["released"], true, "{out:#}");
    assert_eq!(out["kept"], true, "{out:#}");
    assert_eq!(out["worktreeRemoved"], false, "{out:#}");
    let reason = out["reason"].as_str().unwrap_or_default().to_string();
    match work {
        Work::Uncommitted | Work::UntrackedOnly => assert!(reason.contains("uncommitted or untracked"), "{reason}"),
        Work::CommitAhead => assert!(reason.contains("commit"), "{reason}"),
    }
    assert_eq!(tree_contents(&s.worktree).unwrap(), before);
    assert!(s.listed_by_git());

    let status = s.env.status(&s.repo);
    let row = Env::session(&status, &s.session).unwrap_or(&Value::Null);
    assert_eq!(row["state"], "kept", "{status:#}");
    assert_eq!(row["isAlive"], false, "{status:#}");
    assert_eq!(row["worktreePath"], path_str(&s.worktree));
    assert_eq!(row["keptReason"], reason.as_str());

    // Plain cleanup keeps it.
    let cleaned = s.cleanup(no_identity, &[]);
    let kept: Vec<&Value> =
        cleaned["kept"].as_array().unwrap().iter().filter(|k| k["worktreeName"] == s.name).collect();
    assert_eq!(kept.len(), 1, "cleanup lists the kept worktree: {cleaned:#}");
    assert!(kept[0]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(cleaned["worktreesRemoved"].as_array().unwrap().is_empty(), "{cleaned:#}");
    assert!(cleaned["snapshots"].as_array().unwrap().is_empty(), "{cleaned:#}");
    assert_eq!(tree_contents(&s.worktree).unwrap(), before, "cleanup without --force touched the work");
    assert_eq!(s.env.git(&s.worktree, &["rev-parse", "HEAD"]), head_before);

    // Dry runs (with and without --force) change nothing at all.
    // (--no-git: a status that looks at the worktree records when it did.)
    let sessions = || {
        s.env.pcc().args(["status", "--json", "--no-git", "--repo"]).arg(&s.repo).out().ok().json()["sessions"].clone()
    };
    let status_before = sessions();
    for flags in [&["--dry-run"][..], &["--dry-run", "--force"][..]] {
        let plan = s.cleanup(no_identity, flags);
        assert_eq!(plan["dryRun"], true, "{plan:#}");
        assert!(plan["snapshots"].as_array().unwrap().is_empty(), "{plan:#}");
        assert!(plan["worktreesRemoved"].as_array().unwrap().is_empty(), "{plan:#}");
        assert_eq!(tree_contents(&s.worktree).unwrap(), before, "a dry run touched the work");
        assert!(s.listed_by_git());
        assert_eq!(sessions(), status_before, "a dry run changed the sessions");
    }
    let snaps = s.env.git(&s.repo, &["for-each-ref", "refs/parallel-cc/"]);
    assert!(snaps.is_empty(), "a dry run wrote a snapshot ref: {snaps}");

    // --force: snapshot first, then remove.
    let forced = s.cleanup(no_identity, &["--force"]);
    let snapshots = forced["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 1, "{forced:#}");
    let snapshot = snapshots[0].as_str().unwrap().to_string();
    assert!(forced["worktreesRemoved"].as_array().unwrap().iter().any(|n| n == s.name.as_str()), "{forced:#}");
    assert!(!s.worktree.exists(), "--force removes the worktree");
    assert!(!s.listed_by_git());
    let refs = s.env.git(&s.repo, &["for-each-ref", "--format=%(refname)", "refs/parallel-cc/snapshots/"]);
    assert_eq!(refs, format!("refs/parallel-cc/snapshots/{snapshot}"));
    if matches!(work, Work::CommitAhead) {
        assert!(s.env.branch_exists(&s.repo, &s.name), "a branch with unmerged commits is never deleted");
        assert_eq!(s.env.git(&s.repo, &["rev-parse", &format!("refs/heads/{}", s.name)]), head_before);
    }
    let status = s.env.status(&s.repo);
    assert!(Env::session(&status, &s.session).is_none(), "a force-removed session is history: {status:#}");
    let listed = s.pcc(no_identity).args(["snapshot", "list", "--json"]).out().ok().json();
    assert!(listed["snapshots"].as_array().unwrap().iter().any(|x| x["name"] == snapshot.as_str()), "{listed:#}");

    // restore: every file back, byte for byte (and mode for mode).
    let restored = s.pcc(no_identity).args(["restore", "--json", &snapshot]).out().ok().json();
    assert_eq!(restored["worktreePath"], path_str(&s.worktree), "{restored:#}");
    let branch = restored["branch"].as_str().unwrap();
    assert!(s.env.branch_exists(&s.repo, branch), "restore recreates the branch: {restored:#}");
    assert_eq!(s.env.git(&s.worktree, &["rev-parse", "--abbrev-ref", "HEAD"]), branch);
    assert!(s.listed_by_git(), "the restored worktree is a git worktree again");
    assert_eq!(tree_contents(&s.worktree).unwrap(), before, "restore did not bring back every file");
    assert_eq!(s.env.git(&s.worktree, &["rev-parse", "HEAD"]), head_before, "restore did not bring back HEAD");

    // Restoring again onto the existing directory is refused, and the files stay.
    let again = s.pcc(no_identity).args(["restore", "--json", &snapshot]).out().expect_code(1);
    assert_eq!(again.json()["code"], "restore_target_exists", "{}", again.describe());
    assert_eq!(tree_contents(&s.worktree).unwrap(), before);
}

#[test]
fn uncommitted_work_survives_release_cleanup_and_force_cleanup() {
    work_survives_release_cleanup_and_force(Work::Uncommitted, false);
}

#[test]
fn an_untracked_file_alone_survives_release_cleanup_and_force_cleanup() {
    work_survives_release_cleanup_and_force(Work::UntrackedOnly, false);
}

#[test]
fn a_commit_ahead_survives_release_cleanup_and_force_cleanup() {
    work_survives_release_cleanup_and_force(Work::CommitAhead, false);
}

/// A user with no git identity (no user.name/user.email, no GIT_AUTHOR_* variables): snapshots
/// and restore still work.
#[test]
fn snapshots_and_restore_work_without_a_git_identity() {
    work_survives_release_cleanup_and_force(Work::Uncommitted, true);
}

/// A session whose process died without releasing: cleanup reaps it and disposes of its worktree
/// by the same rule (clean → removed with its branch).
#[test]
fn cleanup_reaps_a_dead_clean_session_and_removes_its_worktree() {
    let mut s = Setup::new(false);
    s.agent.take().unwrap().kill();
    let plan = s.cleanup(false, &["--dry-run"]);
    assert_eq!(plan["dryRun"], true);
    assert!(plan["actions"].as_array().unwrap().iter().any(|a| a.as_str().unwrap().contains(&s.name)), "{plan:#}");
    assert!(s.worktree.is_dir(), "a dry run removed the worktree");
    assert!(s.env.branch_exists(&s.repo, &s.name), "a dry run deleted the branch");
    let status = s.env.status(&s.repo);
    assert_eq!(Env::session(&status, &s.session).map(|r| r["isAlive"].clone()), Some(json!(false)), "{status:#}");

    let out = s.cleanup(false, &[]);
    assert!(out["sessions"].as_array().unwrap().iter().any(|id| id == s.session.as_str()), "{out:#}");
    assert!(out["worktreesRemoved"].as_array().unwrap().iter().any(|n| n == s.name.as_str()), "{out:#}");
    assert_eq!(out["removed"], out["sessions"].as_array().unwrap().len());
    assert!(!s.worktree.exists());
    assert!(!s.env.branch_exists(&s.repo, &s.name));
    // The live main session is untouched.
    let status = s.env.status(&s.repo);
    assert_eq!(status["totalSessions"], 1, "{status:#}");
    assert_eq!(status["sessions"][0]["isAlive"], true);
    assert_eq!(status["sessions"][0]["pid"], s.main.pid());
}

/// A dead session whose worktree holds work: cleanup keeps it and says why.
#[test]
fn cleanup_keeps_a_dead_sessions_dirty_worktree() {
    let mut s = Setup::new(false);
    make_work(&s, Work::UntrackedOnly);
    let before = tree_contents(&s.worktree).unwrap();
    s.agent.take().unwrap().kill();
    let out = s.cleanup(false, &[]);
    assert!(out["kept"].as_array().unwrap().iter().any(|k| k["worktreeName"] == s.name.as_str()), "{out:#}");
    assert_eq!(tree_contents(&s.worktree).unwrap(), before);
    let status = s.env.status(&s.repo);
    assert_eq!(Env::session(&status, &s.session).map(|r| r["state"].clone()), Some(json!("kept")), "{status:#}");
}

/// `cleanup.keep_unmerged_worktrees = false`: a clean worktree with unmerged commits is removed,
/// but its branch (and so the commits) stays.
#[test]
fn with_keep_unmerged_off_the_worktree_goes_but_the_branch_with_its_commits_stays() {
    let s = Setup::new(false);
    s.env.pcc().args(["config", "set", "cleanup.keep_unmerged_worktrees", "false"]).out().ok();
    make_work(&s, Work::CommitAhead);
    let head = s.env.git(&s.worktree, &["rev-parse", "HEAD"]);
    let out = s.release(false);
    assert_eq!(out["released"], true, "{out:#}");
    assert_eq!(out["kept"], false, "{out:#}");
    assert_eq!(out["worktreeRemoved"], true, "{out:#}");
    assert!(out["reason"].as_str().is_some_and(|r| r.contains(&s.name)), "the reason names the kept branch: {out:#}");
    assert!(!s.worktree.exists());
    assert_eq!(s.env.git(&s.repo, &["rev-parse", &format!("refs/heads/{}", s.name)]), head);
}

/// Main-checkout sessions never touch the checkout, whatever it holds.
#[test]
fn ending_a_main_session_never_touches_the_main_checkout() {
    let mut s = Setup::new(false);
    write_file(&s.repo, "src/lib.rs", b"dirty main\n").unwrap();
    write_file(&s.repo, "untracked-in-main.txt", b"mine\n").unwrap();
    let before = tree_contents(&s.repo).unwrap();
    let main_pid = s.main.pid();
    std::mem::replace(&mut s.main, Sleeper::new()).kill();
    for flags in [&[][..], &["--force"][..]] {
        let out = s.cleanup(false, flags);
        assert!(out["kept"].as_array().unwrap().is_empty(), "{out:#}");
        assert!(out["snapshots"].as_array().unwrap().is_empty(), "{out:#}");
        assert_eq!(tree_contents(&s.repo).unwrap(), before, "cleanup {flags:?} touched the main checkout");
    }
    let status = s.env.status(&s.repo);
    assert!(!status["sessions"].as_array().unwrap().iter().any(|x| x["pid"] == main_pid), "{status:#}");
    // The worktree session, still alive, is untouched; the next session gets the free main checkout.
    assert!(s.worktree.is_dir());
    let next = Sleeper::new();
    let reg = s.env.register(&s.repo, next.pid(), &[]);
    assert_eq!(reg["isMainRepo"], true, "{reg:#}");
    assert_eq!(reg["parallelSessions"], 2, "{reg:#}");
}

/// Releasing the main session through `release --pid` frees the main checkout for the next one.
#[test]
fn releasing_the_main_session_frees_the_main_checkout() {
    let s = Setup::new(false);
    let out = s.env.pcc().args(["release", "--json", "--pid", &s.main.pid().to_string()]).out().ok().json();
    assert_eq!(out["released"], true);
    assert_eq!(out["worktreeRemoved"], false);
    assert_eq!(out["kept"], false);
    assert!(s.repo.join("README.md").is_file());
    let next = Sleeper::new();
    assert_eq!(s.env.register(&s.repo, next.pid(), &[])["isMainRepo"], true);
}

/// A branch the user already had is used, and never deleted, however the session ends.
#[test]
fn an_existing_branch_given_with_branch_is_never_deleted() {
    let env = Env::new();
    let repo = env.repo("repo");
    env.git(&repo.path, &["branch", "merged-already"]);
    let tip = env.git(&repo.path, &["rev-parse", "merged-already"]);
    let main = Sleeper::new();
    env.register(&repo.path, main.pid(), &[]);
    let agent = Sleeper::new();
    let reg = env.register(&repo.path, agent.pid(), &["--branch", "merged-already"]);
    let wt = PathBuf::from(reg["worktreePath"].as_str().unwrap());
    assert_eq!(env.git(&wt, &["rev-parse", "--abbrev-ref", "HEAD"]), "merged-already");
    let out = env.pcc().args(["release", "--json", "--pid", &agent.pid().to_string()]).out().ok().json();
    assert_eq!(out["worktreeRemoved"], true, "{out:#}");
    assert!(!wt.exists());
    assert_eq!(env.git(&repo.path, &["rev-parse", "merged-already"]), tip, "the user's branch was deleted");
}

/// The database is lost (a new data dir): the worktrees parallel-cc made are orphans. Cleanup
/// removes the clean one, keeps the ones holding work, and deletes no branch.
#[test]
fn orphaned_worktrees_are_disposed_of_by_the_same_rule() {
    let env = Env::new();
    let repo = env.repo("repo");
    let procs: Vec<Sleeper> = (0..4).map(|_| Sleeper::new()).collect();
    env.register(&repo.path, procs[0].pid(), &[]);
    let wts: Vec<(PathBuf, String)> = procs[1..]
        .iter()
        .map(|p| {
            let r = env.register(&repo.path, p.pid(), &[]);
            (PathBuf::from(r["worktreePath"].as_str().unwrap()), r["worktreeName"].as_str().unwrap().to_string())
        })
        .collect();
    write_file(&wts[0].0, "untracked.txt", b"work\n").unwrap();
    env.git(&wts[1].0, &["commit", "-q", "--allow-empty", "-m", "ahead"]);
    let dirty_before = tree_contents(&wts[0].0).unwrap();
    let ahead_tip = env.git(&wts[1].0, &["rev-parse", "HEAD"]);

    std::fs::remove_dir_all(env.data_dir()).unwrap();
    let out = env.pcc().args(["cleanup", "--json", "--repo"]).arg(&repo.path).out().ok().json();
    let kept: Vec<&str> = out["kept"].as_array().unwrap().iter().map(|k| k["worktreeName"].as_str().unwrap()).collect();
    assert!(kept.contains(&wts[0].1.as_str()) && kept.contains(&wts[1].1.as_str()), "{out:#}");
    assert_eq!(out["worktreesRemoved"], json!([wts[2].1]), "{out:#}");
    assert_eq!(tree_contents(&wts[0].0).unwrap(), dirty_before);
    assert_eq!(env.git(&wts[1].0, &["rev-parse", "HEAD"]), ahead_tip);
    assert!(!wts[2].0.exists());
    for (_, name) in &wts {
        assert!(env.branch_exists(&repo.path, name), "branch {name} of an orphan was deleted");
    }
    // The main checkout was never a candidate.
    assert!(repo.path.join("README.md").is_file());
}

/// The user deleted the worktree directory of a dead session by hand: cleanup forgets the
/// registration, and keeps the branch because it holds a commit.
#[test]
fn a_worktree_deleted_by_hand_keeps_its_branch_when_it_holds_commits() {
    let mut s = Setup::new(false);
    s.env.git(&s.worktree, &["commit", "-q", "--allow-empty", "-m", "ahead"]);
    let tip = s.env.git(&s.worktree, &["rev-parse", "HEAD"]);
    s.agent.take().unwrap().kill();
    std::fs::remove_dir_all(&s.worktree).unwrap();
    let out = s.cleanup(false, &[]);
    assert!(out["sessions"].as_array().unwrap().iter().any(|id| id == s.session.as_str()), "{out:#}");
    assert!(!s.listed_by_git(), "the stale git registration was pruned");
    assert_eq!(s.env.git(&s.repo, &["rev-parse", &format!("refs/heads/{}", s.name)]), tip);
    let status = s.env.status(&s.repo);
    assert!(Env::session(&status, &s.session).is_none(), "{status:#}");
}
