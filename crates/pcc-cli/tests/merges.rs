//! Merge detection end to end (PRODUCT.md §4.3): `watch merges --once` finds merged session
//! branches however they were merged, records each branch tip once, and subscribed sessions are
//! told through their post-tool-use hook; the daemon runs once per data dir and stops on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{Env, Out, RunExt, Sleeper, wait_until};
use serde_json::{Value, json};

struct World {
    env: Env,
    repo: PathBuf,
    /// (session id, worktree, branch) of the worktree sessions.
    wts: Vec<(String, PathBuf, String)>,
    main_session: String,
    _procs: Vec<Sleeper>,
}

fn world(worktrees: usize) -> World {
    let env = Env::new();
    let r = env.repo("repo");
    r.write("a.txt", "1\n2\n3\n").unwrap();
    r.commit_all("base").unwrap();
    let repo = r.path.clone();
    let procs: Vec<Sleeper> = (0..=worktrees).map(|_| Sleeper::new()).collect();
    let main = env.register(&repo, procs[0].pid(), &[]);
    let wts = procs[1..]
        .iter()
        .map(|p| {
            let v = env.register(&repo, p.pid(), &[]);
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            (s("sessionId"), PathBuf::from(s("worktreePath")), s("worktreeName"))
        })
        .collect();
    World { main_session: main["sessionId"].as_str().unwrap().to_string(), env, repo, wts, _procs: procs }
}

fn commit(env: &Env, dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
    env.git(dir, &["add", "-A"]);
    env.git(dir, &["commit", "-q", "-m", &format!("change {file}")]);
}

fn poll(w: &World) -> Value {
    w.env.pcc().args(["--json", "watch", "merges", "--once"]).out().ok().json()
}

