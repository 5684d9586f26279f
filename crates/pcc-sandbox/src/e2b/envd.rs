//! envd, the daemon inside each sandbox: `process.Process` over the Connect protocol (JSON
//! codec), the `/files` endpoints and `/health` (E2B-PROTOCOL.md §3).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, RequestBuilder, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::debug;

use super::api::{MAX_ERROR_BODY, read_error_body};
use super::config::ENVD_PORT;
use super::connect::{Decoder, ErrorContext, Frame, envelope};
use super::wire::{PidSelectorWire, ProcessConfigWire, ProcessEventEnvelope, SendSignalWire, StartRequestWire};
use super::{Inner, transport_error};
use crate::command::{Command, CommandEvent, CommandLine, EventStream, ExitStatus, Process, Signal, Signaller};
use crate::error::{Resource, Result, SandboxError, Service};
use crate::io::reader_stream;
use crate::provider::{BoxFuture, ByteStream, FileSource};
use crate::secret::{Secret, scrub};
use crate::shell;

/// Requested keepalive interval on streams, seconds (as the SDK).
const KEEPALIVE_SECS: u64 = 50;
/// The health probe's timeout.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);
/// Content type of Connect streaming calls with the JSON codec, exactly.
const CONNECT_JSON: &str = "application/connect+json";

/// protojson writes standard base64 with padding; parsers accept it without.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const B64_URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How to reach one sandbox's envd.
pub(crate) struct EnvdConn {
    pub(crate) base_url: String,
    pub(crate) sandbox_id: String,
    pub(crate) access_token: Option<Secret>,
    /// Not sent to envd; kept to scrub it from anything envd says.
    pub(crate) api_key: Secret,
}

impl fmt::Debug for EnvdConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvdConn")
            .field("base_url", &self.base_url)
            .field("sandbox_id", &self.sandbox_id)
            .field("access_token", &self.access_token)
            .finish_non_exhaustive()
    }
}

impl EnvdConn {
    fn secrets(&self) -> Vec<&Secret> {
        let mut s = vec![&self.api_key];
        s.extend(self.access_token.as_ref());
        s
    }

    fn url(&self, path: &str) -> Result<Url> {
        Url::parse(&format!("{}{path}", self.base_url))
            .map_err(|e| SandboxError::Config { name: super::ENV_SANDBOX_URL, reason: format!("not a URL ({e})") })
    }

    fn files_url(&self, path: &str) -> Result<Url> {
        let mut url = self.url("/files")?;
        url.query_pairs_mut().append_pair("path", path);
        Ok(url)
    }

    fn transport(&self, operation: &str, err: reqwest::Error) -> SandboxError {
        transport_error(Service::Envd, operation, err, &self.secrets())
    }

    /// Maps a non-success answer; its body is read for at most `within`.
    async fn http_error(
        &self,
        operation: &str,
        resource: Resource,
        response: reqwest::Response,
        within: Duration,
    ) -> SandboxError {
        let status = response.status().as_u16();
        let body = read_error_body(response, MAX_ERROR_BODY, within).await;
        let secrets = self.secrets();
        let ctx = ErrorContext { operation, resource, sandbox_id: &self.sandbox_id, secrets: &secrets };
        ctx.http_error(status, &body)
    }
}

/// The headers every envd request carries: routing and the access token.
fn envd_builder(inner: &Inner, conn: &EnvdConn, method: Method, url: Url) -> Result<RequestBuilder> {
    let mut builder = inner
        .http
        .request(method, url)
        .header("E2b-Sandbox-Id", header_value("sandbox id", &conn.sandbox_id)?)
        .header("E2b-Sandbox-Port", ENVD_PORT.to_string());
    if let Some(token) = &conn.access_token {
        let mut value = header_value("access token", token.expose())?;
        value.set_sensitive(true);
        builder = builder.header("X-Access-Token", value);
    }
    Ok(builder)
}

