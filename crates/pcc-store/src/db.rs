//! Opening the database: connection setup, the migration lock, adoption of legacy databases and
//! refinery migrations.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::legacy;
use crate::queries::{Queries, WriteTx};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The highest refinery migration this build ships.
pub const LATEST_MIGRATION: i64 = 7;

/// Size of the WAL above which a writer checkpoints and truncates it (about 64 pages).
const WAL_TRIM_BYTES: u64 = 256 * 1024;

/// Upper bound of the database's memory map (SQLite maps at most the file's size).
const MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// How long a connection waits for another writer before giving up.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What `Store::open` did to bring the database up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Migrations applied by this open, as `V<n>__<name>`.
    pub applied: Vec<String>,
    /// Set when the database was created by the TypeScript tool and adopted now.
    pub adopted_legacy: Option<LegacyAdoption>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyAdoption {
    /// `schema_metadata.version` before adoption; `None` for the base schema (pre-0.5.0).
    pub from_version: Option<String>,
    pub backup: PathBuf,
    pub columns_added: Vec<String>,
}

/// Schema facts for `doctor` and `migrate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaInfo {
    pub migration: i64,
    pub latest: i64,
    /// The original tool's version marker, kept at `1.1.0` so it still recognises the file.
    pub legacy_version: Option<String>,
}

