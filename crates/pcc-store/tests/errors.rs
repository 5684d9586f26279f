//! Files that are not usable databases, places that cannot hold one, and a database another
//! process holds: each is a typed error with a hint, never a panic or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{LegacyVersion, new_session};
use pcc_store::{LATEST_MIGRATION, Store, StoreError, Timestamp};

const SHORT: Duration = Duration::from_millis(200);

#[test]
fn garbage_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| u8::try_from((i * 7919 + 13) % 251).unwrap()).collect();
    std::fs::write(&db, &garbage).unwrap();

    let err = Store::open(&db).unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt { path, .. } if path == &db), "{err:?}");
    assert!(err.hint().unwrap().contains(&db.display().to_string()));
    // Nothing was written over the user's file.
    assert_eq!(std::fs::read(&db).unwrap(), garbage);
}

#[test]
fn a_text_file_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    std::fs::write(&db, "this is not a database, it is a shopping list\n".repeat(64)).unwrap();
    let err = Store::open(&db).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

/// Tests may run as root, where permission bits restrict nothing; a regular file where a
/// directory should be stops everyone.
#[test]
fn a_data_dir_under_a_regular_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();

    for db in [file.join("coordinator.db"), file.join("nested").join("coordinator.db")] {
        let err = Store::open(&db).unwrap_err();
        assert!(matches!(&err, StoreError::DataDir { path, .. } if db.starts_with(path)), "{db:?}: {err:?}");
        assert!(err.hint().is_some(), "{err:?}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn a_directory_in_place_of_the_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    std::fs::create_dir(&db).unwrap();
    let err = Store::open(&db).unwrap_err();
    assert!(matches!(&err, StoreError::Unwritable { path, .. } if path == &db), "{err:?}");
    assert!(err.hint().is_some());
}

/// Another process is in the middle of a write: a write from the store gives up after its busy
/// timeout with `Locked`, and works once the other writer is done.
#[test]
fn a_held_write_lock_is_reported_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    drop(Store::open(&db).unwrap());

    let holder = common::raw(&db);
    holder.execute_batch("BEGIN EXCLUSIVE; INSERT INTO schema_metadata (key, value) VALUES ('held', '1');").unwrap();

    let started = Instant::now();
    let outcome = Store::open_with_timeout(&db, SHORT).and_then(|mut store| {
        store.write(|tx| tx.insert_session(&new_session("blocked", 1, "/r", Timestamp::now())))?;
        Ok(store)
    });
    let waited = started.elapsed();
    let err = outcome.unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.hint().is_some());
    // The busy timeout was honoured: neither an immediate failure nor the 5 s default.
    assert!(waited >= SHORT / 2, "gave up after {waited:?}");
    assert!(waited < Duration::from_secs(4), "waited {waited:?}");

    holder.execute_batch("COMMIT").unwrap();
    let mut store = Store::open_with_timeout(&db, SHORT).unwrap();
    store.write(|tx| tx.insert_session(&new_session("unblocked", 1, "/r", Timestamp::now()))).unwrap();
    assert!(store.read().session("unblocked").unwrap().is_some());
    assert!(store.read().session("blocked").unwrap().is_none());
}

/// A TypeScript-era database (rollback journal until adopted) held exclusively by another
/// process cannot even be read: opening reports `Locked`, leaves the file as it was, and a later
/// open adopts it.
#[test]
fn a_locked_legacy_database_is_reported_as_locked_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    common::build_legacy_db(&db, LegacyVersion::V1_1_0);
    {
        let c = common::raw(&db);
        c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    assert_eq!(common::journal_mode(&db), "delete");

    let holder = common::raw(&db);
    holder.execute_batch("BEGIN EXCLUSIVE; UPDATE sessions SET last_heartbeat = last_heartbeat;").unwrap();
    let started = Instant::now();
    let err = Store::open_with_timeout(&db, SHORT).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);

    let conn = common::raw(&db);
    let cols = common::columns(&conn, "sessions");
    assert!(!cols.iter().any(|c| c == "state"), "a failed open must not half-upgrade the file");
    drop(conn);

    let store = Store::open_with_timeout(&db, SHORT).unwrap();
    assert!(store.migration_report().adopted_legacy.is_some());
    assert_eq!(store.schema_info().unwrap().migration, LATEST_MIGRATION);
}

/// A database written by a newer parallel-cc is refused, not downgraded (the original's
/// string-compared versions downgraded it).
#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    drop(Store::open(&db).unwrap());
    common::raw(&db)
        .execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
             VALUES (?1, 'from_the_future', '2030-01-01T00:00:00Z', '0')",
            [LATEST_MIGRATION + 1],
        )
        .unwrap();
    let err = Store::open(&db).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found, known } if found == LATEST_MIGRATION + 1 && known == LATEST_MIGRATION),
        "{err:?}"
    );
    assert_eq!(err.hint().as_deref(), Some("upgrade parallel-cc"));
}
