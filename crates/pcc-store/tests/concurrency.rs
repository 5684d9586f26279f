//! Several OS processes on one database file, as when many agents start at once (PRODUCT.md §0.6):
//! the first open migrates exactly once, and read-then-write transactions never lose an update.
//!
//! The worker processes are this test binary run again with `--exact child_worker` and
//! `PCC_STORE_CHILD` set; without that variable `child_worker` does nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{LegacyVersion, new_session};
use pcc_store::{LATEST_MIGRATION, Store, StoreError, Timestamp};

const CHILD_ENV: &str = "PCC_STORE_CHILD";
const READY: &str = "PCC_STORE_CHILD_READY";
const RESULT: &str = "PCC_STORE_CHILD_RESULT";
const REPO: &str = "/work/contended";

/// What one worker process reports.
#[derive(Debug)]
struct Outcome {
    applied: usize,
    adopted: bool,
    errors: Vec<String>,
}

/// Worker side. Waits for the parent to close stdin (so every worker starts together), opens the
/// database, then in `count` mode performs `PCC_STORE_ITERS` read-modify-write increments: each
/// reads how many sessions the repo has and inserts one whose `pid` is that count plus one.
#[test]
fn child_worker() {
    let Ok(mode) = std::env::var(CHILD_ENV) else { return };
    let db = PathBuf::from(std::env::var("PCC_STORE_DB").unwrap());
    let worker = std::env::var("PCC_STORE_WORKER").unwrap();
    let iters: usize = std::env::var("PCC_STORE_ITERS").unwrap_or_default().parse().unwrap_or(0);

    let mut out = std::io::stdout().lock();
    writeln!(out, "{READY}").unwrap();
    out.flush().unwrap();
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink).unwrap();

    let mut errors = Vec::new();
    let (mut applied, mut adopted) = (0, false);
    match Store::open(&db) {
        Err(e) => errors.push(format!("open: {e:?}")),
        Ok(mut store) => {
            applied = store.migration_report().applied.len();
            adopted = store.migration_report().adopted_legacy.is_some();
            if mode == "count" {
                for i in 0..iters {
                    let id = format!("{worker}-{i}");
                    let r = store.write(|tx| {
                        let seen = i64::try_from(tx.open_sessions_for_repo(REPO)?.len()).unwrap();
                        tx.insert_session(&new_session(&id, seen + 1, REPO, Timestamp::now()))
                    });
                    if let Err(e) = r {
                        errors.push(format!("write {id}: {e:?}"));
                    }
                }
            }
        }
    }
    writeln!(out, "{RESULT} applied={applied} adopted={adopted} errors={}", errors.len()).unwrap();
    for e in &errors {
        writeln!(out, "{RESULT}-error {e}").unwrap();
    }
    out.flush().unwrap();
}

fn spawn_child(db: &Path, mode: &str, worker: usize, iters: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_worker", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .env("PCC_STORE_DB", db)
        .env("PCC_STORE_WORKER", format!("w{worker}"))
        .env("PCC_STORE_ITERS", iters.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Start `n` workers, wait until each is ready, release them all at once, and collect what they
/// report.
fn run_workers(db: &Path, mode: &str, n: usize, iters: usize) -> Vec<Outcome> {
    let mut children: Vec<Child> = (0..n).map(|w| spawn_child(db, mode, w, iters)).collect();
    let mut readers = Vec::new();
    for child in &mut children {
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader.read_line(&mut line).unwrap();
            assert!(read > 0, "a worker exited before it was ready");
            // libtest prints `test child_worker ... ` on the same line first.
            if line.trim_end().ends_with(READY) {
                break;
            }
        }
        readers.push(reader);
    }
    // The barrier: every worker is blocked reading stdin; closing it releases them together.
    for child in &mut children {
        drop(child.stdin.take());
    }
    children
        .into_iter()
        .zip(readers)
        .map(|(child, mut reader)| {
            let mut rest = String::new();
            reader.read_to_string(&mut rest).unwrap();
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "worker failed: {}\n{rest}\n{stderr}", output.status);
            parse_outcome(&rest).unwrap_or_else(|| panic!("no result from worker:\n{rest}\n{stderr}"))
        })
        .collect()
}

fn parse_outcome(out: &str) -> Option<Outcome> {
    let marker = format!("{RESULT} ");
    let line = out.lines().find_map(|l| l.find(&marker).map(|at| &l[at..]))?;
    let field = |name: &str| line.split_whitespace().find_map(|w| w.strip_prefix(&format!("{name}=")));
    let errors =
        out.lines().filter_map(|l| l.strip_prefix(&format!("{RESULT}-error "))).map(str::to_string).collect::<Vec<_>>();
    let outcome = Outcome { applied: field("applied")?.parse().ok()?, adopted: field("adopted")? == "true", errors };
    assert_eq!(field("errors")?.parse::<usize>().ok()?, outcome.errors.len());
    Some(outcome)
}

#[test]
fn concurrent_writers_on_a_new_database_lose_nothing() {
    const WORKERS: usize = 6;
    const ITERS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");

    let outcomes = run_workers(&db, "count", WORKERS, ITERS);

    let errors: Vec<&String> = outcomes.iter().flat_map(|o| &o.errors).collect();
    assert!(errors.is_empty(), "workers hit errors: {errors:#?}");
    // Everyone opened the same new file at once; exactly one of them created the schema.
    let migrators: Vec<usize> = outcomes.iter().map(|o| o.applied).filter(|&a| a > 0).collect();
    assert_eq!(migrators, [usize::try_from(LATEST_MIGRATION).unwrap()], "{outcomes:?}");
    assert!(outcomes.iter().all(|o| !o.adopted));

    let store = Store::open(&db).unwrap();
    assert!(store.migration_report().applied.is_empty());
    let rows = store.read().open_sessions_for_repo(REPO).unwrap();
    assert_eq!(rows.len(), WORKERS * ITERS);
    // Every transaction saw every earlier one: the counts read are exactly 0..total, each once.
    let mut seen: Vec<i64> = rows.iter().map(|s| s.pid).collect();
    seen.sort_unstable();
    let expected: Vec<i64> = (1..=i64::try_from(WORKERS * ITERS).unwrap()).collect();
    assert_eq!(seen, expected, "two transactions read the same count: an update was interleaved");
    for w in 0..WORKERS {
        for i in 0..ITERS {
            assert!(rows.iter().any(|s| s.id == format!("w{w}-{i}")), "w{w}-{i} lost");
        }
    }
    assert!(store.integrity_check().unwrap().is_empty());
}

#[test]
fn concurrent_first_opens_of_a_legacy_database_adopt_it_once() {
    const WORKERS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    let before = common::build_legacy_db(&db, LegacyVersion::V1_0_0);

    let outcomes = run_workers(&db, "open", WORKERS, 0);

    let errors: Vec<&String> = outcomes.iter().flat_map(|o| &o.errors).collect();
    assert!(errors.is_empty(), "workers hit errors: {errors:#?}");
    assert_eq!(outcomes.iter().filter(|o| o.adopted).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| o.applied > 0).count(), 1, "{outcomes:?}");
    let backups = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".backup"))
        .count();
    assert_eq!(backups, 1);

    let conn = common::raw(&db);
    for (table, old) in &before {
        if table == "schema_metadata" {
            continue;
        }
        assert_eq!(&common::dump_table(&conn, table, &old.columns), old, "rows of {table} changed");
    }
    let store = Store::open(&db).map_err(|e: StoreError| e.to_string()).unwrap();
    assert_eq!(store.schema_info().unwrap().migration, LATEST_MIGRATION);
}
