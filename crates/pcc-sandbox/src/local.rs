//! The `local` provider: a sandbox is a directory, its commands are child processes.
//!
//! For offline use, demos and tests. It isolates nothing: commands run as the current user with
//! the current environment, except that `HOME` is the sandbox root (so `git config --global`
//! inside a run cannot touch the user's own configuration). File paths are taken relative to
//! the root; `..` and absolute paths elsewhere are refused, and so are symlinks that lead out.
//! Sandboxes live as long as this provider value (and its clones): list, info and kill see the
//! sandboxes this process made.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::debug;

use crate::command::{Command, CommandEvent, CommandLine, ExitStatus, Process, Signal, Signaller};
use crate::error::{Resource, Result, SandboxError, Service};
use crate::io::{reader_stream, rfc3339};
use crate::provider::{
    BoxFuture, ByteStream, Connection, CreateOptions, FileSource, ListQuery, Sandbox, SandboxInfo, SandboxProvider,
    SandboxState,
};

/// The provider's name.
pub(crate) const PROVIDER_NAME: &str = "local";
/// Lifetime when the caller gives none (E2B's default).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Output chunk size.
const PIPE_CHUNK: usize = 64 * 1024;
/// Output chunks buffered between the pipes and the consumer.
const EVENT_BUFFER: usize = 16;
/// The longest lifetime honoured; anything longer (up to `Duration::MAX`) means "practically
/// never" and is clamped here, so deadline arithmetic cannot overflow.
const MAX_LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// How long a kill waits for the killed process groups to be gone before removing the root.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// Attempts at removing a sandbox root (a dying process may still be creating files in it).
const REMOVE_ATTEMPTS: u32 = 5;

/// Sandboxes as directories under a base directory, commands as local child processes.
#[derive(Clone)]
pub struct LocalProvider {
    inner: Arc<LocalInner>,
}

struct LocalInner {
    base: PathBuf,
    sandboxes: Mutex<HashMap<String, Arc<LocalSandbox>>>,
}

struct LocalSandbox {
    id: String,
    /// Canonical.
    root: PathBuf,
    template: String,
    metadata: BTreeMap<String, String>,
    env_vars: BTreeMap<String, String>,
    started_at: u64,
    state: Mutex<LiveState>,
    deadline: watch::Sender<Instant>,
}

struct LiveState {
    end_at: u64,
    /// Process-group ids (= the pids of the commands started).
    processes: HashSet<u32>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave the maps inconsistent; keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `timeout` clamped to [`MAX_LIFETIME`].
fn clamp_lifetime(timeout: Duration) -> Duration {
    timeout.min(MAX_LIFETIME)
}

/// The instant `timeout` from `now`, without overflow whatever the caller passed.
fn deadline_after(now: Instant, timeout: Duration) -> Instant {
    let timeout = clamp_lifetime(timeout);
    now.checked_add(timeout).or_else(|| now.checked_add(timeout / 1000)).unwrap_or(now)
}

/// Unix seconds `timeout` after `now_secs`, saturating.
fn end_after(now_secs: u64, timeout: Duration) -> u64 {
    now_secs.saturating_add(clamp_lifetime(timeout).as_secs())
}

fn io_error(op: &'static str, path: &Path, source: std::io::Error) -> SandboxError {
    SandboxError::Io { op, path: path.to_path_buf(), source }
}

fn not_found(id: &str) -> SandboxError {
    SandboxError::NotFound { resource: Resource::Sandbox(id.to_owned()), message: "no such local sandbox".into() }
}

/// 20 characters of `[a-z0-9]`, from the standard library's per-process random hasher keys.
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(20);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    hasher.write_u32(std::process::id());
    let mut x = hasher.finish();
    for i in 0..20 {
        if i == 10 {
            hasher.write_u64(x);
            x = hasher.finish();
        }
        let digit = (x % 36) as u8;
        x /= 36;
        out.push(if digit < 10 { (b'0' + digit) as char } else { (b'a' + digit - 10) as char });
    }
    out
}

