//! Many `register` processes at the same instant on one fresh repository and a fresh data dir
//! (so the first open, which creates and migrates the database, races too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Barrier};

use common::{Env, Out, RunExt, Sleeper, keys, path_str};

const N: usize = 16;

/// Start `register --json` for every sleeper at the same instant; their outputs, in order.
fn register_all_at_once(env: &Env, repo: &Path, sleepers: &[Sleeper]) -> Vec<Out> {
    let barrier = Arc::new(Barrier::new(sleepers.len()));
    std::thread::scope(|scope| {
        let handles: Vec<_> = sleepers
            .iter()
            .map(|s| {
                let mut cmd = env.pcc();
                cmd.args(["register", "--json", "--pid", &s.pid().to_string()]).arg("--repo").arg(repo);
                let barrier = barrier.clone();
                scope.spawn(move || {
                    barrier.wait();
                    cmd.out()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    })
}

#[test]

fn sixteen_simultaneous_registers_give_one_main_checkout_and_fifteen_worktrees() {
    let env = Env::new();
    let repo = env.repo("repo");
    assert!(!env.data_dir().exists(), "the data dir must start fresh");
    let sleepers: Vec<Sleeper> = (0..N).map(|_| Sleeper::new()).collect();
    let outs = register_all_at_once(&env, &repo.path, &sleepers);

    let docs: Vec<_> = outs.iter().map(|o| o.json()).collect();
    for (o, d) in outs.iter().zip(&docs) {
        assert_eq!(o.code, Some(0), "a register failed\n{}", o.describe());
        assert_eq!(
            keys(d),
            ["isMainRepo", "isNew", "parallelSessions", "sessionId", "worktreeName", "worktreePath"],
            "{}",
            o.describe()
        );
        assert_eq!(d["isNew"], true, "{}", o.describe());
    }

    let main: Vec<_> = docs.iter().filter(|d| d["isMainRepo"] == true).collect();
    assert_eq!(main.len(), 1, "exactly one session wins the main checkout: {docs:#?}");
    assert_eq!(main[0]["worktreePath"], path_str(&repo.path));
    assert_eq!(main[0]["worktreeName"], serde_json::Value::Null);

    let ids: HashSet<&str> = docs.iter().map(|d| d["sessionId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), N, "every process gets its own session");

    let listed = env.git_worktrees(&repo.path);
    let worktrees: Vec<&str> =
        docs.iter().filter(|d| d["isMainRepo"] == false).map(|d| d["worktreePath"].as_str().unwrap()).collect();
    assert_eq!(worktrees.len(), N - 1);
    let distinct: HashSet<&str> = worktrees.iter().copied().collect();
    assert_eq!(distinct.len(), N - 1, "worktree paths must be distinct: {worktrees:#?}");
    for (w, d) in worktrees.iter().zip(docs.iter().filter(|d| d["isMainRepo"] == false)) {
        assert!(Path::new(w).is_dir(), "{w} does not exist");
        assert!(listed.iter().any(|l| l == w), "{w} is not in `git worktree list`: {listed:#?}");
        assert_eq!(
            Path::new(w).file_name().unwrap().to_string_lossy(),
            d["worktreeName"].as_str().unwrap(),
            "worktreeName is the directory name"
        );
        assert_eq!(env.git(Path::new(w), &["rev-parse", "HEAD"]), env.git(&repo.path, &["rev-parse", "HEAD"]));
    }

    // The database agrees: 16 live sessions in one repository.
    let status = env.status(&repo.path);
    assert_eq!(status["totalSessions"], N);
    let sessions = status["sessions"].as_array().unwrap();
    assert!(sessions.iter().all(|s| s["isAlive"] == true), "{status:#}");
    assert_eq!(sessions.iter().filter(|s| s["isMainRepo"] == true).count(), 1);
}

/// What must hold even when some of the simultaneous registrations fail: never two sessions in
/// the main checkout, every answer is one JSON document, and a failed registration leaves no
/// session, worktree directory, git worktree entry or branch behind.
#[test]
fn simultaneous_registers_never_share_the_main_checkout_nor_leave_debris() {
    let env = Env::new();
    let repo = env.repo("repo");
    let sleepers: Vec<Sleeper> = (0..N).map(|_| Sleeper::new()).collect();
    let outs = register_all_at_once(&env, &repo.path, &sleepers);

    let mut ok = Vec::new();
    for o in &outs {
        let doc = o.json();
        match o.code {
            Some(0) => ok.push(doc),
            Some(1) => {
                assert_eq!(keys(&doc).iter().filter(|k| ["success", "error", "code"].contains(&k.as_str())).count(), 3);
                assert_eq!(doc["success"], false, "{}", o.describe());
            }
            _ => assert_eq!(o.code, Some(0), "unexpected exit\n{}", o.describe()),
        }
    }
    assert_eq!(ok.iter().filter(|d| d["isMainRepo"] == true).count(), 1, "{ok:#?}");

    let worktrees: HashSet<String> = ok
        .iter()
        .filter(|d| d["isMainRepo"] == false)
        .map(|d| d["worktreePath"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(worktrees.len(), ok.len() - 1, "worktree paths must be distinct");

    let listed: HashSet<String> = env.git_worktrees(&repo.path).into_iter().skip(1).collect();
    assert_eq!(listed, worktrees, "git's worktree list matches the successful registrations");

    let wt_dir = repo.path.parent().unwrap().join("repo-worktrees");
    let on_disk: HashSet<String> =
        std::fs::read_dir(&wt_dir).map(|rd| rd.map(|e| path_str(&e.unwrap().path())).collect()).unwrap_or_default();
    assert_eq!(on_disk, worktrees, "no directory left behind by a failed registration");

    let mut branches: Vec<String> =
        env.git(&repo.path, &["branch", "--format=%(refname:short)"]).lines().map(str::to_string).collect();
    branches.sort();
    let mut want: Vec<String> = ok.iter().filter_map(|d| d["worktreeName"].as_str().map(str::to_string)).collect();
    want.push("main".into());
    want.sort();
    assert_eq!(branches, want, "no branch left behind by a failed registration");

    let status = env.status(&repo.path);
    assert_eq!(status["totalSessions"], ok.len(), "failed registrations leave no session: {status:#}");
}

/// The first open of a fresh data dir (create the database, switch it to WAL, migrate) by 16
/// processes at once: every one succeeds. `--no-worktree` keeps git out of the picture.
#[test]

fn sixteen_simultaneous_first_opens_of_a_fresh_data_dir_all_succeed() {
    for _round in 0..5 {
        let env = Env::new();
        let repo = env.repo("repo");
        let sleepers: Vec<Sleeper> = (0..N).map(|_| Sleeper::new()).collect();
        let barrier = Arc::new(Barrier::new(N));
        let outs: Vec<Out> = std::thread::scope(|scope| {
            let handles: Vec<_> = sleepers
                .iter()
                .map(|s| {
                    let mut cmd = env.pcc();
                    cmd.args(["register", "--json", "--no-worktree", "--pid", &s.pid().to_string()])
                        .arg("--repo")
                        .arg(&repo.path);
                    let barrier = barrier.clone();
                    scope.spawn(move || {
                        barrier.wait();
                        cmd.out()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        for o in &outs {
            assert_eq!(o.code, Some(0), "a register failed\n{}", o.describe());
        }
    }
}

/// Worktree creation by 16 processes at once, on a database that already exists: every one
/// succeeds.
#[test]

fn sixteen_simultaneous_worktree_creations_all_succeed() {
    for _round in 0..3 {
        let env = Env::new();
        let repo = env.repo("repo");
        env.pcc().args(["migrate", "--json"]).out().ok();
        let main = Sleeper::new();
        env.register(&repo.path, main.pid(), &[]);
        let sleepers: Vec<Sleeper> = (0..N).map(|_| Sleeper::new()).collect();
        let outs = register_all_at_once(&env, &repo.path, &sleepers);
        for o in &outs {
            assert_eq!(o.code, Some(0), "a register failed\n{}", o.describe());
            assert_eq!(o.json()["isMainRepo"], false);
        }
        assert_eq!(env.git_worktrees(&repo.path).len(), N + 1);
    }
}
