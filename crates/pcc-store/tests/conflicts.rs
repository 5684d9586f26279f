//! Conflict records and auto-fix suggestions against real SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use common::{LegacyVersion, T0, new_session};
use pcc_store::{
    ConflictResolutionRow, HistoryFilter, HistoryStats, NewConflictRecord, NewSuggestion, Store, StrategyRecord,
    SuggestionFilter, SuggestionRow, Timestamp,
};

const REPO: &str = "/work/repo";
const OTHER: &str = "/work/other";

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("coordinator.db")).unwrap();
    (dir, store)
}

fn raw(dir: &tempfile::TempDir) -> rusqlite::Connection {
    common::raw(&dir.path().join("coordinator.db"))
}

fn at(offset: i64) -> Timestamp {
    Timestamp(T0 + offset)
}

fn suggestion(
    id: &str,
    conflict: Option<&str>,
    repo: &str,
    file: &str,
    confidence: f64,
    generated: i64,
) -> NewSuggestion {
    NewSuggestion {
        id: id.to_string(),
        conflict_resolution_id: conflict.map(str::to_string),
        repo_path: repo.to_string(),
        file_path: file.to_string(),
        conflict_type: "TRIVIAL".to_string(),
        suggested_resolution: format!("resolution of {id}"),
        confidence,
        explanation: format!("why {id}"),
        strategy: "TrivialMerge".to_string(),
        base_content: "base".to_string(),
        source_content: "source".to_string(),
        target_content: "target".to_string(),
        generated_at: at(generated),
        metadata: None,
    }
}

fn conflict(id: &str, repo: &str, file: &str, kind: &str, detected: i64) -> NewConflictRecord {
    NewConflictRecord {
        id: id.to_string(),
        session_id: None,
        repo_path: repo.to_string(),
        file_path: file.to_string(),
        conflict_type: kind.to_string(),
        base_commit: "b0".to_string(),
        source_commit: "s0".to_string(),
        target_commit: "t0".to_string(),
        conflict_markers: format!("<<<<<<< {id}"),
        detected_at: at(detected),
        metadata: None,
    }
}

/// The row a freshly inserted conflict reads back as.
fn unresolved_row(c: &NewConflictRecord) -> ConflictResolutionRow {
    ConflictResolutionRow {
        id: c.id.clone(),
        session_id: c.session_id.clone(),
        repo_path: c.repo_path.clone(),
        file_path: c.file_path.clone(),
        conflict_type: c.conflict_type.clone(),
        base_commit: c.base_commit.clone(),
        source_commit: c.source_commit.clone(),
        target_commit: c.target_commit.clone(),
        resolution_strategy: None,
        confidence: None,
        conflict_markers: c.conflict_markers.clone(),
        resolved_content: None,
        detected_at: c.detected_at,
        resolved_at: None,
        auto_fix_suggestion_id: None,
        metadata: c.metadata.clone(),
        auto_fix_strategy: None,
        explanation: None,
    }
}

fn suggestion_ids(rows: &[SuggestionRow]) -> Vec<&str> {
    rows.iter().map(|s| s.id.as_str()).collect()
}

fn conflict_ids(rows: &[ConflictResolutionRow]) -> Vec<&str> {
    rows.iter().map(|c| c.id.as_str()).collect()
}

fn metadata(conn: &rusqlite::Connection, id: &str) -> Option<String> {
    conn.query_row("SELECT metadata FROM auto_fix_suggestions WHERE id = ?1", [id], |r| r.get(0)).unwrap()
}

