//! `register`, `status`, `heartbeat`, `migrate`, `completions` and `config` end to end: JSON
//! shapes kept from the original tool, repository identity, and small contracts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;

use common::{Env, RunExt, Sleeper, keys, one_json, path_str};
use serde_json::{Value, json};

const REGISTER_KEYS: [&str; 6] =
    ["isMainRepo", "isNew", "parallelSessions", "sessionId", "worktreeName", "worktreePath"];
const SESSION_KEYS: [&str; 9] = [
    "sessionId",
    "pid",
    "worktreePath",
    "worktreeName",
    "isMainRepo",
    "createdAt",
    "lastHeartbeat",
    "isAlive",
    "durationMinutes",
];

fn is_utc_timestamp(v: &Value) -> bool {
    // `YYYY-MM-DD HH:MM:SS`, as the original stored them.
    v.as_str().is_some_and(|s| {
        s.len() == 19
            && s.char_indices().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == ' ',
                13 | 16 => c == ':',
                _ => c.is_ascii_digit(),
            })
    })
}

#[test]
fn register_prints_exactly_the_original_json_and_is_idempotent_per_pid() {
    let env = Env::new();
    let repo = env.repo("repo");
    let a = Sleeper::new();
    let b = Sleeper::new();

    let first = env.register(&repo.path, a.pid(), &[]);
    assert_eq!(keys(&first), REGISTER_KEYS, "{first:#}");
    let id = first["sessionId"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    assert_eq!(
        first,
        json!({"sessionId": id, "worktreePath": path_str(&repo.path), "worktreeName": null,
               "isNew": true, "isMainRepo": true, "parallelSessions": 1})
    );

    let second = env.register(&repo.path, b.pid(), &[]);
    assert_eq!(keys(&second), REGISTER_KEYS, "{second:#}");
    let name = second["worktreeName"].as_str().unwrap().to_string();
    assert!(name.starts_with("parallel-"), "{name}");
    let wt = repo.path.parent().unwrap().join("repo-worktrees").join(&name);
    assert_eq!(second["worktreePath"], path_str(&wt));
    assert_eq!(second["isNew"], true);
    assert_eq!(second["isMainRepo"], false);
    assert_eq!(second["parallelSessions"], 2);
    assert!(wt.is_dir());
    assert_eq!(env.git(&wt, &["rev-parse", "--abbrev-ref", "HEAD"]), name, "the branch defaults to the name");

    // The same live PID again: the same session, not a new one.
    for (pid, before) in [(a.pid(), &first), (b.pid(), &second)] {
        let again = env.register(&repo.path, pid, &[]);
        assert_eq!(keys(&again), REGISTER_KEYS);
        assert_eq!(again["sessionId"], before["sessionId"]);
        assert_eq!(again["worktreePath"], before["worktreePath"]);
        assert_eq!(again["worktreeName"], before["worktreeName"]);
        assert_eq!(again["isMainRepo"], before["isMainRepo"]);
        assert_eq!(again["isNew"], false);
        assert_eq!(again["parallelSessions"], 2);
    }
    assert_eq!(env.status(&repo.path)["totalSessions"], 2);
    assert_eq!(env.git_worktrees(&repo.path).len(), 2, "re-registering created no worktree");
}

#[test]
fn status_json_is_one_document_with_the_original_fields() {
    let env = Env::new();
    let repo = env.repo("repo");
    let a = Sleeper::new();
    let b = Sleeper::new();
    let ra = env.register(&repo.path, a.pid(), &[]);
    let rb = env.register(&repo.path, b.pid(), &[]);

    let out = env.pcc().current_dir(&repo.path).args(["status", "--json"]).out().ok();
    assert!(out.stderr.is_empty(), "nothing on stderr:\n{}", out.describe());
    let status = out.json();
    for k in ["repoPath", "totalSessions", "sessions"] {
        assert!(status.get(k).is_some(), "missing {k}: {status:#}");
    }
    assert_eq!(status["repoPath"], path_str(&repo.path), "defaults to the repository of the cwd");
    assert_eq!(status["totalSessions"], 2);
    let sessions = status["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for s in sessions {
        for k in SESSION_KEYS {
            assert!(s.get(k).is_some(), "session lacks {k}: {s:#}");
        }
        assert!(is_utc_timestamp(&s["createdAt"]), "{s:#}");
        assert!(is_utc_timestamp(&s["lastHeartbeat"]), "{s:#}");
        assert_eq!(s["isAlive"], true);
        assert_eq!(s["durationMinutes"], 0);
        assert_eq!(s["state"], "active");
    }
    let main = Env::session(&status, ra["sessionId"].as_str().unwrap()).unwrap();
    assert_eq!(main["pid"], a.pid());
    assert_eq!(main["isMainRepo"], true);
    assert_eq!(main["worktreeName"], Value::Null);
    assert_eq!(main["worktreePath"], path_str(&repo.path));
    let wt = Env::session(&status, rb["sessionId"].as_str().unwrap()).unwrap();
    assert_eq!(wt["pid"], b.pid());
    assert_eq!(wt["worktreeName"], rb["worktreeName"]);
    assert_eq!(wt["worktreePath"], rb["worktreePath"]);
    assert_eq!(wt["isMainRepo"], false);

    // --all: every repository; outside any repository the default is all too.
    let other = env.repo("other");
    let c = Sleeper::new();
    env.register(&other.path, c.pid(), &[]);
    let all = env.status_all();
    assert_eq!(all["repoPath"], "all");
    assert_eq!(all["totalSessions"], 3);
    let outside = env.pcc().args(["status", "--json"]).out().ok().json();
    assert_eq!(outside["repoPath"], "all");
    assert_eq!(outside["totalSessions"], 3);

    // A dead PID shows as not alive (status never reaps).
    b.kill();
    let status = env.status(&repo.path);
    let wt = Env::session(&status, rb["sessionId"].as_str().unwrap()).unwrap();
    assert_eq!(wt["isAlive"], false, "{wt:#}");
}

#[test]
fn repository_identity_is_the_main_worktree_from_anywhere_inside_it() {
    let env = Env::new();
    let repo = env.repo("repo");
    repo.write("src/deep/mod.rs", "// deep\n").unwrap();
    repo.commit_all("deep").unwrap();
    let linked = env.root().join("linked");
    env.git(&repo.path, &["worktree", "add", "-q", "-b", "side", &path_str(&linked)]);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&repo.path, env.root().join("link")).unwrap();

    let procs: Vec<Sleeper> = (0..4).map(|_| Sleeper::new()).collect();
    let from_main = env.register(&repo.path, procs[0].pid(), &[]);
    let from_subdir = env.register(&repo.path.join("src/deep"), procs[1].pid(), &[]);
    let from_linked = env.register(&linked, procs[2].pid(), &[]);
    let from_symlink = env.register(&env.root().join("link/src"), procs[3].pid(), &[]);
    assert_eq!(from_main["isMainRepo"], true);
    assert_eq!(from_subdir["isMainRepo"], false, "the main checkout is taken: a new worktree");
    assert_eq!(from_linked["isMainRepo"], false);
    assert_eq!(from_linked["worktreePath"], path_str(&linked), "a free linked checkout is used as it is");
    assert_eq!(from_symlink["isMainRepo"], false);
    assert_eq!(from_symlink["parallelSessions"], 4, "all four met under one repository");

    let ids: Vec<&Value> = [&from_main, &from_subdir, &from_linked, &from_symlink].map(|r| &r["sessionId"]).to_vec();
    for dir in [repo.path.clone(), repo.path.join("src/deep"), linked.clone(), env.root().join("link")] {
        let status = env.status(&dir);
        assert_eq!(status["repoPath"], path_str(&repo.path), "from {}", dir.display());
        assert_eq!(status["totalSessions"], 4, "from {}: {status:#}", dir.display());
        for s in status["sessions"].as_array().unwrap() {
            assert_eq!(s["repoPath"], path_str(&repo.path));
            assert!(ids.contains(&&s["sessionId"]));
        }
        // The cwd default agrees with --repo.
        let by_cwd = env.pcc().current_dir(&dir).args(["status", "--json"]).out().ok().json();
        assert_eq!(by_cwd["repoPath"], path_str(&repo.path), "cwd {}", dir.display());
        assert_eq!(by_cwd["totalSessions"], 4);
    }
    let all = env.status_all();
    let repos: std::collections::BTreeSet<&str> =
        all["sessions"].as_array().unwrap().iter().map(|s| s["repoPath"].as_str().unwrap()).collect();
    assert_eq!(repos.into_iter().collect::<Vec<_>>(), vec![path_str(&repo.path).as_str()]);

    // Releasing the session in the user's own linked worktree never removes that worktree.
    let out = env.pcc().args(["release", "--json", "--pid", &procs[2].pid().to_string()]).out().ok().json();
    assert_eq!(out["released"], true);
    assert_eq!(out["worktreeRemoved"], false);
    assert!(linked.is_dir());
    assert!(env.branch_exists(&repo.path, "side"));
}

