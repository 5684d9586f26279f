//! Adoption of databases written by the TypeScript parallel-cc (schema versions base, 0.5.0,
//! 1.0.0 and 1.1.0).
//!
//! The original upgraded by rebuilding `sessions`, which with foreign keys on cascade-deleted
//! every claim and subscription. Here a legacy database is first backed up next to itself, then
//! only `ALTER TABLE … ADD COLUMN` brings `sessions` to the 1.1.0 column set; the refinery
//! migrations (all `IF NOT EXISTS`) then add whatever tables and indexes are missing.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::db::LegacyAdoption;
use crate::error::{Result, StoreError};

/// Columns of `sessions` at 1.1.0 that older versions lack, with the definition to add them.
const SESSION_COLUMNS_1_1_0: &[(&str, &str)] = &[
    ("execution_mode", "TEXT DEFAULT 'local' CHECK (execution_mode IN ('local', 'e2b'))"),
    ("sandbox_id", "TEXT"),
    ("prompt", "TEXT"),
    (
        "status",
        "TEXT CHECK (status IS NULL OR status IN ('INITIALIZING', 'RUNNING', 'COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED'))",
    ),
    ("output_log", "TEXT"),
    ("git_user", "TEXT"),
    ("git_email", "TEXT"),
    ("ssh_key_provided", "INTEGER DEFAULT 0"),
    ("budget_limit", "REAL"),
    ("cost_estimate", "REAL"),
    ("actual_cost", "REAL"),
    ("template_name", "TEXT"),
];

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)", [name], |r| {
        r.get(0)
    })
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt.query_map([table], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

/// If the database holds the TypeScript tool's tables but no refinery history, back it up and
/// bring `sessions` to the 1.1.0 columns. Returns `None` for a new or already adopted database.
pub(crate) fn adopt(conn: &Connection, path: &Path) -> Result<Option<LegacyAdoption>> {
    let q = |op| move |e| StoreError::from_sqlite(path, op, e);
    if !table_exists(conn, "sessions").map_err(q("detect legacy schema"))? {
        return Ok(None);
    }
    let from_version: Option<String> = if table_exists(conn, "schema_metadata").map_err(q("detect legacy schema"))? {
        conn.query_row("SELECT value FROM schema_metadata WHERE key = 'version'", [], |r| r.get(0)).ok()
    } else {
        None
    };
    let backup = backup_path(path, from_version.as_deref());
    backup_to(conn, &backup)?;

    let existing = columns(conn, "sessions").map_err(q("read sessions columns"))?;
    let mut columns_added = Vec::new();
    for (name, decl) in SESSION_COLUMNS_1_1_0 {
        if existing.iter().any(|c| c == name) {
            continue;
        }
        conn.execute_batch(&format!("ALTER TABLE sessions ADD COLUMN {name} {decl}"))
            .map_err(q("add legacy column"))?;
        columns_added.push((*name).to_string());
    }
    // Not fatal: a database that cannot take the wider CHECK is still fully usable for sessions.
    if let Err(e) = widen_status_check(conn) {
        tracing::warn!(error = %e, "could not allow CANCELLED in sessions.status of a legacy database");
    }
    tracing::info!(?from_version, backup = %backup.display(), ?columns_added, "adopted a database of the TypeScript tool");
    Ok(Some(LegacyAdoption { from_version, backup, columns_added }))
}

/// The 1.0.0 and 1.1.0 tables were created with a `status` CHECK that predates `CANCELLED`, which
/// a sandbox run can end with. A CHECK cannot be altered, and a rebuild would cascade-delete
/// claims, so the stored definition is rewritten in place: the procedure SQLite documents for
/// constraint changes that leave every stored row valid (a longer IN list cannot invalidate one).
fn widen_status_check(conn: &Connection) -> rusqlite::Result<()> {
    const OLD: &str = "'COMPLETED', 'FAILED', 'TIMEOUT')";
    const NEW: &str = "'COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED')";
    let sql: String =
        conn.query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sessions'", [], |r| r.get(0))?;
    if sql.contains("'CANCELLED'") || !sql.contains(OLD) {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    let version: i64 = conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    conn.pragma_update(None, "writable_schema", "ON")?;
    let updated = conn.execute(
        "UPDATE sqlite_master SET sql = ?1 WHERE type = 'table' AND name = 'sessions'",
        [sql.replacen(OLD, NEW, 1)],
    );
    // Bumping the schema version makes every connection re-read the definition.
    let bumped = updated.and_then(|_| conn.pragma_update(None, "schema_version", version + 1));
    conn.pragma_update(None, "writable_schema", "OFF")?;
    bumped?;
    tx.commit()
}

fn backup_path(db: &Path, version: Option<&str>) -> PathBuf {
    let version = version.unwrap_or("base");
    let name = db.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "coordinator.db".into());
    let mut candidate = db.with_file_name(format!("{name}.v{version}.backup"));
    let mut n = 1;
    while candidate.exists() {
        candidate = db.with_file_name(format!("{name}.v{version}.{n}.backup"));
        n += 1;
    }
    candidate
}

/// A consistent copy of the live database (WAL included), written before anything is changed.
fn backup_to(conn: &Connection, backup: &Path) -> Result<()> {
    let target = backup.to_string_lossy().into_owned();
    conn.execute("VACUUM INTO ?1", [&target])
        .map(|_| ())
        .map_err(|e| StoreError::Backup { path: backup.to_path_buf(), source: Box::new(e) })
}
