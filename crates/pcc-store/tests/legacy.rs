//! Adoption of databases written by the TypeScript parallel-cc, at each of its schema versions
//! (PRODUCT.md §2.8, ORIGINAL.md §4): opened in place, backed up first, upgraded with columns
//! added only, and not one row lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{LegacyVersion, REPO, T0, WT1, WT2};
use pcc_store::{LATEST_MIGRATION, SessionState, Store, Timestamp};
use rusqlite::types::Value;

/// Columns the TypeScript tool's last version has on `sessions` that older versions lack, in the
/// order the adoption adds them.
const E2B_COLUMNS: [&str; 5] = ["execution_mode", "sandbox_id", "prompt", "status", "output_log"];
const V1_1_COLUMNS: [&str; 7] =
    ["git_user", "git_email", "ssh_key_provided", "budget_limit", "cost_estimate", "actual_cost", "template_name"];

fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "backup"))
        .collect();
    found.sort();
    found
}

/// Every row the TypeScript tool wrote is still there, column for column. `schema_metadata`'s
/// `version` row is the one value adoption may change (it is kept at 1.1.0 for the original).
fn assert_rows_kept(before: &common::DbDump, conn: &rusqlite::Connection, version: LegacyVersion) {
    for (table, old) in before {
        assert!(!old.rows.is_empty(), "fixture table {table} has no rows, so the comparison proves nothing");
        let mut new = common::dump_table(conn, table, &old.columns);
        let mut old = old.clone();
        if table == "schema_metadata" {
            let not_version = |r: &Vec<Value>| r[0] != Value::Text("version".into());
            old.rows.retain(not_version);
            new.rows.retain(not_version);
        }
        assert_eq!(new, old, "{version:?}: rows of {table} changed on adoption");
    }
}

