//! `parallel-cc hook <event>` end to end (PRODUCT.md §3.2): Claude Code's real payloads, bad
//! input, broken databases, and two sessions warning and guarding each other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{Env, Out, RunExt, Sleeper, path_str};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/claude-code-hooks");
/// The project path the captured payloads were rewritten to.
const CAPTURED_PROJECT: &str = "/home/dev/src/project";

/// Run `parallel-cc hook <event>` with `stdin` and extra environment variables.
fn hook(env: &Env, event: &str, stdin: &[u8], vars: &[(&str, String)]) -> Out {
    let mut c = env.pcc();
    c.args(["hook", event]);
    for (k, v) in vars {
        c.env(k, v);
    }
    feed(c, &format!("hook {event}"), stdin)
}

/// Run `c` with `stdin` as its standard input.
fn feed(mut c: std::process::Command, what: &str, stdin: &[u8]) -> Out {
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn hook");
    let mut input = child.stdin.take().unwrap();
    // A hook may stop reading early (huge input): a broken pipe is fine.
    let _ = input.write_all(stdin);
    drop(input);
    Out::from_output(what, child.wait_with_output().unwrap())
}

fn as_session(id: &str) -> Vec<(&'static str, String)> {
    vec![("PARALLEL_CC_SESSION_ID", id.to_string())]
}

/// A captured payload with its paths moved to `project`, plus fields no Claude Code sends (yet).
fn fixture(name: &str, project: &Path) -> Value {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join(name)).unwrap();
    let mut v: Value = serde_json::from_str(&text.replace(CAPTURED_PROJECT, &path_str(project))).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.insert("future_field".into(), json!({"nested": [1, 2, {"x": null}]}));
    obj.insert("another_unknown".into(), json!("value"));
    v
}

fn payload(event: &str, tool: &str, file: &Path, cwd: &Path) -> Vec<u8> {
    json!({
        "session_id": "cc-session",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": cwd,
        "hook_event_name": event,
        "tool_name": tool,
        "tool_input": {"file_path": file, "old_string": "a", "new_string": "b"},
        "tool_use_id": "toolu_1",
        "unknown": {"deep": true},
    })
    .to_string()
    .into_bytes()
}

fn assert_silent(out: &Out, what: &str) {
    assert_eq!(out.code, Some(0), "{what}\n{}", out.describe());
    assert_eq!(out.stdout, "", "{what}: stdout must be empty\n{}", out.describe());
}

/// Two live sessions of one repository: A in the main checkout, B in a worktree.
struct Two {
    env: Env,
    repo: PathBuf,
    a: String,
    b: String,
    b_wt: PathBuf,
    b_branch: String,
    _procs: (Sleeper, Sleeper),
}

fn two_sessions() -> Two {
    let env = Env::new();
    let r = env.repo("repo");
    r.write("src/lib.rs", "one\ntwo\nthree\nfour\nfive\n").unwrap();
    r.write("src/other.rs", "other\n").unwrap();
    r.commit_all("files").unwrap();
    let repo = r.path.clone();
    let (pa, pb) = (Sleeper::new(), Sleeper::new());
    let a = env.register(&repo, pa.pid(), &[]);
    let b = env.register(&repo, pb.pid(), &[]);
    assert_eq!(a["isMainRepo"], true);
    let b_wt = PathBuf::from(b["worktreePath"].as_str().unwrap());
    let b_branch = b["worktreeName"].as_str().unwrap().to_string();
    Two {
        a: a["sessionId"].as_str().unwrap().to_string(),
        b: b["sessionId"].as_str().unwrap().to_string(),
        env,
        repo,
        b_wt,
        b_branch,
        _procs: (pa, pb),
    }
}