/// An open, migrated database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    report: MigrationReport,
    busy_timeout: Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        Self::open_with_timeout(path, DEFAULT_BUSY_TIMEOUT)
    }

    pub fn open_with_timeout(path: &Path, busy_timeout: Duration) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir { path: dir.to_path_buf(), source })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::from_sqlite(path, "open", e))?;
        let mut store = Store { conn, path: path.to_path_buf(), report: MigrationReport::default(), busy_timeout };
        store.configure(busy_timeout)?;
        store.migrate_if_needed()?;
        Ok(store)
    }

    fn configure(&self, busy_timeout: Duration) -> Result<()> {
        let p = &self.path;
        self.conn.busy_timeout(busy_timeout).map_err(|e| StoreError::from_sqlite(p, "busy_timeout", e))?;
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| StoreError::from_sqlite(p, "synchronous", e))?;
        self.conn
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| StoreError::from_sqlite(p, "foreign_keys", e))?;
        // Every command is a short-lived process, usually the only one with the database open.
        // SQLite's default close (checkpoint, then delete the WAL, recreated by the next writer)
        // costs a writing command four fsyncs, and the hooks write on every tool call. So the WAL
        // stays between processes, and writers keep it short themselves (`trim_wal`): a WAL left
        // to grow is re-read in full by every process that opens the database (SQLite's
        // recovery), and recovery forgets what was checkpointed, so SQLite's own automatic
        // checkpoints would never restart it.
        self.conn
            .set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(|e| StoreError::from_sqlite(p, "no_ckpt_on_close", e))?;
        // Pages are read through a memory map rather than one read call each.
        self.conn
            .pragma_update(None, "mmap_size", MMAP_BYTES)
            .map_err(|e| StoreError::from_sqlite(p, "mmap_size", e))?;
        Ok(())
    }

    fn current_migration(&self) -> Result<Option<i64>> {
        let p = &self.path;
        let has_history: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| StoreError::from_sqlite(p, "read schema", e))?;
        if !has_history {
            return Ok(None);
        }
        self.conn
            .query_row("SELECT MAX(version) FROM refinery_schema_history", [], |r| r.get::<_, Option<i64>>(0))
            .map_err(|e| StoreError::from_sqlite(p, "read schema history", e))
    }

    fn journal_mode(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .map_err(|e| StoreError::from_sqlite(&self.path, "journal_mode", e))
    }

    fn migrate_if_needed(&mut self) -> Result<()> {
        // Nearly always the database is in WAL mode and up to date: one statement says so (it
        // fails to prepare on a database without the history table, which the checks below
        // handle). Every hook call opens the database.
        let current = self.conn.query_row(
            "SELECT journal_mode, (SELECT MAX(version) FROM refinery_schema_history) FROM pragma_journal_mode",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?)),
        );
        if let Ok((mode, Some(v))) = current
            && v == LATEST_MIGRATION
            && mode.eq_ignore_ascii_case("wal")
        {
            return Ok(());
        }
        let wal = self.journal_mode()?.eq_ignore_ascii_case("wal");
        match self.current_migration()? {
            Some(v) if v == LATEST_MIGRATION && wal => return Ok(()),
            Some(v) if v > LATEST_MIGRATION => return Err(StoreError::TooNew { found: v, known: LATEST_MIGRATION }),
            _ => {}
        }
        // Several processes may open a new or old database at the same moment (16 agents starting
        // at once). Switching to WAL and migrating are serialised by an exclusive lock on a file
        // beside the database (SQLite answers concurrent journal-mode switches with an immediate
        // BUSY that the busy timeout does not cover); the checks are repeated under the lock.
        let lock_path = lock_path(&self.path);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Unwritable { path: lock_path.clone(), source: Box::new(e) })?;
        lock.lock().map_err(|e| StoreError::Unwritable { path: lock_path.clone(), source: Box::new(e) })?;
        let result = self.migrate_locked();
        let _ = lock.unlock();
        result
    }

    fn migrate_locked(&mut self) -> Result<()> {
        if !self.journal_mode()?.eq_ignore_ascii_case("wal") {
            let mode: String = self
                .conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(|e| StoreError::from_sqlite(&self.path, "journal_mode", e))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(mode, "database is not in WAL mode");
            }
        }
        let current = self.current_migration()?;
        if current == Some(LATEST_MIGRATION) {
            return Ok(());
        }
        if current.is_none() {
            self.report.adopted_legacy = legacy::adopt(&self.conn, &self.path)?;
        }
        let report = embedded::migrations::runner()
            .set_grouped(true)
            .run(&mut self.conn)
            .map_err(|e| StoreError::Migration { source: Box::new(e) })?;
        self.report.applied =
            report.applied_migrations().iter().map(|m| format!("V{}__{}", m.version(), m.name())).collect();
        tracing::info!(applied = ?self.report.applied, "database migrated");
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What this open changed in the schema.
    pub fn migration_report(&self) -> &MigrationReport {
        &self.report
    }

    pub fn schema_info(&self) -> Result<SchemaInfo> {
        let migration = self.current_migration()?.unwrap_or(0);
        let legacy_version = self
            .conn
            .query_row("SELECT value FROM schema_metadata WHERE key = 'version'", [], |r| r.get::<_, String>(0))
            .ok();
        Ok(SchemaInfo { migration, latest: LATEST_MIGRATION, legacy_version })
    }

    /// `PRAGMA integrity_check`: `Ok(())` or the problems SQLite found.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| StoreError::from_sqlite(&self.path, "integrity_check", e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| StoreError::from_sqlite(&self.path, "integrity_check", e))?;
        Ok(rows.into_iter().filter(|r| r != "ok").collect())
    }

    /// Read-only queries outside a transaction (each statement sees a consistent snapshot).
    pub fn read(&self) -> Queries<'_> {
        Queries::new(&self.conn, &self.path)
    }

    /// Run `f` inside one `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so a
    /// read-then-write can never be interleaved with another writer. Committed when `f` returns
    /// `Ok`, rolled back otherwise.
    pub fn write<T, E>(
        &mut self,
        f: impl FnOnce(&WriteTx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<StoreError>,
    {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from_sqlite(&path, "begin immediate", e))?;
        let value = {
            let w = WriteTx::new(&tx, &path);
            f(&w)?
        };
        tx.commit().map_err(|e| StoreError::from_sqlite(&path, "commit", e))?;
        self.trim_wal();
        Ok(value)
    }

    /// Once the WAL holds more than [`WAL_TRIM_BYTES`], copy it into the database and truncate
    /// it to nothing (one writer in many pays the fsyncs). Never waits: with another process
    /// reading, the checkpoint is left to a later writer.
    fn trim_wal(&self) {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        match std::fs::metadata(&wal) {
            Ok(m) if m.len() > WAL_TRIM_BYTES => {}
            _ => return,
        }
        if self.conn.busy_timeout(Duration::ZERO).is_err() {
            return;
        }
        let done = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
        tracing::debug!(?done, "wal checkpoint");
        let _ = self.conn.busy_timeout(self.busy_timeout);
    }
}

fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".migrate.lock");
    db.with_file_name(name)
}
