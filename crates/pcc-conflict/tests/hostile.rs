//! Hostile input: every case must come back (no panic) in bounded time with either an analysis
//! or a clear "not analysed because…", and suggestions must stay consistent with it.
//!
//! The time bound (5 s, the limit) is checked on a debug build, which is several times
//! slower than release; it guards against blow-ups (quadratic diffs, runaway parses), not speed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use pcc_conflict::{ConflictFile, Method, Record, Sides};

const LIMIT: Duration = Duration::from_secs(5);

fn run(path: &str, base: &[u8], ours: &[u8], theirs: &[u8]) -> (ConflictFile, Duration) {
    let start = Instant::now();
    let f = ConflictFile::analyze(&Sides { path, base, ours, theirs, ours_label: "ours", theirs_label: "theirs" });
    let suggestions = f.suggest(&|_| Record::default());
    let took = start.elapsed();
    for s in &suggestions {
        assert!(!(s.markers_remaining || s.parses == Some(false)) || s.confidence < 0.5);
    }
    assert!(took < LIMIT, "{path}: took {took:?}");
    (f, took)
}

#[test]
fn a_50_mb_file_is_not_analysed() {
    let big = "x".repeat(80).repeat(50 * 1024 * 1024 / 80).replace("xxxxxxxxxx", "xxxxxxxxx\n");
    let ours = format!("{big}ours\n");
    let theirs = format!("{big}theirs\n");
    let (f, _) = run("big.ts", big.as_bytes(), ours.as_bytes(), theirs.as_bytes());
    let reason = f.analysis().not_analysed.clone().unwrap();
    assert!(reason.starts_with("not analysed because base is 50.0 MiB"), "{reason}");
    assert!(f.suggest(&|_| Record::default()).is_empty());
}

#[test]
fn nul_bytes_mean_binary() {
    let (f, _) = run("a.rs", b"fn a() {}\n", b"fn a() {}\0\n", b"fn b() {}\n");
    assert_eq!(
        f.analysis().not_analysed.as_deref(),
        Some("not analysed because ours is binary (it contains NUL bytes)")
    );
}

#[test]
fn invalid_utf8_is_refused_with_where() {
    let (f, _) = run("a.py", b"x = 1\n", b"x = 2\n", b"x = \xff\xfe\n");
    assert_eq!(
        f.analysis().not_analysed.as_deref(),
        Some("not analysed because theirs is not valid UTF-8 (at byte 4)")
    );
}

#[test]
fn a_100_000_level_expression_does_not_overflow() {
    for (path, open, close) in
        [("deep.ts", "(", ")"), ("deep.py", "[", "]"), ("deep.rs", "(", ")"), ("deep.go", "(", ")")]
    {
        let deep = format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
        let stmt = |name: &str| match path {
            "deep.ts" => format!("const {name} = {deep};\n"),
            "deep.py" => format!("{name} = {deep}\n"),
            "deep.rs" => format!("const {name}: i32 = {deep};\n"),
            _ => format!("var {name} = {deep}\n"),
        };
        let head = if path == "deep.go" { "package p\n\n" } else { "" };
        let base = format!("{head}{}", stmt("a"));
        let ours = format!("{head}{}{}", stmt("a"), stmt("b"));
        let theirs = format!("{head}{}{}", stmt("a"), stmt("c"));
        let (f, _) = run(path, base.as_bytes(), ours.as_bytes(), theirs.as_bytes());
        let a = f.analysis();
        assert!(a.not_analysed.is_none());
        assert_eq!(a.regions.len(), 1, "{path}");
        // Either parsed, or line analysis with the reason said.
        if a.method == Method::Lines {
            assert!(a.fallback_reason.is_some(), "{path}: line analysis without a reason");
        }
    }
}

#[test]
fn ten_thousand_conflict_regions_are_refused_quickly() {
    let mut base = String::new();
    let mut ours = String::new();
    let mut theirs = String::new();
    for i in 0..10_000 {
        let keep = format!("// section {i}\n");
        base.push_str(&keep);
        ours.push_str(&keep);
        theirs.push_str(&keep);
        base.push_str(&format!("let v{i} = {i};\n"));
        ours.push_str(&format!("let v{i} = {i} + 1;\n"));
        theirs.push_str(&format!("let v{i} = {i} + 2;\n"));
    }
    let (f, _) = run("many.js", base.as_bytes(), ours.as_bytes(), theirs.as_bytes());
    assert_eq!(
        f.analysis().not_analysed.as_deref(),
        Some("not analysed because it has 10000 conflicting regions (at most 1000 are analysed)")
    );
}

#[test]
fn a_thousand_regions_are_analysed() {
    let mut base = String::new();
    let mut ours = String::new();
    let mut theirs = String::new();
    for i in 0..1_000 {
        base.push_str(&format!("function f{i}() {{\n  return {i};\n}}\n"));
        ours.push_str(&format!("function f{i}() {{\n  return {i} + 1;\n}}\n"));
        theirs.push_str(&format!("function f{i}() {{\n  return {i} + 2;\n}}\n"));
    }
    let (f, _) = run("many.js", base.as_bytes(), ours.as_bytes(), theirs.as_bytes());
    assert_eq!(f.analysis().regions.len(), 1_000);
}

#[test]
fn garbage_in_a_parsed_language_is_analysed_by_lines_or_with_diagnostics() {
    let base = "}{)(][ fn fn fn\n".repeat(2000);
    let ours = format!("{base}ours ((((\n");
    let theirs = format!("{base}theirs ))))\n");
    let (f, _) = run("junk.rs", base.as_bytes(), ours.as_bytes(), theirs.as_bytes());
    let a = f.analysis();
    assert_eq!(a.regions.len(), 1);
    assert!(a.method == Method::Lines || !a.diagnostics.is_empty());
}