fn merged_branches(doc: &Value) -> Vec<(String, String)> {
    doc["newMerges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["branchName"].as_str().unwrap().to_string(), e["how"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn merges_are_found_however_made_once_per_tip_and_empty_branches_are_not_merged() {
    let w = world(3);
    let (merged, squashed, empty) = (&w.wts[0], &w.wts[1], &w.wts[2]);
    commit(&w.env, &merged.1, "m.txt", "merged work\n");
    commit(&w.env, &squashed.1, "s.txt", "squashed work\n");
    assert_eq!(merged_branches(&poll(&w)), vec![], "nothing merged yet");

    w.env.git(&w.repo, &["merge", "-q", "--no-ff", "-m", "merge", &merged.2]);
    w.env.git(&w.repo, &["merge", "-q", "--squash", &squashed.2]);
    w.env.git(&w.repo, &["commit", "-q", "-m", "squash"]);
    let mut found = merged_branches(&poll(&w));
    found.sort();
    let mut expected =
        vec![(merged.2.clone(), "merge-commit".to_string()), (squashed.2.clone(), "squash-or-rebase".to_string())];
    expected.sort();
    assert_eq!(found, expected, "the empty branch {} is not merged", empty.2);
    assert_eq!(merged_branches(&poll(&w)), vec![], "each tip is recorded once");

    // A new commit on a merged branch is a new tip: found again once merged again.
    commit(&w.env, &merged.1, "m2.txt", "more\n");
    assert_eq!(merged_branches(&poll(&w)), vec![]);
    w.env.git(&w.repo, &["merge", "-q", "--no-ff", "-m", "merge again", &merged.2]);
    assert_eq!(merged_branches(&poll(&w)), vec![(merged.2.clone(), "merge-commit".to_string())]);

    let status = w.env.pcc().args(["--json", "merge", "status", "--repo"]).arg(&w.repo).out().ok().json();
    assert_eq!(status["total"], 3, "{status:#}");
    assert_eq!(status["events"][0]["branchName"], merged.2.as_str(), "newest first");
}

fn hook(env: &Env, session: &str, payload: &Value) -> Out {
    let mut c = env.pcc();
    c.args(["hook", "post-tool-use"]).env("PARALLEL_CC_SESSION_ID", session);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(payload.to_string().as_bytes()).unwrap();
    Out::from_output("hook post-tool-use", child.wait_with_output().unwrap())
}

#[test]
fn a_subscribed_session_is_told_once_through_its_hook() {
    let w = world(1);
    let (_, wt, branch) = &w.wts[0];
    // The main checkout's session subscribes to the worktree's branch (from its own checkout).
    let sub = w.env.pcc().current_dir(&w.repo).args(["--json", "merge", "subscribe", branch]).out().ok().json();
    assert_eq!(sub["subscription"]["targetBranch"], "main");
    assert_eq!(sub["subscription"]["sessionId"], w.main_session.as_str());
    let bash = json!({"session_id": "x", "cwd": w.repo, "hook_event_name": "PostToolUse", "tool_name": "Bash",
                      "tool_input": {"command": "ls"}, "tool_response": {"stdout": ""}});
    assert_eq!(hook(&w.env, &w.main_session, &bash).ok().stdout, "", "nothing merged yet");

    commit(&w.env, wt, "w.txt", "work\n");
    w.env.git(&w.repo, &["merge", "-q", "--ff-only", branch]);
    assert_eq!(merged_branches(&poll(&w)), vec![(branch.clone(), "fast-forward".to_string())]);
    let doc = hook(&w.env, &w.main_session, &bash).ok().json();
    let ctx = doc["hookSpecificOutput"]["additionalContext"].as_str().unwrap();
    assert!(ctx.contains(branch.as_str()) && ctx.contains("merged into main"), "{ctx}");
    assert_eq!(hook(&w.env, &w.main_session, &bash).ok().stdout, "", "told once");

    let events = w.env.pcc().args(["--json", "merge", "status"]).out().ok().json();
    assert_eq!(events["events"][0]["notificationSent"], true, "{events:#}");
    let subs = w.env.pcc().args(["--json", "merge", "status", "--subscriptions"]).out().ok().json();
    assert_eq!(subs["total"], 0, "the subscription is done: {subs:#}");

    // A valid git branch name that looks like a command is only ever a name.
    let odd = "$(touch${IFS}x)";
    let doc = w.env.pcc().current_dir(&w.repo).args(["--json", "merge", "subscribe", odd]).out().ok().json();
    assert_eq!(doc["subscription"]["branchName"], odd);
    poll(&w);
    assert!(!w.repo.join("x").exists() && !w.env.root().join("x").exists(), "no command ran");
    for bad in ["$(touch x)", "--=-rf", "a..b", "HEAD"] {
        let name = bad.trim_start_matches("--=");
        let out = w.env.pcc().current_dir(&w.repo).args(["--json", "merge", "subscribe", "--", name]).out();
        assert_eq!(out.expect_code(2).json()["code"], "invalid_branch_name", "{name}");
    }
}

#[test]
fn the_daemon_runs_once_per_data_dir_and_stops_on_sigterm() {
    let w = world(0);
    let doc = w.env.pcc().args(["--json", "watch", "merges", "--interval", "4"]).out().expect_code(2).json();
    assert!(doc["error"].as_str().unwrap().contains("at least 5 seconds"), "{doc}");

    let mut daemon = w
        .env
        .pcc()
        .args(["watch", "merges", "--interval", "3600"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It says it started once it holds its lock (and has polled once).
    let mut err = std::io::BufReader::new(daemon.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("Starting merge detection daemon") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0, "the daemon ended early");
    }
    let second = w.env.pcc().args(["--json", "watch", "merges"]).out().expect_code(1).json();
    assert!(second["error"].as_str().unwrap().contains("already running"), "{second}");
    let pid = rustix::process::Pid::from_raw(i32::try_from(daemon.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let mut status = None;
    assert!(wait_until(Duration::from_secs(10), || {
        status = daemon.try_wait().unwrap();
        status.is_some()
    }));
    assert_eq!(status.unwrap().code(), Some(0), "stops cleanly");
}

#[test]
fn with_fetch_a_merge_made_elsewhere_and_pushed_is_found() {
    let w = world(1);
    let (_, wt, branch) = &w.wts[0];
    commit(&w.env, wt, "w.txt", "work\n");
    let origin = w.env.root().join("origin.git");
    w.env.git(&w.env.root(), &["clone", "-q", "--bare", w.repo.to_str().unwrap(), origin.to_str().unwrap()]);
    w.env.git(&w.repo, &["remote", "add", "origin", origin.to_str().unwrap()]);
    w.env.git(&w.repo, &["push", "-q", "origin", branch]);
    // Someone else merges it on the remote.
    let other = w.env.root().join("other");
    w.env.git(&w.env.root(), &["clone", "-q", origin.to_str().unwrap(), other.to_str().unwrap()]);
    w.env.git(&other, &["merge", "-q", "--no-ff", "-m", "merged upstream", &format!("origin/{branch}")]);
    w.env.git(&other, &["push", "-q", "origin", "main"]);

    assert_eq!(merged_branches(&poll(&w)), vec![], "the local main does not have it");
    let doc = w.env.pcc().args(["--json", "watch", "merges", "--once", "--fetch"]).out().ok().json();
    assert_eq!(merged_branches(&doc), vec![(branch.clone(), "merge-commit".to_string())], "{doc:#}");
    assert_eq!(doc["errors"], json!([]));
}

#[test]
fn a_branch_that_only_caught_up_is_not_merged_and_old_events_are_not_news() {
    let w = world(2);
    let (_, idle, idle_branch) = &w.wts[0];
    let (_, busy, busy_branch) = &w.wts[1];
    commit(&w.env, &w.repo, "main.txt", "main moves\n");
    // The idle session catches up with main without a commit of its own: not "merged".
    w.env.pcc().current_dir(idle).args(["--json", "rebase"]).out().ok();
    assert_eq!(w.env.git(idle, &["rev-parse", "HEAD"]), w.env.git(&w.repo, &["rev-parse", "HEAD"]));
    // The busy one's work is merged.
    commit(&w.env, busy, "b.txt", "work\n");
    w.env.git(&w.repo, &["merge", "-q", "--no-ff", "-m", "merge", busy_branch]);
    assert_eq!(
        merged_branches(&poll(&w)),
        vec![(busy_branch.clone(), "merge-commit".to_string())],
        "not {idle_branch}"
    );

    // That merge was an hour ago; subscribing now: no stale notice, but the next merge is news.
    let conn = rusqlite::Connection::open(w.env.data_dir().join("coordinator.db")).unwrap();
    conn.execute("UPDATE merge_events SET detected_at = datetime('now', '-1 hour')", []).unwrap();
    w.env.pcc().current_dir(&w.repo).args(["--json", "merge", "subscribe", busy_branch]).out().ok();
    let bash = json!({"session_id": "x", "cwd": w.repo, "hook_event_name": "PostToolUse", "tool_name": "Bash",
                      "tool_input": {"command": "ls"}});
    assert_eq!(hook(&w.env, &w.main_session, &bash).ok().stdout, "", "an old merge is not news");
    commit(&w.env, busy, "b2.txt", "more work\n");
    w.env.git(&w.repo, &["merge", "-q", "--no-ff", "-m", "merge again", busy_branch]);
    assert_eq!(merged_branches(&poll(&w)).len(), 1);
    let doc = hook(&w.env, &w.main_session, &bash).ok().json();
    assert!(doc["hookSpecificOutput"]["additionalContext"].as_str().unwrap().contains(busy_branch.as_str()));
}
