//! Conflict analysis and auto-fix end to end (PRODUCT.md §5): `conflicts analyze`,
//! `suggestions generate|list|explain|apply`, `conflicts history`, with real repositories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{Env, Out, RunExt};
use pcc_testkit::TestRepo;

fn pcc_in(env: &Env, dir: &Path, args: &[&str]) -> Out {
    env.pcc().current_dir(dir).arg("--json").args(args).out()
}

const BASE: &str = "export function a(): number {\n  return 1;\n}\n";
const FEATURE: &str =
    "export function a(): number {\n  return 1;\n}\n\nexport function b(): number {\n  return 2;\n}\n";
const MAIN: &str = "export function a(): number {\n  return 1;\n}\n\nexport function c(): number {\n  return 3;\n}\n";
const MERGED: &str = "export function a(): number {\n  return 1;\n}\n\nexport function b(): number {\n  return 2;\n}\n\nexport function c(): number {\n  return 3;\n}\n";

/// `feature` and `main` each append a different function to m.ts, and both change notes.txt's
/// one line differently; `feature` is checked out.
fn repo(env: &Env) -> TestRepo<'_> {
    let r = env.repo("repo");
    r.write("m.ts", BASE).unwrap();
    r.write("notes.txt", "todo\n").unwrap();
    r.commit_all("base").unwrap();
    r.git(&["checkout", "-q", "-b", "feature"]).unwrap();
    r.write("m.ts", FEATURE).unwrap();
    r.write("notes.txt", "todo: feature\n").unwrap();
    r.commit_all("feature").unwrap();
    r.git(&["checkout", "-q", "main"]).unwrap();
    r.write("m.ts", MAIN).unwrap();
    r.write("notes.txt", "todo: main\n").unwrap();
    r.commit_all("main").unwrap();
    r.git(&["checkout", "-q", "feature"]).unwrap();
    r
}

#[test]
fn analyze_classifies_each_file_and_says_how() {
    let env = Env::new();
    let r = repo(&env);
    let doc = pcc_in(&env, &r.path, &["conflicts", "analyze"]).expect_code(3).json();
    assert_eq!(doc["source"], "feature");
    assert_eq!(doc["target"], "main");
    let files = doc["conflicts"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{doc:#}");
    let ts = files.iter().find(|f| f["filePath"] == "m.ts").unwrap();
    assert_eq!(ts["conflictType"], "STRUCTURAL");
    assert_eq!(ts["severity"], "LOW");
    assert_eq!(ts["method"], "tree-sitter");
    assert_eq!(ts["language"], "typescript");
    assert_eq!(ts["regions"][0]["reason"], "both sides only added declarations");
    let txt = files.iter().find(|f| f["filePath"] == "notes.txt").unwrap();
    assert_eq!(txt["conflictType"], "CONCURRENT_EDIT");
    assert_eq!(txt["method"], "lines");
    assert_eq!(doc["summary"]["totalConflicts"], 2);
    assert_eq!(doc["summary"]["autoFixableCount"], 1);
    // One file only; a file that does not conflict is an error, not an empty answer.
    let doc = pcc_in(&env, &r.path, &["conflicts", "analyze", "--file", "m.ts"]).expect_code(3).json();
    assert_eq!(doc["conflicts"].as_array().unwrap().len(), 1);
    pcc_in(&env, &r.path, &["conflicts", "analyze", "--file", "nope.ts"]).expect_code(2);
}

#[test]
fn generate_apply_once_and_history_is_real() {
    let env = Env::new();
    let r = repo(&env);
    let doc = pcc_in(&env, &r.path, &["suggestions", "generate", "--file", "m.ts"]).ok().json();
    let best = &doc["suggestions"][0];
    assert_eq!(best["strategy"], "declaration-merge", "{doc:#}");
    assert!(best["confidence"].as_f64().unwrap() >= 0.8);
    assert_eq!(best["canAutoApply"], true);
    let id = best["suggestionId"].as_str().unwrap().to_string();
    // Generating again stores nothing new: the same ids come back.
    let again = pcc_in(&env, &r.path, &["suggestions", "generate", "--file", "m.ts"]).ok().json();
    assert_eq!(again["suggestions"][0]["suggestionId"], id.as_str());
    let listed = pcc_in(&env, &r.path, &["suggestions", "--min-confidence", "0"]).ok().json();
    assert_eq!(listed["total"], 2, "declaration-merge and keep-both: {listed:#}");

    // A dry run changes nothing.
    let dry = pcc_in(&env, &r.path, &["suggestions", "apply", &id, "--dry-run"]).ok().json();
    assert_eq!(dry["applied"], false);
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), FEATURE);

    let done = pcc_in(&env, &r.path, &["suggestions", "apply", &id]).ok().json();
    assert_eq!(done["applied"], true);
    assert_eq!(done["verification"]["conflictMarkersRemaining"], false);
    assert_eq!(done["verification"]["syntaxValid"], true);
    // Only the target file changed, and the old one is kept.
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), MERGED);
    assert_eq!(std::fs::read_to_string(r.path.join("notes.txt")).unwrap(), "todo: feature\n");
    let backup = done["backupPath"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(backup).unwrap(), FEATURE);
    assert_eq!(r.git(&["status", "--porcelain"]).unwrap().trim(), "M m.ts");

    // A second apply is refused, saying why, and touches nothing.
    let second = pcc_in(&env, &r.path, &["suggestions", "apply", &id]).expect_code(1);
    assert!(second.stderr.contains("already applied") || second.stdout.contains("already applied"), "{second:?}");
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), MERGED);

    let history = pcc_in(&env, &r.path, &["conflicts", "history"]).ok().json();
    assert_eq!(history["total"], 1, "{history:#}");
    let entry = &history["history"][0];
    assert_eq!(entry["filePath"], "m.ts");
    assert_eq!(entry["resolutionStrategy"], "AUTO_FIX");
    assert_eq!(entry["autoFixStrategy"], "declaration-merge");
    assert!(entry["resolvedAt"].is_string());
    assert_eq!(history["statistics"]["autoFixRate"], 1.0);
    // The original's bare `conflicts --json` reads the same history.
    let bare = pcc_in(&env, &r.path, &["conflicts"]).ok().json();
    assert_eq!(bare["resolutions"][0]["resolutionId"], entry["resolutionId"]);

    let explain = pcc_in(&env, &r.path, &["suggestions", "explain", &id]).ok().json();
    assert!(explain["diff"].as_str().unwrap().contains("+export function c(): number {"));
    assert_eq!(explain["factors"]["validity"], 1.0);
}

#[test]
fn apply_refuses_a_file_that_changed_since() {
    let env = Env::new();
    let r = repo(&env);
    let doc = pcc_in(&env, &r.path, &["suggestions", "generate", "--file", "m.ts"]).ok().json();
    let id = doc["suggestions"][0]["suggestionId"].as_str().unwrap().to_string();
    let edited = format!("{FEATURE}// work in progress\n");
    r.write("m.ts", &edited).unwrap();
    let out = pcc_in(&env, &r.path, &["suggestions", "apply", &id]).expect_code(1);
    assert!(out.stdout.contains("apply_refused") || out.stderr.contains("has changed since"), "{out:?}");
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), edited, "the user's edit is kept");
    pcc_in(&env, &r.path, &["suggestions", "apply", "no-such-id"]).expect_code(1);
}