impl LocalProvider {
    /// Sandboxes are made as directories under `base` (created when needed).
    pub fn new(base: impl Into<PathBuf>) -> LocalProvider {
        LocalProvider { inner: Arc::new(LocalInner { base: base.into(), sandboxes: Mutex::new(HashMap::new()) }) }
    }

    /// Sandboxes under the system temporary directory.
    pub fn in_temp_dir() -> LocalProvider {
        LocalProvider::new(std::env::temp_dir().join("parallel-cc-sandboxes"))
    }

    /// The directory of a live sandbox.
    pub fn root_of(&self, id: &str) -> Option<PathBuf> {
        lock(&self.inner.sandboxes).get(id).map(|s| s.root.clone())
    }

    fn get(&self, id: &str) -> Result<Arc<LocalSandbox>> {
        lock(&self.inner.sandboxes).get(id).cloned().ok_or_else(|| not_found(id))
    }

    fn sandbox_of(&self, sandbox: &Sandbox) -> Result<Arc<LocalSandbox>> {
        match &sandbox.conn {
            Connection::Local => self.get(sandbox.id()),
            Connection::E2b(_) => Err(SandboxError::WrongProvider {
                id: sandbox.id().to_owned(),
                owner: crate::e2b::PROVIDER_NAME,
                provider: PROVIDER_NAME,
            }),
        }
    }

    async fn create_impl(&self, options: &CreateOptions) -> Result<Sandbox> {
        let base = &self.inner.base;
        tokio::fs::create_dir_all(base).await.map_err(|e| io_error("create sandbox base directory", base, e))?;
        let (id, dir) = loop {
            let id = format!("local-{}", random_suffix());
            let dir = base.join(&id);
            match tokio::fs::create_dir(&dir).await {
                Ok(()) => break (id, dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_error("create sandbox directory", &dir, e)),
            }
        };
        let root = tokio::fs::canonicalize(&dir).await.map_err(|e| io_error("resolve sandbox directory", &dir, e))?;
        let timeout = options.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let started_at = now_secs();
        let (deadline, deadline_rx) = watch::channel(deadline_after(Instant::now(), timeout));
        let sandbox = Arc::new(LocalSandbox {
            id: id.clone(),
            root: root.clone(),
            template: options.template.clone(),
            metadata: options.metadata.clone(),
            env_vars: options.env_vars.clone(),
            started_at,
            state: Mutex::new(LiveState { end_at: end_after(started_at, timeout), processes: HashSet::new() }),
            deadline,
        });
        lock(&self.inner.sandboxes).insert(id.clone(), sandbox);
        tokio::spawn(expire(Arc::downgrade(&self.inner), id.clone(), deadline_rx));
        debug!(sandbox_id = %id, root = %root.display(), "created local sandbox");
        Ok(Sandbox::new(id, options.template.clone(), None, Connection::Local))
    }

    fn info_of(sandbox: &LocalSandbox) -> SandboxInfo {
        let end_at = lock(&sandbox.state).end_at;
        SandboxInfo {
            id: sandbox.id.clone(),
            template_id: sandbox.template.clone(),
            alias: None,
            state: SandboxState::Running,
            started_at: Some(rfc3339(sandbox.started_at)),
            end_at: Some(rfc3339(end_at)),
            cpu_count: None,
            memory_mb: None,
            disk_size_mb: None,
            envd_version: None,
            metadata: sandbox.metadata.clone(),
        }
    }

