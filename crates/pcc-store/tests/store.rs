//! A new database, and the session and snapshot queries against real SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{T0, new_session};
use pcc_store::{LATEST_MIGRATION, NewSnapshot, SessionState, Store, StoreError, Timestamp};
use rusqlite::params;

const REPO: &str = "/work/repo";
const OTHER: &str = "/work/other";

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("coordinator.db")).unwrap();
    (dir, store)
}

/// A claim as pcc-core would write it (the store has no claim queries yet).
fn insert_claim(conn: &rusqlite::Connection, id: &str, session: &str, file: &str, active: bool) {
    conn.execute(
        "INSERT INTO file_claims (id, session_id, repo_path, file_path, claim_mode, expires_at, is_active, released_at) \
         VALUES (?1, ?2, ?3, ?4, 'EXCLUSIVE', '2030-01-01T00:00:00.000Z', ?5, ?6)",
        params![id, session, REPO, file, i64::from(active), (!active).then_some("2025-01-02 00:00:00")],
    )
    .unwrap();
}

fn insert_subscription(conn: &rusqlite::Connection, id: &str, session: &str) {
    conn.execute(
        "INSERT INTO subscriptions (id, session_id, repo_path, branch_name) VALUES (?1, ?2, ?3, 'feature')",
        params![id, session, REPO],
    )
    .unwrap();
}

fn claim(conn: &rusqlite::Connection, id: &str) -> (i64, Option<String>) {
    conn.query_row("SELECT is_active, released_at FROM file_claims WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

fn subscription_active(conn: &rusqlite::Connection, id: &str) -> i64 {
    conn.query_row("SELECT is_active FROM subscriptions WHERE id = ?1", [id], |r| r.get(0)).unwrap()
}

fn ids(rows: &[pcc_store::SessionRow]) -> Vec<&str> {
    rows.iter().map(|s| s.id.as_str()).collect()
}

#[test]
fn a_missing_file_becomes_the_latest_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    // The data dir does not exist yet either.
    let db = dir.path().join("data").join("coordinator.db");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.path(), db);
    assert!(db.is_file());

    let report = store.migration_report();
    assert_eq!(report.applied, common::all_migrations());
    assert_eq!(
        usize::try_from(LATEST_MIGRATION).unwrap(),
        common::all_migrations().len(),
        "LATEST_MIGRATION is current"
    );
    assert_eq!(report.adopted_legacy, None);
    let info = store.schema_info().unwrap();
    assert_eq!((info.migration, info.latest), (LATEST_MIGRATION, LATEST_MIGRATION));
    // Written so the TypeScript tool still recognises the file.
    assert_eq!(info.legacy_version.as_deref(), Some("1.1.0"));
    assert!(store.integrity_check().unwrap().is_empty());

    assert_eq!(common::journal_mode(&db), "wal");
    let conn = common::raw(&db);
    let tables = common::table_names(&conn);
    for t in common::ALL_TABLES {
        assert!(tables.iter().any(|n| n == t), "table {t} missing from a new database: {tables:?}");
    }
    // No backup: there was nothing to back up.
    let names: Vec<String> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".backup")), "{names:?}");

    drop(store);
    let again = Store::open(&db).unwrap();
    assert!(again.migration_report().applied.is_empty());
}

#[test]
fn an_empty_file_is_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    std::fs::write(&db, b"").unwrap();
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_info().unwrap().migration, LATEST_MIGRATION);
    assert_eq!(store.migration_report().adopted_legacy, None);
    assert_eq!(common::journal_mode(&db), "wal");
}

/// The store's connection enforces foreign keys: deleting a session takes its claims and
/// subscriptions with it (ON DELETE CASCADE), which only happens with `foreign_keys=ON`.
#[test]
fn the_store_connection_enforces_foreign_keys() {
    let (dir, mut store) = fresh();
    let now = Timestamp(T0);
    store.write(|tx| tx.insert_session(&new_session("doomed", 10, REPO, now))).unwrap();
    let conn = common::raw(&dir.path().join("coordinator.db"));
    insert_claim(&conn, "c-1", "doomed", "a.rs", true);
    insert_subscription(&conn, "sub-1", "doomed");

    store.write(|tx| tx.delete_session("doomed")).unwrap();
    assert_eq!(store.read().session("doomed").unwrap(), None);
    assert_eq!(common::count(&conn, "SELECT COUNT(*) FROM file_claims"), 0);
    assert_eq!(common::count(&conn, "SELECT COUNT(*) FROM subscriptions"), 0);
}

