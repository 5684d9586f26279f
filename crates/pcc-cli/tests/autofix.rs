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
    // One file only, named as the conflict lists it, from the current directory or absolutely.
    for name in ["m.ts", "./m.ts", r.path.join("m.ts").to_str().unwrap()] {
        let doc = pcc_in(&env, &r.path, &["conflicts", "analyze", "--file", name]).expect_code(3).json();
        assert_eq!(doc["conflicts"].as_array().unwrap().len(), 1, "{name}: {doc:#}");
        assert_eq!(doc["conflicts"][0]["filePath"], "m.ts");
    }
    std::fs::create_dir(r.path.join("sub")).unwrap();
    let doc = pcc_in(&env, &r.path.join("sub"), &["conflicts", "analyze", "--file", "../m.ts"]).expect_code(3).json();
    assert_eq!(doc["conflicts"][0]["filePath"], "m.ts");
    // A file that does not conflict is an answer, not an error; a path outside the checkout is.
    let doc = pcc_in(&env, &r.path, &["conflicts", "analyze", "--file", "nope.ts"]).ok().json();
    assert_eq!(doc["hasConflicts"], false);
    assert_eq!(doc["note"], "nope.ts does not conflict when merging feature into main");
    let out = pcc_in(&env, &r.path, &["conflicts", "analyze", "--file", "/etc/passwd"]).expect_code(2);
    assert!(out.stdout.contains("is not a file in the checkout"), "{out:?}");
}

/// `git merge main` in the feature checkout, stopped on both files.
fn start_merge(r: &TestRepo<'_>) {
    assert!(r.git(&["merge", "-q", "main"]).is_err(), "the merge stops on the conflicts");
}

fn best_suggestion(env: &Env, dir: &Path) -> String {
    let doc = pcc_in(env, dir, &["suggestions", "generate", "--file", "m.ts"]).ok().json();
    let best = &doc["suggestions"][0];
    assert_eq!(best["strategy"], "declaration-merge", "{doc:#}");
    best["suggestionId"].as_str().unwrap().to_string()
}

#[test]
fn generate_apply_in_the_stopped_merge_once_and_history_is_real() {
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

    // No merge is stopped on the file: writing it would settle nothing, so it is refused.
    let out = pcc_in(&env, &r.path, &["suggestions", "apply", &id]).expect_code(1);
    assert!(out.stdout.contains("no merge is stopped on m.ts"), "{out:?}");
    assert!(out.stdout.contains("git merge main"), "the hint says what to do: {out:?}");
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), FEATURE);

    start_merge(&r);
    let conflicted = std::fs::read_to_string(r.path.join("m.ts")).unwrap();
    assert!(conflicted.contains("<<<<<<<"));
    // A dry run changes nothing.
    let dry = pcc_in(&env, &r.path, &["suggestions", "apply", &id, "--dry-run"]).ok().json();
    assert_eq!(dry["applied"], false);
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), conflicted);

    let done = pcc_in(&env, &r.path, &["suggestions", "apply", &id]).ok().json();
    assert_eq!(done["applied"], true);
    assert_eq!(done["mode"], "merge");
    assert_eq!(done["filePath"], "m.ts");
    assert_eq!(done["verification"]["conflictMarkersRemaining"], false);
    assert_eq!(done["verification"]["syntaxValid"], true);
    assert!(done["message"].as_str().unwrap().contains("git add m.ts"), "{done:#}");
    // Only the target file changed, and the old one is kept.
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), MERGED);
    assert!(std::fs::read_to_string(r.path.join("notes.txt")).unwrap().contains("<<<<<<<"));
    let backup = done["backupPath"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(backup).unwrap(), conflicted);

    // A second apply is refused, saying why, and touches nothing.
    let second = pcc_in(&env, &r.path, &["suggestions", "apply", &id]).expect_code(1);
    assert!(second.stderr.contains("already applied") || second.stdout.contains("already applied"), "{second:?}");
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), MERGED);
    // Generating again mid-merge finds the same conflict, resolved: one conflict in the history.
    let again = pcc_in(&env, &r.path, &["suggestions", "generate", "--file", "m.ts"]).ok().json();
    assert_eq!(again["suggestions"][0]["suggestionId"], id.as_str());
    assert!(again["suggestions"][0]["appliedAt"].is_string());

    let history = pcc_in(&env, &r.path, &["conflicts", "history"]).ok().json();
    assert_eq!(history["total"], 1, "{history:#}");
    let entry = &history["history"][0];
    assert_eq!(entry["filePath"], "m.ts");
    assert_eq!(entry["resolutionStrategy"], "AUTO_FIX");
    assert_eq!(entry["autoFixStrategy"], "declaration-merge");
    assert!(entry["resolvedAt"].is_string());
    let stats = &history["statistics"];
    assert_eq!((stats["totalResolutions"].as_u64(), stats["detected"].as_u64()), (Some(1), Some(1)), "{stats:#}");
    assert_eq!(stats["unresolved"], 0);
    assert_eq!(stats["autoFixRate"], 1.0);
    assert_eq!(stats["byStrategy"], serde_json::json!({"AUTO_FIX": 1}));
    // The original's bare `conflicts --json` reads the same history.
    let bare = pcc_in(&env, &r.path, &["conflicts"]).ok().json();
    assert_eq!(bare["resolutions"][0]["resolutionId"], entry["resolutionId"]);

    let explain = pcc_in(&env, &r.path, &["suggestions", "explain", &id]).ok().json();
    assert!(explain["diff"].as_str().unwrap().contains("+export function c(): number {"));
    assert_eq!(explain["factors"]["validity"], 1.0);

    // The merge finishes with the resolution, and the branches no longer conflict there.
    r.write("notes.txt", "todo: feature and main\n").unwrap();
    r.git(&["add", "m.ts", "notes.txt"]).unwrap();
    r.git(&["commit", "-q", "--no-edit"]).unwrap();
    let doc = pcc_in(&env, &r.path, &["conflicts", "analyze"]).ok().json();
    assert_eq!(doc["hasConflicts"], false, "{doc:#}");
}