#[test]
fn heartbeat_of_an_unknown_pid_exits_0_and_of_a_known_one_refreshes_it() {
    let env = Env::new();
    let repo = env.repo("repo");
    let stranger = Sleeper::new();
    let out = env.pcc().args(["heartbeat", "--pid", &stranger.pid().to_string()]).out().ok();
    assert!(out.stdout.is_empty(), "{}", out.describe());

    let a = Sleeper::new();
    let reg = env.register(&repo.path, a.pid(), &[]);
    env.pcc().args(["heartbeat", "--pid", &a.pid().to_string()]).out().ok();
    let json = env.pcc().args(["heartbeat", "--json", "--pid", &a.pid().to_string()]).out().ok().json();
    assert_eq!(json, json!({"updated": 1}));
    let status = env.status(&repo.path);
    let s = Env::session(&status, reg["sessionId"].as_str().unwrap()).unwrap();
    assert!(is_utc_timestamp(&s["lastHeartbeat"]));
}

#[test]
fn migrate_with_version_prints_the_migrate_json_not_a_version() {
    let env = Env::new();
    for (i, args) in [&["migrate", "--version", "1.0.0", "--json"][..], &["update", "--json"][..]].iter().enumerate() {
        let out = env.pcc().args(*args).out().ok();
        let doc = out.json();
        assert_eq!(doc["success"], true, "{}", out.describe());
        for k in ["from", "to", "migrations"] {
            assert!(doc.get(k).is_some(), "{k} missing: {doc:#}");
        }
        let applied = doc["migrations"].as_array().unwrap();
        // The first open of the fresh data dir created the schema; the second found it current.
        assert_eq!(applied.is_empty(), i > 0, "{doc:#}");
    }
    // Human output mentions the ignored flag on stderr, not a version string on stdout.
    let out = env.pcc().args(["migrate", "--version", "1.0.0"]).out().ok();
    assert!(out.stderr.contains("1.0.0"), "{}", out.describe());
    assert!(!out.stdout.trim().starts_with(|c: char| c.is_ascii_digit()), "{}", out.describe());
}

