//! Every tool through a real MCP session, in process over a duplex pipe (PRODUCT.md §6): the
//! server acts for session B, in its worktree, next to sessions A and M of the same repository.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Session, World, connect, world};
use pcc_mcp::Identity;
use serde_json::{Value, json};

fn ids(sessions: &Value) -> Vec<String> {
    sessions.as_array().unwrap().iter().map(|s| s["sessionId"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn status_and_identity_work_from_inside_a_worktree() {
    let w = world();
    let mut b = connect(&w.env.data_dir(), w.b.identity()).await;
    let status = b.ok("get_parallel_status", json!({})).await;
    let listed = ids(&status["sessions"]);
    assert!(listed.contains(&w.a.id) && listed.contains(&w.b.id) && listed.contains(&w.m.id), "{status}");
    assert_eq!(status["repoPath"], w.repo.to_str().unwrap(), "keyed on the main worktree");
    // repo_path given as the worktree: the same repository.
    let again = b.ok("get_parallel_status", json!({"repo_path": w.a.worktree})).await;
    assert_eq!(again["totalSessions"], 3);

    let me = b.ok("get_my_session", json!({})).await;
    assert_eq!(me["sessionId"], w.b.id.as_str());
    assert_eq!(me["parallelSessions"], 3);
    assert_eq!(me["isMainRepo"], false);
    assert_eq!(me["branch"], w.b.branch());

    // PARALLEL_CC_SESSION_ID with a working directory elsewhere: the session's checkout is where
    // it works (relative paths, the repository).
    let mut elsewhere =
        connect(&w.env.data_dir(), Identity { session_id: Some(w.b.id.clone()), cwd: w.env.root() }).await;
    let claimed = elsewhere.ok("claim_file", json!({"filePath": "notes.txt", "mode": "INTENT"})).await;
    assert_eq!(claimed["claim"]["filePath"], "notes.txt");
    assert_eq!(claimed["claim"]["sessionId"], w.b.id.as_str());
    assert_eq!(elsewhere.ok("get_overlaps", json!({})).await["repoPath"], w.repo.to_str().unwrap());

    // Without PARALLEL_CC_SESSION_ID: the session whose checkout holds the working directory.
    std::fs::create_dir_all(w.a.worktree.join("src")).unwrap();
    let mut by_cwd = connect(&w.env.data_dir(), Identity { session_id: None, cwd: w.a.worktree.join("src") }).await;
    assert_eq!(by_cwd.ok("get_my_session", json!({})).await["sessionId"], w.a.id.as_str());

    // Outside any session: a tool error that says what to do.
    let outside = w.env.root();
    let mut nobody = connect(&w.env.data_dir(), Identity { session_id: None, cwd: outside }).await;
    let err = nobody.fails("get_my_session", json!({})).await;
    assert!(err.contains("no parallel-cc session") && err.contains("PARALLEL_CC_SESSION_ID"), "{err}");
}

#[tokio::test]
async fn claims_meet_across_worktrees_and_a_conflict_names_the_holder() {
    let w = world();
    let mut a = connect(&w.env.data_dir(), w.a.identity()).await;
    let mut b = connect(&w.env.data_dir(), w.b.identity()).await;

    let held = a.ok("claim_file", json!({"filePath": "src/lib.rs", "reason": "refactoring"})).await;
    assert_eq!(held["success"], true);
    assert_eq!(held["claim"]["claimMode"], "EXCLUSIVE");
    let a_claim = held["claimId"].as_str().unwrap().to_string();

    let err = b.fails("claim_file", json!({"filePath": "src/lib.rs", "mode": "SHARED"})).await;
    assert!(err.contains(&w.a.id) && err.contains("EXCLUSIVE") && err.contains("claim_conflict"), "{err}");

    let listed = b.ok("list_file_claims", json!({"filePaths": ["src/lib.rs", "notes.txt"]})).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["claims"][0]["sessionId"], w.a.id.as_str());
    assert_eq!(listed["claims"][0]["reason"], "refactoring");
    // The original reference's name and shape, answered by the same tool.
    let legacy = b.ok("listFileClaims", json!({"filePath": "src/lib.rs"})).await;
    assert_eq!(legacy["claims"][0]["claimId"], a_claim.as_str());
    let none = b.ok("list_file_claims", json!({"filePaths": ["notes.txt"]})).await;
    assert_eq!(none["total"], 0);

    // B: an INTENT claim by the documented legacy name, escalated, released.
    let mine = b.ok("claimFile", json!({"filePath": "notes.txt", "claimType": "INTENT"})).await;
    assert_eq!(mine["claim"]["claimMode"], "INTENT");
    let mine = mine["claimId"].as_str().unwrap().to_string();
    let up = b.ok("escalate_claim", json!({"claimId": mine, "mode": "EXCLUSIVE"})).await;
    assert_eq!(up["claim"]["claimMode"], "EXCLUSIVE");
    assert_eq!(up["claim"]["escalatedFrom"], "INTENT");
    let err = b.fails("escalate_claim", json!({"claimId": mine, "mode": "SHARED"})).await;
    assert!(err.contains("only goes up"), "{err}");

    // Someone else's claim: not without force.
    let err = b.fails("release_file", json!({"claimId": a_claim})).await;
    assert!(err.contains(&w.a.id), "{err}");
    let gone = b.ok("release_file", json!({"claimId": mine})).await;
    assert_eq!(gone["success"], true);
    assert!(gone["releasedAt"].is_string(), "{gone}");
    a.ok("releaseFile", json!({"claimId": a_claim})).await;
    assert_eq!(b.ok("list_file_claims", json!({})).await["total"], 0);
    let history = b.ok("list_file_claims", json!({"includeExpired": true})).await;
    assert_eq!(history["total"], 2);
}

/// A and B change the same lines of src/lib.rs on their branches.
fn clash(w: &World) {
    w.commit(&w.a.worktree, "src/lib.rs", "pub fn a() -> u32 {\n    2\n}\n");
    w.commit(&w.b.worktree, "src/lib.rs", "pub fn a() -> u32 {\n    3\n}\n");
}

#[tokio::test]
async fn conflicts_are_predicted_between_the_sessions_branches() {
    let w = world();
    clash(&w);
    let mut b = connect(&w.env.data_dir(), w.b.identity()).await;

    let check = b.ok("check_conflicts", json!({"currentBranch": w.a.branch(), "targetBranch": w.b.branch()})).await;
    assert_eq!(check["hasConflicts"], true, "{check}");
    assert_eq!(check["conflictingFiles"], json!(["src/lib.rs"]));
    assert!(check["summary"].as_str().unwrap().contains("src/lib.rs"));
    assert!(!check["guidance"].as_array().unwrap().is_empty());
    let clean = b.ok("check_conflicts", json!({"currentBranch": w.a.branch(), "targetBranch": "main"})).await;
    assert_eq!(clean["hasConflicts"], false);

    // B's working state (with an uncommitted file), against A's branch.
    pcc_testkit::write_file(&w.b.worktree, "scratch.txt", b"wip\n").unwrap();
    let working = b
        .ok(
            "check_conflicts",
            json!({"currentBranch": w.b.branch(), "targetBranch": w.a.branch(), "includeUncommitted": true}),
        )
        .await;
    assert_eq!(working["hasConflicts"], true);
    assert!(working["source"].as_str().unwrap().starts_with("working state"));
    let err = b
        .fails(
            "check_conflicts",
            json!({"currentBranch": w.a.branch(), "targetBranch": "main", "includeUncommitted": true}),
        )
        .await;
    assert!(err.contains("not the branch checked out"), "{err}");

    let head = w.env.git(&w.b.worktree, &["rev-parse", "HEAD"]).unwrap();
    let predicted = b.ok("rebase_assist", json!({"targetBranch": w.a.branch(), "checkOnly": true})).await;
    assert_eq!(predicted["checkOnly"], true);
    assert_eq!(predicted["outcome"], "would_conflict");
    assert_eq!(predicted["conflictingFiles"], json!(["src/lib.rs"]));
    assert_eq!(w.env.git(&w.b.worktree, &["rev-parse", "HEAD"]).unwrap(), head, "nothing moved");
    // A real rebase that would conflict is aborted: the checkout is as it was.
    std::fs::remove_file(w.b.worktree.join("scratch.txt")).unwrap();
    let aborted = b.ok("rebase_assist", json!({"targetBranch": w.a.branch()})).await;
    assert_eq!(aborted["outcome"], "conflicts");
    assert_eq!(aborted["hasConflicts"], true);
    assert_eq!(w.env.git(&w.b.worktree, &["rev-parse", "HEAD"]).unwrap(), head);
    assert_eq!(w.env.git(&w.b.worktree, &["status", "--porcelain"]).unwrap(), "");

    let matrix = b.ok("get_conflict_matrix", json!({})).await;
    assert!(matrix["conflicting"].as_u64().unwrap() >= 1, "{matrix}");
    let pair = matrix["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            let ends = [p["a"].as_str().unwrap(), p["b"].as_str().unwrap()];
            ends.contains(&w.a.id.as_str()) && ends.contains(&w.b.id.as_str())
        })
        .unwrap();
    assert_eq!(pair["clean"], false);

    let overlaps = b.ok("get_overlaps", json!({})).await;
    let file = overlaps["overlaps"].as_array().unwrap().iter().find(|o| o["file"] == "src/lib.rs");
    let file = file.unwrap_or_else(|| panic!("{overlaps}"));
    let who = ids(&file["sessions"]);
    assert!(who.contains(&w.a.id) && who.contains(&w.b.id), "{overlaps}");
}

#[tokio::test]
async fn rebase_never_touches_uncommitted_work() {
    let w = world();
    w.commit(&w.repo, "main.txt", "main moved\n");
    let mut b = connect(&w.env.data_dir(), w.b.identity()).await;
    let edited = "pub fn a() -> u32 {\n    42 // not committed\n}\n";
    std::fs::write(w.b.worktree.join("src/lib.rs"), edited).unwrap();
    let head = w.env.git(&w.b.worktree, &["rev-parse", "HEAD"]).unwrap();
    for args in [json!({"targetBranch": "main", "checkOnly": true}), json!({"targetBranch": "main"})] {
        let err = b.fails("rebase_assist", args).await;
        assert!(err.contains("worktree_dirty"), "{err}");
        assert_eq!(std::fs::read_to_string(w.b.worktree.join("src/lib.rs")).unwrap(), edited);
        assert_eq!(w.env.git(&w.b.worktree, &["rev-parse", "HEAD"]).unwrap(), head);
    }
    // Once committed, the check predicts a clean rebase and the rebase does it.
    w.env.git(&w.b.worktree, &["commit", "-qam", "wip"]).unwrap();
    let predicted = b.ok("rebase_assist", json!({"targetBranch": "main", "checkOnly": true})).await;
    assert_eq!(predicted["outcome"], "would_rebase", "{predicted}");
}

#[tokio::test]
async fn merges_are_found_and_recorded() {
    let w = world();
    w.commit(&w.a.worktree, "feature.txt", "done\n");
    let mut b = connect(&w.env.data_dir(), w.b.identity()).await;

    let sub = b.ok("notify_when_merged", json!({"branch": w.a.branch()})).await;
    assert_eq!(sub["subscribed"], true);
    assert_eq!(sub["subscription"]["targetBranch"], "main");
    let status = b.ok("check_merge_status", json!({"branch": w.a.branch(), "targetBranch": "main"})).await;
    assert_eq!(status["isMerged"], false);
    assert!(status["mergeEvent"].is_null());
    assert_eq!(b.ok("get_merge_events", json!({})).await["total"], 0);

    // A's branch is merged into main in the main checkout.
    w.env.git(&w.repo, &["merge", "-q", "--no-ff", "-m", "merge a", w.a.branch()]).unwrap();
    let status = b.ok("check_merge_status", json!({"branch": w.a.branch()})).await;
    assert_eq!(status["isMerged"], true, "{status}");
    assert_eq!(status["mergeEvent"]["branchName"], w.a.branch());
    assert_eq!(status["mergeEvent"]["how"], "merge-commit");
    let events = b.ok("get_merge_events", json!({"limit": 5})).await;
    assert_eq!(events["total"], 1);
    assert_eq!(events["events"][0]["targetBranch"], "main");

    // Found by this check, recorded once: the watcher finds nothing new, and the subscriber's
    // notice waits for its post-tool-use hook (Claude Code runs it after MCP tool calls too).
    let mut coord = pcc_core::Coordinator::open(&w.env.data_dir()).unwrap();
    assert!(coord.poll_merges(false).unwrap().new_merges.is_empty());
    let subs = coord.merge_subscriptions(None, None).unwrap();
    assert_eq!(subs.total, 1, "not delivered by the MCP server");

    let err = b.fails("check_merge_status", json!({"branch": "no-such-branch"})).await;
    assert!(err.contains("no-such-branch"), "{err}");
    let err = b.fails("check_merge_status", json!({"branch": w.a.branch(), "targetBranch": "mian"})).await;
    assert!(err.contains("mian") && err.contains("unknown_revision"), "{err}");
}

const MATH_BASE: &str = "export function add(a: number, b: number): number {\n  return a + b;\n}\n";
const MATH_SUB: &str = "\nexport function sub(a: number, b: number): number {\n  return a - b;\n}\n";
const MATH_MUL: &str = "\nexport function mul(a: number, b: number): number {\n  return a * b;\n}\n";

/// src/math.ts on main and B's branch; then each appends a different function to it, so the two
/// versions conflict at the end of the file but change different declarations.
fn appended_functions(w: &World) {
    w.commit(&w.repo, "src/math.ts", MATH_BASE);
    w.env.git(&w.b.worktree, &["merge", "-q", "--ff-only", "main"]).unwrap();
    w.commit(&w.b.worktree, "src/math.ts", &format!("{MATH_BASE}{MATH_SUB}"));
    w.commit(&w.repo, "src/math.ts", &format!("{MATH_BASE}{MATH_MUL}"));
}

#[tokio::test]
async fn a_structural_conflict_is_analysed_fixed_from_the_branch_and_recorded() {
    let w = world();
    appended_functions(&w);
    let mut b = connect(&w.env.data_dir(), w.b.identity()).await;
    let branches = json!({"currentBranch": w.b.branch(), "targetBranch": "main"});
    let math = w.b.worktree.join("src/math.ts");
    let ours = format!("{MATH_BASE}{MATH_SUB}");

    let analysed = b.ok("detect_advanced_conflicts", branches.clone()).await;
    assert_eq!(analysed["hasConflicts"], true, "{analysed}");
    let conflicts = analysed["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{analysed}");
    assert_eq!(conflicts[0]["filePath"], "src/math.ts");
    assert_eq!(conflicts[0]["conflictType"], "STRUCTURAL", "{analysed}");
    assert_eq!(conflicts[0]["method"], "tree-sitter", "{analysed}");
    assert_eq!(analysed["summary"]["byType"]["STRUCTURAL"], 1);
    assert_eq!(analysed["source"], w.b.branch());
    // analyzeSemantics: false is accepted (the analysis is the same).
    let again = b
        .ok(
            "detect_advanced_conflicts",
            json!({"currentBranch": w.b.branch(), "targetBranch": "main", "analyzeSemantics": false}),
        )
        .await;
    assert_eq!(again["conflicts"], analysed["conflicts"]);

    let mut args = branches.clone();
    args["filePath"] = json!("src/math.ts");
    let generated = b.ok("get_auto_fix_suggestions", args.clone()).await;
    let suggestions = generated["suggestions"].as_array().unwrap();
    assert!(!suggestions.is_empty() && suggestions.len() <= 3, "{generated}");
    let merge = suggestions.iter().find(|s| s["strategy"] == "declaration-merge");
    let merge = merge.unwrap_or_else(|| panic!("no declaration-merge suggestion: {generated}"));
    assert!(merge["confidence"].as_f64().unwrap() >= 0.8, "{merge}");
    assert_eq!(merge["filePath"], "src/math.ts");
    assert_eq!(merge["conflictType"], "STRUCTURAL");
    assert_eq!(merge["canAutoApply"], true);
    let id = merge["suggestionId"].as_str().unwrap().to_string();
    // Kept: asking again gives the same suggestion.
    let regenerated = b.ok("get_auto_fix_suggestions", args.clone()).await;
    assert!(regenerated["suggestions"].as_array().unwrap().iter().any(|s| s["suggestionId"] == id.as_str()));
    let mut picky = args.clone();
    picky["minConfidence"] = json!(1.0);
    picky["maxSuggestions"] = json!(1);
    let none = b.ok("get_auto_fix_suggestions", picky).await;
    assert_eq!(none["suggestions"], json!([]), "{none}");
    assert_eq!(none["filteredByConfidence"], none["totalGenerated"]);

    // Nothing to settle until git's merge stops on the file: refused, saying what to do.
    let err = b.fails("apply_auto_fix", json!({"suggestionId": id})).await;
    assert!(err.contains("no merge is stopped on src/math.ts") && err.contains("git merge main"), "{err}");
    assert_eq!(std::fs::read_to_string(&math).unwrap(), ours);
    let stopped = w.env.git_output(&w.b.worktree, &["merge", "-q", "main"]).unwrap();
    assert!(!stopped.status.success(), "the merge stops on src/math.ts");
    let ours = std::fs::read_to_string(&math).unwrap();
    assert!(ours.contains("<<<<<<<"), "{ours}");
    // A dry run changes nothing.
    let dry = b.ok("apply_auto_fix", json!({"suggestionId": id, "dryRun": true})).await;
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["applied"], false, "{dry}");
    assert_eq!(std::fs::read_to_string(&math).unwrap(), ours);
    assert_eq!(b.ok("conflict_history", json!({"resolutionStrategy": "AUTO_FIX"})).await["pagination"]["total"], 0);

    // Applied in B's checkout (the server's), with a backup of B's version, even when asked for none.
    let applied = b.ok("apply_auto_fix", json!({"suggestionId": id, "createBackup": false})).await;
    assert_eq!(applied["applied"], true, "{applied}");
    assert_eq!(applied["verification"]["conflictMarkersRemaining"], false);
    assert_eq!(applied["verification"]["syntaxValid"], true);
    let merged = std::fs::read_to_string(&math).unwrap();
    assert!(merged.contains("function add(") && merged.contains("function sub(") && merged.contains("function mul("));
    assert!(!merged.contains("<<<<<<<"), "{merged}");
    let backup = applied["backupPath"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(backup).unwrap(), ours);
    assert!(!std::path::Path::new(backup).starts_with(&w.b.worktree), "the backup is not in the checkout");
    let err = b.fails("apply_auto_fix", json!({"suggestionId": id})).await;
    assert!(err.contains("already applied") && err.contains("already_applied"), "{err}");
    assert_eq!(std::fs::read_to_string(&math).unwrap(), merged);

    let history = b.ok("conflict_history", json!({})).await;
    let entries = history["history"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{history}");
    assert_eq!(entries[0]["filePath"], "src/math.ts");
    assert_eq!(entries[0]["conflictType"], "STRUCTURAL");
    assert_eq!(entries[0]["resolutionStrategy"], "AUTO_FIX");
    assert_eq!(entries[0]["autoFixStrategy"], "declaration-merge");
    assert_eq!(entries[0]["wasAutoApplied"], true);
    assert_eq!(entries[0]["repoPath"], w.repo.to_str().unwrap());
    assert_eq!(history["pagination"], json!({"offset": 0, "limit": 20, "total": 1}));
    assert_eq!(history["statistics"]["autoFixRate"], 1.0);
    assert_eq!(entries[0]["sessionId"], w.b.id.as_str(), "recorded with the session that found it");
    let filtered = b.ok("conflict_history", json!({"filePath": "src/lib.rs", "conflictType": "STRUCTURAL"})).await;
    assert_eq!(filtered["pagination"]["total"], 0);
    // The same repository from A's checkout; another repository has its own history.
    let mut a = connect(&w.env.data_dir(), w.a.identity()).await;
    assert_eq!(a.ok("conflict_history", json!({"limit": 1})).await["pagination"]["total"], 1);
    let other = w.env.repo("other").unwrap();
    other.write("x.txt", "x\n").unwrap();
    other.commit_all("x").unwrap();
    let elsewhere = b.ok("conflict_history", json!({"repo_path": other.path})).await;
    assert_eq!(elsewhere["pagination"]["total"], 0);
}

#[tokio::test]
async fn the_original_references_conflict_tool_names_are_answered() {
    let w = world();
    appended_functions(&w);
    let mut b = connect(&w.env.data_dir(), w.b.identity()).await;

    // This checkout's HEAD (B's branch) against the default branch, one file.
    let detected = b.ok("detectAdvancedConflicts", json!({"filePath": "src/math.ts"})).await;
    assert_eq!(detected["source"], w.b.branch());
    assert_eq!(detected["target"], "main");
    assert_eq!(detected["conflicts"][0]["conflictType"], "STRUCTURAL", "{detected}");
    let against = b.ok("detectAdvancedConflicts", json!({"filePath": "src/math.ts", "baseBranch": "main"})).await;
    assert_eq!(against["conflicts"], detected["conflicts"]);
    // A file that does not conflict is an answer, not an error.
    let clean = b.ok("detectAdvancedConflicts", json!({"filePath": "notes.txt"})).await;
    assert_eq!(clean["hasConflicts"], false);
    assert!(clean["note"].as_str().unwrap().contains("notes.txt does not conflict"), "{clean}");

    let suggested = b.ok("getAutoFixSuggestions", json!({"conflictId": "src/math.ts"})).await;
    let id = suggested["suggestions"][0]["suggestionId"].as_str().unwrap().to_string();
    let none = b.ok("getAutoFixSuggestions", json!({"conflictId": "notes.txt"})).await;
    assert_eq!(none["suggestions"], json!([]), "{none}");
    assert!(none["skipped"][0].as_str().unwrap().contains("notes.txt does not conflict"), "{none}");
    let err = b.fails("getAutoFixSuggestions", json!({"conflictId": "/etc/passwd"})).await;
    assert!(err.contains("is not a file in the checkout") && err.contains("get_auto_fix_suggestions"), "{err}");

    let err = b.fails("applyAutoFix", json!({"suggestionId": "no-such-suggestion"})).await;
    assert!(err.contains("unknown_suggestion"), "{err}");

    // Applied while merging main into B's branch (the file holds conflict markers): once
    // committed, the branch merges cleanly.
    let merging = w.env.git_output(&w.b.worktree, &["merge", "-q", "main"]).unwrap();
    assert!(!merging.status.success(), "the merge stops on the conflict");
    assert!(std::fs::read_to_string(w.b.worktree.join("src/math.ts")).unwrap().contains("<<<<<<<"));
    let dry = b.ok("applyAutoFix", json!({"suggestionId": id, "dryRun": true})).await;
    assert_eq!(dry["applied"], false);
    let applied = b.ok("applyAutoFix", json!({"suggestionId": id})).await;
    assert_eq!(applied["applied"], true, "{applied}");
    w.env.git(&w.b.worktree, &["commit", "-qam", "merge main"]).unwrap();
    let check = b.ok("check_conflicts", json!({"currentBranch": w.b.branch(), "targetBranch": "main"})).await;
    assert_eq!(check["hasConflicts"], false, "{check}");

    let history = b.ok("conflictHistory", json!({"repo_path": w.a.worktree, "limit": 5})).await;
    assert_eq!(history["pagination"]["total"], 1, "{history}");
    assert_eq!(history["history"][0]["resolutionStrategy"], "AUTO_FIX");
}

/// `get_auto_fix_suggestions` arguments for src/lib.rs, with `changes`.
fn suggest(changes: Value) -> Value {
    let mut args = json!({"filePath": "src/lib.rs", "currentBranch": "main", "targetBranch": "main"});
    for (k, v) in changes.as_object().unwrap() {
        args[k] = v.clone();
    }
    args
}

#[tokio::test]
async fn invalid_arguments_are_tool_errors_and_the_server_keeps_serving() {
    let w = world();
    let mut b = connect(&w.env.data_dir(), w.b.identity()).await;
    let huge = "x".repeat(1 << 20);
    let bad: Vec<(&str, Value, &str)> = vec![
        ("claim_file", json!({}), "missing field `filePath`"),
        ("claim_file", json!({"filePath": 7}), "invalid type"),
        ("claim_file", json!({"filePath": "a.txt", "mode": "OWNED"}), "unknown variant"),
        ("claim_file", json!({"filePath": "a.txt", "ttlHours": -3}), "invalid value"),
        ("claim_file", json!({"filePath": "../../etc/passwd"}), "outside"),
        ("claim_file", json!({"filePath": "/etc/passwd"}), "outside"),
        ("claim_file", json!({"filePath": huge}), "too long"),
        ("check_conflicts", json!({"currentBranch": "$(id)", "targetBranch": "main"}), "$(id)"),
        ("check_conflicts", json!({"currentBranch": "main", "targetBranch": "--upload-pack=x"}), "--upload-pack"),
        ("notify_when_merged", json!({"branch": "$(touch pwned)"}), "invalid branch name"),
        ("notify_when_merged", json!({"branch": "-x"}), "invalid branch name"),
        ("rebase_assist", json!({"targetBranch": "../../x"}), "../../x"),
        ("rebase_assist", json!({"targetBranch": "--exec=touch pwned"}), "--exec=touch pwned"),
        ("release_file", json!({"claimId": "nope"}), "no claim with id nope"),
        ("list_file_claims", json!({"filePaths": vec!["a"; 5000]}), "too many"),
        ("get_parallel_status", json!({"repo_path": "/"}), "not a git repository"),
        ("get_auto_fix_suggestions", suggest(json!({"minConfidence": 1.5})), "minConfidence must be between 0 and 1"),
        ("get_auto_fix_suggestions", suggest(json!({"minConfidence": -0.1})), "minConfidence must be between 0 and 1"),
        ("get_auto_fix_suggestions", suggest(json!({"maxSuggestions": 0})), "maxSuggestions must be between 1 and 10"),
        ("get_auto_fix_suggestions", suggest(json!({"maxSuggestions": 11})), "maxSuggestions must be between 1 and 10"),
        ("get_auto_fix_suggestions", suggest(json!({"currentBranch": "$(id)"})), "$(id)"),
        ("detect_advanced_conflicts", json!({"currentBranch": "main", "targetBranch": "--output=x"}), "--output=x"),
        ("apply_auto_fix", json!({"suggestionId": "nope"}), "unknown suggestion nope"),
        ("conflict_history", json!({"limit": 0}), "limit must be between 1 and 100"),
        ("conflict_history", json!({"limit": 101}), "limit must be between 1 and 100"),
        ("conflict_history", json!({"offset": -1}), "invalid value"),
        ("conflict_history", json!({"conflictType": "BAD"}), "unknown conflict type"),
        ("conflict_history", json!({"resolutionStrategy": "GUESS"}), "unknown resolution strategy"),
    ];
    for (tool, args, expect) in bad {
        let err = b.fails(tool, args).await;
        assert!(err.contains(expect), "{tool}: expected {expect:?} in {err:?}");
        assert!(err.len() < 10_000, "{tool}: the error does not echo a huge input");
        // Still serving.
        b.ok("get_my_session", json!({})).await;
    }
    assert!(!w.b.worktree.join("pwned").exists() && !w.repo.join("pwned").exists());
    // An unknown tool is a protocol error, and the server still serves.
    let r = b.request("tools/call", json!({"name": "no_such_tool", "arguments": {}})).await;
    assert!(r["error"]["code"].is_i64(), "{r}");
    let r = b.request("no/such/method", json!({})).await;
    assert!(r["error"]["code"].is_i64(), "{r}");
    b.ok("get_my_session", json!({})).await;
}

#[tokio::test]
async fn tools_list_is_the_reviewed_surface() {
    let w = world();
    let mut b = connect(&w.env.data_dir(), Session::identity(&w.b)).await;
    let list = b.request("tools/list", json!({})).await;
    let tools = list["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for legacy in [
        "claimFile",
        "releaseFile",
        "listFileClaims",
        "detectAdvancedConflicts",
        "getAutoFixSuggestions",
        "applyAutoFix",
        "conflictHistory",
    ] {
        assert!(!names.contains(&legacy), "legacy names are accepted, not listed");
    }
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{}", t["name"]);
    }
    insta::assert_json_snapshot!("tools_list", list["result"]);
}
