//! `process.Process`: commands as real local processes, each the leader of its own process
//! group (so a kill reaches everything it started), output streamed as it arrives with
//! backpressure, `Connect-Timeout-Ms` as a kill timer, re-attach by pid or tag, signals, stdin.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{HeaderMap, Request};
use rustix::process::Signal;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::ChildStdin;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::connect::{self, ConnectError, StreamWriter};
use super::envd::{self, User};
use super::files::resolve;
use super::state::{Sandbox, Shared, lock};
use super::web::{self, Response};

const MAX_STREAM_REQUEST: usize = 1 << 20;
/// envd reads the pipes in chunks of up to 32 KiB.
const READ_CHUNK: usize = 32 * 1024;
/// Used when `Keepalive-Ping-Interval` is missing or invalid, as envd does.
const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(90);

/// How a process ended, in the words of envd's `end` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub exit_code: i32,
    pub exited: bool,
    pub status: String,
    pub error: Option<String>,
}

impl Exit {
    fn from_status(st: std::process::ExitStatus) -> Exit {
        if let Some(code) = st.code() {
            let status = format!("exit status {code}");
            Exit { exit_code: code, exited: true, error: (code != 0).then(|| status.clone()), status }
        } else {
            let sig = st.signal().unwrap_or(0);
            let mut status = format!("signal: {}", signal_name(sig));
            if st.core_dumped() {
                status.push_str(" (core dumped)");
            }
            Exit { exit_code: -1, exited: false, error: Some(status.clone()), status }
        }
    }

    /// protojson: zero values omitted.
    fn to_json(&self) -> Value {
        let mut end = Map::new();
        if self.exit_code != 0 {
            end.insert("exitCode".into(), json!(self.exit_code));
        }
        if self.exited {
            end.insert("exited".into(), json!(true));
        }
        if !self.status.is_empty() {
            end.insert("status".into(), json!(self.status));
        }
        if let Some(e) = &self.error {
            end.insert("error".into(), json!(e));
        }
        json!({ "event": { "end": end } })
    }
}

/// Go's names for the common signals (`ProcessState.String()`).
fn signal_name(sig: i32) -> String {
    match sig {
        1 => "hangup".into(),
        2 => "interrupt".into(),
        3 => "quit".into(),
        6 => "aborted".into(),
        9 => "killed".into(),
        11 => "segmentation fault".into(),
        13 => "broken pipe".into(),
        15 => "terminated".into(),
        n => format!("signal {n}"),
    }
}

#[derive(Debug, Clone)]
enum Event {
    Stdout(Bytes),
    Stderr(Bytes),
    End(Exit),
}

struct Fanout {
    subscribers: Vec<mpsc::Sender<Event>>,
    ended: Option<Exit>,
}

enum Subscription {
    Live(mpsc::Receiver<Event>),
    Ended(Exit),
}

/// One process started through `Start`.
pub struct Proc {
    pub pid: u32,
    tag: Option<String>,
    config: Value,
    fanout: Mutex<Fanout>,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    stdin_enabled: bool,
}

impl Proc {
    /// Signal the whole process group; a no-op once the process has ended, so a recycled pid
    /// is never hit.
    pub fn signal_group(&self, sig: Signal) {
        let fanout = lock(&self.fanout);
        if fanout.ended.is_some() {
            return;
        }
        if let Some(pid) = i32::try_from(self.pid).ok().and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process_group(pid, sig);
        }
    }

    pub fn has_ended(&self) -> bool {
        lock(&self.fanout).ended.is_some()
    }

    fn subscribe(&self) -> Subscription {
        let mut f = lock(&self.fanout);
        if let Some(exit) = &f.ended {
            return Subscription::Ended(exit.clone());
        }
        let (tx, rx) = mpsc::channel(8);
        f.subscribers.push(tx);
        Subscription::Live(rx)
    }

    /// Hand an output chunk to every attached stream, waiting for slow ones (backpressure all
    /// the way to the process); with nobody attached the output is dropped, as envd does.
    async fn broadcast(&self, ev: Event) {
        let subs: Vec<mpsc::Sender<Event>> = lock(&self.fanout).subscribers.clone();
        let mut any_closed = false;
        for s in &subs {
            if s.send(ev.clone()).await.is_err() {
                any_closed = true;
            }
        }
        if any_closed {
            lock(&self.fanout).subscribers.retain(|s| !s.is_closed());
        }
    }

    async fn finish(&self, exit: Exit) {
        let subs = {
            let mut f = lock(&self.fanout);
            f.ended = Some(exit.clone());
            std::mem::take(&mut f.subscribers)
        };
        for s in subs {
            let _ = s.send(Event::End(exit.clone())).await;
        }
    }

    fn info(&self) -> Value {
        let mut v = json!({ "config": self.config, "pid": self.pid });
        if let Some(t) = &self.tag {
            v["tag"] = json!(t);
        }
        v
    }
}

