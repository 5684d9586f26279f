//! A deliberately small blocking HTTP/1.1 client over `TcpStream`, so the fake's tests see the
//! bytes on the wire (chunked framing, abrupt closes) with nothing in between, plus Connect
//! envelope helpers.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;
use pcc_testkit::e2b::FakeE2b;
use serde_json::{Value, json};

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    body: BodyReader,
}

enum Framing {
    Chunked { left: usize, done: bool },
    Length(u64),
    Eof,
}

struct BodyReader {
    stream: BufReader<TcpStream>,
    framing: Framing,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match &mut self.framing {
            Framing::Length(0) => Ok(0),
            Framing::Length(n) => {
                let want = buf.len().min(usize::try_from(*n).unwrap_or(usize::MAX));
                let got = self.stream.read(&mut buf[..want])?;
                if got == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed mid-body"));
                }
                *n -= got as u64;
                Ok(got)
            }
            Framing::Eof => self.stream.read(buf),
            Framing::Chunked { done: true, .. } => Ok(0),
            Framing::Chunked { left, done } => {
                if *left == 0 {
                    let mut line = String::new();
                    if self.stream.read_line(&mut line)? == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a chunk"));
                    }
                    let size = line.trim().split(';').next().unwrap_or("");
                    let size = usize::from_str_radix(size, 16)
                        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {line:?}")))?;
                    if size == 0 {
                        loop {
                            let mut t = String::new();
                            if self.stream.read_line(&mut t)? == 0 || t == "\r\n" {
                                break;
                            }
                        }
                        *done = true;
                        return Ok(0);
                    }
                    *left = size;
                }
                let want = buf.len().min(*left);
                let got = self.stream.read(&mut buf[..want])?;
                if got == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed mid-chunk"));
                }
                *left -= got;
                if *left == 0 {
                    let mut crlf = [0u8; 2];
                    self.stream.read_exact(&mut crlf)?;
                }
                Ok(got)
            }
        }
    }
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn bytes(mut self) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.body.read_to_end(&mut v)?;
        Ok(v)
    }

    pub fn json(self) -> Value {
        let b = self.bytes().unwrap();
        serde_json::from_slice(&b).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&b)))
    }

    pub fn reader(&mut self) -> &mut dyn Read {
        &mut self.body
    }

    /// The next Connect envelope: `(flags, payload JSON)`, `None` at a clean end of body.
    pub fn envelope(&mut self) -> io::Result<Option<(u8, Value)>> {
        let mut head = [0u8; 5];
        let mut got = 0;
        while got < 5 {
            let n = self.body.read(&mut head[got..])?;
            if n == 0 {
                if got == 0 {
                    return Ok(None);
                }
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body ended inside an envelope header"));
            }
            got += n;
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut payload = vec![0u8; len];
        self.body.read_exact(&mut payload)?;
        let v = serde_json::from_slice(&payload).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(Some((head[0], v)))
    }

    /// The next message envelope (flag 0); panics on anything else.
    pub fn message(&mut self) -> Value {
        match self.envelope().unwrap() {
            Some((0, v)) => v,
            other => panic!("expected a message envelope, got {other:?}"),
        }
    }
}