#[test]
fn a_suggestion_reads_back_with_every_field() {
    let (_dir, mut store) = fresh();
    let mut s = suggestion("afs-1", None, REPO, "src/lib.rs", 0.75, 0);
    s.conflict_type = "SEMANTIC".to_string();
    s.metadata = Some(r#"{"source":"ast"}"#.to_string());
    store.write(|tx| tx.insert_suggestion(&s)).unwrap();

    let expected = SuggestionRow {
        id: "afs-1".to_string(),
        conflict_resolution_id: None,
        repo_path: REPO.to_string(),
        file_path: "src/lib.rs".to_string(),
        conflict_type: "SEMANTIC".to_string(),
        suggested_resolution: "resolution of afs-1".to_string(),
        confidence: 0.75,
        explanation: "why afs-1".to_string(),
        strategy: "TrivialMerge".to_string(),
        base_content: "base".to_string(),
        source_content: "source".to_string(),
        target_content: "target".to_string(),
        generated_at: at(0),
        metadata: Some(r#"{"source":"ast"}"#.to_string()),
        applied_at: None,
        was_auto_applied: false,
    };
    assert_eq!(store.read().suggestion("afs-1").unwrap(), Some(expected));
    assert_eq!(store.read().suggestion("afs-2").unwrap(), None);
}

#[test]
fn suggestions_are_filtered_and_ordered_by_confidence_then_newest_then_id() {
    let (_dir, mut store) = fresh();
    store
        .write(|tx| {
            tx.insert_suggestion(&suggestion("a", None, REPO, "x.rs", 0.9, 0))?;
            // Same confidence as `a`, newer: first.
            tx.insert_suggestion(&suggestion("b", None, REPO, "y.rs", 0.9, 10))?;
            // Same confidence and time as `b`: after it, by id.
            tx.insert_suggestion(&suggestion("c", None, REPO, "x.rs", 0.9, 10))?;
            tx.insert_suggestion(&suggestion("d", None, REPO, "x.rs", 0.4, 20))?;
            tx.insert_suggestion(&suggestion("e", None, OTHER, "x.rs", 0.6, 30))?;
            tx.insert_suggestion(&suggestion("f", None, REPO, "x.rs", 0.5, 40))?;
            Ok::<_, pcc_store::StoreError>(())
        })
        .unwrap();
    store.write(|tx| tx.mark_suggestion_applied("c", at(50), false)).unwrap();
    store.write(|tx| tx.mark_suggestion_applied("e", at(50), true)).unwrap();

    let q = store.read();
    let list = |f: SuggestionFilter| suggestion_ids(&q.suggestions(&f).unwrap()).join(",");
    assert_eq!(list(SuggestionFilter::default()), "b,c,a,e,f,d");
    assert_eq!(list(SuggestionFilter { min_confidence: 0.5, ..Default::default() }), "b,c,a,e,f");
    assert_eq!(list(SuggestionFilter { min_confidence: 0.9, ..Default::default() }), "b,c,a");
    assert_eq!(list(SuggestionFilter { repo: Some(OTHER.into()), ..Default::default() }), "e");
    assert_eq!(
        list(SuggestionFilter { repo: Some(REPO.into()), file: Some("x.rs".into()), ..Default::default() }),
        "c,a,f,d"
    );
    assert_eq!(list(SuggestionFilter { applied: Some(true), ..Default::default() }), "c,e");
    assert_eq!(list(SuggestionFilter { applied: Some(false), ..Default::default() }), "b,a,f,d");
    assert_eq!(list(SuggestionFilter { limit: 2, ..Default::default() }), "b,c");
    assert_eq!(
        list(SuggestionFilter {
            repo: Some(REPO.into()),
            min_confidence: 0.45,
            applied: Some(false),
            limit: 2,
            file: None
        }),
        "b,a"
    );
}

#[test]
fn suggestions_for_a_conflict_are_linked_by_foreign_key_most_confident_first() {
    let (dir, mut store) = fresh();
    store
        .write(|tx| {
            tx.insert_conflict(&conflict("cr-1", REPO, "x.rs", "TRIVIAL", 0))?;
            tx.insert_conflict(&conflict("cr-2", REPO, "y.rs", "TRIVIAL", 0))?;
            tx.insert_suggestion(&suggestion("low", Some("cr-1"), REPO, "x.rs", 0.3, 1))?;
            tx.insert_suggestion(&suggestion("high", Some("cr-1"), REPO, "x.rs", 0.8, 2))?;
            tx.insert_suggestion(&suggestion("elsewhere", Some("cr-2"), REPO, "y.rs", 0.99, 3))?;
            tx.insert_suggestion(&suggestion("loose", None, REPO, "x.rs", 0.95, 4))
        })
        .unwrap();
    assert_eq!(suggestion_ids(&store.read().suggestions_for_conflict("cr-1").unwrap()), ["high", "low"]);
    assert_eq!(store.read().suggestion("high").unwrap().unwrap().conflict_resolution_id.as_deref(), Some("cr-1"));
    assert!(store.read().suggestions_for_conflict("cr-9").unwrap().is_empty());

    // The link must point at a real conflict.
    let dangling = store.write(|tx| tx.insert_suggestion(&suggestion("bad", Some("cr-9"), REPO, "x.rs", 0.5, 5)));
    assert!(dangling.is_err());
    assert_eq!(store.read().suggestion("bad").unwrap(), None);

    // Removing the conflict row unlinks its suggestions (ON DELETE SET NULL).
    raw(&dir).execute("DELETE FROM conflict_resolutions WHERE id = 'cr-1'", []).unwrap();
    assert_eq!(store.read().suggestion("high").unwrap().unwrap().conflict_resolution_id, None);
}

#[test]
fn a_conflict_reads_back_and_is_found_again_resolved_or_not() {
    let (_dir, mut store) = fresh();
    let mut c = conflict("cr-1", REPO, "src/lib.rs", "STRUCTURAL", 0);
    c.metadata = Some(r#"{"hunks":2}"#.to_string());
    store
        .write(|tx| {
            tx.insert_session(&new_session("s-1", 10, REPO, at(0)))?;
            tx.insert_conflict(&NewConflictRecord { session_id: Some("s-1".into()), ..c.clone() })
        })
        .unwrap();
    let mut expected = unresolved_row(&c);
    expected.session_id = Some("s-1".to_string());
    assert_eq!(store.read().conflict_record("cr-1").unwrap(), Some(expected.clone()));
    assert_eq!(store.read().conflict_record("cr-2").unwrap(), None);

    let find = |store: &Store, repo: &str, markers: &str| {
        store.read().find_conflict(repo, "src/lib.rs", "b0", "s0", "t0", markers).unwrap()
    };
    assert_eq!(find(&store, REPO, "<<<<<<< cr-1"), Some(expected));
    assert_eq!(find(&store, REPO, "<<<<<<< other"), None);
    assert_eq!(find(&store, OTHER, "<<<<<<< cr-1"), None);
    assert_eq!(store.read().find_conflict(REPO, "src/lib.rs", "b1", "s0", "t0", "<<<<<<< cr-1").unwrap(), None);

    // A resolved conflict is still the same conflict: generating again must not record it twice.
    assert!(store.write(|tx| tx.resolve_conflict("cr-1", "MANUAL", None, Some("merged"), None, at(5))).unwrap());
    let resolved = find(&store, REPO, "<<<<<<< cr-1").unwrap();
    assert_eq!((resolved.id.as_str(), resolved.resolution_strategy.as_deref()), ("cr-1", Some("MANUAL")));
}

#[test]
fn a_conflict_resolves_once_and_shows_the_suggestion_that_resolved_it() {
    let (_dir, mut store) = fresh();
    let c = conflict("cr-1", REPO, "x.rs", "TRIVIAL", 0);
    store
        .write(|tx| {
            tx.insert_conflict(&c)?;
            tx.insert_suggestion(&suggestion("afs-1", Some("cr-1"), REPO, "x.rs", 0.9, 1))
        })
        .unwrap();
    let resolved = store
        .write(|tx| tx.resolve_conflict("cr-1", "AUTO_FIX", Some(0.9), Some("fixed"), Some("afs-1"), at(10)))
        .unwrap();
    assert!(resolved);
    let expected = ConflictResolutionRow {
        resolution_strategy: Some("AUTO_FIX".to_string()),
        confidence: Some(0.9),
        resolved_content: Some("fixed".to_string()),
        resolved_at: Some(at(10)),
        auto_fix_suggestion_id: Some("afs-1".to_string()),
        auto_fix_strategy: Some("TrivialMerge".to_string()),
        explanation: Some("why afs-1".to_string()),
        ..unresolved_row(&c)
    };
    assert_eq!(store.read().conflict_record("cr-1").unwrap(), Some(expected.clone()));

    // A second resolution changes nothing.
    let again = store.write(|tx| tx.resolve_conflict("cr-1", "MANUAL", None, Some("other"), None, at(20))).unwrap();
    assert!(!again);
    assert_eq!(store.read().conflict_record("cr-1").unwrap(), Some(expected));
    assert!(!store.write(|tx| tx.resolve_conflict("cr-9", "MANUAL", None, None, None, at(20))).unwrap());

    // The table only knows four strategies; the failed write leaves nothing behind.
    store.write(|tx| tx.insert_conflict(&conflict("cr-2", REPO, "x.rs", "TRIVIAL", 0))).unwrap();
    assert!(store.write(|tx| tx.resolve_conflict("cr-2", "GUESS", None, None, None, at(20))).is_err());
    assert_eq!(store.read().conflict_record("cr-2").unwrap().unwrap().resolved_at, None);
}

/// Conflicts for the history tests: ids in the order `conflict_history` returns them unfiltered.
fn seed_history(store: &mut Store) {
    store
        .write(|tx| {
            tx.insert_conflict(&conflict("h-old", REPO, "a.rs", "TRIVIAL", 0))?;
            tx.insert_conflict(&conflict("h-b", REPO, "a.rs", "SEMANTIC", 100))?;
            // Same detected_at as h-b: after it, by id.
            tx.insert_conflict(&conflict("h-c", REPO, "b.rs", "TRIVIAL", 100))?;
            tx.insert_conflict(&conflict("h-other", OTHER, "a.rs", "TRIVIAL", 200))?;
            tx.insert_conflict(&conflict("h-new", REPO, "b.rs", "STRUCTURAL", 300))?;
            tx.resolve_conflict("h-old", "AUTO_FIX", Some(0.9), Some("x"), None, at(400))?;
            tx.resolve_conflict("h-c", "MANUAL", Some(0.5), Some("y"), None, at(400))?;
            tx.resolve_conflict("h-other", "AUTO_FIX", None, Some("z"), None, at(400))?;
            Ok::<_, pcc_store::StoreError>(())
        })
        .unwrap();
}

#[test]
fn conflict_history_filters_orders_newest_first_and_pages_with_a_total() {
    let (_dir, mut store) = fresh();
    seed_history(&mut store);
    let q = store.read();
    let page = |f: HistoryFilter| {
        let (rows, total) = q.conflict_history(&f).unwrap();
        (conflict_ids(&rows).join(","), total)
    };
    assert_eq!(page(HistoryFilter::default()), ("h-new,h-other,h-b,h-c,h-old".to_string(), 5));
    assert_eq!(
        page(HistoryFilter { repo: Some(REPO.into()), ..Default::default() }),
        ("h-new,h-b,h-c,h-old".into(), 4)
    );
    assert_eq!(
        page(HistoryFilter { file: Some("a.rs".into()), ..Default::default() }),
        ("h-other,h-b,h-old".into(), 3)
    );
    assert_eq!(
        page(HistoryFilter { conflict_type: Some("TRIVIAL".into()), ..Default::default() }),
        ("h-other,h-c,h-old".into(), 3)
    );
    assert_eq!(
        page(HistoryFilter { strategy: Some("AUTO_FIX".into()), ..Default::default() }),
        ("h-other,h-old".into(), 2)
    );
    assert_eq!(page(HistoryFilter { resolved: Some(true), ..Default::default() }), ("h-other,h-c,h-old".into(), 3));
    assert_eq!(page(HistoryFilter { resolved: Some(false), ..Default::default() }), ("h-new,h-b".into(), 2));
    assert_eq!(
        page(HistoryFilter {
            repo: Some(REPO.into()),
            conflict_type: Some("TRIVIAL".into()),
            resolved: Some(true),
            ..Default::default()
        }),
        ("h-c,h-old".into(), 2)
    );

    // Paging: the total ignores limit and offset.
    assert_eq!(page(HistoryFilter { limit: 2, ..Default::default() }), ("h-new,h-other".into(), 5));
    assert_eq!(page(HistoryFilter { limit: 2, offset: 2, ..Default::default() }), ("h-b,h-c".into(), 5));
    assert_eq!(page(HistoryFilter { limit: 2, offset: 4, ..Default::default() }), ("h-old".into(), 5));
    assert_eq!(page(HistoryFilter { offset: 3, ..Default::default() }), ("h-c,h-old".into(), 5));
    // Past the end: no rows, still the total.
    assert_eq!(page(HistoryFilter { limit: 2, offset: 9, ..Default::default() }), (String::new(), 5));
    assert_eq!(page(HistoryFilter { repo: Some("/nowhere".into()), ..Default::default() }), (String::new(), 0));
    assert_eq!(
        page(HistoryFilter { repo: Some("/nowhere".into()), offset: 1, ..Default::default() }),
        (String::new(), 0)
    );
}

#[test]
fn history_stats_count_what_the_filter_selects_ignoring_paging() {
    let (_dir, mut store) = fresh();
    seed_history(&mut store);
    let q = store.read();
    let map = |pairs: &[(&str, usize)]| pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>();

    let all = q.history_stats(&HistoryFilter { limit: 1, offset: 3, ..Default::default() }).unwrap();
    assert_eq!(
        all,
        HistoryStats {
            total: 5,
            resolved: 3,
            auto_fixed: 2,
            average_confidence: Some(0.7),
            by_type: map(&[("SEMANTIC", 1), ("STRUCTURAL", 1), ("TRIVIAL", 3)]),
            by_strategy: map(&[("AUTO_FIX", 2), ("MANUAL", 1)]),
        }
    );

    let repo =
        q.history_stats(&HistoryFilter { repo: Some(REPO.into()), file: Some("b.rs".into()), ..Default::default() });
    assert_eq!(
        repo.unwrap(),
        HistoryStats {
            total: 2,
            resolved: 1,
            auto_fixed: 0,
            average_confidence: Some(0.5),
            by_type: map(&[("STRUCTURAL", 1), ("TRIVIAL", 1)]),
            by_strategy: map(&[("MANUAL", 1)]),
        }
    );

    let unresolved = q.history_stats(&HistoryFilter { resolved: Some(false), ..Default::default() }).unwrap();
    assert_eq!(
        unresolved,
        HistoryStats {
            total: 2,
            resolved: 0,
            auto_fixed: 0,
            average_confidence: None,
            by_type: map(&[("SEMANTIC", 1), ("STRUCTURAL", 1)]),
            by_strategy: BTreeMap::new(),
        }
    );

    let none = q.history_stats(&HistoryFilter { repo: Some("/nowhere".into()), ..Default::default() }).unwrap();
    assert_eq!(none, HistoryStats::default());
}

#[test]
fn a_suggestion_is_applied_at_most_once() {
    let (_dir, mut store) = fresh();
    store.write(|tx| tx.insert_suggestion(&suggestion("afs-1", None, REPO, "x.rs", 0.9, 0))).unwrap();

    assert!(store.write(|tx| tx.mark_suggestion_applied("afs-1", at(10), true)).unwrap());
    assert!(!store.write(|tx| tx.mark_suggestion_applied("afs-1", at(20), false)).unwrap());
    let row = store.read().suggestion("afs-1").unwrap().unwrap();
    assert_eq!((row.applied_at, row.was_auto_applied), (Some(at(10)), true));
    assert!(!store.write(|tx| tx.mark_suggestion_applied("afs-9", at(20), false)).unwrap());
}

#[test]
fn a_suggestion_made_again_is_refreshed_until_it_is_applied() {
    let (_dir, mut store) = fresh();
    store.write(|tx| tx.insert_suggestion(&suggestion("afs-1", None, REPO, "x.rs", 0.6, 0))).unwrap();

    assert!(store.write(|tx| tx.refresh_suggestion("afs-1", 0.8, "better record", Some("{}"))).unwrap());
    let row = store.read().suggestion("afs-1").unwrap().unwrap();
    assert_eq!((row.confidence, row.explanation.as_str(), row.metadata.as_deref()), (0.8, "better record", Some("{}")));

    assert!(store.write(|tx| tx.mark_suggestion_applied("afs-1", at(10), false)).unwrap());
    assert!(!store.write(|tx| tx.refresh_suggestion("afs-1", 0.1, "after", None)).unwrap());
    let row = store.read().suggestion("afs-1").unwrap().unwrap();
    assert_eq!((row.confidence, row.explanation.as_str()), (0.8, "better record"), "an applied one keeps its score");
    assert!(!store.write(|tx| tx.refresh_suggestion("afs-9", 0.1, "unknown", None)).unwrap());
}

#[test]
fn of_two_connections_applying_the_same_suggestion_exactly_one_wins() {
    let (dir, mut store) = fresh();
    store.write(|tx| tx.insert_suggestion(&suggestion("afs-1", None, REPO, "x.rs", 0.9, 0))).unwrap();
    let db = dir.path().join("coordinator.db");
    let barrier = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let (db, barrier) = (db.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut store = Store::open(&db).unwrap();
                barrier.wait();
                store.write(|tx| tx.mark_suggestion_applied("afs-1", at(10 + i), false)).unwrap()
            })
        })
        .collect();
    let wins = workers.into_iter().map(|w| w.join().unwrap()).filter(|won| *won).count();
    assert_eq!(wins, 1);
    assert!(store.read().suggestion("afs-1").unwrap().unwrap().applied_at.is_some());
}