#[test]
fn every_captured_payload_with_unknown_fields_is_handled_quietly() {
    let t = two_sessions();
    let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !n.starts_with("Worktree"))
        .collect();
    names.sort();
    assert!(names.len() >= 25, "{names:?}");
    for name in &names {
        let v = fixture(name, &t.repo);
        let event = v["hook_event_name"].as_str().unwrap();
        // Events parallel-cc does not install are still accepted (and ignored).
        let cli = match event {
            "PreToolUse" => "pre-tool-use",
            "PostToolUse" => "post-tool-use",
            "PostToolUseFailure" => "post-tool-use-failure",
            "SessionStart" => "session-start",
            "SessionEnd" => "session-end",
            "Stop" => "stop",
            other => other,
        };
        let input = serde_json::to_vec(&v).unwrap();
        // Known session, alone in its files: nothing to say.
        let out = hook(&t.env, cli, &input, &as_session(&t.a));
        assert_silent(&out, name);
        // No session at all (a directory no session works in, no environment): nothing either.
        let elsewhere = serde_json::to_vec(&fixture(name, &t.env.root().join("elsewhere"))).unwrap();
        let out = hook(&t.env, cli, &elsewhere, &[("CLAUDE_PID", "999999999".into())]);
        if cli != "session-start" {
            assert_silent(&out, &format!("{name} (unknown session)"));
        }
    }
    // What the payloads recorded: the last tool, and the agent's state after Stop / SessionEnd.
    let status = t.env.status(&t.repo);
    let a = Env::session(&status, &t.a).unwrap();
    assert_eq!(a["lastActivity"]["tool"], "Bash", "{a:#}");
    assert_eq!(a["state"], "idle", "SessionEnd of a supervised session leaves it registered, idle");
}

#[test]
fn bad_input_and_broken_databases_never_reach_the_agent() {
    let t = two_sessions();
    let edit = payload("PreToolUse", "Edit", &t.repo.join("src/lib.rs"), &t.b_wt);
    let mut huge = b"{\"cwd\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 4 * 1024 * 1024 + 10));
    huge.extend(b"\"}");
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("malformed", b"{\"cwd\": ".to_vec()),
        ("not an object", b"[1,2,3]".to_vec()),
        ("binary", vec![0xff, 0xfe, 0x00, 0x01, 0x80]),
        ("huge", huge),
    ];
    for event in ["pre-tool-use", "post-tool-use", "session-start", "session-end", "stop", "worktree-remove"] {
        for (what, input) in &inputs {
            let out = hook(&t.env, event, input, &as_session(&t.b));
            assert_silent(&out, &format!("{event} with {what} input"));
        }
    }
    // Unknown session id, and a cwd no session works in: nothing, even for an edit that would
    // otherwise be denied.
    let stray = payload("PreToolUse", "Edit", &t.repo.join("src/lib.rs"), &t.env.root());
    let out = hook(&t.env, "pre-tool-use", &stray, &as_session("no-such-session"));
    assert_silent(&out, "unknown session");

    // Missing database (a fresh data dir), and a data dir that cannot exist (a file).
    let fresh = t.env.root().join("fresh-data");
    let out = hook(&t.env, "pre-tool-use", &edit, &[("PARALLEL_CC_DATA_DIR", path_str(&fresh))]);
    assert_silent(&out, "missing database");
    let file = t.env.root().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = hook(&t.env, "post-tool-use", &edit, &[("PARALLEL_CC_DATA_DIR", path_str(&file.join("d")))]);
    assert_silent(&out, "unusable data dir");
    // A corrupt database.
    let corrupt = t.env.root().join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::write(corrupt.join("coordinator.db"), b"this is not sqlite, not at all, not even close....").unwrap();
    let out = hook(&t.env, "post-tool-use", &edit, &[("PARALLEL_CC_DATA_DIR", path_str(&corrupt))]);
    assert_silent(&out, "corrupt database");

    // A locked database: another process holds the write lock for the whole call.
    let db = t.env.data_dir().join("coordinator.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let post = payload("PostToolUse", "Edit", &t.b_wt.join("src/lib.rs"), &t.b_wt);
    let mut vars = as_session(&t.b);
    vars.push(("PARALLEL_CC_DB_BUSY_TIMEOUT_MS", "50".into()));
    for event in ["post-tool-use", "pre-tool-use", "stop"] {
        let out = hook(&t.env, event, &post, &vars);
        assert_silent(&out, &format!("{event} with a locked database"));
    }
    conn.execute_batch("ROLLBACK").unwrap();
    let log = std::fs::read_to_string(t.env.data_dir().join("hooks.log")).unwrap();
    assert!(log.contains("post-tool-use") && log.contains("locked"), "{log}");
}