    async fn run_impl(&self, sandbox: &Sandbox, command: &Command) -> Result<Process> {
        let sbx = self.sandbox_of(sandbox)?;
        let cwd = match command.working_dir() {
            None => sbx.root.clone(),
            Some(dir) => {
                let path = resolve(&sbx.root, dir)?;
                let real = existing_inside(&sbx.root, dir, &path).await?;
                if !real.is_dir() {
                    return Err(SandboxError::InvalidCommand {
                        reason: format!("working directory {dir:?} does not exist"),
                    });
                }
                real
            }
        };
        let mut child = match command.line() {
            CommandLine::Argv(argv) => {
                let Some((program, args)) = argv.split_first() else {
                    return Err(SandboxError::InvalidCommand { reason: "the argument vector is empty".into() });
                };
                let mut c = tokio::process::Command::new(program);
                c.args(args);
                c
            }
            CommandLine::Shell(script) => {
                let mut c = tokio::process::Command::new("bash");
                c.arg("-c").arg(script);
                c
            }
        };
        child
            .current_dir(&cwd)
            .env("HOME", &sbx.root)
            .envs(&sbx.env_vars)
            .envs(command.envs())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a kill reaches everything the command started.
            .process_group(0)
            .kill_on_drop(false);
        let program = match command.line() {
            CommandLine::Argv(argv) => argv.first().cloned().unwrap_or_default(),
            CommandLine::Shell(_) => "bash".to_owned(),
        };
        let mut child = child.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                SandboxError::InvalidCommand { reason: format!("program {program:?} not found") }
            }
            std::io::ErrorKind::InvalidInput => SandboxError::InvalidCommand { reason: e.to_string() },
            _ => io_error("start command", Path::new(&program), e),
        })?;
        let Some(pid) = child.id() else {
            return Err(SandboxError::Protocol {
                service: Service::Local,
                message: "the command exited at once".into(),
            });
        };
        lock(&sbx.state).processes.insert(pid);
        debug!(sandbox_id = %sbx.id, pid, "started local command");

        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let limit = command.time_limit();
        let supervisor_sbx = sbx.clone();
        tokio::spawn(async move {
            let run = async {
                let (_, _, status) =
                    tokio::join!(pump(stdout, tx.clone(), true), pump(stderr, tx.clone(), false), child.wait());
                status
            };
            let outcome = match limit {
                Some(limit) => tokio::time::timeout(limit, run).await.ok(),
                None => Some(run.await),
            };
            let item = match outcome {
                Some(Ok(status)) => Ok(CommandEvent::Exit(exit_status(status))),
                Some(Err(e)) => Err(io_error("wait for command", Path::new("bash"), e)),
                None => {
                    let _ = kill_group(pid, Signal::Kill);
                    let _ = child.wait().await;
                    Err(SandboxError::TimedOut {
                        operation: "command".into(),
                        message: format!("killed after {}s", limit.map_or(0, |l| l.as_secs())),
                    })
                }
            };
            lock(&supervisor_sbx.state).processes.remove(&pid);
            let _ = tx.send(item).await;
        });
        let events =
            Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }));
        let signaller = Arc::new(LocalSignaller { inner: Arc::downgrade(&self.inner), id: sbx.id.clone() });
        Ok(Process::new(pid, events, signaller, Service::Local))
    }

    fn signal_impl(&self, id: &str, pid: u32, signal: Signal) -> Result<()> {
        let sbx = self.get(id)?;
        if !lock(&sbx.state).processes.contains(&pid) {
            return Err(SandboxError::NotFound {
                resource: Resource::Process(pid),
                message: "no such running process in this sandbox".into(),
            });
        }
        kill_group(pid, signal)
            .map_err(|e| SandboxError::NotFound { resource: Resource::Process(pid), message: e.to_string() })
    }

    async fn kill_impl(&self, id: &str) -> Result<bool> {
        let Some(sbx) = lock(&self.inner.sandboxes).remove(id) else {
            return Ok(false);
        };
        let pids: Vec<u32> = lock(&sbx.state).processes.drain().collect();
        for &pid in &pids {
            let _ = kill_group(pid, Signal::Kill);
        }
        // Give the killed groups a bounded moment to go, so they stop writing into the root.
        let gone_by = deadline_after(Instant::now(), KILL_GRACE);
        while pids.iter().any(|&pid| group_alive(pid)) && Instant::now() < gone_by {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut attempt = 0;
        loop {
            match tokio::fs::remove_dir_all(&sbx.root).await {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(_) if attempt + 1 < REMOVE_ATTEMPTS => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                }
                Err(e) => return Err(io_error("remove sandbox directory", &sbx.root, e)),
            }
        }
        debug!(sandbox_id = %id, "killed local sandbox");
        Ok(true)
    }

    async fn write_impl(&self, sandbox: &Sandbox, path: &str, source: FileSource) -> Result<u64> {
        let sbx = self.sandbox_of(sandbox)?;
        let target = resolve(&sbx.root, path)?;
        if target == sbx.root {
            return Err(SandboxError::PathOutsideSandbox {
                path: path.to_owned(),
                reason: "the sandbox root is not a file",
            });
        }
        if let Some(parent) = target.parent() {
            create_dirs_inside(&sbx.root, path, parent).await?;
        }
        if tokio::fs::symlink_metadata(&target).await.is_ok() {
            existing_inside(&sbx.root, path, &target).await?;
        }
        let mut file = tokio::fs::File::create(&target).await.map_err(|e| io_error("create file", &target, e))?;
        let written = match source {
            FileSource::Bytes(bytes) => {
                file.write_all(&bytes).await.map_err(|e| io_error("write file", &target, e))?;
                bytes.len() as u64
            }
            FileSource::Path(local) => {
                let mut src =
                    tokio::fs::File::open(&local).await.map_err(|e| io_error("open file to upload", &local, e))?;
                copy(&mut src, &mut file, &target).await?
            }
            FileSource::Reader { mut reader, .. } => copy(&mut reader, &mut file, &target).await?,
        };
        file.flush().await.map_err(|e| io_error("write file", &target, e))?;
        Ok(written)
    }

    async fn read_impl(&self, sandbox: &Sandbox, path: &str) -> Result<ByteStream> {
        let sbx = self.sandbox_of(sandbox)?;
        let target = resolve(&sbx.root, path)?;
        let real = existing_inside(&sbx.root, path, &target).await?;
        if real.is_dir() {
            return Err(SandboxError::Rpc {
                operation: "read file".into(),
                code: crate::error::ConnectCode::InvalidArgument,
                message: format!("{path} is a directory"),
            });
        }
        let file = tokio::fs::File::open(&real).await.map_err(|e| io_error("open file", &real, e))?;
        let shown = PathBuf::from(path);
        Ok(Box::pin(reader_stream(file).map(move |chunk| chunk.map_err(|e| io_error("read file", &shown, e)))))
    }
}

