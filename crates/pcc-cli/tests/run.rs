//! `parallel-cc run` and `claude-parallel`: the supervisor that registers a session, runs the
//! agent in its checkout and releases the session afterwards (PRODUCT.md §2.1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{Env, KillOnDrop, RunExt, kill9, path_str, pid_running, wait_until};
use pcc_testkit::tree_contents;
use serde_json::Value;

/// The registration JSON `run --json` prints on stderr.
fn registration_on_stderr(stderr: &str) -> Value {
    let line = stderr.lines().find(|l| l.starts_with('{'));
    assert!(line.is_some(), "no registration JSON on stderr:\n{stderr}");
    serde_json::from_str(line.unwrap()).unwrap()
}

#[test]
fn run_returns_the_agents_exit_code_and_releases_the_session() {
    let env = Env::new();
    let repo = env.repo("repo");
    let out = env.pcc().current_dir(&repo.path).args(["run", "--", "sh", "-c", "exit 7"]).out();
    let out = out.expect_code(7);
    assert!(out.stdout.is_empty(), "run prints nothing on stdout itself:\n{}", out.describe());
    let status = env.status(&repo.path);
    assert_eq!(status["totalSessions"], 0, "the session ended with the agent: {status:#}");

    // A signal that kills the agent comes back as 128 + signal, as a shell reports it.
    env.pcc().current_dir(&repo.path).args(["run", "--", "sh", "-c", "kill -9 $$"]).out().expect_code(137);
}

#[test]
fn the_agent_gets_the_session_environment_and_works_in_the_sessions_checkout() {
    let env = Env::new();
    let repo = env.repo("repo");
    let report = env.root().join("report.txt");
    let script = r#"printf '%s\n%s\n%s\n%s\n' "$PARALLEL_CC_SESSION_ID" "$PARALLEL_CC_REPO" "$PARALLEL_CC_WORKTREE" "$(pwd -P)" > "$REPORT""#;

    for isolate in [false, true] {
        let mut cmd = env.pcc();
        cmd.current_dir(&repo.path).env("REPORT", &report).args(["run", "--json"]);
        if isolate {
            cmd.arg("--worktree");
        }
        let out = cmd.args(["--", "sh", "-c", script]).out().ok();
        let reg = registration_on_stderr(&out.stderr);
        let text = std::fs::read_to_string(&report).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], reg["sessionId"].as_str().unwrap(), "PARALLEL_CC_SESSION_ID");
        assert_eq!(lines[1], path_str(&repo.path), "PARALLEL_CC_REPO is the main worktree");
        assert_eq!(lines[2], reg["worktreePath"].as_str().unwrap(), "PARALLEL_CC_WORKTREE");
        assert_eq!(lines[3], lines[2], "the agent's cwd is the session's checkout");
        assert_eq!(reg["isMainRepo"], !isolate, "{reg:#}");
        if isolate {
            assert_ne!(lines[2], path_str(&repo.path));
        }
        std::fs::remove_file(&report).unwrap();
    }

    // From a linked worktree the user made: PARALLEL_CC_REPO is still the main worktree.
    let linked = env.root().join("linked");
    env.git(&repo.path, &["worktree", "add", "-q", "-b", "side", &path_str(&linked)]);
    env.pcc().current_dir(&linked).env("REPORT", &report).args(["run", "--", "sh", "-c", script]).out().ok();
    let text = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], path_str(&repo.path), "PARALLEL_CC_REPO is the main worktree");
    assert_eq!(lines[2], path_str(&linked), "PARALLEL_CC_WORKTREE is the linked checkout");
    assert_eq!(lines[3], path_str(&linked));
}

#[test]
fn a_missing_agent_exits_127_and_leaves_no_live_session_behind() {
    let env = Env::new();
    let repo = env.repo("repo");
    for isolate in [false, true] {
        let mut cmd = env.pcc();
        cmd.current_dir(&repo.path).arg("run");
        if isolate {
            cmd.arg("--worktree");
        }
        let out = cmd.args(["--", "no-such-agent-pcc-test"]).out().expect_code(127);
        assert!(out.stderr.contains("no-such-agent-pcc-test"), "the error names the agent:\n{}", out.describe());
        let status = env.status(&repo.path);
        assert_eq!(status["totalSessions"], 0, "no session is left behind: {status:#}");
        assert_eq!(env.git_worktrees(&repo.path), vec![path_str(&repo.path)], "no worktree is left behind");
    }
    // With --json the failure is one JSON document.
    let out = env
        .pcc()
        .current_dir(&repo.path)
        .args(["run", "--json", "--", "no-such-agent-pcc-test"])
        .out()
        .expect_code(127);
    let doc = out.json();
    assert_eq!(doc["success"], false);
    assert_eq!(doc["code"], "agent_not_found");
}

