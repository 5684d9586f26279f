//! A newline-delimited JSON-RPC client for the MCP server (in-process over a duplex pipe, or the
//! real binary over its stdio), and a repository with three live sessions.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Child;

use pcc_core::{Coordinator, Isolation, RegisterRequest, RegisteredBy};
use pcc_mcp::{Identity, Server};
use pcc_testkit::TestEnv;
use rmcp::ServiceExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, Lines};

pub struct Client<R, W> {
    pub lines: Lines<BufReader<R>>,
    pub writer: W,
    next_id: u64,
    /// Every line the server wrote, in order.
    pub transcript: Vec<String>,
    /// Output schemas from `tools/list`, by tool name.
    schemas: std::collections::HashMap<String, Value>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Client<R, W> {
    pub fn new(reader: R, writer: W) -> Self {
        Client {
            lines: BufReader::new(reader).lines(),
            writer,
            next_id: 1,
            transcript: Vec::new(),
            schemas: Default::default(),
        }
    }

    pub async fn send(&mut self, msg: &Value) {
        let mut line = serde_json::to_vec(msg).unwrap();
        line.push(b'\n');
        self.writer.write_all(&line).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    /// Send a request and wait for its response (the whole JSON-RPC message).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        loop {
            let line = self.lines.next_line().await.unwrap().expect("the server closed its output");
            self.transcript.push(line.clone());
            let msg: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON on stdout ({e}): {line}"));
            assert_eq!(msg["jsonrpc"], "2.0", "not JSON-RPC: {line}");
            if msg["id"] == json!(id) {
                return msg;
            }
        }
    }

    pub async fn initialize(&mut self) -> Value {
        let r = self
            .request(
                "initialize",
                json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}),
            )
            .await;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
        let list = self.request("tools/list", json!({})).await;
        for t in list["result"]["tools"].as_array().unwrap() {
            if let Some(schema) = t.get("outputSchema") {
                self.schemas.insert(t["name"].as_str().unwrap().to_string(), schema.clone());
            }
        }
        r["result"].clone()
    }

    /// `tools/call`: the result (`isError` may be true); panics on a protocol error.
    pub async fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args})).await;
        assert!(r.get("error").is_none(), "{tool}: protocol error {r}");
        r["result"].clone()
    }

    /// A successful call's structured content (checked against its JSON text).
    pub async fn ok(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args).await;
        assert_eq!(r["isError"], false, "{tool} failed: {r}");
        let text: Value = serde_json::from_str(r["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, r["structuredContent"], "{tool}: the text is the same JSON");
        let canonical = match tool {
            "claimFile" => "claim_file",
            "releaseFile" => "release_file",
            "listFileClaims" => "list_file_claims",
            "detectAdvancedConflicts" => "detect_advanced_conflicts",
            "getAutoFixSuggestions" => "get_auto_fix_suggestions",
            "applyAutoFix" => "apply_auto_fix",
            "conflictHistory" => "conflict_history",
            t => t,
        };
        let schema = self.schemas.get(canonical).unwrap_or_else(|| panic!("{tool} has no output schema"));
        if let Err(e) = conforms(schema, schema, &r["structuredContent"], "$") {
            panic!("{tool}: the result does not match its output schema: {e}\n{r}");
        }
        r["structuredContent"].clone()
    }

    /// A call that fails as a tool error: its text.
    pub async fn fails(&mut self, tool: &str, args: Value) -> String {
        let r = self.call(tool, args).await;
        assert_eq!(r["isError"], true, "{tool} should fail: {r}");
        r["content"][0]["text"].as_str().unwrap().to_string()
    }
}

/// A server for `identity`, in this process, over a duplex pipe.
pub async fn connect(
    data_dir: &Path,
    identity: Identity,
) -> Client<tokio::io::ReadHalf<tokio::io::DuplexStream>, tokio::io::WriteHalf<tokio::io::DuplexStream>> {
    let (client_end, server_end) = tokio::io::duplex(1 << 22);
    let server = Server::new(Ok(data_dir.to_path_buf()), identity);
    tokio::spawn(async move {
        let (r, w) = tokio::io::split(server_end);
        if let Ok(running) = server.serve((r, w)).await {
            let _ = running.waiting().await;
        }
    });
    let (r, w) = tokio::io::split(client_end);
    let mut c = Client::new(r, w);
    c.initialize().await;
    c
}

