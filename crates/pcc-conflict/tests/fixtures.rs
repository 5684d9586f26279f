//! The fixture suite: every directory under `tests/fixtures/<group>/<case>/` holds
//! `base.*`, `ours.*`, `theirs.*`, the resolution a careful human would write (`expected.*`),
//! and `case` (`key = value` lines: `class`, `strategy`, `note`). One helper checks every rule
//! on every case, so adding a case is adding a directory.
//!
//! For each case:
//! - the file's class is `class`;
//! - every suggestion with confidence ≥ 0.8 is byte for byte `expected` (a wrong confident answer
//!   fails the suite);
//! - `strategy = <name>`: that strategy makes a suggestion with confidence ≥ 0.8;
//!   `strategy = none`: no suggestion reaches 0.8;
//! - no suggestion that keeps conflict markers or does not parse reaches 0.5.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pcc_conflict::{ConflictFile, ConflictType, Record, Sides, Strategy};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for group in fs::read_dir(&root).expect("tests/fixtures exists") {
        let group = group.unwrap().path();
        if !group.is_dir() {
            continue;
        }
        for case in fs::read_dir(&group).unwrap() {
            let case = case.unwrap().path();
            if case.join("case").is_file() {
                out.push(case);
            }
        }
    }
    out.sort();
    out
}

fn read_case(dir: &Path) -> (BTreeMap<String, String>, String, [Vec<u8>; 4]) {
    let meta: BTreeMap<String, String> = fs::read_to_string(dir.join("case"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.split('#').next().unwrap_or("").trim().to_string()))
        .collect();
    let mut ext = None;
    for e in fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(x) = name.strip_prefix("base.") {
            ext = Some(x.to_string());
        }
    }
    let ext = ext.unwrap_or_else(|| panic!("{}: no base.* file", dir.display()));
    let read = |side: &str| {
        fs::read(dir.join(format!("{side}.{ext}"))).unwrap_or_else(|e| panic!("{}: {side}.{ext}: {e}", dir.display()))
    };
    (meta, format!("src/file.{ext}"), [read("base"), read("ours"), read("theirs"), read("expected")])
}

/// Check one case; the problems found, in words.
fn check(dir: &Path) -> Vec<String> {
    let (meta, path, [base, ours, theirs, expected]) = read_case(dir);
    let mut problems = Vec::new();
    let file = ConflictFile::analyze(&Sides {
        path: &path,
        base: &base,
        ours: &ours,
        theirs: &theirs,
        ours_label: "ours",
        theirs_label: "theirs",
    });
    let a = file.analysis();
    if let Some(reason) = &a.not_analysed {
        return vec![format!("not analysed: {reason}")];
    }
    if a.regions.is_empty() {
        problems.push("no conflicting region found (is the case a real conflict?)".into());
    }
    let want_class = meta.get("class").and_then(|c| ConflictType::parse(c));
    if want_class.is_none() {
        problems.push("case has no valid `class`".into());
    }
    if a.class != want_class {
        problems.push(format!(
            "class {:?}, expected {:?}; regions: {:?}; semantic issues: {:?}",
            a.class.map(|c| c.as_str()),
            want_class.map(|c| c.as_str()),
            a.regions.iter().map(|r| format!("{} ({})", r.class.as_str(), r.reason)).collect::<Vec<_>>(),
            a.semantic_issues
        ));
    }
    let expected = String::from_utf8(expected).unwrap();
    let suggestions = file.suggest(&|_| Record::default());
    for s in &suggestions {
        if s.confidence >= 0.8 && s.resolved != expected {
            problems.push(format!(
                "{} claims {:.3} but differs from expected:\n{}",
                s.strategy.as_str(),
                s.confidence,
                diff(&expected, &s.resolved)
            ));
        }
        if (s.markers_remaining || s.parses == Some(false)) && s.confidence >= 0.5 {
            problems.push(format!(
                "{} leaves markers or a parse error yet scores {:.3}",
                s.strategy.as_str(),
                s.confidence
            ));
        }
    }
    match meta.get("strategy").map(String::as_str) {
        Some("none") => {
            if let Some(s) = suggestions.iter().find(|s| s.confidence >= 0.8) {
                problems.push(format!(
                    "no strategy should be confident, but {} claims {:.3}",
                    s.strategy.as_str(),
                    s.confidence
                ));
            }
        }
        Some(name) => match Strategy::parse(name) {
            Some(want) => {
                let got = suggestions.iter().find(|s| s.strategy == want);
                match got {
                    Some(s) if s.confidence >= 0.8 => {}
                    Some(s) => problems.push(format!(
                        "{name} scored only {:.3} ({:?}); risks: {:?}; result:\n{}",
                        s.confidence,
                        s.factors,
                        s.risks,
                        diff(&expected, &s.resolved)
                    )),
                    None => problems.push(format!(
                        "{name} made no suggestion; got {:?}",
                        suggestions.iter().map(|s| (s.strategy.as_str(), s.confidence)).collect::<Vec<_>>()
                    )),
                }
            }
            None => problems.push(format!("unknown strategy {name}")),
        },
        None => problems.push("case has no `strategy`".into()),
    }
    problems
}

fn diff(expected: &str, got: &str) -> String {
    diffy::create_patch(expected, got).to_string()
}

#[test]
fn every_fixture_holds() {
    let cases = cases();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for dir in &cases {
        let problems = check(dir);
        if !problems.is_empty() {
            let name = dir.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_or(dir);
            failures.push(format!("{}:\n  {}", name.display(), problems.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} fixtures fail:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[test]
fn every_class_and_strategy_is_covered() {
    let mut classes = BTreeMap::new();
    let mut strategies = BTreeMap::new();
    for dir in cases() {
        let (meta, ..) = read_case(&dir);
        *classes.entry(meta.get("class").cloned().unwrap_or_default()).or_insert(0) += 1;
        *strategies.entry(meta.get("strategy").cloned().unwrap_or_default()).or_insert(0) += 1;
    }
    for c in ["TRIVIAL", "STRUCTURAL", "SEMANTIC", "CONCURRENT_EDIT"] {
        assert!(classes.get(c).copied().unwrap_or(0) >= 3, "fewer than 3 {c} cases: {classes:?}");
    }
    for s in ["whitespace", "import-union", "declaration-merge", "none"] {
        assert!(strategies.get(s).copied().unwrap_or(0) >= 3, "fewer than 3 {s} cases: {strategies:?}");
    }
}