#[test]
fn outside_a_repository_the_agent_runs_anyway_with_a_note() {
    let env = Env::new();
    let plain = env.root().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let out = env.pcc().current_dir(&plain).args(["run", "--", "sh", "-c", "pwd -P; exit 3"]).out().expect_code(3);
    assert_eq!(out.stdout.trim_end(), path_str(&plain), "the agent runs where it was started");
    assert!(out.stderr.contains("not in a git repository"), "a note on stderr:\n{}", out.describe());
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "the note is one line:\n{}", out.describe());
}

#[test]
fn claude_parallel_passes_every_argument_to_claude_unchanged() {
    let env = Env::new();
    let repo = env.repo("repo");
    let args_file = env.root().join("args.bin");
    // Records its arguments NUL-separated, then exits 5.
    let bin = env
        .fake_program("claude", "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$ARGS_OUT\"\nexit 5\n");
    let cases: &[&[&str]] = &[
        &["update"],
        &["doctor"],
        &["install"],
        &["--help"],
        &["--version"],
        &["-h"],
        &["--json", "status"],
        &["-p", "fix it; rm -rf / $(touch pwned) `x` \"q\" 'y'", "--model", "opus"],
        &[],
    ];
    for args in cases {
        let out = env
            .claude_parallel()
            .current_dir(&repo.path)
            .env("PATH", Env::path_with(&bin))
            .env("ARGS_OUT", &args_file)
            .args(*args)
            .out()
            .expect_code(5);
        let got = std::fs::read(&args_file).unwrap();
        let got: Vec<String> =
            got.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
        assert_eq!(got, args.to_vec(), "claude got other arguments\n{}", out.describe());
        assert!(out.stdout.is_empty(), "parallel-cc captured the command\n{}", out.describe());
        std::fs::remove_file(&args_file).unwrap();
    }
    assert!(!repo.path.join("pwned").exists() && !env.root().join("pwned").exists());
    assert_eq!(env.status(&repo.path)["totalSessions"], 0);
}

/// Wait until `pid` (our child supervisor) blocks waiting for its agent, i.e. it has finished
/// recording the agent's PID. Where the kernel does not say, do not wait.
fn wait_until_waiting_for_child(pid: u32) -> bool {
    let wchan = PathBuf::from(format!("/proc/{pid}/wchan"));
    let readable = std::fs::read_to_string(&wchan).is_ok_and(|w| w != "0" && !w.is_empty());
    !readable
        || wait_until(Duration::from_secs(10), || std::fs::read_to_string(&wchan).is_ok_and(|w| w.contains("wait")))
}

