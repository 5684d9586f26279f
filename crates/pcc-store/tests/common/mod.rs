//! Shared by the pcc-store integration tests: databases as the TypeScript tool left them, and a
//! raw view of tables for before/after comparisons.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use pcc_store::{NewSession, SessionState, Timestamp};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

/// The schema versions the TypeScript tool shipped (ORIGINAL.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyVersion {
    Base,
    V0_5_0,
    V1_0_0,
    V1_1_0,
}

const BASE_SQL: &str = include_str!("../fixtures/legacy_base.sql");
const V0_5_0_SQL: &str = include_str!("../fixtures/legacy_v0.5.0.sql");
const V1_0_0_SQL: &str = include_str!("../fixtures/legacy_v1.0.0.sql");
const V1_1_0_SQL: &str = include_str!("../fixtures/legacy_v1.1.0.sql");

impl LegacyVersion {
    /// `schema_metadata.version` as the TypeScript tool wrote it.
    pub fn marker(self) -> Option<&'static str> {
        match self {
            LegacyVersion::Base => None,
            LegacyVersion::V0_5_0 => Some("0.5.0"),
            LegacyVersion::V1_0_0 => Some("1.0.0"),
            LegacyVersion::V1_1_0 => Some("1.1.0"),
        }
    }

    /// The tool's own upgrade path: base schema, then each migration in turn.
    fn steps(self) -> &'static [&'static str] {
        match self {
            LegacyVersion::Base => &[BASE_SQL],
            LegacyVersion::V0_5_0 => &[BASE_SQL, V0_5_0_SQL],
            LegacyVersion::V1_0_0 => &[BASE_SQL, V0_5_0_SQL, V1_0_0_SQL],
            LegacyVersion::V1_1_0 => &[BASE_SQL, V0_5_0_SQL, V1_0_0_SQL, V1_1_0_SQL],
        }
    }

    pub fn at_least(self, other: LegacyVersion) -> bool {
        self as u8 >= other as u8
    }

    /// Tables the TypeScript tool had at this version.
    pub fn tables(self) -> Vec<&'static str> {
        let mut t = vec!["merge_events", "sessions", "subscriptions"];
        if self.at_least(LegacyVersion::V0_5_0) {
            t.extend(["auto_fix_suggestions", "conflict_resolutions", "file_claims", "schema_metadata"]);
        }
        if self.at_least(LegacyVersion::V1_1_0) {
            t.push("budget_tracking");
        }
        t.sort_unstable();
        t
    }
}

/// Every table of the data model (PRODUCT.md §9): the original's and parallel-cc's.
pub const ALL_TABLES: [&str; 10] = [
    "sessions",
    "merge_events",
    "subscriptions",
    "schema_metadata",
    "file_claims",
    "conflict_resolutions",
    "auto_fix_suggestions",
    "budget_tracking",
    "snapshots",
    "session_files",
];

pub const REPO: &str = "/home/u/proj";
pub const OTHER_REPO: &str = "/srv/other";
pub const WT1: &str = "parallel-m4x2k9ab-3f9z";
pub const WT2: &str = "parallel-m4x2kaaa-0001";
pub const E2B_WT: &str = "e2b-m4x2kbbb-0002";

/// `2025-01-02 03:04:05` UTC.
pub const T0: i64 = 1_735_787_045;

const BASE_ROWS: &str = "
INSERT INTO sessions (id, pid, repo_path, worktree_path, worktree_name, is_main_repo, created_at, last_heartbeat) VALUES
  ('s-main', 4101, '/home/u/proj', '/home/u/proj', NULL, 1, '2025-01-02 03:04:05', '2025-01-02 03:09:05'),
  ('s-wt1', 4102, '/home/u/proj', '/home/u/proj-worktrees/parallel-m4x2k9ab-3f9z', 'parallel-m4x2k9ab-3f9z', 0,
   '2025-01-02 03:05:00', '2025-01-02 03:10:00'),
  ('s-wt2', 4102, '/home/u/proj', '/home/u/proj-worktrees/parallel-m4x2kaaa-0001', 'parallel-m4x2kaaa-0001', 0,
   '2025-01-02 03:06:00', '2025-01-02 03:11:00'),
  ('s-other', 4300, '/srv/other', '/srv/other', NULL, 1, '2024-12-31 23:59:59', '2025-01-01 00:04:59');
