//! The fake's state: sandboxes (each a temporary directory plus its processes), their
//! lifecycle (timeout, pause, kill, expiry), counters, recorded requests and queued faults.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use super::faults::FaultQueue;
use super::process::Proc;
use super::{Plane, RecordedRequest};

/// Lock a mutex, ignoring poisoning: a panicking test thread must not wedge the fake.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `n` random lowercase hex digits (not cryptographic; unique enough for IDs and tokens).
pub fn random_hex(n: usize) -> String {
    random_chars(n, b"0123456789abcdef")
}

/// A sandbox ID the way the API makes them: `i` and 20 characters of `[a-z0-9]`.
pub fn sandbox_id() -> String {
    format!("i{}", random_chars(20, b"abcdefghijklmnopqrstuvwxyz0123456789"))
}

fn random_chars(n: usize, alphabet: &[u8]) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        let mut v = h.finish();
        for _ in 0..8 {
            if out.len() == n {
                break;
            }
            out.push(char::from(alphabet[(v % alphabet.len() as u64) as usize]));
            v /= alphabet.len() as u64;
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxState {
    Running,
    Paused,
}

impl SandboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxState::Running => "running",
            SandboxState::Paused => "paused",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Life {
    pub state: SandboxState,
    pub end_at: Instant,
    pub end_wall: SystemTime,
}

/// What a create request asked for.
pub struct NewSandbox {
    pub template_id: String,
    pub alias: String,
    pub timeout: Duration,
    pub metadata: BTreeMap<String, String>,
    pub env_vars: BTreeMap<String, String>,
    pub auto_pause: bool,
    pub allow_internet_access: Option<bool>,
    /// Secured sandboxes require `X-Access-Token` on envd.
    pub secure: bool,
}

pub struct Sandbox {
    pub id: String,
    pub template_id: String,
    pub alias: String,
    pub token: String,
    pub metadata: BTreeMap<String, String>,
    pub env_vars: BTreeMap<String, String>,
    pub started_at: SystemTime,
    pub seq: u64,
    pub auto_pause: bool,
    pub allow_internet_access: Option<bool>,
    pub secure: bool,
    _dir: tempfile::TempDir,
    root: PathBuf,
    life: Mutex<Life>,
    pub processes: Mutex<HashMap<u32, Arc<Proc>>>,
    gone: AtomicBool,
}

/// What the fresh sandbox's `~/.profile` holds: Debian's skeleton, so `bash -l` puts
/// `~/bin` and `~/.local/bin` on `PATH` (where tests can drop fake tools) after `/etc/profile`
/// has reset it.
const PROFILE: &str = r#"# ~/.profile (Debian skeleton, as in the E2B base template)
if [ -n "$BASH_VERSION" ] && [ -f "$HOME/.bashrc" ]; then
    . "$HOME/.bashrc"
fi
if [ -d "$HOME/bin" ] ; then
    PATH="$HOME/bin:$PATH"
fi
if [ -d "$HOME/.local/bin" ] ; then
    PATH="$HOME/.local/bin:$PATH"
fi
"#;

impl Sandbox {
    fn new(seq: u64, new: NewSandbox) -> std::io::Result<Sandbox> {
        let dir = tempfile::Builder::new().prefix("pcc-fake-e2b-").tempdir()?;
        let root = std::fs::canonicalize(dir.path())?;
        for d in ["home/user", "root", "tmp"] {
            std::fs::create_dir_all(root.join(d))?;
        }
        std::fs::write(root.join("home/user/.profile"), PROFILE)?;
        let now = Instant::now();
        let wall = SystemTime::now();
        Ok(Sandbox {
            id: sandbox_id(),
            template_id: new.template_id,
            alias: new.alias,
            token: random_hex(32),
            metadata: new.metadata,
            env_vars: new.env_vars,
            started_at: wall,
            seq,
            auto_pause: new.auto_pause,
            allow_internet_access: new.allow_internet_access,
            secure: new.secure,
            _dir: dir,
            root,
            life: Mutex::new(Life {
                state: SandboxState::Running,
                end_at: now + new.timeout,
                end_wall: wall + new.timeout,
            }),
            processes: Mutex::new(HashMap::new()),
            gone: AtomicBool::new(false),
        })
    }

    /// The host directory that is `/` of this sandbox.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn life(&self) -> Life {
        *lock(&self.life)
    }

    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::SeqCst)
    }

    /// The TTL counts from now; it may shorten or extend the sandbox's life.
    pub fn set_timeout(&self, timeout: Duration) {
        let mut l = lock(&self.life);
        l.end_at = Instant::now() + timeout;
        l.end_wall = SystemTime::now() + timeout;
    }

    /// Connect to a running sandbox: the TTL is only ever extended.
    pub fn extend(&self, timeout: Duration) {
        let mut l = lock(&self.life);
        let end = Instant::now() + timeout;
        if end > l.end_at {
            l.end_at = end;
            l.end_wall = SystemTime::now() + timeout;
        }
    }

    /// `false` if it was already paused.
    pub fn pause(&self) -> bool {
        {
            let mut l = lock(&self.life);
            if l.state == SandboxState::Paused {
                return false;
            }
            l.state = SandboxState::Paused;
        }
        for p in self.procs() {
            p.signal_group(rustix::process::Signal::STOP);
        }
        true
    }

    /// `false` if it was not paused.
    pub fn resume(&self, timeout: Duration) -> bool {
        {
            let mut l = lock(&self.life);
            if l.state == SandboxState::Running {
                return false;
            }
            l.state = SandboxState::Running;
            l.end_at = Instant::now() + timeout;
            l.end_wall = SystemTime::now() + timeout;
        }
        for p in self.procs() {
            p.signal_group(rustix::process::Signal::CONT);
        }
        true
    }

    fn procs(&self) -> Vec<Arc<Proc>> {
        lock(&self.processes).values().cloned().collect()
    }

    pub fn running_pids(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.procs().iter().filter(|p| !p.has_ended()).map(|p| p.pid).collect();
        v.sort_unstable();
        v
    }

    /// The sandbox is gone: kill every process group it started.
    fn shutdown(&self) {
        self.gone.store(true, Ordering::SeqCst);
        for p in self.procs() {
            p.signal_group(rustix::process::Signal::KILL);
            // A stopped (paused) process only dies once continued.
            p.signal_group(rustix::process::Signal::CONT);
        }
    }
}