#[test]
fn sessions_round_trip() {
    let (_dir, mut store) = fresh();
    let now = Timestamp(T0);
    let mut main = new_session("main", 100, REPO, now);
    main.is_main_repo = true;
    main.worktree_path = REPO.into();
    main.worktree_name = None;
    main.branch = None;
    main.worktree_owned = false;
    main.branch_owned = false;
    main.registered_by = "register".into();
    main.pid_start_time = None;
    main.agent = None;
    main.base_commit = None;
    store
        .write(|tx| {
            tx.insert_session(&main)?;
            tx.insert_session(&new_session("wt-a", 101, REPO, now.plus_secs(1)))?;
            tx.insert_session(&new_session("wt-b", 101, REPO, now.plus_secs(2)))?;
            tx.insert_session(&new_session("elsewhere", 200, OTHER, now.plus_secs(3)))
        })
        .unwrap();

    let a = store.read().session("wt-a").unwrap().unwrap();
    assert_eq!(a.id, "wt-a");
    assert_eq!(a.pid, 101);
    assert_eq!(a.pid_start_time, Some(1101));
    assert_eq!(a.repo_path, REPO);
    assert_eq!(a.worktree_path, format!("{REPO}-worktrees/wt-a"));
    assert_eq!(a.worktree_name.as_deref(), Some("wt-a"));
    assert!(!a.is_main_repo);
    assert_eq!(a.created_at, now.plus_secs(1));
    assert_eq!(a.last_heartbeat, now.plus_secs(1));
    assert_eq!(a.last_activity_at, Some(now.plus_secs(1)));
    assert_eq!(a.execution_mode, "local");
    assert_eq!((a.sandbox_id.as_deref(), a.sandbox_status.as_deref()), (None, None));
    assert_eq!(a.branch.as_deref(), Some("parallel/wt-a"));
    assert_eq!(a.base_commit.as_deref(), Some("0123456789abcdef0123456789abcdef01234567"));
    assert_eq!(a.agent.as_deref(), Some("claude"));
    assert_eq!(a.state, SessionState::Live);
    assert_eq!(a.registered_by, "supervisor");
    assert!(a.worktree_owned && a.branch_owned);
    assert_eq!((a.agent_pid, a.agent_pid_start_time, a.ended_at, a.kept_reason.as_deref()), (None, None, None, None));

    let m = store.read().session("main").unwrap().unwrap();
    assert!(m.is_main_repo && !m.worktree_owned && !m.branch_owned);
    assert_eq!((m.worktree_name, m.branch, m.agent, m.pid_start_time), (None, None, None, None));
    assert_eq!(m.registered_by, "register");

    assert_eq!(store.read().session("nope").unwrap(), None);
    assert_eq!(ids(&store.read().open_sessions_for_repo(REPO).unwrap()), ["main", "wt-a", "wt-b"]);
    assert_eq!(ids(&store.read().open_sessions_for_repo(OTHER).unwrap()), ["elsewhere"]);
    assert_eq!(ids(&store.read().open_sessions_by_pid(101).unwrap()), ["wt-a", "wt-b"]);
    assert_eq!(ids(&store.read().open_sessions().unwrap()), ["main", "wt-a", "wt-b", "elsewhere"]);
    assert_eq!(store.read().known_repos().unwrap(), [OTHER, REPO]);

    // A duplicate id is an error, not a silent overwrite.
    let dup = store.write(|tx| tx.insert_session(&new_session("wt-a", 999, OTHER, now)));
    assert!(dup.is_err());
    assert_eq!(store.read().session("wt-a").unwrap().unwrap().pid, 101);
}