fn header_value(what: &str, value: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(value).map_err(|_| SandboxError::Protocol {
        service: Service::Api,
        message: format!("the {what} from the E2B API cannot travel in an HTTP header"),
    })
}

/// `Authorization: Basic base64("<user>:")`: how envd learns the user of an RPC.
fn basic_user(user: &str) -> Result<HeaderValue> {
    header_value(
        "user name",
        &format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:"))),
    )
}

/// The bash line envd runs for a command.
fn script_of(command: &Command) -> Result<String> {
    match command.line() {
        CommandLine::Argv(argv) => shell::join(argv),
        CommandLine::Shell(script) => {
            if script.contains('\0') {
                Err(SandboxError::InvalidCommand { reason: "the script contains a NUL byte".into() })
            } else {
                Ok(script.clone())
            }
        }
    }
}

/// `process.Process/Start`, ready to send.
pub(crate) fn start_builder(inner: &Inner, conn: &EnvdConn, command: &Command) -> Result<RequestBuilder> {
    let script = script_of(command)?;
    let request = StartRequestWire {
        process: ProcessConfigWire {
            cmd: "/bin/bash",
            args: vec!["-l", "-c", &script],
            envs: command.envs(),
            cwd: command.working_dir(),
        },
        stdin: false,
    };
    let payload = serde_json::to_vec(&request).map_err(|e| SandboxError::InvalidCommand { reason: e.to_string() })?;
    let mut builder = envd_builder(inner, conn, Method::POST, conn.url("/process.Process/Start")?)?
        .header(CONTENT_TYPE, CONNECT_JSON)
        .header("Connect-Protocol-Version", "1")
        .header("Connect-Accept-Encoding", "identity")
        .header("Connect-Content-Encoding", "identity")
        .header("Keepalive-Ping-Interval", KEEPALIVE_SECS.to_string());
    if let Some(timeout) = command.time_limit() {
        builder = builder.header("Connect-Timeout-Ms", timeout.as_millis().max(1).to_string());
    }
    if let Some(user) = command.run_as() {
        builder = builder.header(AUTHORIZATION, basic_user(user)?);
    }
    Ok(builder.body(envelope(&payload)?))
}

/// A unary RPC, ready to send.
fn unary_builder<Req: Serialize>(inner: &Inner, conn: &EnvdConn, rpc: &str, request: &Req) -> Result<RequestBuilder> {
    let payload = serde_json::to_vec(request)
        .map_err(|e| SandboxError::Protocol { service: Service::Envd, message: format!("cannot encode {rpc}: {e}") })?;
    let timeout = inner.config.request_timeout();
    Ok(envd_builder(inner, conn, Method::POST, conn.url(&format!("/{rpc}"))?)?
        .header(CONTENT_TYPE, "application/json")
        .header("Connect-Protocol-Version", "1")
        .header("Accept-Encoding", "identity")
        .header("Content-Encoding", "identity")
        .header("Connect-Timeout-Ms", timeout.as_millis().to_string())
        .timeout(timeout)
        .body(payload))
}