/// Started agent: its PID and its working directory, as it reported them.
fn start_agent_and_wait(env: &Env, repo: &Path, marker: &Path) -> (std::process::Child, i32, PathBuf) {
    // Writes work into its cwd, then says where it is and who it is, then keeps running.
    let script = r#"echo "work in progress" > work.txt; printf '%s\n%s\n' "$$" "$(pwd -P)" > "$READY.tmp"; mv "$READY.tmp" "$READY"; exec sleep 300"#;
    let mut child = env
        .pcc()
        .current_dir(repo)
        .env("READY", marker)
        .args(["run", "--worktree", "--", "sh", "-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = wait_until(Duration::from_secs(20), || marker.exists());
    if !ready {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(ready, "the agent never became ready");
    let text = std::fs::read_to_string(marker).unwrap();
    let mut lines = text.lines();
    let agent: i32 = lines.next().unwrap().parse().unwrap();
    let cwd = PathBuf::from(lines.next().unwrap());
    let mut guard = KillOnDrop(vec![agent]);
    assert!(wait_until_waiting_for_child(child.id()), "the supervisor never started waiting for its agent");
    guard.0.clear(); // the caller guards it from here
    (child, agent, cwd)
}

#[test]
fn kill_9_of_the_supervisor_loses_nothing() {
    let env = Env::new();
    let repo = env.repo("repo");
    let marker = env.root().join("ready");
    let (mut supervisor, agent, worktree) = start_agent_and_wait(&env, &repo.path, &marker);
    let _guard = KillOnDrop(vec![agent]);
    assert_ne!(worktree, repo.path);
    assert_eq!(std::fs::read_to_string(worktree.join("work.txt")).unwrap(), "work in progress\n");
    let before = tree_contents(&worktree).unwrap();

    supervisor.kill().unwrap(); // SIGKILL: no chance to release anything
    supervisor.wait().unwrap();

    // The agent still runs: the session is alive, and cleanup leaves it alone.
    let status = env.status(&repo.path);
    let row = status["sessions"].as_array().unwrap().iter().find(|s| s["worktreePath"] == path_str(&worktree));
    assert!(row.is_some(), "the session is still listed: {status:#}");
    let row = row.unwrap().clone();
    assert_eq!(row["isAlive"], true, "a running agent keeps its session alive: {row:#}");
    assert_eq!(row["state"], "active", "{row:#}");
    let cleaned = env.pcc().args(["cleanup", "--json"]).out().ok().json();
    assert!(!cleaned["sessions"].as_array().unwrap().iter().any(|id| *id == row["sessionId"]), "{cleaned:#}");
    assert!(cleaned["worktreesRemoved"].as_array().unwrap().is_empty(), "{cleaned:#}");
    assert!(cleaned["kept"].as_array().unwrap().is_empty(), "{cleaned:#}");
    assert_eq!(tree_contents(&worktree).unwrap(), before);
    assert!(env.git_worktrees(&repo.path).contains(&path_str(&worktree)));

    // Then the agent dies too: cleanup keeps the worktree (it holds work) and nothing is lost.
    kill9(agent);
    assert!(wait_until(Duration::from_secs(10), || !pid_running(agent)), "the agent did not die");
    let cleaned = env.pcc().args(["cleanup", "--json"]).out().ok().json();
    let name = worktree.file_name().unwrap().to_string_lossy().into_owned();
    assert!(cleaned["kept"].as_array().unwrap().iter().any(|k| k["worktreeName"] == name.as_str()), "{cleaned:#}");
    assert!(cleaned["worktreesRemoved"].as_array().unwrap().is_empty(), "{cleaned:#}");
    assert_eq!(tree_contents(&worktree).unwrap(), before, "work was lost");
    assert!(env.git_worktrees(&repo.path).contains(&path_str(&worktree)));
    let status = env.status(&repo.path);
    let row = status["sessions"].as_array().unwrap().iter().find(|s| s["sessionId"] == row["sessionId"]).cloned();
    assert_eq!(row.as_ref().map(|r| r["state"].clone()), Some(Value::from("kept")), "{status:#}");
    assert_eq!(row.map(|r| r["isAlive"].clone()), Some(Value::from(false)));
}

/// SIGTERM, SIGHUP and SIGINT sent to the supervisor reach the agent; the supervisor survives
/// them, releases the session and exits with the agent's status.
#[test]
fn signals_to_the_supervisor_reach_the_agent_and_the_session_is_released() {
    use rustix::process::{Pid, Signal, kill_process};
    let env = Env::new();
    let repo = env.repo("repo");
    for (signal, number) in [(Signal::TERM, 15), (Signal::HUP, 1), (Signal::INT, 2)] {
        let marker = env.root().join(format!("ready-{number}"));
        let script = r#"printf '%s\n%s\n' "$$" "$(pwd -P)" > "$READY.tmp"; mv "$READY.tmp" "$READY"; exec sleep 300"#;
        let mut child = env
            .pcc()
            .current_dir(&repo.path)
            .env("READY", &marker)
            .args(["run", "--worktree", "--", "sh", "-c", script])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let ready = wait_until(Duration::from_secs(20), || marker.exists());
        if !ready {
            let _ = child.kill();
        }
        assert!(ready, "the agent never became ready");
        let text = std::fs::read_to_string(&marker).unwrap();
        let agent: i32 = text.lines().next().unwrap().parse().unwrap();
        let _guard = KillOnDrop(vec![agent]);
        assert!(wait_until_waiting_for_child(child.id()));

        kill_process(Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap(), signal).unwrap();
        let exited = wait_until(Duration::from_secs(20), || !pid_running(agent));
        assert!(exited, "signal {number} did not reach the agent");
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(128 + number), "signal {number}: the agent's status comes back\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let status = env.status(&repo.path);
        assert_eq!(status["totalSessions"], 0, "signal {number}: the session was released: {status:#}");
        assert_eq!(env.git_worktrees(&repo.path).len(), 1, "the clean worktree was removed");
    }
}
