//! `parallel-cc mcp serve` (what `install --mcp` registers) is the MCP server, over stdio; the
//! original's `mcp-serve` spelling still starts it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use common::Env;
use serde_json::{Value, json};

fn session(env: &Env, args: &[&str]) -> Vec<Value> {
    let mut child =
        env.pcc().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_parallel_status", "arguments": {"repo_path": env.root().join("repo")}}}),
    ];
    for m in &messages {
        writeln!(stdin, "{m}").unwrap();
    }
    drop(stdin);
    let lines: Vec<Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("only JSON-RPC on stdout"))
        .collect();
    assert!(child.wait().unwrap().success());
    lines
}

#[test]
fn mcp_serve_and_the_original_spelling_serve_the_tools() {
    let env = Env::new();
    env.repo("repo");
    for args in [&["mcp", "serve"][..], &["mcp-serve"][..]] {
        let replies = session(&env, args);
        assert_eq!(replies.len(), 3, "{args:?}: {replies:?}");
        assert_eq!(replies[0]["result"]["serverInfo"]["name"], "parallel-cc");
        assert_eq!(replies[1]["result"]["tools"].as_array().unwrap().len(), 17);
        assert_eq!(replies[2]["result"]["isError"], false, "{}", replies[2]);
        assert_eq!(replies[2]["result"]["structuredContent"]["totalSessions"], 0);
    }
}