async fn copy<R: AsyncRead + Unpin + ?Sized>(src: &mut R, dst: &mut tokio::fs::File, target: &Path) -> Result<u64> {
    let mut buf = vec![0u8; crate::io::CHUNK];
    let mut total = 0u64;
    loop {
        let n = src.read(&mut buf).await.map_err(|e| io_error("read upload source", target, e))?;
        if n == 0 {
            return Ok(total);
        }
        dst.write_all(&buf[..n]).await.map_err(|e| io_error("write file", target, e))?;
        total += n as u64;
    }
}

/// Kills a sandbox when its deadline passes; follows `set_timeout` changes; ends with the
/// sandbox.
async fn expire(inner: Weak<LocalInner>, id: String, mut deadline: watch::Receiver<Instant>) {
    loop {
        let at = *deadline.borrow_and_update();
        tokio::select! {
            () = tokio::time::sleep_until(at) => {
                if let Some(inner) = inner.upgrade() {
                    debug!(sandbox_id = %id, "local sandbox timed out");
                    let _ = LocalProvider { inner }.kill_impl(&id).await;
                }
                return;
            }
            changed = deadline.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Copies a pipe into the event channel. Keeps draining after the consumer went away, so the
/// command never blocks on a full pipe.
async fn pump<R: AsyncRead + Unpin>(pipe: Option<R>, tx: mpsc::Sender<Result<CommandEvent>>, stdout: bool) {
    let Some(mut pipe) = pipe else { return };
    let mut open = true;
    loop {
        let mut buf = BytesMut::with_capacity(PIPE_CHUNK);
        match pipe.read_buf(&mut buf).await {
            Ok(0) => return,
            Ok(_) if open => {
                let chunk = buf.freeze();
                let event = if stdout { CommandEvent::Stdout(chunk) } else { CommandEvent::Stderr(chunk) };
                open = tx.send(Ok(event)).await.is_ok();
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn exit_status(status: std::process::ExitStatus) -> ExitStatus {
    match status.code() {
        Some(code) => ExitStatus { code, exited: true, status: format!("exit status {code}") },
        None => ExitStatus {
            code: -1,
            exited: false,
            status: match status.signal() {
                Some(9) => "signal: killed".to_owned(),
                Some(15) => "signal: terminated".to_owned(),
                Some(n) => format!("signal: {n}"),
                None => "unknown".to_owned(),
            },
        },
    }
}

/// Whether any process of group `pgid` still exists (zombies included).
fn group_alive(pgid: u32) -> bool {
    let raw = i32::try_from(pgid).ok().filter(|&p| p > 1);
    match raw.and_then(rustix::process::Pid::from_raw) {
        Some(pid) => rustix::process::test_kill_process_group(pid).is_ok(),
        None => false,
    }
}

fn kill_group(pgid: u32, signal: Signal) -> std::io::Result<()> {
    let raw = i32::try_from(pgid).ok().filter(|&p| p > 1);
    let Some(pid) = raw.and_then(rustix::process::Pid::from_raw) else {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a process group id"));
    };
    let sig = match signal {
        Signal::Term => rustix::process::Signal::TERM,
        Signal::Kill => rustix::process::Signal::KILL,
    };
    rustix::process::kill_process_group(pid, sig).map_err(std::io::Error::from)
}

/// A path inside the sandbox, lexically: relative paths (and `~`, `~/…`) are taken from the
/// root; an absolute path must already point inside it; `..` is refused outright.
fn resolve(root: &Path, path: &str) -> Result<PathBuf> {
    let outside = |reason| SandboxError::PathOutsideSandbox { path: path.to_owned(), reason };
    if path.contains('\0') {
        return Err(outside("the path contains a NUL byte"));
    }
    let rel = match path {
        "~" => "",
        p => p.strip_prefix("~/").unwrap_or(p),
    };
    let rel = Path::new(rel);
    let rel = if rel.is_absolute() {
        rel.strip_prefix(root).map_err(|_| outside("an absolute path must lie under the sandbox root"))?
    } else {
        rel
    };
    let mut out = root.to_path_buf();
    for component in rel.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(outside("`..` is not allowed")),
            Component::RootDir | Component::Prefix(_) => return Err(outside("unexpected path prefix")),
        }
    }
    Ok(out)
}

/// The real location of an existing path, refused when a symlink leads it out of the root.
async fn existing_inside(root: &Path, shown: &str, path: &Path) -> Result<PathBuf> {
    let real = tokio::fs::canonicalize(path).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SandboxError::NotFound {
            resource: Resource::File(shown.to_owned()),
            message: "no such file or directory".into(),
        },
        _ => io_error("resolve path", path, e),
    })?;
    if real.starts_with(root) {
        Ok(real)
    } else {
        Err(SandboxError::PathOutsideSandbox { path: shown.to_owned(), reason: "a symlink leads out of the sandbox" })
    }
}

/// Creates the missing directories of `dir` (a path under `root`, as [`resolve`] gives it)
/// one at a time, checking before each step that what exists so far really lies inside the
/// root, so a symlink leading out is refused before anything is made beyond it.
async fn create_dirs_inside(root: &Path, shown: &str, dir: &Path) -> Result<()> {
    let Ok(rel) = dir.strip_prefix(root) else {
        return Err(SandboxError::PathOutsideSandbox {
            path: shown.to_owned(),
            reason: "the path does not lie under the sandbox root",
        });
    };
    let mut current = root.to_path_buf();
    for component in rel.components() {
        current.push(component);
        match tokio::fs::symlink_metadata(&current).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Its parent was checked to be inside the root on the previous step.
                match tokio::fs::create_dir(&current).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_error("create directory", &current, e)),
                }
            }
            Err(e) => return Err(io_error("inspect path", &current, e)),
        }
        let real = existing_inside(root, shown, &current).await?;
        if !real.is_dir() {
            return Err(io_error(
                "create directory",
                &current,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            ));
        }
    }
    Ok(())
}