#[test]
fn heartbeat_touches_only_running_sessions_of_that_pid() {
    let (_dir, mut store) = fresh();
    let now = Timestamp(T0);
    let mut starting = new_session("starting", 7, REPO, now);
    starting.state = SessionState::Starting;
    store
        .write(|tx| {
            tx.insert_session(&new_session("live", 7, REPO, now))?;
            tx.insert_session(&starting)?;
            tx.insert_session(&new_session("kept", 7, REPO, now))?;
            tx.insert_session(&new_session("ended", 7, REPO, now))?;
            tx.insert_session(&new_session("other-pid", 8, REPO, now))?;
            tx.mark_kept("kept", "uncommitted changes", now)?;
            tx.mark_ended("ended", now)
        })
        .unwrap();
    let later = now.plus_secs(90);
    assert_eq!(store.write(|tx| tx.heartbeat_pid(7, later)).unwrap(), 2);
    let hb = |id: &str| store.read().session(id).unwrap().unwrap().last_heartbeat;
    assert_eq!(hb("live"), later);
    assert_eq!(hb("starting"), later);
    assert_eq!(hb("kept"), now);
    assert_eq!(hb("ended"), now);
    assert_eq!(hb("other-pid"), now);
    assert_eq!(store.write(|tx| tx.heartbeat_pid(12345, later)).unwrap(), 0);
}

#[test]
fn state_and_agent_pid_updates() {
    let (_dir, mut store) = fresh();
    let now = Timestamp(T0);
    let mut s = new_session("s", 1, REPO, now);
    s.state = SessionState::Starting;
    store.write(|tx| tx.insert_session(&s)).unwrap();
    assert_eq!(store.read().session("s").unwrap().unwrap().state, SessionState::Starting);
    // A starting session is open: it holds a reservation.
    assert_eq!(ids(&store.read().open_sessions_by_pid(1).unwrap()), ["s"]);

    store
        .write(|tx| {
            tx.set_state("s", SessionState::Live)?;
            tx.set_agent_pid("s", 4242, Some(777))
        })
        .unwrap();
    let row = store.read().session("s").unwrap().unwrap();
    assert_eq!(row.state, SessionState::Live);
    assert_eq!((row.agent_pid, row.agent_pid_start_time), (Some(4242), Some(777)));

    store.write(|tx| tx.set_agent_pid("s", 4343, None)).unwrap();
    let row = store.read().session("s").unwrap().unwrap();
    assert_eq!((row.agent_pid, row.agent_pid_start_time), (Some(4343), None));

    for state in [SessionState::Starting, SessionState::Live, SessionState::Kept, SessionState::Ended] {
        store.write(|tx| tx.set_state("s", state)).unwrap();
        assert_eq!(store.read().session("s").unwrap().unwrap().state, state);
        assert_eq!(SessionState::parse(state.as_str()), Some(state));
    }
}

#[test]
fn ending_a_session_keeps_its_claims_as_history_and_stops_its_subscriptions() {
    let (dir, mut store) = fresh();
    let t = Timestamp(T0);
    store
        .write(|tx| {
            tx.insert_session(&new_session("ending", 1, REPO, t))?;
            tx.insert_session(&new_session("bystander", 2, REPO, t))
        })
        .unwrap();
    let conn = common::raw(&dir.path().join("coordinator.db"));
    insert_claim(&conn, "c-active", "ending", "a.rs", true);
    insert_claim(&conn, "c-active2", "ending", "b.rs", true);
    insert_claim(&conn, "c-old", "ending", "c.rs", false);
    insert_claim(&conn, "c-other", "bystander", "d.rs", true);
    insert_subscription(&conn, "sub-ending", "ending");
    insert_subscription(&conn, "sub-other", "bystander");
    assert_eq!(store.read().active_claim_count("ending").unwrap(), 2);

    let end = t.plus_secs(600);
    store.write(|tx| tx.mark_ended("ending", end)).unwrap();

    let row = store.read().session("ending").unwrap().unwrap();
    assert_eq!(row.state, SessionState::Ended);
    assert_eq!(row.ended_at, Some(end));
    assert_eq!(row.kept_reason, None);
    assert_eq!(store.read().active_claim_count("ending").unwrap(), 0);
    // The rows stay; only the active ones are released now.
    assert_eq!(claim(&conn, "c-active"), (0, Some(end.to_string())));
    assert_eq!(claim(&conn, "c-active2"), (0, Some(end.to_string())));
    assert_eq!(claim(&conn, "c-old"), (0, Some("2025-01-02 00:00:00".to_string())));
    assert_eq!(common::count(&conn, "SELECT COUNT(*) FROM file_claims WHERE session_id = 'ending'"), 3);
    assert_eq!(subscription_active(&conn, "sub-ending"), 0);
    // Nobody else's.
    assert_eq!(claim(&conn, "c-other"), (1, None));
    assert_eq!(subscription_active(&conn, "sub-other"), 1);
    assert_eq!(store.read().active_claim_count("bystander").unwrap(), 1);

    // Ended sessions drop out of every open_* query but stay readable by id.
    assert_eq!(ids(&store.read().open_sessions_for_repo(REPO).unwrap()), ["bystander"]);
    assert!(store.read().open_sessions_by_pid(1).unwrap().is_empty());
    assert_eq!(ids(&store.read().open_sessions().unwrap()), ["bystander"]);
    assert_eq!(ids(&store.read().all_sessions_for_repo(REPO).unwrap()), ["ending", "bystander"]);
}