/// Send one request; `body` is written with a `Content-Length`.
pub fn request(base: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> io::Result<Resp> {
    request_with(base, method, target, headers, body.len() as u64, |w| w.write_all(body))
}

/// Send one request whose body of `len` bytes is produced by `write_body` (for large uploads).
pub fn request_with(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    len: u64,
    write_body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<Resp> {
    let addr = base.trim_start_matches("http://");
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut w = io::BufWriter::with_capacity(64 * 1024, stream.try_clone()?);
    write!(w, "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n")?;
    for (k, v) in headers {
        write!(w, "{k}: {v}\r\n")?;
    }
    if len > 0 || method == "POST" || method == "PUT" {
        write!(w, "Content-Length: {len}\r\n")?;
    }
    w.write_all(b"\r\n")?;
    write_body(&mut w)?;
    w.flush()?;
    drop(w);

    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let find = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let framing = if status == 204 || status == 304 || method == "HEAD" {
        Framing::Length(0)
    } else if find("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        Framing::Chunked { left: 0, done: false }
    } else if let Some(n) = find("content-length").and_then(|n| n.parse().ok()) {
        Framing::Length(n)
    } else {
        Framing::Eof
    };
    Ok(Resp { status, headers, body: BodyReader { stream: reader, framing } })
}

/// A Connect envelope.
pub fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![flags];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// A client of one fake: the control plane with the right key, envd for one sandbox.
pub struct Client<'a> {
    pub fake: &'a FakeE2b,
}

pub struct Sbx {
    pub id: String,
    pub token: String,
}

impl Client<'_> {
    pub fn api(&self, method: &str, target: &str, body: Option<&Value>) -> Resp {
        let key = self.fake.api_key().to_string();
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut h = vec![("X-API-Key", key.as_str())];
        if body.is_some() {
            h.push(("Content-Type", "application/json"));
        }
        request(&self.fake.api_url(), method, target, &h, payload.as_bytes()).unwrap()
    }

    pub fn create(&self, body: Value) -> Sbx {
        let r = self.api("POST", "/v2/sandboxes", Some(&body));
        assert_eq!(r.status, 201);
        let v = r.json();
        Sbx {
            id: v["sandboxID"].as_str().unwrap().to_string(),
            token: v["envdAccessToken"].as_str().unwrap().to_string(),
        }
    }

    fn envd_headers<'h>(&self, sbx: &'h Sbx, extra: &[(&'h str, &'h str)]) -> Vec<(&'h str, &'h str)> {
        let mut h = vec![
            ("E2b-Sandbox-Id", sbx.id.as_str()),
            ("E2b-Sandbox-Port", "49983"),
            ("X-Access-Token", sbx.token.as_str()),
        ];
        h.extend_from_slice(extra);
        h
    }

    /// A unary Connect call: `(status, JSON body)`.
    pub fn unary(&self, sbx: &Sbx, rpc: &str, msg: &Value) -> (u16, Value) {
        let h = self.envd_headers(sbx, &[("Content-Type", "application/json"), ("Connect-Protocol-Version", "1")]);
        let r = request(&self.fake.sandbox_url(), "POST", &format!("/{rpc}"), &h, msg.to_string().as_bytes()).unwrap();
        let status = r.status;
        (status, r.json())
    }

    /// Open a server stream (`process.Process/Start` or `Connect`) with extra headers.
    pub fn stream(&self, sbx: &Sbx, rpc: &str, msg: &Value, extra: &[(&str, &str)]) -> Resp {
        let mut h =
            self.envd_headers(sbx, &[("Content-Type", "application/connect+json"), ("Connect-Protocol-Version", "1")]);
        h.extend_from_slice(extra);
        let body = envelope(0, msg.to_string().as_bytes());
        let r = request(&self.fake.sandbox_url(), "POST", &format!("/{rpc}"), &h, &body).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/connect+json"));
        r
    }

    /// `Start` of `bash -l -c <cmd>` the way the SDK sends it.
    pub fn start(&self, sbx: &Sbx, cmd: &str, stdin: bool, extra: &[(&str, &str)]) -> Resp {
        let msg = json!({ "process": { "cmd": "/bin/bash", "args": ["-l", "-c", cmd] }, "stdin": stdin });
        self.stream(sbx, "process.Process/Start", &msg, extra)
    }

    pub fn envd(&self, sbx: &Sbx, method: &str, target: &str, extra: &[(&str, &str)], body: &[u8]) -> Resp {
        let h = self.envd_headers(sbx, extra);
        request(&self.fake.sandbox_url(), method, target, &h, body).unwrap()
    }
}

/// Everything a process stream says until its end-of-stream frame.
pub struct Collected {
    pub pid: u64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub end: Option<Value>,
    pub keepalives: usize,
    pub trailer: Value,
}

pub fn collect(resp: &mut Resp) -> Collected {
    let start = resp.message();
    let pid = start["event"]["start"]["pid"].as_u64().unwrap_or_else(|| panic!("first event is not start: {start}"));
    let mut c =
        Collected { pid, stdout: Vec::new(), stderr: Vec::new(), end: None, keepalives: 0, trailer: Value::Null };
    loop {
        match resp.envelope().unwrap() {
            Some((0, v)) => {
                let ev = &v["event"];
                if let Some(d) = ev.get("data") {
                    if let Some(s) = d.get("stdout").and_then(Value::as_str) {
                        c.stdout.extend(unb64(s));
                    }
                    if let Some(s) = d.get("stderr").and_then(Value::as_str) {
                        c.stderr.extend(unb64(s));
                    }
                } else if let Some(e) = ev.get("end") {
                    assert!(c.end.is_none(), "two end events");
                    c.end = Some(e.clone());
                } else if ev.get("keepalive").is_some() {
                    c.keepalives += 1;
                } else {
                    panic!("unexpected event {v}");
                }
            }
            Some((2, v)) => {
                c.trailer = v;
                assert!(resp.envelope().unwrap().is_none(), "bytes after the end-of-stream frame");
                return c;
            }
            other => panic!("unexpected envelope {other:?}"),
        }
    }
}

/// Poll `cond` every 10 ms for at most `secs` seconds.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Whether a process with this pid still exists (zombies count as gone).
pub fn pid_alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
