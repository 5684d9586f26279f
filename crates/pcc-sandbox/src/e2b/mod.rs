//! The E2B provider: the REST control plane (`api.rs`) and envd inside each sandbox
//! (`envd.rs`, over the Connect protocol in `connect.rs`), on one reqwest client.

mod api;
mod config;
mod connect;
mod envd;
mod wire;

use std::fmt;
use std::sync::{Arc, Once};
use std::time::Duration;

pub use config::{DEFAULT_DOMAIN, E2bConfig, ENV_API_KEY, ENV_API_URL, ENV_DOMAIN, ENV_SANDBOX_URL};
pub(crate) use envd::EnvdConn;

use crate::command::{Command, Process, Signal};
use crate::error::{Result, SandboxError, Service};
use crate::provider::{
    BoxFuture, ByteStream, Connection, CreateOptions, FileSource, ListQuery, Sandbox, SandboxInfo, SandboxProvider,
};
use crate::secret::{Secret, scrub};

/// The provider's name.
pub(crate) const PROVIDER_NAME: &str = "e2b";

/// `User-Agent` of every request.
const USER_AGENT: &str = concat!("parallel-cc/", env!("CARGO_PKG_VERSION"));

/// The E2B cloud. Cheap to clone (one connection pool).
#[derive(Clone)]
pub struct E2bProvider {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    config: E2bConfig,
}

/// reqwest is built without a default crypto provider; ring is installed once, process-wide.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An error means another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl E2bProvider {
    /// A client for `config`.
    pub fn new(config: E2bConfig) -> Result<E2bProvider> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(15))
            .tcp_nodelay(true)
            // Redirects are never followed (as in the official SDK): reqwest strips only
            // `Authorization`/`Cookie` on a cross-host redirect, so `X-API-Key` and
            // `X-Access-Token` would otherwise reach whatever host a 3xx names.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| transport_error(Service::Api, "build the HTTP client", e, &[config.api_key()]))?;
        Ok(E2bProvider { inner: Arc::new(Inner { http, config }) })
    }

    /// A client configured from `E2B_API_KEY`, `E2B_DOMAIN`, `E2B_API_URL`, `E2B_SANDBOX_URL`.
    pub fn from_env() -> Result<E2bProvider> {
        E2bProvider::new(E2bConfig::from_env()?)
    }

    /// The configuration.
    pub fn config(&self) -> &E2bConfig {
        &self.inner.config
    }
}

impl fmt::Debug for E2bProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("E2bProvider").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

/// A reqwest error as a [`SandboxError`]: without its URL (which names hosts and file paths
/// and could carry anything), its causes flattened, known secrets scrubbed.
pub(crate) fn transport_error(
    service: Service,
    operation: &str,
    err: reqwest::Error,
    secrets: &[&Secret],
) -> SandboxError {
    let timed_out = err.is_timeout();
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    let message = scrub(&message, secrets);
    if timed_out {
        SandboxError::TimedOut { operation: operation.to_owned(), message }
    } else {
        SandboxError::Transport { service, message: format!("{operation}: {message}") }
    }
}

/// Sandbox ids go into URL paths: only `[A-Za-z0-9_-]` is let through.
fn check_id(id: &str) -> Result<()> {
    if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(())
    } else {
        Err(SandboxError::NotFound {
            resource: crate::error::Resource::Sandbox(id.chars().take(64).collect()),
            message: "not a valid sandbox id".into(),
        })
    }
}

fn envd_of(sandbox: &Sandbox) -> Result<&Arc<EnvdConn>> {
    match &sandbox.conn {
        Connection::E2b(conn) => Ok(conn),
        Connection::Local => Err(SandboxError::WrongProvider {
            id: sandbox.id().to_owned(),
            owner: crate::local::PROVIDER_NAME,
            provider: PROVIDER_NAME,
        }),
    }
}

impl SandboxProvider for E2bProvider {
    fn name(&self) -> &'static str {
        PROVIDER_NAME
    }

    fn create<'a>(&'a self, options: &'a CreateOptions) -> BoxFuture<'a, Result<Sandbox>> {
        Box::pin(self.inner.create(options))
    }

    fn connect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Sandbox>> {
        Box::pin(async move {
            check_id(id)?;
            self.inner.connect(id).await
        })
    }

    fn info<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<SandboxInfo>> {
        Box::pin(async move {
            check_id(id)?;
            self.inner.info(id).await
        })
    }

    fn list<'a>(&'a self, query: &'a ListQuery) -> BoxFuture<'a, Result<Vec<SandboxInfo>>> {
        Box::pin(self.inner.list(query))
    }

    fn set_timeout<'a>(&'a self, id: &'a str, timeout: Duration) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            check_id(id)?;
            self.inner.set_timeout(id, timeout).await
        })
    }

    fn pause<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            check_id(id)?;
            self.inner.pause(id).await
        })
    }

    fn kill<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            check_id(id)?;
            self.inner.kill(id).await
        })
    }

    fn is_running<'a>(&'a self, sandbox: &'a Sandbox) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move { self.inner.health(envd_of(sandbox)?).await })
    }

    fn run<'a>(&'a self, sandbox: &'a Sandbox, command: &'a Command) -> BoxFuture<'a, Result<Process>> {
        Box::pin(async move { envd::start(&self.inner, envd_of(sandbox)?, command).await })
    }

    fn signal<'a>(&'a self, sandbox: &'a Sandbox, pid: u32, signal: Signal) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.inner.send_signal(envd_of(sandbox)?, pid, signal).await })
    }

    fn write_file<'a>(&'a self, sandbox: &'a Sandbox, path: &'a str, source: FileSource) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move { self.inner.upload(envd_of(sandbox)?, path, source).await })
    }

    fn read_file<'a>(&'a self, sandbox: &'a Sandbox, path: &'a str) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(async move { self.inner.download(envd_of(sandbox)?, path).await })
    }
}