INSERT INTO subscriptions (id, session_id, repo_path, branch_name, target_branch, created_at, notified_at, is_active) VALUES
  ('sub-1', 's-wt1', '/home/u/proj', 'parallel-m4x2k9ab-3f9z', 'main', '2025-01-02 03:07:00', NULL, 1),
  ('sub-2', 's-wt2', '/home/u/proj', 'parallel-m4x2kaaa-0001', 'develop', '2025-01-02 03:08:00', '2025-01-02 03:20:00', 0);
INSERT INTO merge_events (id, repo_path, branch_name, source_commit, target_branch, target_commit, merged_at,
                          detected_at, notification_sent) VALUES
  ('m-1', '/home/u/proj', 'feature-x', 'abc123', 'main', 'def456', '2025-01-01 10:00:00', '2025-01-01 10:00:00', 1);
";

const V0_5_0_ROWS: &str = "
INSERT INTO file_claims (id, session_id, repo_path, file_path, claim_mode, claimed_at, expires_at, last_heartbeat,
                         escalated_from, metadata, is_active, released_at) VALUES
  ('c-1', 's-wt1', '/home/u/proj', 'src/lib.rs', 'EXCLUSIVE', '2025-01-02 03:05:30', '2025-01-02T04:05:30.000Z',
   '2025-01-02 03:05:30', NULL, '{\"reason\":\"refactor\"}', 1, NULL),
  ('c-2', 's-wt2', '/home/u/proj', 'src/main.rs', 'SHARED', '2025-01-02 03:06:30', '2025-01-02T04:06:30.000Z',
   '2025-01-02 03:06:30', NULL, NULL, 0, '2025-01-02 03:30:00'),
  ('c-3', 's-main', '/home/u/proj', 'README.md', 'INTENT', '2025-01-02 03:04:30', '2025-01-03T03:04:30.000Z',
   '2025-01-02 03:04:30', NULL, NULL, 1, NULL),
  ('c-4', 's-wt2', '/home/u/proj', 'Cargo.toml', 'EXCLUSIVE', '2025-01-02 03:07:30', '2025-01-02T05:07:30.000Z',
   '2025-01-02 03:07:30', 'SHARED', NULL, 1, NULL);
INSERT INTO auto_fix_suggestions (id, conflict_resolution_id, repo_path, file_path, conflict_type,
                                  suggested_resolution, confidence_score, explanation, strategy_used, base_content,
                                  source_content, target_content, generated_at) VALUES
  ('afs-1', NULL, '/home/u/proj', 'src/lib.rs', 'TRIVIAL', 'fn a() {}', 0.92, 'whitespace only', 'TrivialMerge',
   'fn a(){}', 'fn a() {}', 'fn a() { }', '2025-01-02 03:12:00');
INSERT INTO conflict_resolutions (id, session_id, repo_path, file_path, conflict_type, base_commit, source_commit,
                                  target_commit, resolution_strategy, confidence_score, conflict_markers,
                                  detected_at, auto_fix_suggestion_id) VALUES
  ('cr-1', 's-wt1', '/home/u/proj', 'src/lib.rs', 'TRIVIAL', 'b0', 's0', 't0', 'AUTO_FIX', 0.92,
   '<<<<<<< ours', '2025-01-02 03:11:00', 'afs-1');
UPDATE auto_fix_suggestions SET conflict_resolution_id = 'cr-1' WHERE id = 'afs-1';
";