#[test]
fn keeping_a_session_releases_its_claims_but_leaves_it_open() {
    let (dir, mut store) = fresh();
    let t = Timestamp(T0);
    store.write(|tx| tx.insert_session(&new_session("kept", 1, REPO, t))).unwrap();
    let conn = common::raw(&dir.path().join("coordinator.db"));
    insert_claim(&conn, "c-1", "kept", "a.rs", true);
    insert_subscription(&conn, "sub-1", "kept");

    let first = t.plus_secs(60);
    store.write(|tx| tx.mark_kept("kept", "2 uncommitted files", first)).unwrap();
    let row = store.read().session("kept").unwrap().unwrap();
    assert_eq!(row.state, SessionState::Kept);
    assert_eq!(row.kept_reason.as_deref(), Some("2 uncommitted files"));
    assert_eq!(row.ended_at, Some(first));
    assert_eq!(row.agent_state.as_deref(), Some("ended"));
    assert_eq!(claim(&conn, "c-1"), (0, Some(first.to_string())));
    assert_eq!(subscription_active(&conn, "sub-1"), 0);
    // Kept sessions stay visible: their worktree still holds work.
    assert_eq!(ids(&store.read().open_sessions_for_repo(REPO).unwrap()), ["kept"]);
    assert_eq!(ids(&store.read().open_sessions_by_pid(1).unwrap()), ["kept"]);

    // Keeping again (a later cleanup pass) updates the reason but not when it ended.
    store.write(|tx| tx.mark_kept("kept", "1 unpushed commit", t.plus_secs(3600))).unwrap();
    let row = store.read().session("kept").unwrap().unwrap();
    assert_eq!(row.kept_reason.as_deref(), Some("1 unpushed commit"));
    assert_eq!(row.ended_at, Some(first));

    // Disposed of at last: ended, reason cleared.
    let gone = t.plus_secs(7200);
    store.write(|tx| tx.mark_ended("kept", gone)).unwrap();
    let row = store.read().session("kept").unwrap().unwrap();
    assert_eq!((row.state, row.kept_reason, row.ended_at), (SessionState::Ended, None, Some(gone)));
    assert!(store.read().open_sessions().unwrap().is_empty());
    // The claim was released at keep time and keeps that time.
    assert_eq!(claim(&conn, "c-1"), (0, Some(first.to_string())));
}

fn snapshot(name: &str, repo: &str, now: Timestamp) -> NewSnapshot {
    NewSnapshot {
        name: name.into(),
        repo_path: repo.into(),
        session_id: Some("s-1".into()),
        worktree_path: format!("{repo}-worktrees/wt"),
        worktree_name: Some("wt".into()),
        branch: Some("parallel/wt".into()),
        head_commit: Some("1111111111111111111111111111111111111111".into()),
        commit_id: "2222222222222222222222222222222222222222".into(),
        ref_name: format!("refs/parallel-cc/snapshots/{name}"),
        file_count: 3,
        size_bytes: 4096,
        reason: Some("release --force".into()),
        now,
    }
}