fn adopts(version: LegacyVersion) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    let before = common::build_legacy_db(&db, version);
    assert!(dir.path().join("coordinator.db-wal").exists(), "fixture should leave its rows in the WAL");

    let store = Store::open(&db).unwrap_or_else(|e| panic!("{version:?}: opening failed: {e:?}"));

    // What the open reports.
    let report = store.migration_report().clone();
    let adoption = report.adopted_legacy.clone().expect("a TypeScript database is reported as adopted");
    assert_eq!(adoption.from_version.as_deref(), version.marker());
    assert_eq!(report.applied, common::all_migrations());
    let expected_added: Vec<&str> = match version {
        LegacyVersion::Base | LegacyVersion::V0_5_0 => E2B_COLUMNS.iter().chain(&V1_1_COLUMNS).copied().collect(),
        LegacyVersion::V1_0_0 => V1_1_COLUMNS.to_vec(),
        LegacyVersion::V1_1_0 => vec![],
    };
    assert_eq!(adoption.columns_added, expected_added);

    // The backup: beside the database, a valid SQLite file holding exactly what was there before,
    // WAL content included.
    assert_eq!(backups(dir.path()), std::slice::from_ref(&adoption.backup));
    assert_eq!(adoption.backup.parent(), Some(dir.path()));
    {
        let b = common::read_only(&adoption.backup);
        let integrity: String = b.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok");
        assert_eq!(common::dump_db(&b), before, "{version:?}: the backup is not the database as it was");
    }

    // The upgraded database.
    let info = store.schema_info().unwrap();
    assert_eq!(info.migration, LATEST_MIGRATION);
    assert_eq!(info.latest, LATEST_MIGRATION);
    assert_eq!(info.legacy_version.as_deref(), Some("1.1.0"));
    assert!(store.integrity_check().unwrap().is_empty());

    let conn = common::raw(&db);
    assert_rows_kept(&before, &conn, version);
    let tables = common::table_names(&conn);
    for t in common::ALL_TABLES {
        assert!(tables.iter().any(|n| n == t), "{version:?}: table {t} missing after adoption");
    }
    let session_cols = common::columns(&conn, "sessions");
    for c in E2B_COLUMNS.iter().chain(&V1_1_COLUMNS).chain(&["state", "worktree_owned", "branch", "registered_by"]) {
        assert!(session_cols.iter().any(|n| n == c), "{version:?}: sessions.{c} missing");
    }
    assert!(common::foreign_key_violations(&conn).is_empty());
    assert_eq!(common::journal_mode(&db), "wal");

    // New columns on old rows: every session is live; the worktrees the tool created through gtr
    // are owned and on a branch named after the worktree; main checkouts and sandboxes are not.
    let rows: Vec<(String, String, i64, i64, Option<String>, String)> = {
        let mut stmt = conn
            .prepare(
                "SELECT id, state, worktree_owned, branch_owned, branch, registered_by FROM sessions ORDER BY rowid",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let mut expected = vec![
        ("s-main".to_string(), "live".to_string(), 0, 0, None, "register".to_string()),
        ("s-wt1".into(), "live".into(), 1, 1, Some(WT1.to_string()), "register".into()),
        ("s-wt2".into(), "live".into(), 1, 1, Some(WT2.to_string()), "register".into()),
        ("s-other".into(), "live".into(), 0, 0, None, "register".into()),
    ];
    if version.at_least(LegacyVersion::V1_0_0) {
        expected.push(("s-e2b".into(), "live".into(), 0, 0, None, "register".into()));
    }
    assert_eq!(rows, expected);

    // The typed view of the same rows.
    let open = store.read().open_sessions().unwrap();
    assert_eq!(open.len(), expected.len());
    let wt1 = store.read().session("s-wt1").unwrap().unwrap();
    assert_eq!(wt1.pid, 4102);
    assert_eq!(wt1.repo_path, REPO);
    assert_eq!(wt1.worktree_path, format!("{REPO}-worktrees/{WT1}"));
    assert_eq!(wt1.worktree_name.as_deref(), Some(WT1));
    assert!(!wt1.is_main_repo);
    // '2025-01-02 03:05:00' and '03:10:00', read as UTC.
    assert_eq!(wt1.created_at, Timestamp(T0 + 55));
    assert_eq!(wt1.last_heartbeat, Timestamp(T0 + 355));
    assert_eq!(wt1.execution_mode, "local");
    assert_eq!(wt1.state, SessionState::Live);
    assert_eq!(wt1.branch.as_deref(), Some(WT1));
    assert!(wt1.worktree_owned);
    assert!(wt1.branch_owned);
    assert_eq!(wt1.registered_by, "register");
    assert_eq!((wt1.pid_start_time, wt1.agent_pid, wt1.ended_at), (None, None, None));
    let main = store.read().session("s-main").unwrap().unwrap();
    assert!(main.is_main_repo && !main.worktree_owned && !main.branch_owned && main.branch.is_none());
    assert_eq!(main.created_at, Timestamp(T0));
    let other = store.read().session("s-other").unwrap().unwrap();
    assert_eq!(other.created_at.to_string(), "2024-12-31 23:59:59");
    // Oldest first; the PID is shared, as the original allowed.
    let by_pid: Vec<String> = store.read().open_sessions_by_pid(4102).unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(by_pid, ["s-wt1", "s-wt2"]);
    let repo_ids: Vec<String> =
        store.read().open_sessions_for_repo(REPO).unwrap().into_iter().map(|s| s.id).take(3).collect();
    assert_eq!(repo_ids, ["s-main", "s-wt1", "s-wt2"]);
    if version.at_least(LegacyVersion::V1_0_0) {
        let e2b = store.read().session("s-e2b").unwrap().unwrap();
        assert_eq!(e2b.execution_mode, "e2b");
        assert_eq!(e2b.sandbox_id.as_deref(), Some("sbx-42"));
        assert_eq!(e2b.sandbox_status.as_deref(), Some("RUNNING"));
        assert!(!e2b.worktree_owned);
    }
    if version.at_least(LegacyVersion::V0_5_0) {
        assert_eq!(store.read().active_claim_count("s-wt1").unwrap(), 1);
        assert_eq!(store.read().active_claim_count("s-wt2").unwrap(), 1);
        assert_eq!(store.read().active_claim_count("s-main").unwrap(), 1);
    }
    drop(conn);
    drop(store);

    // Opening again changes nothing and writes no second backup.
    let again = Store::open(&db).unwrap();
    assert_eq!(again.migration_report().applied, Vec::<String>::new());
    assert_eq!(again.migration_report().adopted_legacy, None);
    assert_eq!(backups(dir.path()), std::slice::from_ref(&adoption.backup));
    drop(again);
    assert_rows_kept(&before, &common::raw(&db), version);
}

#[test]
fn adopts_the_base_schema() {
    adopts(LegacyVersion::Base);
}

#[test]
fn adopts_schema_0_5_0() {
    adopts(LegacyVersion::V0_5_0);
}

#[test]
fn adopts_schema_1_0_0() {
    adopts(LegacyVersion::V1_0_0);
}

#[test]
fn adopts_schema_1_1_0() {
    adopts(LegacyVersion::V1_1_0);
}

#[test]
fn backup_is_named_after_the_version_it_came_from() {
    for (version, name) in [
        (LegacyVersion::Base, "coordinator.db.vbase.backup"),
        (LegacyVersion::V0_5_0, "coordinator.db.v0.5.0.backup"),
        (LegacyVersion::V1_1_0, "coordinator.db.v1.1.0.backup"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("coordinator.db");
        common::build_legacy_db(&db, version);
        // A backup left by the TypeScript tool's own upgrade is never overwritten.
        let theirs = dir.path().join(name);
        std::fs::write(&theirs, b"the original tool's backup").unwrap();
        let store = Store::open(&db).unwrap();
        let adoption = store.migration_report().adopted_legacy.clone().unwrap();
        assert_ne!(adoption.backup, theirs);
        assert!(adoption.backup.file_name().unwrap().to_string_lossy().ends_with(".backup"));
        assert_eq!(std::fs::read(&theirs).unwrap(), b"the original tool's backup");
        assert_eq!(backups(dir.path()).len(), 2);
    }
}

/// Ending an adopted session goes through the same path as a new one: its claims become history
/// and its subscriptions stop; nothing is cascade-deleted.
#[test]
fn adopted_sessions_end_like_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    common::build_legacy_db(&db, LegacyVersion::V1_1_0);
    let mut store = Store::open(&db).unwrap();
    let now = Timestamp(T0 + 3600);
    store.write(|tx| tx.mark_ended("s-wt1", now)).unwrap();

    assert!(store.read().open_sessions_by_pid(4102).unwrap().iter().all(|s| s.id != "s-wt1"));
    let conn = common::raw(&db);
    let claim: (i64, Option<String>) = conn
        .query_row("SELECT is_active, released_at FROM file_claims WHERE id = 'c-1'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(claim, (0, Some(now.to_string())));
    assert_eq!(common::count(&conn, "SELECT is_active FROM subscriptions WHERE id = 'sub-1'"), 0);
    assert_eq!(common::count(&conn, "SELECT COUNT(*) FROM file_claims"), 4);
    assert_eq!(common::count(&conn, "SELECT COUNT(*) FROM subscriptions"), 2);
    // The conflict history still points at the session.
    let cr_session: Option<String> =
        conn.query_row("SELECT session_id FROM conflict_resolutions WHERE id = 'cr-1'", [], |r| r.get(0)).unwrap();
    assert_eq!(cr_session.as_deref(), Some("s-wt1"));
}

/// A sandbox run ends `CANCELLED` (PRODUCT.md §7.2). The TypeScript tool's 1.0.0 and 1.1.0
/// schemas did not allow that status; an adopted database must accept every status a new one
/// does, and still reject nonsense.
#[test]
fn adopted_databases_accept_every_sandbox_status() {
    for version in [LegacyVersion::Base, LegacyVersion::V0_5_0, LegacyVersion::V1_0_0, LegacyVersion::V1_1_0] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("coordinator.db");
        common::build_legacy_db(&db, version);
        let store = Store::open(&db).unwrap();
        let conn = common::raw(&db);
        for status in ["INITIALIZING", "RUNNING", "COMPLETED", "FAILED", "TIMEOUT", "CANCELLED"] {
            conn.execute("UPDATE sessions SET status = ?1 WHERE id = 's-main'", [status])
                .unwrap_or_else(|e| panic!("{version:?}: status {status} rejected: {e}"));
        }
        assert!(conn.execute("UPDATE sessions SET status = 'BOGUS' WHERE id = 's-main'", []).is_err());
        assert!(conn.execute("UPDATE sessions SET execution_mode = 'cloud' WHERE id = 's-main'", []).is_err());
        drop(conn);
        assert!(store.integrity_check().unwrap().is_empty(), "{version:?}");
        drop(store);
        // Still opens, and the schema is still readable by a fresh connection.
        let again = Store::open(&db).unwrap();
        assert_eq!(again.read().session("s-main").unwrap().unwrap().sandbox_status.as_deref(), Some("CANCELLED"));
    }
}
