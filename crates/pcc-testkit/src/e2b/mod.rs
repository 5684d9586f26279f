//! A fake E2B service on loopback: the control plane (REST, `X-API-Key`) and envd (the in-sandbox
//! daemon: Connect RPC for `process.Process` and `filesystem.Filesystem`, plain HTTP `/files`).
//!
//! It implements the wire protocol of `E2B-PROTOCOL.md` closely enough for the official Python SDK
//! to run against it (see `tests/e2b_sdk_conformance.rs`), so a client that passes its tests
//! against this fake speaks real E2B. Sandboxes are temporary directories; commands are real
//! local processes (`/bin/bash -l -c <cmd>`, exactly what the SDK asks for) with their working
//! directory and `HOME` mapped into the sandbox root. There is no isolation: a command that names
//! an absolute path such as `/home/user/x` in its text sees the host's `/home/user/x`, so clients
//! should pass the working directory as `cwd` (mapped) and use relative paths or `$HOME` in
//! command text. `bash -l` resets `PATH` through `/etc/profile`, as in a real sandbox; the seeded
//! `~/.profile` (Debian's skeleton) then prepends `~/bin` and `~/.local/bin`, which is where a
//! test drops fake tools (a fake `claude`, say) through [`FakeE2b::sandbox_root`].
//!
//! Everything is served from one background thread with its own tokio runtime, so tests can use
//! the fake from synchronous and asynchronous code alike. Dropping [`FakeE2b`] stops both servers
//! and kills every process still running.
//!
//! Must not: touch the network beyond 127.0.0.1, buffer a whole request or response body that
//! can be large (uploads, downloads, command output all stream with backpressure).

mod connect;
mod control;
mod envd;
mod faults;
mod files;
mod process;
mod state;
mod time;
mod web;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

pub use faults::Fault;
use state::Shared;

/// The envd version the fake reports; current enough that the SDKs use every modern code path.
pub const ENVD_VERSION: &str = "0.6.13";

/// The `clientID` the real API always sends.
pub const CLIENT_ID: &str = "6532622b";

/// The template ID `base` resolves to.
pub const BASE_TEMPLATE_ID: &str = "rki5dems9wqfm4r03t7g";

/// Which of the two servers saw a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// The REST API (`api_url`).
    Control,
    /// envd (`sandbox_url`).
    Envd,
}

/// One request as it arrived, for header-exactness assertions.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub plane: Plane,
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Header names are lowercase, in arrival order; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The running fake: both servers on 127.0.0.1 with ephemeral ports.
pub struct FakeE2b {
    shared: Arc<Shared>,
    api_addr: SocketAddr,
    envd_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeE2b {
    /// Bind both servers and start serving on a background thread with its own multi-thread
    /// tokio runtime. The ports are bound before this returns, so clients can connect at once.
    pub fn start() -> Result<FakeE2b> {
        let api_listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind the fake E2B API")?;
        let envd_listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind the fake envd")?;
        api_listener.set_nonblocking(true)?;
        envd_listener.set_nonblocking(true)?;
        let api_addr = api_listener.local_addr()?;
        let envd_addr = envd_listener.local_addr()?;

        let shared = Arc::new(Shared::new(format!("e2b_{}", state::random_hex(40))));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-e2b")
            .enable_all()
            .build()
            .context("build the fake E2B runtime")?;

        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-e2b".into())
            .spawn(move || {
                runtime.block_on(serve(thread_shared, api_listener, envd_listener, shutdown_rx));
                // Connections still open (a client that never hung up) must not keep the test
                // process alive.
                runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            })
            .context("spawn the fake E2B thread")?;

        Ok(FakeE2b { shared, api_addr, envd_addr, shutdown, thread: Some(thread) })
    }

    /// Base URL of the control plane (what `E2B_API_URL` gets).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// Base URL of envd for every sandbox, routed by the `E2b-Sandbox-Id` header (what
    /// `E2B_SANDBOX_URL` gets).
    pub fn sandbox_url(&self) -> String {
        format!("http://{}", self.envd_addr)
    }

    /// The only `X-API-Key` the control plane accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Queue a fault; see [`Fault`] for when each kind fires.
    pub fn inject(&self, fault: Fault) {
        self.shared.faults_lock().push(fault);
    }

    /// Sandboxes currently alive (running or paused; not killed, not expired).
    pub fn alive(&self) -> usize {
        self.shared.reap_expired();
        self.shared.alive()
    }

    /// High-water mark of [`FakeE2b::alive`].
    pub fn max_alive(&self) -> usize {
        self.shared.max_alive()
    }

    /// Sandboxes ever created.
    pub fn created(&self) -> usize {
        self.shared.created()
    }

    /// The temporary directory that is the filesystem root of an alive sandbox (`/home/user` in
    /// the sandbox is `<root>/home/user`). `None` once the sandbox is killed or expired: its
    /// directory is deleted then.
    pub fn sandbox_root(&self, sandbox_id: &str) -> Option<PathBuf> {
        self.shared.reap_expired();
        self.shared.sandbox(sandbox_id).map(|s| s.root().to_path_buf())
    }

    /// Every request both servers received so far, in arrival order per server.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests_lock().clone()
    }

    /// IDs of the sandboxes currently alive.
    pub fn sandbox_ids(&self) -> Vec<String> {
        self.shared.reap_expired();
        self.shared.sandbox_ids()
    }

    /// The `envdAccessToken` of an alive sandbox.
    pub fn access_token(&self, sandbox_id: &str) -> Option<String> {
        self.shared.sandbox(sandbox_id).map(|s| s.token.clone())
    }

    /// PIDs of the processes still running in an alive sandbox.
    pub fn running_pids(&self, sandbox_id: &str) -> Vec<u32> {
        self.shared.sandbox(sandbox_id).map(|s| s.running_pids()).unwrap_or_default()
    }
}

impl Drop for FakeE2b {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.shared.kill_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    shared: Arc<Shared>,
    api: std::net::TcpListener,
    envd: std::net::TcpListener,
    shutdown: watch::Receiver<bool>,
) {
    let (api, envd) = match (tokio::net::TcpListener::from_std(api), tokio::net::TcpListener::from_std(envd)) {
        (Ok(a), Ok(e)) => (a, e),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "fake E2B: cannot register the listeners");
            return;
        }
    };
    let reaper = tokio::spawn(state::reaper(shared.clone()));
    let a = tokio::spawn(accept_loop(shared.clone(), api, Plane::Control, shutdown.clone()));
    let e = tokio::spawn(accept_loop(shared.clone(), envd, Plane::Envd, shutdown.clone()));
    let mut shutdown = shutdown;
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    a.abort();
    e.abort();
    reaper.abort();
    shared.kill_all();
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    plane: Plane,
    shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors (EMFILE) and the like: back off instead of spinning.
                tracing::warn!(error = %e, "fake E2B: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(dispatch(shared, plane, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                res = conn => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "fake E2B: connection ended with an error");
                    }
                }
                _ = shutdown.changed() => {}
            }
        });
    }
}

async fn dispatch(shared: Arc<Shared>, plane: Plane, req: hyper::Request<hyper::body::Incoming>) -> web::Response {
    shared.record(plane, &req);
    let slow = shared.faults_lock().take_slow();
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    shared.reap_expired();
    match plane {
        Plane::Control => control::handle(&shared, req).await,
        Plane::Envd => envd::handle(&shared, req).await,
    }
}