#[test]
fn snapshots_round_trip() {
    let (_dir, mut store) = fresh();
    let t = Timestamp(T0);
    store
        .write(|tx| {
            tx.insert_snapshot(&snapshot("snap-old", REPO, t))?;
            tx.insert_snapshot(&snapshot("snap-new", REPO, t.plus_secs(10)))?;
            tx.insert_snapshot(&snapshot("snap-other", OTHER, t.plus_secs(5)))
        })
        .unwrap();

    let got = store.read().snapshot("snap-old").unwrap().unwrap();
    let want = snapshot("snap-old", REPO, t);
    assert_eq!(got.name, want.name);
    assert_eq!(got.repo_path, want.repo_path);
    assert_eq!(got.session_id, want.session_id);
    assert_eq!(got.worktree_path, want.worktree_path);
    assert_eq!(got.worktree_name, want.worktree_name);
    assert_eq!(got.branch, want.branch);
    assert_eq!(got.head_commit, want.head_commit);
    assert_eq!(got.commit_id, want.commit_id);
    assert_eq!(got.ref_name, want.ref_name);
    assert_eq!((got.file_count, got.size_bytes), (3, 4096));
    assert_eq!(got.reason, want.reason);
    assert_eq!(got.created_at, t);
    assert_eq!(got.restored_at, None);

    // Newest first.
    let names = |rows: Vec<pcc_store::SnapshotRow>| rows.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(names(store.read().snapshots(Some(REPO)).unwrap()), ["snap-new", "snap-old"]);
    assert_eq!(names(store.read().snapshots(None).unwrap()), ["snap-new", "snap-other", "snap-old"]);
    assert_eq!(names(store.read().snapshots(Some("/nowhere")).unwrap()), Vec::<String>::new());

    let restored = t.plus_secs(100);
    store.write(|tx| tx.mark_snapshot_restored("snap-old", restored)).unwrap();
    assert_eq!(store.read().snapshot("snap-old").unwrap().unwrap().restored_at, Some(restored));

    store.write(|tx| tx.mark_snapshot_deleted("snap-new", t.plus_secs(200))).unwrap();
    assert_eq!(store.read().snapshot("snap-new").unwrap(), None);
    assert_eq!(names(store.read().snapshots(Some(REPO)).unwrap()), ["snap-old"]);

    // A snapshot name is unique: a second one with the same name is refused.
    assert!(store.write(|tx| tx.insert_snapshot(&snapshot("snap-old", REPO, t))).is_err());
}

#[derive(Debug)]
enum AppError {
    Store(StoreError),
    Refused,
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let (dir, mut store) = fresh();
    let t = Timestamp(T0);
    store.write(|tx| tx.insert_session(&new_session("before", 1, REPO, t))).unwrap();

    // The closure decides to give up after writing.
    let result: Result<(), AppError> = store.write(|tx| {
        tx.insert_session(&new_session("half", 2, REPO, t))?;
        tx.set_state("before", SessionState::Kept)?;
        tx.mark_ended("before", t)?;
        Err(AppError::Refused)
    });
    assert!(matches!(result, Err(AppError::Refused)));

    // A statement fails half way: the first insert goes too.
    let result: Result<(), AppError> = store.write(|tx| {
        tx.insert_session(&new_session("also-half", 3, REPO, t))?;
        tx.insert_session(&new_session("before", 4, REPO, t))?;
        Ok(())
    });
    assert!(matches!(result, Err(AppError::Store(StoreError::Query { .. }))), "{result:?}");

    let result: Result<(), StoreError> = store.write(|tx| {
        tx.insert_session(&new_session("third", 5, REPO, t))?;
        Err(StoreError::BadValue { what: "test".into() })
    });
    assert!(matches!(result, Err(StoreError::BadValue { .. })));

    for id in ["half", "also-half", "third"] {
        assert_eq!(store.read().session(id).unwrap(), None, "{id} survived a rolled-back write");
    }
    let before = store.read().session("before").unwrap().unwrap();
    assert_eq!((before.state, before.ended_at, before.pid), (SessionState::Live, None, 1));
    // Seen the same way from outside the process's connection.
    let conn = common::raw(&dir.path().join("coordinator.db"));
    assert_eq!(common::count(&conn, "SELECT COUNT(*) FROM sessions"), 1);