pub async fn handle(shared: &Arc<Shared>, sbx: &Arc<Sandbox>, method: &str, req: Request<Incoming>) -> Response {
    match method {
        "Start" => start(shared, sbx, req).await,
        "Connect" => connect_stream(shared, sbx, req).await,
        "List" => {
            let sbx = sbx.clone();
            envd::unary(req, move |_, _| async move {
                let mut procs: Vec<Arc<Proc>> =
                    lock(&sbx.processes).values().filter(|p| !p.has_ended()).cloned().collect();
                procs.sort_by_key(|p| p.pid);
                Ok(json!({ "processes": procs.iter().map(|p| p.info()).collect::<Vec<_>>() }))
            })
            .await
        }
        "SendSignal" => {
            let sbx = sbx.clone();
            envd::unary(req, move |_, msg| async move {
                let p = select(&sbx, &msg)?;
                let sig = match msg.get("signal") {
                    Some(Value::String(s)) if s == "SIGNAL_SIGKILL" => Signal::KILL,
                    Some(Value::String(s)) if s == "SIGNAL_SIGTERM" => Signal::TERM,
                    Some(Value::Number(n)) if n.as_u64() == Some(9) => Signal::KILL,
                    Some(Value::Number(n)) if n.as_u64() == Some(15) => Signal::TERM,
                    other => return Err(ConnectError::invalid_argument(format!("invalid signal: {other:?}"))),
                };
                p.signal_group(sig);
                Ok(json!({}))
            })
            .await
        }
        "SendInput" => {
            let sbx = sbx.clone();
            envd::unary(req, move |_, msg| async move {
                let p = select(&sbx, &msg)?;
                let input = msg.get("input").cloned().unwrap_or(Value::Null);
                let data = match (input.get("stdin"), input.get("pty")) {
                    (Some(Value::String(b)), _) => base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .map_err(|e| ConnectError::invalid_argument(format!("invalid base64 stdin: {e}")))?,
                    (_, Some(_)) => return Err(ConnectError::invalid_argument("the process has no pty")),
                    _ => Vec::new(),
                };
                if !p.stdin_enabled {
                    return Err(ConnectError::new(
                        "failed_precondition",
                        format!("stdin is not enabled for process {}", p.pid),
                    ));
                }
                let mut stdin = p.stdin.lock().await;
                let Some(w) = stdin.as_mut() else {
                    return Err(ConnectError::new(
                        "failed_precondition",
                        format!("stdin of process {} is closed", p.pid),
                    ));
                };
                w.write_all(&data).await.map_err(|e| ConnectError::internal(format!("error writing to stdin: {e}")))?;
                w.flush().await.map_err(|e| ConnectError::internal(format!("error writing to stdin: {e}")))?;
                Ok(json!({}))
            })
            .await
        }
        "CloseStdin" => {
            let sbx = sbx.clone();
            envd::unary(req, move |_, msg| async move {
                let p = select(&sbx, &msg)?;
                p.stdin.lock().await.take();
                Ok(json!({}))
            })
            .await
        }
        "Update" => {
            let sbx = sbx.clone();
            envd::unary(req, move |_, msg| async move {
                let p = select(&sbx, &msg)?;
                if msg.get("pty").is_some() {
                    return Err(ConnectError::invalid_argument(format!("process {} has no pty", p.pid)));
                }
                Ok(json!({}))
            })
            .await
        }
        // StreamInput (client streaming) and anything unknown.
        other => ConnectError::no_such_procedure(&format!("/process.Process/{other}")).response(),
    }
}