#[test]
fn failed_applies_are_counted_in_metadata_whatever_was_there() {
    let (dir, mut store) = fresh();
    let with = |id: &str, metadata: Option<&str>| NewSuggestion {
        metadata: metadata.map(str::to_string),
        ..suggestion(id, None, REPO, "x.rs", 0.9, 0)
    };
    store
        .write(|tx| {
            tx.insert_suggestion(&with("null", None))?;
            tx.insert_suggestion(&with("garbage", Some("not json {")))?;
            tx.insert_suggestion(&with("array", Some("[1,2]")))?;
            tx.insert_suggestion(&with("kept", Some(r#"{"source":"ast","failedApplies":2}"#)))?;
            tx.insert_suggestion(&with("text-count", Some(r#"{"failedApplies":"many"}"#)))
        })
        .unwrap();
    let now = at(60);
    for id in ["null", "garbage", "array", "kept", "text-count"] {
        store.write(|tx| tx.record_failed_apply(id, "patch did not apply", now)).unwrap();
    }
    store.write(|tx| tx.record_failed_apply("null", r#"said "no""#, at(61))).unwrap();
    // An unknown id is not an error and writes nothing.
    store.write(|tx| tx.record_failed_apply("missing", "x", now)).unwrap();

    let conn = raw(&dir);
    let fresh_one = r#"{"failedApplies":1,"lastFailure":"patch did not apply","lastFailureAt":"2025-01-02 03:05:05"}"#;
    assert_eq!(
        metadata(&conn, "null").as_deref(),
        Some(r#"{"failedApplies":2,"lastFailure":"said \"no\"","lastFailureAt":"2025-01-02 03:05:06"}"#)
    );
    assert_eq!(metadata(&conn, "garbage").as_deref(), Some(fresh_one));
    assert_eq!(metadata(&conn, "array").as_deref(), Some(fresh_one));
    assert_eq!(metadata(&conn, "text-count").as_deref(), Some(fresh_one));
    assert_eq!(
        metadata(&conn, "kept").as_deref(),
        Some(
            r#"{"source":"ast","failedApplies":3,"lastFailure":"patch did not apply","lastFailureAt":"2025-01-02 03:05:05"}"#
        )
    );
    assert_eq!(common::count(&conn, "SELECT COUNT(*) FROM auto_fix_suggestions"), 5);
}

#[test]
fn a_strategy_record_counts_applies_and_failed_applies_of_that_strategy_only() {
    let (dir, mut store) = fresh();
    let of = |id: &str, strategy: &str, metadata: Option<&str>| NewSuggestion {
        strategy: strategy.to_string(),
        metadata: metadata.map(str::to_string),
        ..suggestion(id, None, REPO, "x.rs", 0.9, 0)
    };
    store
        .write(|tx| {
            tx.insert_suggestion(&of("t1", "TrivialMerge", Some(r#"{"failedApplies":2}"#)))?;
            tx.insert_suggestion(&of("t2", "TrivialMerge", Some("not json")))?;
            tx.insert_suggestion(&of("t3", "TrivialMerge", None))?;
            tx.insert_suggestion(&of("t4", "TrivialMerge", Some(r#"{"failedApplies":"3"}"#)))?;
            tx.insert_suggestion(&of("t5", "TrivialMerge", Some(r#"{"failedApplies":1.5}"#)))?;
            tx.insert_suggestion(&of("o1", "Other", Some(r#"{"failedApplies":7}"#)))?;
            tx.mark_suggestion_applied("t1", at(5), false)?;
            tx.mark_suggestion_applied("t3", at(5), true)?;
            tx.mark_suggestion_applied("o1", at(5), true)?;
            tx.record_failed_apply("t3", "conflict markers left", at(6))
        })
        .unwrap();
    let q = store.read();
    assert_eq!(q.strategy_record("TrivialMerge").unwrap(), StrategyRecord { applied: 2, failed: 3 });
    assert_eq!(q.strategy_record("Other").unwrap(), StrategyRecord { applied: 1, failed: 7 });
    assert_eq!(q.strategy_record("Unknown").unwrap(), StrategyRecord { applied: 0, failed: 0 });

    raw(&dir)
        .execute("UPDATE auto_fix_suggestions SET deleted_at = '2025-01-03 00:00:00' WHERE id = 't1'", [])
        .unwrap();
    assert_eq!(q.strategy_record("TrivialMerge").unwrap(), StrategyRecord { applied: 1, failed: 1 });
}

#[test]
fn soft_deleted_rows_are_invisible_to_every_query_and_write() {
    let (dir, mut store) = fresh();
    let gone = conflict("gone", REPO, "x.rs", "TRIVIAL", 10);
    store
        .write(|tx| {
            tx.insert_conflict(&gone)?;
            tx.insert_conflict(&conflict("kept", REPO, "x.rs", "TRIVIAL", 0))?;
            tx.insert_suggestion(&suggestion("s-gone", Some("kept"), REPO, "x.rs", 0.9, 0))?;
            tx.insert_suggestion(&suggestion("s-kept", Some("kept"), REPO, "x.rs", 0.5, 0))?;
            tx.resolve_conflict("kept", "AUTO_FIX", Some(0.9), Some("x"), Some("s-gone"), at(20))
        })
        .unwrap();
    let conn = raw(&dir);
    conn.execute_batch(
        "UPDATE conflict_resolutions SET deleted_at = '2025-01-03 00:00:00', deleted_reason = 'test' WHERE id = 'gone';
         UPDATE auto_fix_suggestions SET deleted_at = '2025-01-03 00:00:00', deleted_reason = 'test' WHERE id = 's-gone';",
    )
    .unwrap();

    let q = store.read();
    assert_eq!(q.suggestion("s-gone").unwrap(), None);
    assert_eq!(suggestion_ids(&q.suggestions(&SuggestionFilter::default()).unwrap()), ["s-kept"]);
    assert_eq!(suggestion_ids(&q.suggestions_for_conflict("kept").unwrap()), ["s-kept"]);
    assert_eq!(q.strategy_record("TrivialMerge").unwrap(), StrategyRecord { applied: 0, failed: 0 });
    assert_eq!(q.conflict_record("gone").unwrap(), None);
    assert_eq!(q.find_conflict(REPO, "x.rs", "b0", "s0", "t0", "<<<<<<< gone").unwrap(), None);
    let (rows, total) = q.conflict_history(&HistoryFilter::default()).unwrap();
    assert_eq!((conflict_ids(&rows), total), (vec!["kept"], 1));
    assert_eq!(q.conflict_history(&HistoryFilter { offset: 5, ..Default::default() }).unwrap().1, 1);
    assert_eq!(q.history_stats(&HistoryFilter::default()).unwrap().total, 1);
    // The deleted suggestion that resolved `kept` is no longer joined onto it.
    let kept = q.conflict_record("kept").unwrap().unwrap();
    assert_eq!(kept.auto_fix_suggestion_id.as_deref(), Some("s-gone"));
    assert_eq!((kept.auto_fix_strategy, kept.explanation), (None, None));

    assert!(!store.write(|tx| tx.resolve_conflict("gone", "MANUAL", None, None, None, at(30))).unwrap());
    assert!(!store.write(|tx| tx.mark_suggestion_applied("s-gone", at(30), false)).unwrap());
    store.write(|tx| tx.record_failed_apply("s-gone", "x", at(30))).unwrap();
    assert_eq!(metadata(&conn, "s-gone"), None);
    let applied: Option<String> =
        conn.query_row("SELECT applied_at FROM auto_fix_suggestions WHERE id = 's-gone'", [], |r| r.get(0)).unwrap();
    assert_eq!(applied, None);
}

#[test]
fn a_conflict_outlives_its_session_and_must_name_a_real_one() {
    let (_dir, mut store) = fresh();
    store
        .write(|tx| {
            tx.insert_session(&new_session("s-1", 10, REPO, at(0)))?;
            tx.insert_conflict(&NewConflictRecord {
                session_id: Some("s-1".into()),
                ..conflict("cr-1", REPO, "x.rs", "TRIVIAL", 0)
            })
        })
        .unwrap();
    let unknown = store.write(|tx| {
        tx.insert_conflict(&NewConflictRecord {
            session_id: Some("s-9".into()),
            ..conflict("cr-2", REPO, "x.rs", "TRIVIAL", 0)
        })
    });
    assert!(unknown.is_err());
    assert_eq!(store.read().conflict_record("cr-2").unwrap(), None);

    store.write(|tx| tx.delete_session("s-1")).unwrap();
    let row = store.read().conflict_record("cr-1").unwrap().unwrap();
    assert_eq!(row, unresolved_row(&conflict("cr-1", REPO, "x.rs", "TRIVIAL", 0)));
}

#[test]
fn conflicts_and_suggestions_of_the_typescript_tool_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    common::build_legacy_db(&db, LegacyVersion::V1_1_0);
    let store = Store::open(&db).unwrap();
    let q = store.read();

    let ts = |s: &str| Timestamp::parse(s).unwrap();
    let suggestion = SuggestionRow {
        id: "afs-1".into(),
        conflict_resolution_id: Some("cr-1".into()),
        repo_path: "/home/u/proj".into(),
        file_path: "src/lib.rs".into(),
        conflict_type: "TRIVIAL".into(),
        suggested_resolution: "fn a() {}".into(),
        confidence: 0.92,
        explanation: "whitespace only".into(),
        strategy: "TrivialMerge".into(),
        base_content: "fn a(){}".into(),
        source_content: "fn a() {}".into(),
        target_content: "fn a() { }".into(),
        generated_at: ts("2025-01-02 03:12:00"),
        metadata: None,
        applied_at: None,
        was_auto_applied: false,
    };
    assert_eq!(q.suggestions_for_conflict("cr-1").unwrap(), vec![suggestion]);
    assert_eq!(
        q.conflict_record("cr-1").unwrap(),
        Some(ConflictResolutionRow {
            id: "cr-1".into(),
            session_id: Some("s-wt1".into()),
            repo_path: "/home/u/proj".into(),
            file_path: "src/lib.rs".into(),
            conflict_type: "TRIVIAL".into(),
            base_commit: "b0".into(),
            source_commit: "s0".into(),
            target_commit: "t0".into(),
            resolution_strategy: Some("AUTO_FIX".into()),
            confidence: Some(0.92),
            conflict_markers: "<<<<<<< ours".into(),
            resolved_content: None,
            detected_at: ts("2025-01-02 03:11:00"),
            resolved_at: None,
            auto_fix_suggestion_id: Some("afs-1".into()),
            metadata: None,
            auto_fix_strategy: Some("TrivialMerge".into()),
            explanation: Some("whitespace only".into()),
        })
    );
    // The original wrote a strategy without a resolution time: the row counts under its strategy,
    // not as resolved.
    let stats = q.history_stats(&HistoryFilter::default()).unwrap();
    assert_eq!((stats.total, stats.resolved, stats.auto_fixed), (1, 0, 1));
    assert_eq!(stats.by_strategy, BTreeMap::from([("AUTO_FIX".to_string(), 1)]));
}
