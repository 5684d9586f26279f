//! The real `parallel-cc-mcp` binary over its stdio: newline-delimited JSON-RPC in, nothing but
//! JSON-RPC out (logs at trace level go to stderr), the session found from the working directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;

use common::{Client, conforms, world};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn the_binary_speaks_json_rpc_only_on_stdout() {
    let w = world();
    // B has a commit of its own; main moves on elsewhere: B can be rebased cleanly.
    w.commit(&w.b.worktree, "b.txt", "b\n");
    w.commit(&w.repo, "main.txt", "main\n");
    // git hooks that talk on stdout while the rebase runs: none of it may reach the client.
    let hooks = w.repo.join(".git/hooks");
    for hook in ["post-rewrite", "post-checkout", "pre-rebase"] {
        let path = hooks.join(hook);
        std::fs::write(&path, "#!/bin/sh\necho NOISE FROM GIT HOOK\necho more noise >&2\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    let mut cmd = tokio::process::Command::from(w.env.command(env!("CARGO_BIN_EXE_parallel-cc-mcp")));
    cmd.current_dir(&w.b.worktree)
        .env("PARALLEL_CC_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Read the logs as they come, so a full pipe never stalls the server.
    let logs = tokio::spawn(async move {
        let mut logs = String::new();
        let _ = stderr.read_to_string(&mut logs).await;
        logs
    });
    let mut c = Client::new(stdout, stdin);

    let init = c.initialize().await;
    assert_eq!(init["serverInfo"]["name"], "parallel-cc");
    assert_eq!(init["protocolVersion"], "2025-11-25");
    assert!(init["capabilities"]["tools"].is_object());

    let list = c.request("tools/list", json!({})).await;
    let tools = list["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 17, "the tools of PRODUCT.md §6");

    let status = c.ok("get_parallel_status", json!({})).await;
    let ids: Vec<&str> =
        status["sessions"].as_array().unwrap().iter().map(|s| s["sessionId"].as_str().unwrap()).collect();
    assert!(ids.contains(&w.a.id.as_str()) && ids.contains(&w.b.id.as_str()), "{status}");
    // No PARALLEL_CC_SESSION_ID: the session is the one working in the server's directory.
    assert_eq!(c.ok("get_my_session", json!({})).await["sessionId"], w.b.id.as_str());

    let rebased = c.ok("rebase_assist", json!({"targetBranch": "main"})).await;
    assert_eq!(rebased["outcome"], "rebased", "{rebased}");
    assert!(w.b.worktree.join("main.txt").exists() && w.b.worktree.join("b.txt").exists());

    let err = c.fails("claim_file", json!({"filePath": "../../etc/passwd"})).await;
    assert!(err.contains("outside"), "{err}");
    c.ok("get_my_session", json!({})).await;

    // End of input: the server exits; whatever else it wrote on stdout is JSON-RPC too.
    let Client { mut lines, writer, transcript, .. } = c;
    drop(writer);
    while let Some(line) = lines.next_line().await.unwrap() {
        let msg: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(msg["jsonrpc"], "2.0");
    }
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status}");
    // One line per request (initialize, tools/list twice, five calls), nothing else.
    assert_eq!(transcript.len(), 8, "lines on stdout");
    assert!(!transcript.iter().any(|l| l.contains("NOISE")));
    let logs = logs.await.unwrap();
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "trace logs go to stderr: {logs}");
}

#[test]
fn the_schema_check_can_fail() {
    let schema = json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}});
    assert!(conforms(&schema, &schema, &json!({"a": "x"}), "$").is_ok());
    assert!(conforms(&schema, &schema, &json!({"a": 1}), "$").is_err());
    assert!(conforms(&schema, &schema, &json!({}), "$").is_err());
}