const V1_0_0_ROWS: &str = "
INSERT INTO sessions (id, pid, repo_path, worktree_path, worktree_name, is_main_repo, created_at, last_heartbeat,
                      execution_mode, sandbox_id, prompt, status, output_log) VALUES
  ('s-e2b', 4200, '/home/u/proj', '/home/u/proj-worktrees/e2b-m4x2kbbb-0002', 'e2b-m4x2kbbb-0002', 0,
   '2025-01-02 03:15:00', '2025-01-02 03:45:00', 'e2b', 'sbx-42', 'fix the tests', 'RUNNING', 'line 1
line 2');
";

const V1_1_0_ROWS: &str = "
UPDATE sessions SET git_user = 'Ada', git_email = 'ada@example.com', ssh_key_provided = 1, budget_limit = 2.5,
                    cost_estimate = 0.4, template_name = 'node-20'
  WHERE id = 's-e2b';
INSERT INTO budget_tracking (id, period, period_start, budget_limit, spent, created_at) VALUES
  ('b-1', 'monthly', '2025-01-01', 10.0, 1.25, '2025-01-01 00:00:01');
";

/// Rows of one table, in rowid order, with the column names they were read with.
#[derive(Clone, Debug, PartialEq)]
pub struct TableDump {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Every legacy table's content, by name.
pub type DbDump = Vec<(String, TableDump)>;

/// Write the database the TypeScript tool would have left at `version`, with rows in every table
/// that exists at that version. The file is left in WAL mode with the rows still in the `-wal`
/// file, as a killed TypeScript process would leave it. Returns the content as written.
pub fn build_legacy_db(path: &Path, version: LegacyVersion) -> DbDump {
    let conn = Connection::open(path).unwrap();
    // As the original's better-sqlite3 connection did (ORIGINAL.md §4.1).
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    // Schema first, as the tool's upgrades ran (on an empty database, so nothing cascades).
    for step in version.steps() {
        conn.execute_batch(step).unwrap();
    }
    conn.execute_batch(BASE_ROWS).unwrap();
    if version.at_least(LegacyVersion::V0_5_0) {
        conn.execute_batch(V0_5_0_ROWS).unwrap();
    }
    if version.at_least(LegacyVersion::V1_0_0) {
        conn.execute_batch(V1_0_0_ROWS).unwrap();
    }
    if version.at_least(LegacyVersion::V1_1_0) {
        conn.execute_batch(V1_1_0_ROWS).unwrap();
    }
    assert_eq!(table_names(&conn), version.tables(), "fixture for {version:?} has the wrong tables");
    assert!(foreign_key_violations(&conn).is_empty());
    let dump = dump_db(&conn);
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).unwrap();
    drop(conn);
    dump
}

pub fn table_names(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

pub fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid").unwrap();
    stmt.query_map([table], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

/// `columns` of `table` in rowid order.
pub fn dump_table(conn: &Connection, table: &str, columns: &[String]) -> TableDump {
    let sql = format!("SELECT {} FROM {table} ORDER BY rowid", columns.join(", "));
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt
        .query_map([], |r| (0..columns.len()).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>())
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    TableDump { columns: columns.to_vec(), rows }
}

pub fn dump_db(conn: &Connection) -> DbDump {
    table_names(conn)
        .into_iter()
        .map(|t| {
            let cols = columns(conn, &t);
            let d = dump_table(conn, &t, &cols);
            (t, d)
        })
        .collect()
}

pub fn foreign_key_violations(conn: &Connection) -> Vec<(String, i64)> {
    let mut stmt = conn.prepare("PRAGMA foreign_key_check").unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A second connection, as another process (or `sqlite3`) would open the file.
pub fn raw(path: &Path) -> Connection {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    conn
}

pub fn read_only(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

pub fn journal_mode(path: &Path) -> String {
    raw(path).query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap()
}

pub fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A session as a registration would insert it.
pub fn new_session(id: &str, pid: i64, repo: &str, now: Timestamp) -> NewSession {
    NewSession {
        id: id.to_string(),
        pid,
        pid_start_time: Some(1000 + pid),
        repo_path: repo.to_string(),
        worktree_path: format!("{repo}-worktrees/{id}"),
        worktree_name: Some(id.to_string()),
        is_main_repo: false,
        branch: Some(format!("parallel/{id}")),
        base_commit: Some("0123456789abcdef0123456789abcdef01234567".to_string()),
        agent: Some("claude".to_string()),
        state: SessionState::Live,
        registered_by: "supervisor".to_string(),
        worktree_owned: true,
        branch_owned: true,
        now,
    }
}

/// Every migration in `migrations/` by name (`V1__original_schema`, …), in version order: what a
/// new or adopted database must report as applied.
pub fn all_migrations() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut names: Vec<(u32, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let version = name[1..name.find("__").unwrap()].parse().unwrap();
            (version, name)
        })
        .collect();
    names.sort();
    names.into_iter().map(|(_, n)| n).collect()
}