struct LocalSignaller {
    /// Weak, so a process handle does not keep the provider's sandboxes alive.
    inner: Weak<LocalInner>,
    id: String,
}

impl Signaller for LocalSignaller {
    fn signal(&self, pid: u32, signal: Signal) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let inner = self.inner.upgrade().ok_or_else(|| not_found(&self.id))?;
            LocalProvider { inner }.signal_impl(&self.id, pid, signal)
        })
    }
}

impl Drop for LocalInner {
    /// The last provider handle is gone: nothing can reach its sandboxes any more, so every
    /// process group still running in them is killed and every root removed.
    fn drop(&mut self) {
        let sandboxes = match self.sandboxes.get_mut() {
            Ok(map) => std::mem::take(map),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        for sbx in sandboxes.into_values() {
            let pids: Vec<u32> = lock(&sbx.state).processes.drain().collect();
            for pid in pids {
                let _ = kill_group(pid, Signal::Kill);
            }
            // Synchronous (a destructor cannot await); a few quick retries cover files still
            // being created by a process that is dying.
            for attempt in 0..REMOVE_ATTEMPTS {
                match std::fs::remove_dir_all(&sbx.root) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if attempt + 1 == REMOVE_ATTEMPTS => {
                        debug!(sandbox_id = %sbx.id, error = %e, "could not remove local sandbox directory");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10 << attempt)),
                }
            }
            debug!(sandbox_id = %sbx.id, "local sandbox dropped with its provider");
        }
    }
}