#[test]
fn completions_print_a_script() {
    let env = Env::new();
    let out = env.pcc().args(["completions", "bash"]).out().ok();
    assert!(out.stdout.contains("complete -F"), "{}", out.describe());
    assert!(out.stdout.contains("parallel-cc"));
    for cmd in ["register", "release", "heartbeat", "status", "cleanup", "restore", "run"] {
        assert!(out.stdout.contains(cmd), "completions lack {cmd}");
    }
    let zsh = env.pcc().args(["completions", "zsh"]).out().ok();
    assert!(zsh.stdout.contains("#compdef parallel-cc"), "{}", zsh.describe());
}

/// `parallel-cc … | head -1`: the reader goes away before (or while) we write. No panic, and
/// no error exit for output nobody reads.
#[test]
fn a_closed_stdout_pipe_does_not_panic() {
    let env = Env::new();
    let repo = env.repo("repo");
    let a = Sleeper::new();
    env.register(&repo.path, a.pid(), &[]);
    let cases: &[&[&str]] = &[
        &["completions", "bash"],
        &["status"],
        &["status", "--json"],
        &["--help"],
        &["config", "list"],
        &["cleanup", "--dry-run"],
    ];
    for args in cases {
        let mut child = env
            .pcc()
            .current_dir(&repo.path)
            .args(*args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // closed before the first write
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?} panicked on a closed pipe:\n{stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}

#[test]
fn config_set_get_with_origin_and_invalid_values() {
    let env = Env::new();
    let file = env.data_dir().join("config.toml");
    env.pcc().args(["config", "set", "session.stale_minutes", "20"]).out().ok();

    let out = env.pcc().args(["config", "get", "session.stale_minutes", "--show-origin"]).out().ok();
    assert_eq!(out.stdout, format!("session.stale_minutes: 20  ({})\n", file.display()));
    let doc = env.pcc().args(["config", "get", "session.stale_minutes", "--json"]).out().ok().json();
    assert_eq!(doc, json!({"key": "session.stale_minutes", "value": 20, "origin": path_str(&file)}));

    let before = std::fs::read(&file).unwrap();
    let out = env.pcc().args(["config", "set", "session.stale_minutes", "soon"]).out().expect_code(2);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(out.stderr.contains("session.stale_minutes") && out.stderr.contains("soon"), "{}", out.describe());
    let doc = env.pcc().args(["config", "set", "session.stale_minutes", "soon", "--json"]).out().expect_code(2).json();
    assert_eq!(
        doc,
        json!({"success": false, "code": "invalid_config",
               "error": "invalid configuration in command line: key session.stale_minutes: expected an integer from 1 to 10080, got \"soon\""})
    );
    assert_eq!(std::fs::read(&file).unwrap(), before, "a rejected value leaves the file alone");

    // The environment layer wins over the file, and says so.
    let out = env
        .pcc()
        .env("PARALLEL_CC_SESSION_STALE_MINUTES", "30")
        .args(["config", "get", "session.stale_minutes", "--json"])
        .out()
        .ok()
        .json();
    assert_eq!(out["value"], 30, "{out:#}");
    assert_ne!(out["origin"], path_str(&file));

    // unset goes back to the default.
    env.pcc().args(["config", "unset", "session.stale_minutes"]).out().ok();
    let doc = env.pcc().args(["config", "get", "session.stale_minutes", "--json"]).out().ok().json();
    assert_eq!(doc["value"], 10, "{doc:#}");
}

/// Human output of the session commands goes to stdout; with --quiet stderr stays empty.
#[test]
fn human_register_and_status_output() {
    let env = Env::new();
    let repo = env.repo("repo");
    let a = Sleeper::new();
    let out =
        env.pcc().args(["register", "--quiet", "--pid", &a.pid().to_string(), "--repo"]).arg(&repo.path).out().ok();
    assert!(out.stdout.starts_with("✓ Registered in main repository\n"), "{}", out.describe());
    assert!(out.stdout.contains(&format!("  Path: {}\n", repo.path.display())), "{}", out.describe());
    assert!(out.stderr.is_empty(), "{}", out.describe());
    assert!(one_json(out.stdout.as_bytes()).is_err());

    let out = env.pcc().current_dir(&repo.path).args(["status"]).out().ok();
    assert!(out.stdout.starts_with("Active Sessions: 1"), "{}", out.describe());
    assert!(out.stdout.contains(&a.pid().to_string()));
    assert!(!out.stdout.contains('\x1b'), "NO_COLOR and a pipe: no escape codes\n{}", out.describe());
}

#[test]
fn status_shows_worktree_details_and_when_they_were_taken() {
    let env = Env::new();
    let repo = env.repo("repo");
    let main = Sleeper::new();
    env.register(&repo.path, main.pid(), &[]);
    let sleepers: Vec<Sleeper> = (0..3).map(|_| Sleeper::new()).collect();
    let worktrees: Vec<(String, std::path::PathBuf)> = sleepers
        .iter()
        .map(|s| {
            let r = env.register(&repo.path, s.pid(), &[]);
            (r["sessionId"].as_str().unwrap().to_string(), r["worktreePath"].as_str().unwrap().into())
        })
        .collect();
    let (id, wt) = &worktrees[0];
    std::fs::write(wt.join("new.txt"), "x").unwrap();
    std::fs::write(wt.join("README.md"), "changed").unwrap();
    let status_with = |args: &[&str], fresh: &str| {
        env.pcc()
            .env("PARALLEL_CC_STATUS_FRESH_WORKTREES", fresh)
            .args(["status", "--json", "--repo"])
            .arg(&repo.path)
            .args(args)
            .out()
            .ok()
            .json()
    };
    let dirty = |v: &Value, id: &str| Env::session(v, id).unwrap()["dirtyFiles"].clone();
    let checked = |v: &Value, id: &str| Env::session(v, id).unwrap()["gitCheckedAt"].clone();

    // --no-git before any look: no details at all.
    let none = status_with(&["--no-git"], "0");
    assert_eq!(dirty(&none, id), Value::Null, "{none:#}");

    // A worktree never looked at is looked at, even when no fresh look is asked for.
    let first = status_with(&[], "0");
    let s = Env::session(&first, id).unwrap().clone();
    assert_eq!(s["dirtyFiles"], 2, "{s:#}");
    assert_eq!((s["ahead"].clone(), s["behind"].clone()), (json!(0), json!(0)), "{s:#}");
    assert!(is_utc_timestamp(&s["gitCheckedAt"]), "{s:#}");
    for (other, _) in &worktrees[1..] {
        assert_eq!(dirty(&first, other), 0, "{first:#}");
    }
    let m = first["sessions"].as_array().unwrap().iter().find(|s| s["isMainRepo"] == true).unwrap();
    assert_eq!(m["gitCheckedAt"], Value::Null, "the main checkout is not looked at: {m:#}");

    // --no-git does not look: it shows the recorded details, with their time.
    std::fs::write(wt.join("third.txt"), "x").unwrap();
    let cached = status_with(&["--no-git"], "0");
    assert_eq!(dirty(&cached, id), 2, "recorded, not fresh: {cached:#}");
    assert_eq!(checked(&cached, id), s["gitCheckedAt"]);

    // With room for every worktree, all are fresh, and what was seen is recorded. Ahead/behind
    // count against the main checkout's HEAD.
    let (id1, wt1) = &worktrees[1];
    env.git(wt1, &["commit", "-q", "--allow-empty", "-m", "ahead"]);
    env.git(&repo.path, &["commit", "-q", "--allow-empty", "-m", "main moved"]);
    let fresh = status_with(&[], "3");
    assert_eq!(dirty(&fresh, id), 3, "{fresh:#}");
    let s1 = Env::session(&fresh, id1).unwrap();
    assert_eq!((s1["ahead"].clone(), s1["behind"].clone()), (json!(1), json!(1)), "{s1:#}");
    assert_eq!(Env::session(&fresh, id).unwrap()["behind"], 1, "{fresh:#}");
    let again = status_with(&["--no-git"], "0");
    assert_eq!(dirty(&again, id), 3, "the fresh look was recorded: {again:#}");

    // With room for one, each call refreshes the worktree looked at least recently: after as many
    // calls as there are worktrees, every change has been seen.
    for (_, wt) in &worktrees {
        std::fs::write(wt.join("later.txt"), "x").unwrap();
    }
    for _ in 0..worktrees.len() {
        status_with(&[], "1");
    }
    let after = status_with(&["--no-git"], "0");
    assert_eq!(dirty(&after, id), 4, "{after:#}");
    for (other, _) in &worktrees[1..] {
        assert_eq!(dirty(&after, other), 1, "{after:#}");
    }
}