impl Inner {
    async fn unary<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        conn: &EnvdConn,
        rpc: &'static str,
        request: &Req,
        resource: Resource,
    ) -> Result<Resp> {
        let response = unary_builder(self, conn, rpc, request)?.send().await.map_err(|e| conn.transport(rpc, e))?;
        if response.status().as_u16() != 200 {
            return Err(conn.http_error(rpc, resource, response, self.config.request_timeout()).await);
        }
        let body = response.bytes().await.map_err(|e| conn.transport(rpc, e))?;
        let body: &[u8] = if body.is_empty() { b"{}" } else { &body };
        serde_json::from_slice(body).map_err(|e| SandboxError::Protocol {
            service: Service::Envd,
            message: scrub(&format!("unexpected {rpc} answer: {e}"), &conn.secrets()),
        })
    }

    pub(crate) async fn send_signal(&self, conn: &EnvdConn, pid: u32, signal: Signal) -> Result<()> {
        let request = SendSignalWire {
            process: PidSelectorWire { pid },
            signal: match signal {
                Signal::Term => "SIGNAL_SIGTERM",
                Signal::Kill => "SIGNAL_SIGKILL",
            },
        };
        let _: serde::de::IgnoredAny =
            self.unary(conn, "process.Process/SendSignal", &request, Resource::Process(pid)).await?;
        debug!(sandbox_id = %conn.sandbox_id, pid, ?signal, "signalled process");
        Ok(())
    }

    pub(crate) async fn health(&self, conn: &EnvdConn) -> Result<bool> {
        let response = envd_builder(self, conn, Method::GET, conn.url("/health")?)?
            .timeout(HEALTH_TIMEOUT)
            .send()
            .await
            .map_err(|e| conn.transport("health check", e))?;
        match response.status().as_u16() {
            s if (200..300).contains(&s) => Ok(true),
            502 => Ok(false),
            _ => Err(conn
                .http_error("health check", Resource::Other("health endpoint".into()), response, HEALTH_TIMEOUT)
                .await),
        }
    }

    pub(crate) async fn upload(&self, conn: &EnvdConn, path: &str, source: FileSource) -> Result<u64> {
        let progress = Arc::new(Progress::new());
        let (body, len) = match source {
            FileSource::Bytes(bytes) => {
                let len = bytes.len() as u64;
                let once = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes)]);
                (counting_body(once, progress.clone()), Some(len))
            }
            FileSource::Path(local) => {
                let io_err = |source| SandboxError::Io { op: "open file to upload", path: local.clone(), source };
                let file = tokio::fs::File::open(&local).await.map_err(io_err)?;
                let len = file.metadata().await.map_err(io_err)?.len();
                (counting_body(reader_stream(file), progress.clone()), Some(len))
            }
            FileSource::Reader { reader, len } => (counting_body(reader_stream(reader), progress.clone()), len),
        };
        let part = match len {
            Some(len) => reqwest::multipart::Part::stream_with_length(body, len),
            None => reqwest::multipart::Part::stream(body),
        }
        .file_name(path.to_owned())
        .mime_str("application/octet-stream")
        .map_err(|e| conn.transport("upload", e))?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let send = envd_builder(self, conn, Method::POST, conn.files_url(path)?)?.multipart(form).send();
        // The body may take long, but it must keep moving; once it is all sent, the answer
        // must come within the request timeout.
        let idle = self.config.stream_idle_timeout();
        let limit = self.config.request_timeout();
        let tick = (idle.min(limit) / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        tokio::pin!(send);
        let response = loop {
            tokio::select! {
                sent = &mut send => break sent.map_err(|e| conn.transport("upload", e))?,
                () = tokio::time::sleep(tick) => {
                    if let Some(err) = progress.stalled(idle, limit) {
                        return Err(err);
                    }
                }
            }
        };
        if !response.status().is_success() {
            return Err(conn.http_error("upload", Resource::File(path.to_owned()), response, limit).await);
        }
        // The answer lists the written entries; reading it to the end frees the connection.
        let _ = tokio::time::timeout(limit, response.bytes()).await;
        let total = progress.sent.load(Ordering::Relaxed);
        debug!(sandbox_id = %conn.sandbox_id, path, bytes = total, "uploaded file");
        Ok(total)
    }

    pub(crate) async fn download(&self, conn: &Arc<EnvdConn>, path: &str) -> Result<ByteStream> {
        let request = envd_builder(self, conn, Method::GET, conn.files_url(path)?)?.send();
        let response = tokio::time::timeout(self.config.request_timeout(), request)
            .await
            .map_err(|_| SandboxError::TimedOut {
                operation: "download".into(),
                message: format!("no answer within {}s", self.config.request_timeout().as_secs()),
            })?
            .map_err(|e| conn.transport("download", e))?;
        if response.status().as_u16() != 200 {
            let within = self.config.request_timeout();
            return Err(conn.http_error("download", Resource::File(path.to_owned()), response, within).await);
        }
        let state = (Box::pin(response.bytes_stream()) as BodyStream, conn.clone(), self.config.stream_idle_timeout());
        let stream = futures_util::stream::unfold(Some(state), |state| async move {
            let (mut body, conn, idle) = state?;
            match tokio::time::timeout(idle, body.next()).await {
                Err(_) => Some((Err(silent("download", idle)), None)),
                Ok(None) => None,
                Ok(Some(Err(e))) => Some((Err(conn.transport("download", e)), None)),
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some((body, conn, idle)))),
            }
        });
        Ok(Box::pin(stream))
    }
}

