//! The `SandboxProvider` trait and the values that cross it.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::command::{Command, CommandOutput, Process, Signal};
use crate::error::{Result, SandboxError};

/// A boxed, sendable future: what the trait's methods return, so that `dyn SandboxProvider`
/// works.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A file's contents, as they arrive.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// A live sandbox as returned by create or connect: its id and how to reach it. Cheap to clone;
/// pass it back to the provider that made it.
#[derive(Clone)]
pub struct Sandbox {
    id: String,
    template_id: String,
    envd_version: Option<String>,
    pub(crate) conn: Connection,
}

/// How a provider reaches a sandbox it made.
#[derive(Clone)]
pub(crate) enum Connection {
    E2b(Arc<crate::e2b::EnvdConn>),
    Local,
}

impl Sandbox {
    pub(crate) fn new(id: String, template_id: String, envd_version: Option<String>, conn: Connection) -> Sandbox {
        Sandbox { id, template_id, envd_version, conn }
    }

    /// The sandbox id (E2B: `i` and 20 characters; local: `local-…`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The template it was made from (E2B resolves aliases to ids).
    pub fn template_id(&self) -> &str {
        &self.template_id
    }

    /// The version of envd inside it (E2B only).
    pub fn envd_version(&self) -> Option<&str> {
        self.envd_version.as_deref()
    }

    /// The name of the provider that made it.
    pub fn provider(&self) -> &'static str {
        match self.conn {
            Connection::E2b(_) => crate::e2b::PROVIDER_NAME,
            Connection::Local => crate::local::PROVIDER_NAME,
        }
    }
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("id", &self.id)
            .field("template_id", &self.template_id)
            .field("envd_version", &self.envd_version)
            .field("provider", &self.provider())
            .finish()
    }
}

/// What to create.
///
/// `Debug` shows the environment's names only.
#[derive(Clone)]
pub struct CreateOptions {
    /// Template id or name (E2B's default is `base`; parallel-cc's runs use `claude`).
    pub template: String,
    /// Lifetime from now; `None` leaves the provider's default (E2B: 300 s).
    pub timeout: Option<Duration>,
    /// Labels, for `list` filters.
    pub metadata: BTreeMap<String, String>,
    /// Environment variables for every command in the sandbox.
    pub env_vars: BTreeMap<String, String>,
    /// E2B: whether the sandbox may reach the internet (`None`: the server default, yes).
    pub allow_internet_access: Option<bool>,
    /// E2B: sent as `Idempotency-Key`; with it, a create that failed with a gateway error is
    /// retried, since the server will not make a second sandbox for the same key.
    pub idempotency_key: Option<String>,
}

impl CreateOptions {
    /// Options for `template` with every default.
    pub fn new(template: impl Into<String>) -> CreateOptions {
        CreateOptions {
            template: template.into(),
            timeout: None,
            metadata: BTreeMap::new(),
            env_vars: BTreeMap::new(),
            allow_internet_access: None,
            idempotency_key: None,
        }
    }
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions::new("base")
    }
}

impl fmt::Debug for CreateOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateOptions")
            .field("template", &self.template)
            .field("timeout", &self.timeout)
            .field("metadata", &self.metadata)
            .field("env_var_names", &self.env_vars.keys().collect::<Vec<_>>())
            .field("allow_internet_access", &self.allow_internet_access)
            .field("idempotency_key", &self.idempotency_key)
            .finish()
    }
}

/// Whether a sandbox runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxState {
    /// Running (and billed).
    Running,
    /// Paused (E2B; not billed, resumed by connect).
    Paused,
    /// A state this client does not know.
    Other(String),
}

impl SandboxState {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            SandboxState::Running => "running",
            SandboxState::Paused => "paused",
            SandboxState::Other(s) => s,
        }
    }

    pub(crate) fn parse(s: &str) -> SandboxState {
        match s {
            "running" => SandboxState::Running,
            "paused" => SandboxState::Paused,
            other => SandboxState::Other(other.to_owned()),
        }
    }
}

/// What a provider knows about a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxInfo {
    /// The sandbox id.
    pub id: String,
    /// The template id.
    pub template_id: String,
    /// The template alias, when it has one.
    pub alias: Option<String>,
    /// Running or paused.
    pub state: SandboxState,
    /// Start time, RFC 3339.
    pub started_at: Option<String>,
    /// When it will be killed (or paused) unless extended, RFC 3339.
    pub end_at: Option<String>,
    /// vCPUs.
    pub cpu_count: Option<u32>,
    /// Memory in MiB.
    pub memory_mb: Option<u32>,
    /// Disk in MiB.
    pub disk_size_mb: Option<u32>,
    /// envd version (E2B).
    pub envd_version: Option<String>,
    /// Labels given at creation.
    pub metadata: BTreeMap<String, String>,
}