impl fmt::Debug for LocalProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = lock(&self.inner.sandboxes).keys().cloned().collect();
        f.debug_struct("LocalProvider").field("base", &self.inner.base).field("sandboxes", &ids).finish()
    }
}

impl SandboxProvider for LocalProvider {
    fn name(&self) -> &'static str {
        PROVIDER_NAME
    }

    fn create<'a>(&'a self, options: &'a CreateOptions) -> BoxFuture<'a, Result<Sandbox>> {
        Box::pin(self.create_impl(options))
    }

    fn connect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Sandbox>> {
        Box::pin(async move {
            let sbx = self.get(id)?;
            Ok(Sandbox::new(sbx.id.clone(), sbx.template.clone(), None, Connection::Local))
        })
    }

    fn info<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<SandboxInfo>> {
        Box::pin(async move {
            let sbx = self.get(id)?;
            Ok(LocalProvider::info_of(&sbx))
        })
    }

    fn list<'a>(&'a self, query: &'a ListQuery) -> BoxFuture<'a, Result<Vec<SandboxInfo>>> {
        Box::pin(async move {
            if !query.states.is_empty() && !query.states.contains(&SandboxState::Running) {
                return Ok(Vec::new());
            }
            let all: Vec<Arc<LocalSandbox>> = lock(&self.inner.sandboxes).values().cloned().collect();
            let mut out: Vec<SandboxInfo> = all
                .iter()
                .filter(|s| query.metadata.iter().all(|(k, v)| s.metadata.get(k) == Some(v)))
                .map(|s| LocalProvider::info_of(s))
                .collect();
            out.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.id.cmp(&b.id)));
            Ok(out)
        })
    }

    fn set_timeout<'a>(&'a self, id: &'a str, timeout: Duration) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let sbx = self.get(id)?;
            lock(&sbx.state).end_at = end_after(now_secs(), timeout);
            sbx.deadline.send_replace(deadline_after(Instant::now(), timeout));
            Ok(())
        })
    }

    fn pause<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(
            async move { Err(SandboxError::Unsupported { provider: PROVIDER_NAME, operation: "pause a sandbox" }) },
        )
    }

    fn kill<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.kill_impl(id))
    }

    fn is_running<'a>(&'a self, sandbox: &'a Sandbox) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            match self.sandbox_of(sandbox) {
                Ok(sbx) => Ok(tokio::fs::metadata(&sbx.root).await.is_ok()),
                Err(SandboxError::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn run<'a>(&'a self, sandbox: &'a Sandbox, command: &'a Command) -> BoxFuture<'a, Result<Process>> {
        Box::pin(self.run_impl(sandbox, command))
    }

    fn signal<'a>(&'a self, sandbox: &'a Sandbox, pid: u32, signal: Signal) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.sandbox_of(sandbox)?;
            self.signal_impl(sandbox.id(), pid, signal)
        })
    }

    fn write_file<'a>(&'a self, sandbox: &'a Sandbox, path: &'a str, source: FileSource) -> BoxFuture<'a, Result<u64>> {
        Box::pin(self.write_impl(sandbox, path, source))
    }

    fn read_file<'a>(&'a self, sandbox: &'a Sandbox, path: &'a str) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(self.read_impl(sandbox, path))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn resolve_keeps_paths_inside() {
        let root = Path::new("/tmp/sbx");
        assert_eq!(resolve(root, "a/b.txt").unwrap(), Path::new("/tmp/sbx/a/b.txt"));
        assert_eq!(resolve(root, "./a").unwrap(), Path::new("/tmp/sbx/a"));
        assert_eq!(resolve(root, "~/a").unwrap(), Path::new("/tmp/sbx/a"));
        assert_eq!(resolve(root, "~").unwrap(), Path::new("/tmp/sbx"));
        assert_eq!(resolve(root, "").unwrap(), Path::new("/tmp/sbx"));
        assert_eq!(resolve(root, "/tmp/sbx/x").unwrap(), Path::new("/tmp/sbx/x"));
        for bad in ["../x", "a/../../x", "a/..", "/etc/passwd", "/tmp/sbx/../x", "/tmp/sbxother/x", "a\0b"] {
            assert!(matches!(resolve(root, bad), Err(SandboxError::PathOutsideSandbox { .. })), "{bad}");
        }
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let now = Instant::now();
        assert!(deadline_after(now, Duration::MAX) > now + Duration::from_secs(3600 * 24 * 365));
        assert_eq!(deadline_after(now, Duration::from_secs(5)), now + Duration::from_secs(5));
        assert_eq!(end_after(u64::MAX - 1, Duration::MAX), u64::MAX);
        assert_eq!(end_after(100, Duration::from_secs(5)), 105);
        assert_eq!(end_after(0, Duration::MAX), MAX_LIFETIME.as_secs());
    }

    #[tokio::test]
    async fn max_timeout_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path().join("sandboxes"));
        let options = CreateOptions { timeout: Some(Duration::MAX), ..CreateOptions::default() };
        let sbx = p.create(&options).await.unwrap();
        p.set_timeout(sbx.id(), Duration::MAX).await.unwrap();
        assert!(p.info(sbx.id()).await.unwrap().end_at.is_some());
        assert!(p.kill(sbx.id()).await.unwrap());
    }

    #[test]
    fn ids_look_like_e2b_ids() {
        let a = random_suffix();
        let b = random_suffix();
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_ne!(a, b);
    }
}