    // The connection is usable afterwards (no transaction left open).
    let n = store
        .write(|tx| {
            tx.insert_session(&new_session("after", 6, REPO, t))?;
            Ok::<_, StoreError>(tx.open_sessions()?.len())
        })
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(common::count(&conn, "SELECT COUNT(*) FROM sessions"), 2);
}

#[test]
fn times_are_stored_as_utc_text() {
    let (dir, mut store) = fresh();
    store.write(|tx| tx.insert_session(&new_session("s", 1, REPO, Timestamp(T0)))).unwrap();
    let conn = common::raw(&dir.path().join("coordinator.db"));
    let (created, hb): (String, String) = conn
        .query_row("SELECT created_at, last_heartbeat FROM sessions WHERE id = 's'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((created.as_str(), hb.as_str()), ("2025-01-02 03:04:05", "2025-01-02 03:04:05"));
}

#[test]
fn the_wal_stays_short_across_processes_and_keeps_every_write() {
    // Each command is its own process and leaves the WAL behind; writers must keep it short, or
    // every later open would re-read all of it. A reader holding a snapshot only postpones that.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    let wal = dir.path().join("coordinator.db-wal");
    let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    Store::open(&db).unwrap().write(|tx| tx.insert_session(&new_session("s", 7, REPO, Timestamp(T0)))).unwrap();
    let mut longest = 0;
    for i in 1..=400 {
        // A fresh connection per write, as with one process per hook call.
        let mut store = Store::open(&db).unwrap();
        store.write(|tx| tx.heartbeat_pid(7, Timestamp(T0).plus_secs(i))).unwrap();
        drop(store);
        longest = longest.max(wal_len());
    }
    assert!(wal.exists(), "the WAL is left for the next process");
    assert!(longest < 1024 * 1024, "WAL grew to {longest} bytes");

    let reader = rusqlite::Connection::open(&db).unwrap();
    reader.execute_batch("BEGIN; SELECT COUNT(*) FROM sessions;").unwrap();
    for i in 401..=600 {
        Store::open(&db).unwrap().write(|tx| tx.heartbeat_pid(7, Timestamp(T0).plus_secs(i))).unwrap();
    }
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    Store::open(&db).unwrap().write(|tx| tx.heartbeat_pid(7, Timestamp(T0).plus_secs(601))).unwrap();
    assert!(wal_len() < 1024 * 1024, "WAL is {} bytes after the reader left", wal_len());
    let s = Store::open(&db).unwrap().read().session("s").unwrap().unwrap();
    assert_eq!(s.last_heartbeat, Timestamp(T0).plus_secs(601));
}

#[test]
fn blob_ids_are_cached_per_file_and_commit_and_old_entries_pruned() {
    let (_dir, mut store) = fresh();
    let t = Timestamp(T0);
    let c1 = "1".repeat(40);
    let c2 = "2".repeat(40);
    let blob = "b".repeat(40);
    store
        .write(|tx| tx.cache_blobs("src/a.rs", &[(c1.clone(), Some(blob.clone())), (c2.clone(), None)], t, t))
        .unwrap();
    store.write(|tx| tx.cache_blobs("src/b.rs", &[(c1.clone(), None)], t, t)).unwrap();
    let a = store.read().cached_blobs("src/a.rs").unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[&c1], Some(blob.clone()));
    assert_eq!(a[&c2], None, "a commit without the file is remembered too");
    assert!(store.read().cached_blobs("src/c.rs").unwrap().is_empty());

    // Writing again replaces; entries cached before the cut-off go.
    let later = t.plus_secs(86_400 * 40);
    store.write(|tx| tx.cache_blobs("src/a.rs", &[(c2.clone(), Some(blob.clone()))], later, t.plus_secs(1))).unwrap();
    let a = store.read().cached_blobs("src/a.rs").unwrap();
    assert_eq!(a.into_iter().collect::<Vec<_>>(), [(c2, Some(blob))]);
    assert!(store.read().cached_blobs("src/b.rs").unwrap().is_empty());
}