type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// How an upload body is getting on, for the watchdog in `upload`.
struct Progress {
    origin: std::time::Instant,
    sent: AtomicU64,
    /// Milliseconds after `origin` of the last chunk handed to the connection.
    last_ms: AtomicU64,
    /// Milliseconds after `origin` at which the body ended; `u64::MAX` while it has not.
    done_ms: AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            origin: std::time::Instant::now(),
            sent: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
            done_ms: AtomicU64::new(u64::MAX),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn chunk(&self, len: usize) {
        self.sent.fetch_add(len as u64, Ordering::Relaxed);
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn finish(&self) {
        self.done_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The error to give up with: no chunk taken for `idle` while the body is being sent, or
    /// no answer `limit` after it was all sent.
    fn stalled(&self, idle: Duration, limit: Duration) -> Option<SandboxError> {
        let now = self.now_ms();
        let done = self.done_ms.load(Ordering::Relaxed);
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if done != u64::MAX {
            (now.saturating_sub(done) > millis(limit)).then(|| SandboxError::TimedOut {
                operation: "upload".into(),
                message: format!("no answer within {}s of sending the file", limit.as_secs()),
            })
        } else {
            let last = self.last_ms.load(Ordering::Relaxed);
            (now.saturating_sub(last) > millis(idle)).then(|| SandboxError::TimedOut {
                operation: "upload".into(),
                message: format!("the sandbox took nothing of the file for {}s", idle.as_secs()),
            })
        }
    }
}

fn counting_body<S>(stream: S, progress: Arc<Progress>) -> reqwest::Body
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    let at_end = progress.clone();
    let counted = stream.map(move |chunk| {
        if let Ok(c) = &chunk {
            progress.chunk(c.len());
        }
        Some(chunk)
    });
    let end = futures_util::stream::once(async move {
        at_end.finish();
        None
    });
    reqwest::Body::wrap_stream(counted.chain(end).filter_map(std::future::ready))
}

fn silent(operation: &str, idle: Duration) -> SandboxError {
    SandboxError::TimedOut {
        operation: operation.to_owned(),
        message: format!("nothing received from the sandbox for {}s", idle.as_secs()),
    }
}

/// Starts a command and waits for its `start` event (the pid).
pub(crate) async fn start(inner: &Arc<Inner>, conn: &Arc<EnvdConn>, command: &Command) -> Result<Process> {
    let operation = "process.Process/Start";
    // The body may stream for hours; only the wait for the response head is bounded.
    let limit = inner.config.request_timeout();
    let response = tokio::time::timeout(limit, start_builder(inner, conn, command)?.send())
        .await
        .map_err(|_| SandboxError::TimedOut {
            operation: operation.to_owned(),
            message: format!("no answer within {}s", limit.as_secs()),
        })?
        .map_err(|e| conn.transport(operation, e))?;
    if response.status().as_u16() != 200 {
        return Err(conn.http_error(operation, Resource::Other("command".into()), response, limit).await);
    }
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some(CONNECT_JSON) {
        return Err(SandboxError::Protocol {
            service: Service::Envd,
            message: scrub(
                &format!("Start answered with content type {content_type:?}, not {CONNECT_JSON}"),
                &conn.secrets(),
            ),
        });
    }
    let mut reader = EventReader {
        body: Box::pin(response.bytes_stream()),
        decoder: Decoder::default(),
        idle: inner.config.stream_idle_timeout(),
        conn: conn.clone(),
        pid: 0,
        pending_exit: None,
        finished: false,
    };
    // Keepalives alone must not hold the start open forever.
    let pid = tokio::time::timeout(limit, reader.read_start()).await.map_err(|_| SandboxError::TimedOut {
        operation: operation.to_owned(),
        message: format!("the process did not start within {}s", limit.as_secs()),
    })??;
    reader.pid = pid;
    debug!(sandbox_id = %conn.sandbox_id, pid, "started command");
    let events: EventStream = Box::pin(futures_util::stream::unfold(reader, |mut reader| async move {
        let item = reader.next_event().await?;
        Some((item, reader))
    }));
    let signaller = Arc::new(EnvdSignaller { inner: inner.clone(), conn: conn.clone() });
    Ok(Process::new(pid, events, signaller, Service::Envd))
}

struct EnvdSignaller {
    inner: Arc<Inner>,
    conn: Arc<EnvdConn>,
}

impl Signaller for EnvdSignaller {
    fn signal(&self, pid: u32, signal: Signal) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.inner.send_signal(&self.conn, pid, signal))
    }
}

