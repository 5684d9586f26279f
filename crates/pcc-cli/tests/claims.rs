//! File claims end to end (PRODUCT.md §4.1): the mode matrix between two sessions in two
//! worktrees, upgrades and escalation, directory claims, lifetime tied to the session, history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{Env, Out, RunExt, Sleeper, path_str};
use serde_json::Value;

/// Three live sessions of one repository: M in the main checkout, A and B in worktrees.
struct World {
    env: Env,
    repo: PathBuf,
    a: String,
    a_wt: PathBuf,
    b: String,
    b_wt: PathBuf,
    procs: Vec<Sleeper>,
}

fn world() -> World {
    let env = Env::new();
    let r = env.repo("repo");
    r.write("src/auth/login.rs", "fn login() {}\n").unwrap();
    r.write("src/lib.rs", "pub mod auth;\n").unwrap();
    r.write("README.md", "# repo\n").unwrap();
    r.commit_all("files").unwrap();
    let repo = r.path.clone();
    let procs = vec![Sleeper::new(), Sleeper::new(), Sleeper::new()];
    env.register(&repo, procs[0].pid(), &[]);
    let a = env.register(&repo, procs[1].pid(), &[]);
    let b = env.register(&repo, procs[2].pid(), &[]);
    let id = |v: &Value| v["sessionId"].as_str().unwrap().to_string();
    let wt = |v: &Value| PathBuf::from(v["worktreePath"].as_str().unwrap());
    World { a: id(&a), a_wt: wt(&a), b: id(&b), b_wt: wt(&b), env, repo, procs }
}

/// `parallel-cc --json claims ARGS` run in `dir` (the session is found from the directory).
fn claims(w: &World, dir: &Path, args: &[&str]) -> Out {
    w.env.pcc().current_dir(dir).args(["--json", "claims"]).args(args).out()
}

fn claim(w: &World, dir: &Path, file: &str, mode: &str) -> Out {
    claims(w, dir, &["claim", file, "--mode", mode])
}

fn claim_id(out: Out) -> String {
    out.ok().json()["claimId"].as_str().unwrap().to_string()
}

#[test]
fn the_mode_matrix_holds_between_sessions_in_two_worktrees() {
    let w = world();
    let modes = ["EXCLUSIVE", "SHARED", "INTENT"];
    for (i, held) in modes.iter().enumerate() {
        for (j, requested) in modes.iter().enumerate() {
            let file = format!("f{i}{j}.txt");
            let id = claim_id(claim(&w, &w.a_wt, &file, held));
            let out = claim(&w, &w.b_wt, &file, requested);
            let allowed = *held != "EXCLUSIVE" && *requested != "EXCLUSIVE";
            if allowed {
                out.ok();
            } else {
                let doc = out.expect_code(1).json();
                assert_eq!(doc["code"], "claim_conflict", "{held} held, {requested} requested: {doc}");
                let msg = doc["error"].as_str().unwrap();
                assert!(msg.contains(&w.a) && msg.contains(held), "names the holder and its mode: {msg}");
            }
            // The holder itself is never blocked by its own claim.
            claim(&w, &w.a_wt, &file, requested).ok();
            claims(&w, &w.a_wt, &["release", &id]).ok();
        }
    }
}

#[test]
fn a_session_upgrades_its_own_claim_and_escalation_only_goes_up() {
    let w = world();
    let first = claim(&w, &w.a_wt, "src/lib.rs", "INTENT").ok().json();
    assert_eq!(first["action"], "claimed");
    let id = first["claimId"].as_str().unwrap().to_string();
    let again = claim(&w, &w.a_wt, "src/lib.rs", "SHARED").ok().json();
    assert_eq!((again["action"].as_str(), again["claimId"].as_str()), (Some("upgraded"), Some(id.as_str())));
    assert_eq!(again["claim"]["claimMode"], "SHARED");
    assert_eq!(again["claim"]["escalatedFrom"], "INTENT");
    // Asking for less keeps the stronger mode.
    let weaker = claim(&w, &w.a_wt, "src/lib.rs", "INTENT").ok().json();
    assert_eq!((weaker["action"].as_str(), weaker["claim"]["claimMode"].as_str()), (Some("renewed"), Some("SHARED")));

    // Down or sideways: refused, nothing changes.
    for to in ["INTENT", "SHARED"] {
        let doc = claims(&w, &w.a_wt, &["escalate", &id, "--to", to]).expect_code(2).json();
        assert_eq!(doc["code"], "invalid_claim", "{doc}");
    }
    // B shares the file: A cannot go EXCLUSIVE over it.
    claim(&w, &w.b_wt, "src/lib.rs", "SHARED").ok();
    let doc = claims(&w, &w.a_wt, &["escalate", &id, "--to", "EXCLUSIVE"]).expect_code(1).json();
    assert_eq!(doc["code"], "claim_conflict");
    assert!(doc["error"].as_str().unwrap().contains(&w.b), "{doc}");
    // B cannot escalate A's claim either.
    let doc = claims(&w, &w.b_wt, &["escalate", &id, "--to", "EXCLUSIVE"]).expect_code(1).json();
    assert_eq!(doc["code"], "not_claim_owner");
    // Once B lets go, A can.
    let b_id =
        claims(&w, &w.b_wt, &["--session", &w.b]).ok().json()["claims"][0]["claimId"].as_str().unwrap().to_string();
    claims(&w, &w.b_wt, &["release", &b_id]).ok();
    let up = claims(&w, &w.a_wt, &["escalate", &id, "--to", "EXCLUSIVE"]).ok().json();
    assert_eq!(up["claim"]["claimMode"], "EXCLUSIVE");
    assert_eq!(up["claim"]["escalatedFrom"], "SHARED");
}