#[derive(Default)]
struct Inner {
    sandboxes: HashMap<String, Arc<Sandbox>>,
    created: usize,
    max_alive: usize,
    next_seq: u64,
}

pub struct Shared {
    pub api_key: String,
    inner: Mutex<Inner>,
    faults: Mutex<FaultQueue>,
    requests: Mutex<Vec<RecordedRequest>>,
}

impl Shared {
    pub fn new(api_key: String) -> Shared {
        Shared {
            api_key,
            inner: Mutex::new(Inner::default()),
            faults: Mutex::new(FaultQueue::default()),
            requests: Mutex::new(Vec::new()),
        }
    }

    pub fn faults_lock(&self) -> MutexGuard<'_, FaultQueue> {
        lock(&self.faults)
    }

    pub fn requests_lock(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        lock(&self.requests)
    }

    pub fn record<B>(&self, plane: Plane, req: &hyper::Request<B>) {
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        self.requests_lock().push(RecordedRequest {
            plane,
            method: req.method().as_str().to_string(),
            path: req.uri().path().to_string(),
            query: req.uri().query().map(str::to_string),
            headers,
        });
    }

    pub fn create(&self, new: NewSandbox) -> std::io::Result<Arc<Sandbox>> {
        let seq = {
            let mut inner = lock(&self.inner);
            inner.next_seq += 1;
            inner.next_seq
        };
        // The directory is made outside the lock: filesystem work must not stall other requests.
        let sbx = Arc::new(Sandbox::new(seq, new)?);
        let mut inner = lock(&self.inner);
        inner.sandboxes.insert(sbx.id.clone(), sbx.clone());
        inner.created += 1;
        inner.max_alive = inner.max_alive.max(inner.sandboxes.len());
        Ok(sbx)
    }

    /// An alive sandbox (running or paused).
    pub fn sandbox(&self, id: &str) -> Option<Arc<Sandbox>> {
        let sbx = lock(&self.inner).sandboxes.get(id).cloned()?;
        if self.expire_if_due(&sbx) { None } else { Some(sbx) }
    }

    pub fn sandboxes(&self) -> Vec<Arc<Sandbox>> {
        self.reap_expired();
        lock(&self.inner).sandboxes.values().cloned().collect()
    }

    pub fn sandbox_ids(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.inner).sandboxes.keys().cloned().collect();
        v.sort();
        v
    }

    /// Kill a sandbox: `false` if there was none.
    pub fn kill(&self, id: &str) -> bool {
        let removed = lock(&self.inner).sandboxes.remove(id);
        match removed {
            Some(sbx) => {
                sbx.shutdown();
                true
            }
            None => false,
        }
    }

    /// Expire `sbx` if its timeout has elapsed (kill, or pause with auto-pause). True if it is
    /// gone now.
    fn expire_if_due(&self, sbx: &Arc<Sandbox>) -> bool {
        let life = sbx.life();
        if life.state != SandboxState::Running || life.end_at > Instant::now() {
            return false;
        }
        if sbx.auto_pause {
            sbx.pause();
            false
        } else {
            self.kill(&sbx.id);
            true
        }
    }

    pub fn reap_expired(&self) {
        let all: Vec<Arc<Sandbox>> = lock(&self.inner).sandboxes.values().cloned().collect();
        for sbx in all {
            self.expire_if_due(&sbx);
        }
    }

    pub fn alive(&self) -> usize {
        lock(&self.inner).sandboxes.len()
    }

    pub fn max_alive(&self) -> usize {
        lock(&self.inner).max_alive
    }

    pub fn created(&self) -> usize {
        lock(&self.inner).created
    }

    pub fn kill_all(&self) {
        let all: Vec<Arc<Sandbox>> = lock(&self.inner).sandboxes.drain().map(|(_, s)| s).collect();
        for sbx in all {
            sbx.shutdown();
        }
    }
}

/// Expire sandboxes whose timeout elapsed even when nobody asks about them, so their
/// processes die on time.
pub async fn reaper(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        shared.reap_expired();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_have_the_api_shape() {
        let id = sandbox_id();
        assert_eq!(id.len(), 21);
        assert!(id.starts_with('i'));
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        let h = random_hex(40);
        assert_eq!(h.len(), 40);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(random_hex(16), random_hex(16));
    }
}