/// What one message of a process stream says.
enum Event {
    Start(u32),
    Stdout(Bytes),
    Stderr(Bytes),
    End(ExitStatus),
    Keepalive,
}

fn decode_b64(text: &str) -> Result<Bytes, String> {
    B64.decode(text)
        .or_else(|_| B64_URL.decode(text))
        .map(Bytes::from)
        .map_err(|e| format!("output is not base64: {e}"))
}

/// One process event; the error text is the parser's and may quote the payload, so it is
/// scrubbed by the caller.
fn parse_event(payload: &[u8]) -> Result<Event, String> {
    let envelope: ProcessEventEnvelope<'_> =
        serde_json::from_slice(payload).map_err(|e| format!("malformed process event: {e}"))?;
    let Some(event) = envelope.event else {
        // An empty event (every member at its default) carries nothing.
        return Ok(Event::Keepalive);
    };
    if let Some(start) = event.start {
        return Ok(Event::Start(start.pid));
    }
    if let Some(data) = event.data {
        if let Some(out) = data.stdout.as_ref().or(data.pty.as_ref()) {
            return Ok(Event::Stdout(decode_b64(&out.0)?));
        }
        if let Some(err) = data.stderr.as_ref().map(|t| &t.0) {
            return Ok(Event::Stderr(decode_b64(err)?));
        }
        return Ok(Event::Keepalive);
    }
    if let Some(end) = event.end {
        return Ok(Event::End(ExitStatus { code: end.exit_code, exited: end.exited, status: end.status }));
    }
    Ok(Event::Keepalive)
}

/// Reads a `process.Process/Start` response stream frame by frame.
struct EventReader {
    body: BodyStream,
    decoder: Decoder,
    idle: Duration,
    conn: Arc<EnvdConn>,
    pid: u32,
    /// The `end` event, held until the end-of-stream frame says the stream ended cleanly.
    pending_exit: Option<ExitStatus>,
    finished: bool,
}

impl EventReader {
    fn protocol(&self, message: impl Into<String>) -> SandboxError {
        SandboxError::Protocol { service: Service::Envd, message: message.into() }
    }

    fn parse(&self, payload: &[u8]) -> Result<Event> {
        parse_event(payload).map_err(|m| self.protocol(scrub(&m, &self.conn.secrets())))
    }