#[test]
fn an_edit_to_a_file_another_session_changed_warns_once_naming_it() {
    let t = two_sessions();
    // A changed src/lib.rs in the main checkout without any hook (say, by hand).
    std::fs::write(t.repo.join("src/lib.rs"), "ONE\ntwo\nthree\nfour\nfive\n").unwrap();
    // B edits its own copy.
    let file = t.b_wt.join("src/lib.rs");
    std::fs::write(&file, "one\ntwo\nthree\nfour\nFIVE\n").unwrap();
    let input = payload("PostToolUse", "Edit", &file, &t.b_wt);
    let out = hook(&t.env, "post-tool-use", &input, &as_session(&t.b)).ok();
    let doc = out.json();
    let ctx = doc["hookSpecificOutput"]["additionalContext"].as_str().unwrap();
    assert_eq!(doc["hookSpecificOutput"]["hookEventName"], "PostToolUse");
    assert!(ctx.contains("src/lib.rs"), "{ctx}");
    assert!(ctx.contains(&t.a[..8]) && ctx.contains("branch main"), "{ctx}");
    assert!(ctx.contains("uncommitted"), "{ctx}");
    assert!(ctx.contains("parallel-cc overlaps"), "{ctx}");
    // The same overlap again: no repeat.
    let out = hook(&t.env, "post-tool-use", &input, &as_session(&t.b));
    assert_silent(&out, "second edit, same overlap");
    // Another file nobody else touches: silent.
    let other = payload("PostToolUse", "Write", &t.b_wt.join("src/new.rs"), &t.b_wt);
    assert_silent(&hook(&t.env, "post-tool-use", &other, &as_session(&t.b)), "file of its own");

    // A now edits the file through its hooks: it is warned about B (which edited it).
    let input_a = payload("PostToolUse", "Edit", &t.repo.join("src/lib.rs"), &t.repo);
    let doc = hook(&t.env, "post-tool-use", &input_a, &as_session(&t.a)).ok().json();
    let ctx = doc["hookSpecificOutput"]["additionalContext"].as_str().unwrap();
    assert!(ctx.contains(&t.b[..8]) && ctx.contains(&format!("branch {}", t.b_branch)), "{ctx}");
    assert!(ctx.contains("edited it"), "{ctx}");

    // The radar shows the file with both sessions; the edits are on different lines.
    let o = t.env.pcc().args(["overlaps", "--json", "--repo"]).arg(&t.repo).out().ok().json();
    assert_eq!(o["total"], 1, "{o:#}");
    assert_eq!(o["overlaps"][0]["file"], "src/lib.rs");
    assert_eq!(o["overlaps"][0]["mergesCleanly"], true, "{o:#}");
    let ids: Vec<&str> =
        o["overlaps"][0]["sessions"].as_array().unwrap().iter().map(|s| s["sessionId"].as_str().unwrap()).collect();
    assert!(ids.contains(&t.a.as_str()) && ids.contains(&t.b.as_str()), "{ids:?}");
    // Asked from inside B's worktree: the same answer (B's work is measured from main's line).
    let from_b = t.env.pcc().current_dir(&t.b_wt).args(["overlaps", "--json"]).out().ok().json();
    assert_eq!(from_b["overlaps"], o["overlaps"], "{from_b:#}");
    // Same line changed differently: would conflict.
    std::fs::write(&file, "ONE-B\ntwo\nthree\nfour\nfive\n").unwrap();
    let o = t.env.pcc().args(["overlaps", "--json", "--repo"]).arg(&t.repo).out().ok().json();
    assert_eq!(o["overlaps"][0]["mergesCleanly"], false, "{o:#}");
}