pub struct Session {
    pub id: String,
    pub worktree: PathBuf,
    pub branch: Option<String>,
}

impl Session {
    pub fn identity(&self) -> Identity {
        Identity { session_id: Some(self.id.clone()), cwd: self.worktree.clone() }
    }

    pub fn branch(&self) -> &str {
        self.branch.as_deref().unwrap()
    }
}

/// One repository with three live sessions: M in the main checkout, A and B in worktrees.
pub struct World {
    pub env: TestEnv,
    pub repo: PathBuf,
    pub m: Session,
    pub a: Session,
    pub b: Session,
    procs: Vec<Child>,
}

impl Drop for World {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

pub fn world() -> World {
    let env = TestEnv::new().unwrap();
    let r = env.repo("repo").unwrap();
    r.write("src/lib.rs", "pub fn a() -> u32 {\n    1\n}\n").unwrap();
    r.write("notes.txt", "notes\n").unwrap();
    r.commit_all("files").unwrap();
    let repo = r.path.clone();
    let procs: Vec<Child> = (0..3).map(|_| std::process::Command::new("sleep").arg("600").spawn().unwrap()).collect();
    let mut coord = Coordinator::open(&env.data_dir()).unwrap();
    let mut register = |pid: u32| {
        let d = coord
            .register(&RegisterRequest {
                repo: repo.clone(),
                pid: i64::from(pid),
                pid_start: None,
                isolation: Isolation::Auto,
                base: None,
                branch: None,
                name: None,
                agent: Some("claude".into()),
                registered_by: RegisteredBy::Register,
                new_session: false,
            })
            .unwrap();
        Session {
            id: d.registration.session_id.clone(),
            worktree: PathBuf::from(&d.registration.worktree_path),
            branch: d.branch.clone(),
        }
    };
    let m = register(procs[0].id());
    let a = register(procs[1].id());
    let b = register(procs[2].id());
    World { env, repo, m, a, b, procs }
}

impl World {
    /// Write `content` to `rel` in `dir` and commit it there.
    pub fn commit(&self, dir: &Path, rel: &str, content: &str) {
        pcc_testkit::write_file(dir, rel, content.as_bytes()).unwrap();
        self.env.git(dir, &["add", "-A"]).unwrap();
        self.env.git(dir, &["commit", "-q", "-m", &format!("change {rel}")]).unwrap();
    }
}

/// Does `v` match `schema` (the JSON Schema subset schemars writes: type, required, properties,
/// items, $ref into $defs, oneOf/anyOf, const, enum)? `Err` says where it does not.
pub fn conforms(root: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").ok_or_else(|| format!("{at}: unsupported $ref {r}"))?;
        return conforms(root, &root["$defs"][name], v, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let fits = options.iter().filter(|o| conforms(root, o, v, at).is_ok()).count();
            let ok = if key == "oneOf" { fits == 1 } else { fits >= 1 };
            if !ok {
                return Err(format!("{at}: {v} fits {fits} of the {key} options"));
            }
        }
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        return Err(format!("{at}: {v} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        return Err(format!("{at}: {v} is not one of {e:?}"));
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !fits {
            return Err(format!("{at}: {actual} where the schema says {types:?}"));
        }
    }
    if let Value::Object(m) = v {
        for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let r = r.as_str().unwrap();
            if !m.contains_key(r) {
                return Err(format!("{at}: required field {r} is missing"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, sub) in props {
                if let Some(x) = m.get(k) {
                    conforms(root, sub, x, &format!("{at}.{k}"))?;
                }
            }
            for k in m.keys() {
                if !props.contains_key(k) && schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                    return Err(format!("{at}: field {k} is not in the schema"));
                }
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (v, schema.get("items")) {
        for (i, x) in items.iter().enumerate() {
            conforms(root, item, x, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}