/// The running process named by a `ProcessSelector` (`{"process":{"pid":N}}` or `{"tag":…}`).
fn select(sbx: &Sandbox, msg: &Value) -> Result<Arc<Proc>, ConnectError> {
    let sel = msg.get("process").ok_or_else(|| ConnectError::invalid_argument("process selector is required"))?;
    let procs = lock(&sbx.processes);
    if let Some(pid) = sel.get("pid").and_then(|p| p.as_u64().or_else(|| p.as_str().and_then(|s| s.parse().ok()))) {
        return procs
            .get(&u32::try_from(pid).unwrap_or(u32::MAX))
            .filter(|p| !p.has_ended())
            .cloned()
            .ok_or_else(|| ConnectError::not_found(format!("process with pid {pid} not found")));
    }
    if let Some(tag) = sel.get("tag").and_then(Value::as_str) {
        return procs
            .values()
            .find(|p| p.tag.as_deref() == Some(tag) && !p.has_ended())
            .cloned()
            .ok_or_else(|| ConnectError::not_found(format!("process with tag {tag} not found")));
    }
    Err(ConnectError::invalid_argument("process selector needs a pid or a tag"))
}

/// Like `select`, but an ended process still answers (from the retention cache) for `Connect`.
fn select_for_connect(sbx: &Sandbox, msg: &Value) -> Result<Arc<Proc>, ConnectError> {
    let sel = msg.get("process").ok_or_else(|| ConnectError::invalid_argument("process selector is required"))?;
    let procs = lock(&sbx.processes);
    if let Some(pid) = sel.get("pid").and_then(|p| p.as_u64().or_else(|| p.as_str().and_then(|s| s.parse().ok()))) {
        return procs
            .get(&u32::try_from(pid).unwrap_or(u32::MAX))
            .cloned()
            .ok_or_else(|| ConnectError::not_found(format!("process with pid {pid} not found")));
    }
    if let Some(tag) = sel.get("tag").and_then(Value::as_str) {
        let mut hits: Vec<&Arc<Proc>> = procs.values().filter(|p| p.tag.as_deref() == Some(tag)).collect();
        hits.sort_by_key(|p| p.has_ended());
        return hits
            .first()
            .map(|p| (*p).clone())
            .ok_or_else(|| ConnectError::not_found(format!("process with tag {tag} not found")));
    }
    Err(ConnectError::invalid_argument("process selector needs a pid or a tag"))
}

/// `Connect-Timeout-Ms`, if any.
fn deadline(headers: &HeaderMap) -> Option<Instant> {
    let ms: u64 = web::header(headers, "connect-timeout-ms")?.trim().parse().ok()?;
    if ms == 0 {
        return None;
    }
    // A deadline past what an Instant can hold is no deadline.
    Instant::now().checked_add(Duration::from_millis(ms))
}

/// `Keepalive-Ping-Interval` in seconds (fractions accepted, for tests).
fn keepalive(headers: &HeaderMap) -> Duration {
    web::header(headers, "keepalive-ping-interval")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| Instant::now().checked_add(*d).is_some())
        .unwrap_or(DEFAULT_KEEPALIVE)
}

