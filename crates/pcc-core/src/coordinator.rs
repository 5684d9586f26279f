use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pcc_git::Repo;
use pcc_store::{SessionRow, SessionState, Store};

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config};
use crate::env;
use crate::error::{CoreError, Result};
use crate::process;
use crate::rules::{self, LivenessFacts};

/// The engine. One per process; cheap to open (the database is migrated on first open only).
pub struct Coordinator {
    pub(crate) store: Store,
    pub(crate) data_dir: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator").field("data_dir", &self.data_dir).finish()
    }
}

/// `$PARALLEL_CC_DATA_DIR`, else `~/.parallel-cc`.
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(env::DATA_DIR).filter(|d| !d.is_empty()) {
        let p = PathBuf::from(dir);
        return Ok(if p.is_absolute() { p } else { std::env::current_dir().map(|c| c.join(&p)).unwrap_or(p) });
    }
    let home = std::env::var_os(env::HOME).filter(|h| !h.is_empty()).ok_or(CoreError::NoDataDir)?;
    Ok(PathBuf::from(home).join(".parallel-cc"))
}

fn busy_timeout() -> Duration {
    std::env::var(env::DB_BUSY_TIMEOUT_MS)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(pcc_store::DEFAULT_BUSY_TIMEOUT)
}

impl Coordinator {
    /// Open the coordinator on `data_dir` (created if needed); migrates the database.
    pub fn open(data_dir: &Path) -> Result<Coordinator> {
        Self::open_with_timeout(data_dir, busy_timeout())
    }

    /// For hooks, which run on every tool call of an agent: a locked database costs at most
    /// `PARALLEL_CC_DB_BUSY_TIMEOUT_MS` or one second, then the hook gives up (with no effect).
    pub fn open_for_hook(data_dir: &Path) -> Result<Coordinator> {
        let wait =
            if std::env::var_os(env::DB_BUSY_TIMEOUT_MS).is_some() { busy_timeout() } else { Duration::from_secs(1) };
        Self::open_with_timeout(data_dir, wait)
    }

    fn open_with_timeout(data_dir: &Path, busy_timeout: Duration) -> Result<Coordinator> {
        let _span = tracing::debug_span!("open", data_dir = %data_dir.display()).entered();
        std::fs::create_dir_all(data_dir).map_err(|source| {
            CoreError::Store(pcc_store::StoreError::DataDir { path: data_dir.to_path_buf(), source })
        })?;
        let store = Store::open_with_timeout(&data_dir.join("coordinator.db"), busy_timeout)?;
        // A broken user config is an error for every command, not something to run past.
        Config::load(data_dir, None)?;
        if data_dir.join("config.json").exists() {
            let imported = config::import_legacy_json(data_dir)?;
            tracing::info!(?imported, "imported the legacy config.json");
        }
        Ok(Coordinator { store, data_dir: data_dir.to_path_buf(), clock: Arc::new(SystemClock) })
    }

    /// Replace the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn db_path(&self) -> &Path {
        self.store.path()
    }

    /// The resolved configuration for a repository (or for no repository).
    pub fn config(&self, repo: Option<&Path>) -> Result<Config> {
        Config::load(&self.data_dir, repo)
    }

    pub(crate) fn now(&self) -> pcc_store::Timestamp {
        self.clock.now()
    }

    /// Is the session's supervisor (or its agent) still running?
    pub(crate) fn is_alive(&self, s: &SessionRow, stale_minutes: i64) -> bool {
        alive_at(s, stale_minutes, self.now())
    }

    /// Append a line to `snapshots.log` in the data dir.
    pub(crate) fn log_snapshot(&self, line: &str) {
        use std::io::Write;
        let path = self.data_dir.join("snapshots.log");
        let result =
            std::fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot append to snapshots.log");
        }
    }

    /// Schema facts, for `doctor` and `migrate`.
    pub fn schema(&self) -> Result<pcc_store::SchemaInfo> {
        Ok(self.store.schema_info()?)
    }

    /// `migrate` / `update`: the database is migrated on open; this reports what happened.
    pub fn migrate(&self) -> Result<crate::views::MigrateView> {
        let report = self.store.migration_report();
        let info = self.store.schema_info()?;
        Ok(crate::views::MigrateView {
            success: true,
            from: report.adopted_legacy.as_ref().map(|a| a.from_version.clone().unwrap_or_else(|| "base".into())),
            to: format!("{}", info.migration),
            migrations: report.applied.clone(),
            schema_version: info.migration,
            backup: report.adopted_legacy.as_ref().map(|a| a.backup.display().to_string()),
        })
    }

    /// Open a repository by the identity stored in the database.
    pub(crate) fn open_repo(&self, repo_path: &str) -> Result<Repo> {
        Ok(Repo::open(Path::new(repo_path))?)
    }
}

/// Is the session's supervisor (or its agent) still running at `now`? (Probes processes only, so
/// it can run on another thread than the coordinator's.)
pub(crate) fn alive_at(s: &SessionRow, stale_minutes: i64, now: pcc_store::Timestamp) -> bool {
    if s.execution_mode == "e2b" {
        // Sandbox runs are history once their CLI has gone; they are never reaped as stale.
        return matches!(s.state, SessionState::Live | SessionState::Starting)
            && matches!(process::probe(s.pid), process::ProcState::Running { .. });
    }
    rules::is_alive(&LivenessFacts {
        supervisor: process::probe(s.pid),
        recorded_start: s.pid_start_time,
        agent: s.agent_pid.map(|p| (process::probe(p), s.agent_pid_start_time)),
        last_heartbeat: s.last_heartbeat,
        now,
        stale_minutes,
    })
}