#[test]
fn directory_claims_cover_what_is_below_them() {
    let w = world();
    claim(&w, &w.a_wt.join("src"), "auth/", "EXCLUSIVE").ok();
    let doc = claim(&w, &w.b_wt, "src/auth/login.rs", "INTENT").expect_code(1).json();
    assert!(doc["error"].as_str().unwrap().contains("through its claim on src/auth/"), "{doc}");
    // An existing directory named without its slash is a directory claim too.
    let doc = claim(&w, &w.b_wt, "src/auth", "INTENT").expect_code(1).json();
    assert_eq!(doc["code"], "claim_conflict");
    claim(&w, &w.b_wt, "src/lib.rs", "EXCLUSIVE").ok();
    // A claim on a file below also blocks a directory claim above it.
    let doc = claim(&w, &w.a_wt, "src/", "SHARED").expect_code(1).json();
    assert!(doc["error"].as_str().unwrap().contains(&w.b), "{doc}");

    // Listing: --file shows the claims covering a file, from any checkout, by repo path.
    let l =
        w.env.pcc().current_dir(&w.repo).args(["--json", "claims", "--file", "src/auth/login.rs"]).out().ok().json();
    assert_eq!(l["total"], 1, "{l}");
    assert_eq!(l["claims"][0]["filePath"], "src/auth/");
    assert_eq!(l["repoPath"], path_str(&w.repo));
}

#[test]
fn claims_outlive_five_minutes_end_with_their_session_and_stay_as_history() {
    let mut w = world();
    let id = claim_id(claims(&w, &w.a_wt, &["claim", "README.md", "--reason", "rewriting the intro"]));
    // Make the claim look 30 minutes old (the original let every claim die after 5 minutes).
    let conn = rusqlite::Connection::open(w.env.data_dir().join("coordinator.db")).unwrap();
    conn.execute(
        "UPDATE file_claims SET claimed_at = datetime('now', '-30 minutes'), last_heartbeat = datetime('now', '-30 minutes') \
         WHERE id = ?1",
        [&id],
    )
    .unwrap();
    w.env.pcc().args(["cleanup"]).out().ok();
    let l = claims(&w, &w.repo, &[]).ok().json();
    assert_eq!(l["total"], 1, "{l}");
    assert_eq!(l["claims"][0]["reason"], "rewriting the intro");
    assert_eq!(l["claims"][0]["sessionId"], w.a.as_str());
    assert!(l["claims"][0]["minutesUntilExpiry"].as_i64().unwrap() > 60 * 23, "{l}");
    claim(&w, &w.b_wt, "README.md", "INTENT").expect_code(1);

    // A's process ends: its claim no longer blocks anyone, before and after A is reaped.
    let a_proc = w.procs.remove(1);
    let a_pid = a_proc.pid();
    a_proc.kill();
    claim(&w, &w.b_wt, "README.md", "INTENT").ok();
    w.env.pcc().args(["release", "--pid", &a_pid.to_string()]).out();
    let l = claims(&w, &w.repo, &["--session", &w.a]).ok().json();
    assert_eq!(l["total"], 0, "{l}");
    let all = claims(&w, &w.repo, &["--all", "--session", &w.a]).ok().json();
    assert_eq!(all["total"], 1, "released claims stay as history: {all}");
    assert_eq!(all["claims"][0]["isActive"], false);
    assert!(all["claims"][0]["endedReason"].as_str().is_some(), "{all}");
}

#[test]
fn release_is_for_the_owner_unless_forced_and_bad_paths_are_refused() {
    let w = world();
    let id = claim_id(claim(&w, &w.a_wt, "src/lib.rs", "EXCLUSIVE"));
    let doc = claims(&w, &w.b_wt, &["release", &id]).expect_code(1).json();
    assert_eq!(doc["code"], "not_claim_owner");
    let doc = claims(&w, &w.b_wt, &["release", &id, "--force"]).ok().json();
    assert_eq!(doc["claim"]["isActive"], false);
    assert_eq!(doc["claim"]["endedReason"], "force_released");
    let doc = claims(&w, &w.b_wt, &["release", &id, "--force"]).expect_code(1).json();
    assert_eq!(doc["code"], "claim_not_active", "releasing twice says so: {doc}");
    let doc = claims(&w, &w.b_wt, &["release", "no-such-claim"]).expect_code(1).json();
    assert_eq!(doc["code"], "unknown_claim");

    for bad in ["../../etc/passwd", "/etc/passwd", "", ".git/config"] {
        let doc = claim(&w, &w.a_wt, bad, "EXCLUSIVE").expect_code(2).json();
        assert_eq!(doc["code"], "invalid_claim", "{bad:?}: {doc}");
    }
    let doc = claims(&w, &w.a_wt, &["claim", "src/lib.rs", "--ttl-hours", "9000"]).expect_code(2).json();
    assert_eq!(doc["code"], "invalid_claim");
    let doc = claims(&w, &w.a_wt, &["claim", "src/lib.rs", "--mode", "LOCK"]).expect_code(2).json();
    assert_eq!(doc["code"], "usage");
    // Outside any session's checkout there is nobody to claim for.
    let doc = w.env.pcc().args(["--json", "claims", "claim", "x.rs"]).out().expect_code(1).json();
    assert_eq!(doc["code"], "no_session");
    // A session named explicitly may claim from anywhere in the repository.
    claims(&w, &w.repo, &["claim", "README.md", "--session", &w.b]).ok();
}