/// A `list` filter.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only sandboxes whose metadata has all these pairs.
    pub metadata: BTreeMap<String, String>,
    /// Only these states (empty: running and paused).
    pub states: Vec<SandboxState>,
    /// Page size asked of the server (E2B; 1 to 100, default 100). Every page is fetched.
    pub page_size: Option<u32>,
}

/// What to upload.
pub enum FileSource {
    /// Bytes in memory.
    Bytes(Bytes),
    /// A local file, streamed from disk.
    Path(PathBuf),
    /// Any reader, streamed; `len` when known up front (it must then be exact: E2B declares it
    /// in the multipart body).
    Reader {
        /// The data.
        reader: Box<dyn AsyncRead + Send + Unpin>,
        /// Its length, if known.
        len: Option<u64>,
    },
}

impl fmt::Debug for FileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileSource::Bytes(b) => f.debug_struct("Bytes").field("len", &b.len()).finish(),
            FileSource::Path(p) => f.debug_tuple("Path").field(p).finish(),
            FileSource::Reader { len, .. } => f.debug_struct("Reader").field("len", len).finish_non_exhaustive(),
        }
    }
}

/// A place to run commands with files: the E2B cloud ([`crate::E2bProvider`]) or a local
/// directory ([`crate::LocalProvider`]).
///
/// Methods taking an id work from any process (`sandbox kill <id>`); methods taking a
/// [`Sandbox`] need the handle from [`create`](SandboxProvider::create) or
/// [`connect`](SandboxProvider::connect).
pub trait SandboxProvider: Send + Sync + fmt::Debug {
    /// The provider's name (`e2b`, `local`).
    fn name(&self) -> &'static str;

    /// Creates a sandbox.
    fn create<'a>(&'a self, options: &'a CreateOptions) -> BoxFuture<'a, Result<Sandbox>>;

    /// Connects to an existing sandbox by id (E2B: resumes it if paused).
    fn connect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Sandbox>>;

    /// What the provider knows about a sandbox.
    fn info<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<SandboxInfo>>;

    /// Sandboxes matching the query, every page.
    fn list<'a>(&'a self, query: &'a ListQuery) -> BoxFuture<'a, Result<Vec<SandboxInfo>>>;

    /// Sets the sandbox's remaining lifetime, counted from now (may shorten it).
    fn set_timeout<'a>(&'a self, id: &'a str, timeout: Duration) -> BoxFuture<'a, Result<()>>;

    /// Pauses a sandbox; false when it was already paused.
    fn pause<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// Kills a sandbox and everything in it; false when there was no such sandbox.
    fn kill<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// Whether the sandbox answers (envd's health check).
    fn is_running<'a>(&'a self, sandbox: &'a Sandbox) -> BoxFuture<'a, Result<bool>>;

    /// Starts a command. Returns once the process runs, with its pid; read its output from the
    /// returned [`Process`].
    fn run<'a>(&'a self, sandbox: &'a Sandbox, command: &'a Command) -> BoxFuture<'a, Result<Process>>;

    /// Signals a process of the sandbox by pid.
    fn signal<'a>(&'a self, sandbox: &'a Sandbox, pid: u32, signal: Signal) -> BoxFuture<'a, Result<()>>;

    /// Writes a file (parents created, contents replaced), streaming the source. Returns the
    /// bytes sent. E2B: `path` is absolute or relative to the user's home; local: relative to
    /// the sandbox root.
    fn write_file<'a>(&'a self, sandbox: &'a Sandbox, path: &'a str, source: FileSource) -> BoxFuture<'a, Result<u64>>;

    /// Reads a file as a stream of chunks.
    fn read_file<'a>(&'a self, sandbox: &'a Sandbox, path: &'a str) -> BoxFuture<'a, Result<ByteStream>>;

    /// Reads a file into `out`, chunk by chunk; returns the bytes written.
    fn read_file_to<'a>(
        &'a self,
        sandbox: &'a Sandbox,
        path: &'a str,
        out: &'a mut (dyn AsyncWrite + Send + Unpin),
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            let mut stream = self.read_file(sandbox, path).await?;
            let mut total = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                out.write_all(&chunk).await.map_err(|source| SandboxError::Io {
                    op: "write downloaded file",
                    path: PathBuf::from(path),
                    source,
                })?;
                total += chunk.len() as u64;
            }
            out.flush().await.map_err(|source| SandboxError::Io {
                op: "write downloaded file",
                path: PathBuf::from(path),
                source,
            })?;
            Ok(total)
        })
    }

    /// Runs a command to the end and collects its output, at most `limit` bytes of each stream.
    fn run_collect<'a>(
        &'a self,
        sandbox: &'a Sandbox,
        command: &'a Command,
        limit: usize,
    ) -> BoxFuture<'a, Result<CommandOutput>> {
        Box::pin(async move { self.run(sandbox, command).await?.collect(limit).await })
    }
}