/// Read the single enveloped request message of a server stream.
async fn stream_request(req: Request<Incoming>) -> Result<(HeaderMap, Value), Response> {
    let ct = web::header(req.headers(), "content-type").unwrap_or("").to_string();
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media != connect::STREAM_CONTENT_TYPE {
        let e = ConnectError::new(
            "unknown",
            format!("unsupported content type {ct:?}; the fake envd speaks connect+json only"),
        );
        return Err(web::json(hyper::StatusCode::UNSUPPORTED_MEDIA_TYPE, &e.to_json()));
    }
    let (parts, body) = req.into_parts();
    let body = web::read_small(body, MAX_STREAM_REQUEST).await.map_err(|r| r.response())?;
    match connect::decode_single_envelope(&body) {
        Ok(v) => Ok((parts.headers, v)),
        Err(e) => Err(connect::stream_error_response(&e)),
    }
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

async fn start(shared: &Arc<Shared>, sbx: &Arc<Sandbox>, req: Request<Incoming>) -> Response {
    let (headers, msg) = match stream_request(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match spawn(sbx, &headers, &msg) {
        Ok((proc, sub)) => {
            let faults = shared.faults_lock().take_stream();
            let (tx, body) = web::channel_body(None);
            let writer = StreamWriter::new(tx, faults);
            tokio::spawn(run_stream(writer, proc, sub, deadline(&headers), keepalive(&headers), true));
            connect::stream_response(body)
        }
        Err(e) => connect::stream_error_response(&e),
    }
}

/// Launch the process of a `StartRequest` and attach the caller's stream before any output.
fn spawn(sbx: &Arc<Sandbox>, headers: &HeaderMap, msg: &Value) -> Result<(Arc<Proc>, Subscription), ConnectError> {
    let user = User::from_headers(headers)?;
    let config = msg.get("process").ok_or_else(|| ConnectError::invalid_argument("process is required"))?;
    if msg.get("pty").is_some_and(|p| !p.is_null()) {
        return Err(ConnectError::unimplemented("pty is not supported by the fake envd"));
    }
    let cmd = config
        .get("cmd")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ConnectError::invalid_argument("process.cmd is required"))?;
    let args: Vec<String> = config
        .get("args")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let envs = string_map(config.get("envs"));
    let root = sbx.root().to_path_buf();
    let home = resolve(&root, &user.home, &user.home).map_err(ConnectError::invalid_argument)?;
    let cwd = match config.get("cwd").and_then(Value::as_str) {
        Some(c) => resolve(&root, &user.home, c).map_err(ConnectError::invalid_argument)?,
        None => home.clone(),
    };
    if !cwd.host.is_dir() {
        return Err(ConnectError::invalid_argument(format!("cwd '{}' does not exist", cwd.sandbox)));
    }
    let stdin_enabled = msg.get("stdin").and_then(Value::as_bool).unwrap_or(true);
    let tag = msg.get("tag").and_then(Value::as_str).map(str::to_string);

    let mut command = tokio::process::Command::new(cmd);
    command
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()))
        .env("HOME", &home.host)
        .env("USER", &user.name)
        .env("LOGNAME", &user.name)
        .env("TMPDIR", root.join("tmp"))
        .env("E2B_SANDBOX", "true")
        .env("E2B_SANDBOX_ID", &sbx.id)
        .envs(&sbx.env_vars)
        .envs(&envs)
        .current_dir(&cwd.host)
        .stdin(if stdin_enabled { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child =
        command.spawn().map_err(|e| ConnectError::invalid_argument(format!("error starting process '{cmd}': {e}")))?;
    let pid = child.id().ok_or_else(|| ConnectError::internal("the process vanished at start"))?;

    let mut recorded = json!({ "cmd": cmd });
    if !args.is_empty() {
        recorded["args"] = json!(args);
    }
    if !envs.is_empty() {
        recorded["envs"] = json!(envs);
    }
    if let Some(c) = config.get("cwd").and_then(Value::as_str) {
        recorded["cwd"] = json!(c);
    }
    let proc = Arc::new(Proc {
        pid,
        tag,
        config: recorded,
        fanout: Mutex::new(Fanout { subscribers: Vec::new(), ended: None }),
        stdin: tokio::sync::Mutex::new(child.stdin.take()),
        stdin_enabled,
    });
    let sub = proc.subscribe();
    lock(&sbx.processes).insert(pid, proc.clone());
    if sbx.is_gone() {
        // Killed while this process was starting: it must not outlive the sandbox.
        proc.signal_group(Signal::KILL);
    }

    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let p = proc.clone();
    tokio::spawn(async move {
        let out = pump(p.clone(), stdout, Event::Stdout);
        let err = pump(p.clone(), stderr, Event::Stderr);
        let (status, (), ()) = tokio::join!(child.wait(), out, err);
        let exit = match status {
            Ok(st) => Exit::from_status(st),
            Err(e) => Exit { exit_code: -1, exited: false, status: String::new(), error: Some(e.to_string()) },
        };
        p.finish(exit).await;
    });
    Ok((proc, sub))
}

async fn pump<R: AsyncRead + Unpin>(proc: Arc<Proc>, pipe: Option<R>, wrap: fn(Bytes) -> Event) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => proc.broadcast(wrap(Bytes::copy_from_slice(&buf[..n]))).await,
        }
    }
}