#[test]
fn changes_come_and_go_in_another_checkout_and_are_seen_each_time() {
    // The base versions are looked up once and cached; the checkouts are read on every call.
    let t = two_sessions();
    let file = t.b_wt.join("src/lib.rs");
    std::fs::write(&file, "one\ntwo\nthree\nfour\nFIVE\n").unwrap();
    let input = payload("PostToolUse", "Edit", &file, &t.b_wt);
    let warned = |out: Out| out.ok().json()["hookSpecificOutput"]["additionalContext"].as_str().unwrap().to_string();

    std::fs::write(t.repo.join("src/lib.rs"), "ONE\ntwo\nthree\nfour\nfive\n").unwrap();
    assert!(warned(hook(&t.env, "post-tool-use", &input, &as_session(&t.b))).contains(&t.a[..8]));
    let conn = rusqlite::Connection::open(t.env.data_dir().join("coordinator.db")).unwrap();
    let cached: i64 = conn
        .query_row("SELECT COUNT(*) FROM blob_cache WHERE file_path = 'src/lib.rs' AND blob_id IS NOT NULL", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(cached >= 1, "the base version is cached");

    // A puts the file back: nothing to warn about any more.
    std::fs::write(t.repo.join("src/lib.rs"), "one\ntwo\nthree\nfour\nfive\n").unwrap();
    assert_silent(&hook(&t.env, "post-tool-use", &input, &as_session(&t.b)), "A reverted");
    // A changes it again: B hears about it again.
    std::fs::write(t.repo.join("src/lib.rs"), "one\nTWO\nthree\nfour\nfive\n").unwrap();
    assert!(warned(hook(&t.env, "post-tool-use", &input, &as_session(&t.b))).contains(&t.a[..8]));
    // The same hook through the full command line parser (a global option first) behaves alike:
    // quiet once A reverts, warning again once A changes the file again.
    std::fs::write(t.repo.join("src/lib.rs"), "one\ntwo\nthree\nfour\nfive\n").unwrap();
    let through_clap = || {
        let mut c = t.env.pcc();
        c.args(["--quiet", "hook", "post-tool-use"]).env("PARALLEL_CC_SESSION_ID", &t.b);
        feed(c, "--quiet hook post-tool-use", &input)
    };
    assert_silent(&through_clap(), "through clap, A reverted");
    std::fs::write(t.repo.join("src/lib.rs"), "one\ntwo\nTHREE\nfour\nfive\n").unwrap();
    assert!(warned(through_clap()).contains(&t.a[..8]), "through clap, A changed it again");
}

fn insert_claim(env: &Env, session: &str, repo: &Path, file: &str, mode: &str) {
    let conn = rusqlite::Connection::open(env.data_dir().join("coordinator.db")).unwrap();
    conn.execute(
        "INSERT INTO file_claims (id, session_id, repo_path, file_path, claim_mode, expires_at, metadata) \
         VALUES (?1, ?2, ?3, ?4, ?5, datetime('now', '+1 day'), '{\"reason\":\"refactoring auth\"}')",
        rusqlite::params![format!("claim-{file}"), session, path_str(repo), file, mode],
    )
    .unwrap();
}

fn denial(out: &Out) -> String {
    let doc = out.json();
    assert_eq!(doc["hookSpecificOutput"]["hookEventName"], "PreToolUse", "{doc:#}");
    assert_eq!(doc["hookSpecificOutput"]["permissionDecision"], "deny", "{doc:#}");
    doc["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().to_string()
}

#[test]
fn an_exclusive_claim_denies_other_sessions_and_allows_its_holder() {
    let t = two_sessions();
    insert_claim(&t.env, &t.a, &t.repo, "src/lib.rs", "EXCLUSIVE");
    insert_claim(&t.env, &t.a, &t.repo, "src/auth/", "EXCLUSIVE");
    insert_claim(&t.env, &t.a, &t.repo, "src/other.rs", "SHARED");
    let b_edit = payload("PreToolUse", "Edit", &t.b_wt.join("src/lib.rs"), &t.b_wt);
    let reason = denial(&hook(&t.env, "pre-tool-use", &b_edit, &as_session(&t.b)).ok());
    assert!(reason.contains("src/lib.rs is claimed EXCLUSIVE"), "{reason}");
    assert!(
        reason.contains(&t.a[..8]) && reason.contains("branch main") && reason.contains("refactoring auth"),
        "{reason}"
    );
    // A directory claim covers the files below it.
    let below = payload("PreToolUse", "Write", &t.b_wt.join("src/auth/login.rs"), &t.b_wt);
    assert!(denial(&hook(&t.env, "pre-tool-use", &below, &as_session(&t.b)).ok()).contains("src/auth/login.rs"));
    // SHARED does not block; the holder itself is allowed; reads are never looked at.
    let shared = payload("PreToolUse", "Edit", &t.b_wt.join("src/other.rs"), &t.b_wt);
    assert_silent(&hook(&t.env, "pre-tool-use", &shared, &as_session(&t.b)), "shared claim");
    let a_edit = payload("PreToolUse", "Edit", &t.repo.join("src/lib.rs"), &t.repo);
    assert_silent(&hook(&t.env, "pre-tool-use", &a_edit, &as_session(&t.a)), "the holder");
    let read = payload("PreToolUse", "Read", &t.b_wt.join("src/lib.rs"), &t.b_wt);
    assert_silent(&hook(&t.env, "pre-tool-use", &read, &as_session(&t.b)), "a read");
    // The setting turns enforcement off.
    let mut vars = as_session(&t.b);
    vars.push(("PARALLEL_CC_HOOKS_ENFORCE_CLAIMS", "false".into()));
    assert_silent(&hook(&t.env, "pre-tool-use", &b_edit, &vars), "enforcement off");
}

#[test]
fn an_edit_aimed_at_the_main_checkout_from_a_worktree_session_is_denied_with_the_right_path() {
    let t = two_sessions();
    let wrong = payload("PreToolUse", "Edit", &t.repo.join("src/lib.rs"), &t.b_wt);
    let reason = denial(&hook(&t.env, "pre-tool-use", &wrong, &as_session(&t.b)).ok());
    let right = path_str(&t.b_wt.join("src/lib.rs"));
    assert!(reason.contains(&right), "{reason}");
    assert!(reason.contains(&path_str(&t.repo.join("src/lib.rs"))), "{reason}");
    // Found through CLAUDE_PROJECT_DIR as well as through the session id.
    let out = hook(&t.env, "pre-tool-use", &wrong, &[("CLAUDE_PROJECT_DIR", path_str(&t.b_wt))]);
    assert!(denial(&out.ok()).contains(&right));
    // And the other way round: A must not edit B's worktree.
    let into_b = payload("PreToolUse", "Write", &t.b_wt.join("src/x.rs"), &t.repo);
    let reason = denial(&hook(&t.env, "pre-tool-use", &into_b, &as_session(&t.a)).ok());
    assert!(reason.contains(&path_str(&t.repo.join("src/x.rs"))), "{reason}");
    // Its own checkout, and files outside the repository, are fine.
    let own = payload("PreToolUse", "Edit", &t.b_wt.join("src/lib.rs"), &t.b_wt);
    assert_silent(&hook(&t.env, "pre-tool-use", &own, &as_session(&t.b)), "own checkout");
    let outside = payload("PreToolUse", "Write", &t.env.root().join("notes.txt"), &t.b_wt);
    assert_silent(&hook(&t.env, "pre-tool-use", &outside, &as_session(&t.b)), "outside the repo");
    // The setting turns the guard off.
    let mut vars = as_session(&t.b);
    vars.push(("PARALLEL_CC_HOOKS_GUARD_WORKTREE", "false".into()));
    assert_silent(&hook(&t.env, "pre-tool-use", &wrong, &vars), "guard off");
}

#[test]
fn worktree_provider_creates_registered_worktrees_and_keeps_those_holding_work() {
    let env = Env::new();
    let r = env.repo("repo");
    let repo = r.path.clone();
    let claude = Sleeper::new();
    let vars = vec![("CLAUDE_PID", claude.pid().to_string()), ("CLAUDE_PROJECT_DIR", path_str(&repo))];
    let create = |name: &str| {
        let mut v = fixture("WorktreeCreate.json", &repo);
        v["name"] = json!(name);
        let out = hook(&env, "worktree-create", &serde_json::to_vec(&v).unwrap(), &vars).ok();
        PathBuf::from(out.stdout.trim_end())
    };
    let dirty = create("feature one");
    let clean = create("agent-ac4d38573fcdd78dc");
    for p in [&dirty, &clean] {
        assert!(p.is_absolute() && p.join("README.md").is_file(), "{}", p.display());
    }
    assert!(dirty.ends_with("feature-one"), "{}", dirty.display());
    let status = env.status(&repo);
    assert_eq!(status["totalSessions"], 2, "{status:#}");
    for s in status["sessions"].as_array().unwrap() {
        assert_eq!(s["pid"], claude.pid(), "{s:#}");
        assert_eq!(s["isAlive"], true);
    }
    // Asking again for the same name gives the same worktree.
    assert_eq!(create("feature one"), dirty);

    std::fs::write(dirty.join("work.txt"), "precious\n").unwrap();
    let remove = |path: &Path| {
        let mut v = fixture("WorktreeRemove.json", &repo);
        v["worktree_path"] = json!(path);
        v["cwd"] = json!(path);
        hook(&env, "worktree-remove", &serde_json::to_vec(&v).unwrap(), &vars).ok()
    };
    let out = remove(&dirty);
    assert!(out.json()["systemMessage"].as_str().unwrap().contains("kept"), "{}", out.describe());
    assert_eq!(std::fs::read_to_string(dirty.join("work.txt")).unwrap(), "precious\n");
    assert_silent(&remove(&clean), "clean worktree removed");
    assert!(!clean.exists());
    let status = env.status(&repo);
    assert_eq!(status["totalSessions"], 1, "{status:#}");
    assert_eq!(status["sessions"][0]["state"], "kept");
    assert_eq!(status["sessions"][0]["worktreePath"], path_str(&dirty));
    // A path parallel-cc did not create is never touched.
    let stranger = env.root().join("stranger");
    std::fs::create_dir_all(&stranger).unwrap();
    assert_silent(&remove(&stranger), "unknown worktree");
    assert!(stranger.is_dir());
}

#[test]
fn claude_started_without_parallel_cc_is_registered_by_its_hooks_and_released_at_the_end() {
    let env = Env::new();
    let repo = env.repo("repo").path.clone();
    let claude = Sleeper::new();
    let vars = vec![("CLAUDE_PID", claude.pid().to_string()), ("CLAUDE_PROJECT_DIR", path_str(&repo))];
    let start = serde_json::to_vec(&fixture("SessionStart.json", &repo)).unwrap();
    assert_silent(&hook(&env, "session-start", &start, &vars), "session-start");
    let status = env.status(&repo);
    assert_eq!(status["totalSessions"], 1, "{status:#}");
    assert_eq!(status["sessions"][0]["pid"], claude.pid());
    assert_eq!(status["sessions"][0]["isMainRepo"], true);
    // Again (a resumed conversation): still one session.
    assert_silent(&hook(&env, "session-start", &start, &vars), "second session-start");
    let edit = serde_json::to_vec(&fixture("PostToolUse.Edit.json", &repo)).unwrap();
    assert_silent(&hook(&env, "post-tool-use", &edit, &vars), "edit");
    let s = &env.status(&repo)["sessions"][0];
    assert_eq!(s["lastActivity"]["tool"], "Edit", "{s:#}");
    assert_eq!(s["state"], "active");
    let stop = serde_json::to_vec(&fixture("Stop.json", &repo)).unwrap();
    assert_silent(&hook(&env, "stop", &stop, &vars), "stop");
    assert_eq!(env.status(&repo)["sessions"][0]["state"], "idle");
    // `/clear` ends the conversation, not the process.
    let mut end = fixture("SessionEnd.json", &repo);
    end["reason"] = json!("clear");
    assert_silent(&hook(&env, "session-end", &serde_json::to_vec(&end).unwrap(), &vars), "clear");
    assert_eq!(env.status(&repo)["totalSessions"], 1);
    end["reason"] = json!("prompt_input_exit");
    assert_silent(&hook(&env, "session-end", &serde_json::to_vec(&end).unwrap(), &vars), "exit");
    assert_eq!(env.status(&repo)["totalSessions"], 0);
}

#[test]
fn hook_commands_are_in_the_help_and_unknown_events_are_ignored() {
    let env = Env::new();
    let out = hook(&env, "user-prompt-submit", b"{}", &[]);
    assert_silent(&out, "unknown event");
    let help = env.pcc().args(["hook", "--help"]).out().ok();
    assert!(help.stdout.contains("pre-tool-use"), "{}", help.stdout);
}