    /// The next frame; `None` at a clean end of the body.
    async fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if let Some(frame) = self.decoder.next_frame().map_err(|m| self.protocol(m))? {
                return Ok(Some(frame));
            }
            match tokio::time::timeout(self.idle, self.body.next()).await {
                Err(_) => return Err(silent("command output stream", self.idle)),
                Ok(None) if self.decoder.has_partial() => {
                    return Err(self.protocol("the command stream was cut in the middle of a message"));
                }
                Ok(None) => return Ok(None),
                Ok(Some(Err(e))) => return Err(self.conn.transport("command output stream", e)),
                Ok(Some(Ok(chunk))) => self.decoder.push(&chunk),
            }
        }
    }

    fn end_of_stream(&self, payload: &[u8]) -> Result<()> {
        let secrets = self.conn.secrets();
        let resource = if self.pid == 0 { Resource::Other("command".into()) } else { Resource::Process(self.pid) };
        let ctx = ErrorContext {
            operation: "process.Process/Start",
            resource,
            sandbox_id: &self.conn.sandbox_id,
            secrets: &secrets,
        };
        ctx.end_of_stream(payload)
    }

    /// Reads up to the `start` event. An error before it (a missing cwd, a bad user) arrives in
    /// the end-of-stream frame.
    async fn read_start(&mut self) -> Result<u32> {
        loop {
            match self.next_frame().await? {
                None => return Err(self.protocol("the command stream ended before the process started")),
                Some(Frame::End(payload)) => {
                    self.end_of_stream(&payload)?;
                    return Err(self.protocol("the command stream ended before the process started"));
                }
                Some(Frame::Message(payload)) => match self.parse(&payload)? {
                    Event::Start(pid) => return Ok(pid),
                    Event::Keepalive => {}
                    Event::Stdout(_) | Event::Stderr(_) | Event::End(_) => {
                        return Err(self.protocol("the command stream did not begin with a start event"));
                    }
                },
            }
        }
    }

    async fn next_event(&mut self) -> Option<Result<CommandEvent>> {
        if self.finished {
            return None;
        }
        let item = self.read_event().await;
        if !matches!(item, Ok(CommandEvent::Stdout(_) | CommandEvent::Stderr(_))) {
            self.finished = true;
        }
        Some(item)
    }

    async fn read_event(&mut self) -> Result<CommandEvent> {
        loop {
            match self.next_frame().await? {
                None if self.pending_exit.is_some() => {
                    return Err(self.protocol("the command stream ended without its end-of-stream frame"));
                }
                None => return Err(self.protocol("the command ended without an end event")),
                Some(Frame::End(payload)) => {
                    self.end_of_stream(&payload)?;
                    return match self.pending_exit.take() {
                        Some(status) => Ok(CommandEvent::Exit(status)),
                        None => Err(self.protocol("the command ended without an end event")),
                    };
                }
                Some(Frame::Message(payload)) => match self.parse(&payload)? {
                    Event::Stdout(b) if self.pending_exit.is_none() => return Ok(CommandEvent::Stdout(b)),
                    Event::Stderr(b) if self.pending_exit.is_none() => return Ok(CommandEvent::Stderr(b)),
                    Event::End(status) => self.pending_exit = Some(status),
                    Event::Start(_) | Event::Keepalive | Event::Stdout(_) | Event::Stderr(_) => {}
                },
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::e2b::{E2bConfig, E2bProvider};

    fn conn(token: Option<&str>) -> EnvdConn {
        EnvdConn {
            base_url: "http://127.0.0.1:49983".into(),
            sandbox_id: "isbx0123".into(),
            access_token: token.map(Secret::new),
            api_key: Secret::new("e2b_key"),
        }
    }

    fn provider() -> E2bProvider {
        let config = E2bConfig::new(Secret::new("e2b_key")).with_sandbox_url("http://127.0.0.1:49983").unwrap();
        E2bProvider::new(config).unwrap()
    }

    fn headers(req: &reqwest::Request) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> =
            req.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned())).collect();
        h.sort();
        h
    }

    #[test]
    fn start_headers_are_exact() {
        let p = provider();
        let cmd = Command::argv(["echo", "hi there"]).timeout(Duration::from_secs(60)).user("root");
        let req = start_builder(&p.inner, &conn(Some("tok")), &cmd).unwrap().build().unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.url().as_str(), "http://127.0.0.1:49983/process.Process/Start");
        let expected: Vec<(String, String)> = vec![
            ("authorization", "Basic cm9vdDo="),
            ("connect-accept-encoding", "identity"),
            ("connect-content-encoding", "identity"),
            ("connect-protocol-version", "1"),
            ("connect-timeout-ms", "60000"),
            ("content-type", "application/connect+json"),
            ("e2b-sandbox-id", "isbx0123"),
            ("e2b-sandbox-port", "49983"),
            ("keepalive-ping-interval", "50"),
            ("x-access-token", "tok"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(headers(&req), expected);
        assert!(req.headers().get("x-access-token").unwrap().is_sensitive());
        let body = req.body().unwrap().as_bytes().unwrap();
        let payload = br#"{"process":{"cmd":"/bin/bash","args":["-l","-c","'echo' 'hi there'"]},"stdin":false}"#;
        assert_eq!(&body[..5], &[0, 0, 0, 0, payload.len() as u8]);
        assert_eq!(&body[5..], payload);
    }

    #[test]
    fn start_without_options_sends_no_timeout_or_user() {
        let p = provider();
        let req = start_builder(&p.inner, &conn(None), &Command::shell("echo $HOME")).unwrap().build().unwrap();
        let names: Vec<String> = headers(&req).into_iter().map(|(k, _)| k).collect();
        assert!(!names.iter().any(|n| n == "connect-timeout-ms" || n == "authorization" || n == "x-access-token"));
    }

    #[test]
    fn unary_headers_are_exact() {
        let p = provider();
        let body = SendSignalWire { process: PidSelectorWire { pid: 42 }, signal: "SIGNAL_SIGKILL" };
        let req =
            unary_builder(&p.inner, &conn(Some("tok")), "process.Process/SendSignal", &body).unwrap().build().unwrap();
        assert_eq!(req.url().as_str(), "http://127.0.0.1:49983/process.Process/SendSignal");
        let expected: Vec<(String, String)> = vec![
            ("accept-encoding", "identity"),
            ("connect-protocol-version", "1"),
            ("connect-timeout-ms", "60000"),
            ("content-encoding", "identity"),
            ("content-type", "application/json"),
            ("e2b-sandbox-id", "isbx0123"),
            ("e2b-sandbox-port", "49983"),
            ("x-access-token", "tok"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(headers(&req), expected);
        assert_eq!(req.body().unwrap().as_bytes().unwrap(), br#"{"process":{"pid":42},"signal":"SIGNAL_SIGKILL"}"#);
    }

    #[test]
    fn files_url_encodes_the_path() {
        let url = conn(None).files_url("/home/user/a b&c.txt").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:49983/files?path=%2Fhome%2Fuser%2Fa+b%26c.txt");
    }

    #[test]
    fn events_parse() {
        assert!(matches!(parse_event(br#"{"event":{"start":{"pid":4242}}}"#).unwrap(), Event::Start(4242)));
        match parse_event(br#"{"event":{"data":{"stdout":"aGVsbG8K"}}}"#).unwrap() {
            Event::Stdout(b) => assert_eq!(&b[..], b"hello\n"),
            _ => panic!(),
        }
        match parse_event(br#"{"event":{"data":{"stderr":"aGk"}}}"#).unwrap() {
            Event::Stderr(b) => assert_eq!(&b[..], b"hi"),
            _ => panic!(),
        }
        match parse_event(
            br#"{"event":{"end":{"exitCode":3,"exited":true,"status":"exit status 3","error":"exit status 3"}}}"#,
        )
        .unwrap()
        {
            Event::End(s) => assert_eq!(s, ExitStatus { code: 3, exited: true, status: "exit status 3".into() }),
            _ => panic!(),
        }
        assert!(matches!(parse_event(br#"{"event":{"keepalive":{}}}"#).unwrap(), Event::Keepalive));
        assert!(parse_event(br#"{"event":{"data":{"stdout":"!!!"}}}"#).is_err());
        assert!(parse_event(b"not json").is_err());
    }

    #[test]
    fn script_refuses_nul() {
        assert!(script_of(&Command::shell("a\0b")).is_err());
        assert!(script_of(&Command::argv(Vec::<String>::new())).is_err());
    }
}