async fn connect_stream(shared: &Arc<Shared>, sbx: &Arc<Sandbox>, req: Request<Incoming>) -> Response {
    let (headers, msg) = match stream_request(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let proc = match select_for_connect(sbx, &msg) {
        Ok(p) => p,
        Err(e) => return connect::stream_error_response(&e),
    };
    let sub = proc.subscribe();
    let faults = shared.faults_lock().take_stream();
    let (tx, body) = web::channel_body(None);
    let writer = StreamWriter::new(tx, faults);
    // A Connect deadline ends only the stream; the process keeps running.
    tokio::spawn(run_stream(writer, proc, sub, deadline(&headers), keepalive(&headers), false));
    connect::stream_response(body)
}

/// Feed one Start/Connect stream: `start`, then `data`/`keepalive` as they come, then `end`
/// and the end-of-stream frame; or, at the deadline, `deadline_exceeded`.
async fn run_stream(
    mut w: StreamWriter,
    proc: Arc<Proc>,
    sub: Subscription,
    deadline: Option<Instant>,
    keepalive: Duration,
    kill_at_deadline: bool,
) {
    if w.message(&json!({ "event": { "start": { "pid": proc.pid } } })).await.is_err() {
        return;
    }
    let mut rx = match sub {
        Subscription::Live(rx) => rx,
        Subscription::Ended(exit) => {
            if w.message(&exit.to_json()).await.is_ok() {
                w.end(None).await;
            }
            return;
        }
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut next_keepalive = Instant::now() + keepalive;
    // Without a deadline the branch below is disabled; the value is never waited on.
    let deadline_at = deadline.unwrap_or_else(Instant::now);
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let msg = match ev {
                    Some(Event::Stdout(b)) => json!({ "event": { "data": { "stdout": b64.encode(&b) } } }),
                    Some(Event::Stderr(b)) => json!({ "event": { "data": { "stderr": b64.encode(&b) } } }),
                    Some(Event::End(exit)) => {
                        if w.message(&exit.to_json()).await.is_ok() {
                            w.end(None).await;
                        }
                        return;
                    }
                    None => {
                        w.end(Some(ConnectError::internal("process output ended without an exit status"))).await;
                        return;
                    }
                };
                if w.message(&msg).await.is_err() {
                    return;
                }
                next_keepalive = Instant::now() + keepalive;
            }
            _ = tokio::time::sleep_until(next_keepalive) => {
                if w.message(&json!({ "event": { "keepalive": {} } })).await.is_err() {
                    return;
                }
                next_keepalive = Instant::now() + keepalive;
            }
            _ = tokio::time::sleep_until(deadline_at), if deadline.is_some() => {
                if kill_at_deadline {
                    proc.signal_group(Signal::KILL);
                }
                w.end(Some(ConnectError::new("deadline_exceeded", "context deadline exceeded"))).await;
                return;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn end_events_follow_protojson_and_go() {
        let ok = Exit::from_status(std::process::ExitStatus::from_raw(0));
        assert_eq!(ok.to_json().to_string(), r#"{"event":{"end":{"exited":true,"status":"exit status 0"}}}"#);
        let three = Exit::from_status(std::process::ExitStatus::from_raw(3 << 8));
        assert_eq!(
            three.to_json().to_string(),
            r#"{"event":{"end":{"exitCode":3,"exited":true,"status":"exit status 3","error":"exit status 3"}}}"#
        );
        let killed = Exit::from_status(std::process::ExitStatus::from_raw(9));
        assert_eq!(
            killed.to_json().to_string(),
            r#"{"event":{"end":{"exitCode":-1,"status":"signal: killed","error":"signal: killed"}}}"#
        );
    }

    #[test]
    fn headers_give_deadline_and_keepalive() {
        let mut h = HeaderMap::new();
        assert!(deadline(&h).is_none());
        assert_eq!(keepalive(&h), DEFAULT_KEEPALIVE);
        h.insert("connect-timeout-ms", "1500".parse().unwrap());
        h.insert("keepalive-ping-interval", "50".parse().unwrap());
        assert!(deadline(&h).is_some());
        assert_eq!(keepalive(&h), Duration::from_secs(50));
        h.insert("keepalive-ping-interval", "nope".parse().unwrap());
        assert_eq!(keepalive(&h), DEFAULT_KEEPALIVE);
    }
}