#[test]
fn force_writes_it_as_an_edit_and_a_file_that_already_holds_it_is_recorded() {
    let env = Env::new();
    let r = repo(&env);
    let id = best_suggestion(&env, &r.path);
    let done = pcc_in(&env, &r.path, &["suggestions", "apply", &id, "--force"]).ok().json();
    assert_eq!((done["applied"].as_bool(), done["mode"].as_str()), (Some(true), Some("edit")), "{done:#}");
    assert!(done["message"].as_str().unwrap().contains("merging main will still stop on this file"), "{done:#}");
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), MERGED);

    // Resolved by hand to the same bytes: applying records it, and writes nothing.
    let env = Env::new();
    let r = repo(&env);
    let id = best_suggestion(&env, &r.path);
    start_merge(&r);
    r.write("m.ts", MERGED).unwrap();
    let done = pcc_in(&env, &r.path, &["suggestions", "apply", &id]).ok().json();
    assert_eq!((done["applied"].as_bool(), done["mode"].as_str()), (Some(true), Some("unchanged")), "{done:#}");
    assert_eq!(done["backupPath"], serde_json::Value::Null);
    let history = pcc_in(&env, &r.path, &["conflicts", "history"]).ok().json();
    assert_eq!(history["statistics"]["totalResolutions"], 1, "{history:#}");
}

#[test]
fn apply_refuses_a_merge_that_is_not_the_one_it_was_made_for() {
    let env = Env::new();
    let r = repo(&env);
    let id = best_suggestion(&env, &r.path);
    // main moves on after the suggestion was made: git's merge now has other versions.
    r.git(&["checkout", "-q", "main"]).unwrap();
    r.write("m.ts", &MAIN.replace("return 3;", "return 33;")).unwrap();
    r.commit_all("main again").unwrap();
    r.git(&["checkout", "-q", "feature"]).unwrap();
    start_merge(&r);
    let conflicted = std::fs::read_to_string(r.path.join("m.ts")).unwrap();
    let out = pcc_in(&env, &r.path, &["suggestions", "apply", &id]).expect_code(1);
    assert!(out.stdout.contains("is not the one suggestion"), "{out:?}");
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), conflicted, "nothing written");
    // Suggestions made for the merge in progress apply.
    let fresh = best_suggestion(&env, &r.path);
    assert_ne!(fresh, id);
    let done = pcc_in(&env, &r.path, &["suggestions", "apply", &fresh]).ok().json();
    assert_eq!(done["mode"], "merge");
    assert!(std::fs::read_to_string(r.path.join("m.ts")).unwrap().contains("return 33;"));
}

#[test]
fn the_conflict_is_recorded_with_the_session_working_in_the_checkout() {
    let env = Env::new();
    let r = repo(&env);
    let agent = common::Sleeper::new();
    let reg = env.register(&r.path, agent.pid(), &["--no-worktree"]);
    let session = reg["sessionId"].as_str().unwrap();
    best_suggestion(&env, &r.path);
    let history = pcc_in(&env, &r.path, &["conflicts", "history"]).ok().json();
    assert_eq!(history["history"][0]["sessionId"], session, "{history:#}");
}

#[test]
fn apply_refuses_a_file_that_changed_since() {
    let env = Env::new();
    let r = repo(&env);
    let doc = pcc_in(&env, &r.path, &["suggestions", "generate", "--file", "m.ts"]).ok().json();
    let id = doc["suggestions"][0]["suggestionId"].as_str().unwrap().to_string();
    let edited = format!("{FEATURE}// work in progress\n");
    r.write("m.ts", &edited).unwrap();
    let out = pcc_in(&env, &r.path, &["suggestions", "apply", &id, "--force"]).expect_code(1);
    assert!(out.stdout.contains("has changed since"), "{out:?}");
    assert_eq!(std::fs::read_to_string(r.path.join("m.ts")).unwrap(), edited, "the user's edit is kept");
    pcc_in(&env, &r.path, &["suggestions", "apply", "no-such-id"]).expect_code(1);
}
