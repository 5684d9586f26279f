//! Bad input: a clear error, the right exit code (PRODUCT.md §0: 1 failed, 2 usage or config),
//! with `--json` exactly one `{"success":false,"error":…,"code":…}` document on stdout and
//! nothing else, and never a panic. And odd but valid input that must simply work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{Env, Out, RunExt, Sleeper, path_str};
use serde_json::{Value, json};

/// The JSON error document of a failed command, temp paths replaced by `[ROOT]`, after checking
/// the exit code and that stdout holds nothing but that document.
fn error_doc(env: &Env, out: Out, exit: i32) -> Value {
    let out = out.expect_code(exit);
    let doc = out.json();
    assert_eq!(doc["success"], false, "{}", out.describe());
    assert!(doc["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", out.describe());
    assert!(doc["code"].as_str().is_some_and(|c| !c.is_empty()), "{}", out.describe());
    for k in doc.as_object().unwrap().keys() {
        assert!(["success", "error", "code", "hint"].contains(&k.as_str()), "unexpected key {k}: {doc:#}");
    }
    common::scrub(&doc, &path_str(&env.root()), "[ROOT]")
}

/// `register --json --repo <repo> --pid <live pid> [extra]`.
fn register(env: &Env, repo: &Path, pid: u32, extra: &[&str]) -> Out {
    env.pcc().args(["register", "--json", "--pid", &pid.to_string()]).args(extra).arg("--repo").arg(repo).out()
}

#[test]
fn not_a_git_repository() {
    let env = Env::new();
    let plain = env.root().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let p = Sleeper::new();
    let doc = error_doc(&env, register(&env, &plain, p.pid(), &[]), 1);
    assert_eq!(
        doc,
        json!({
            "success": false,
            "code": "not_a_git_repo",
            "error": "not a git repository: [ROOT]/plain: Could not find a git repository in \"[ROOT]/plain\" or in any of its parents: NotFound",
            "hint": "run inside a git repository, or pass --repo <path>",
        })
    );
    // Human mode: the message on stderr, nothing on stdout.
    let out = env.pcc().args(["register", "--pid", &p.pid().to_string(), "--repo"]).arg(&plain).out().expect_code(1);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(out.stderr.starts_with("error: not a git repository: "), "{}", out.describe());
    assert!(out.stderr.contains("hint: run inside a git repository"), "{}", out.describe());
    // status --repo and cleanup --repo say the same.
    let doc = error_doc(&env, env.pcc().args(["status", "--json", "--repo"]).arg(&plain).out(), 1);
    assert_eq!(doc["code"], "not_a_git_repo");
    let doc = error_doc(&env, env.pcc().args(["cleanup", "--json", "--repo"]).arg(&plain).out(), 1);
    assert_eq!(doc["code"], "not_a_git_repo");
}

#[test]
fn nonexistent_path() {
    let env = Env::new();
    let p = Sleeper::new();
    let doc = error_doc(&env, register(&env, &env.root().join("nope"), p.pid(), &[]), 1);
    assert_eq!(doc, json!({"success": false, "code": "no_such_path", "error": "path does not exist: [ROOT]/nope"}));
    let doc = error_doc(&env, env.pcc().args(["status", "--json", "--repo"]).arg(env.root().join("nope")).out(), 1);
    assert_eq!(doc["code"], "no_such_path");
}

#[test]
fn bare_repository() {
    let env = Env::new();
    let bare = env.root().join("bare.git");
    env.git(&env.root(), &["init", "-q", "--bare", &path_str(&bare)]);
    let p = Sleeper::new();
    let doc = error_doc(&env, register(&env, &bare, p.pid(), &[]), 1);
    assert_eq!(
        doc,
        json!({
            "success": false,
            "code": "bare_repo",
            "error": "bare repositories have no checkout to work in: [ROOT]/bare.git",
            "hint": "use a repository with a working tree (a clone or `git worktree add`)",
        })
    );
}

/// Spaces, quotes, a newline, non-ASCII and shell syntax in the repository path: everything works
/// and nothing is ever run through a shell.
#[test]
fn a_repository_path_with_spaces_quotes_newline_and_unicode_works() {
    let env = Env::new();
    let name = "we ird \"dq\" 'sq'\nnl ünï $(touch pwned) `touch pwned2`";
    let repo = env.repo(name);
    let main = Sleeper::new();
    let agent = Sleeper::new();

    let m = register(&env, &repo.path, main.pid(), &[]).ok().json();
    assert_eq!(m["isMainRepo"], true, "{m:#}");
    assert_eq!(m["worktreePath"], path_str(&repo.path));
    let w = register(&env, &repo.path, agent.pid(), &[]).ok().json();
    let wt = std::path::PathBuf::from(w["worktreePath"].as_str().unwrap());
    assert_eq!(wt.parent().unwrap(), env.root().join(format!("{name}-worktrees")));
    assert!(wt.is_dir());
    assert_eq!(env.git(&wt, &["rev-parse", "--show-toplevel"]), path_str(&wt));

    let status = env.status(&repo.path);
    assert_eq!(status["repoPath"], path_str(&repo.path));
    assert_eq!(status["totalSessions"], 2);

    // run in it: the agent lands in a worktree of this repository.
    let report = env.root().join("cwd.txt");
    env.pcc()
        .current_dir(&repo.path)
        .env("REPORT", &report)
        .args(["run", "--worktree", "--", "sh", "-c", "pwd -P > \"$REPORT\""])
        .out()
        .ok();
    let cwd = std::fs::read_to_string(&report).unwrap();
    assert!(cwd.starts_with(&format!("{}-worktrees/", repo.path.display())), "{cwd}");

    let out = env.pcc().args(["release", "--json", "--pid", &agent.pid().to_string()]).out().ok().json();
    assert_eq!(out, json!({"released": true, "worktreeRemoved": true, "kept": false, "reason": null}));
    assert!(!wt.exists());
    let out = env.pcc().args(["cleanup", "--json"]).out().ok().json();
    assert!(out["kept"].as_array().unwrap().is_empty(), "{out:#}");

    for dir in [env.root(), repo.path.clone(), env.root().join(format!("{name}-worktrees"))] {
        assert!(!dir.join("pwned").exists() && !dir.join("pwned2").exists(), "a path was run through a shell");
    }
}

#[test]
fn a_detached_head_can_start_a_worktree_session() {
    let env = Env::new();
    let repo = env.repo("repo");
    env.git(&repo.path, &["checkout", "-q", "--detach"]);
    let head = env.git(&repo.path, &["rev-parse", "HEAD"]);
    let main = Sleeper::new();
    let agent = Sleeper::new();
    let m = register(&env, &repo.path, main.pid(), &[]).ok().json();
    assert_eq!(m["isMainRepo"], true);
    let w = register(&env, &repo.path, agent.pid(), &[]).ok().json();
    assert_eq!(w["isMainRepo"], false, "{w:#}");
    let wt = std::path::PathBuf::from(w["worktreePath"].as_str().unwrap());
    assert_eq!(env.git(&wt, &["rev-parse", "HEAD"]), head, "the worktree starts at the detached HEAD");
    assert_eq!(env.git(&wt, &["rev-parse", "--abbrev-ref", "HEAD"]), w["worktreeName"].as_str().unwrap());
    // Also when the detached session is the only one and asks for isolation.
    let solo = Sleeper::new();
    let s = register(&env, &repo.path, solo.pid(), &["--worktree"]).ok().json();
    assert_eq!(s["isMainRepo"], false);
}

#[test]
fn a_repository_without_commits_shares_its_checkout_but_cannot_make_a_worktree() {
    let env = Env::new();
    let empty = env.root().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    env.git(&empty, &["init", "-q", "-b", "main"]);
    let main = Sleeper::new();
    let agent = Sleeper::new();
    let m = register(&env, &empty, main.pid(), &[]).ok().json();
    assert_eq!(m["isMainRepo"], true, "{m:#}");
    let doc = error_doc(&env, register(&env, &empty, agent.pid(), &[]), 1);
    assert_eq!(
        doc,
        json!({
            "success": false,
            "code": "no_commits",
            "error": "the repository has no commits yet",
            "hint": "make a first commit, then try again",
        })
    );
    assert!(!env.root().join("empty-worktrees").exists(), "no worktree directory left behind");
    assert_eq!(env.status(&empty)["totalSessions"], 1, "the failed registration left no session");
}

#[test]
fn an_unknown_base_fails_and_leaves_nothing_behind() {
    let env = Env::new();
    let repo = env.repo("repo");
    let branches_before = env.git(&repo.path, &["branch", "--format=%(refname)"]);
    let main = Sleeper::new();
    let agent = Sleeper::new();
    register(&env, &repo.path, main.pid(), &[]).ok();
    for extra in [&["--base", "no-such-rev"][..], &["--base", "no-such-rev", "--worktree"][..]] {
        let doc = error_doc(&env, register(&env, &repo.path, agent.pid(), extra), 1);
        assert_eq!(
            doc,
            json!({
                "success": false,
                "code": "unknown_revision",
                "error": "unknown revision \"no-such-rev\"",
                "hint": "check the name with `git rev-parse --verify <rev>`",
            })
        );
    }
    // Even as the first session with --worktree: it fails rather than falling back to main.
    let other = env.repo("other");
    let doc = error_doc(&env, register(&env, &other.path, agent.pid(), &["--worktree", "--base", "nope"]), 1);
    assert_eq!(doc["code"], "unknown_revision");

    let wt_dir = env.root().join("repo-worktrees");
    let leftovers: Vec<_> = std::fs::read_dir(&wt_dir).map(|d| d.collect::<Vec<_>>()).unwrap_or_default();
    assert!(leftovers.is_empty(), "worktree directories left behind: {leftovers:?}");
    assert_eq!(env.git(&repo.path, &["branch", "--format=%(refname)"]), branches_before, "a branch was left behind");
    assert_eq!(env.git_worktrees(&repo.path).len(), 1);
    assert_eq!(env.status(&repo.path)["totalSessions"], 1);
    assert_eq!(env.status(&other.path)["totalSessions"], 0);
}

#[test]
fn an_invalid_branch_name_is_a_usage_error_and_leaves_nothing_behind() {
    let env = Env::new();
    let repo = env.repo("repo");
    let main = Sleeper::new();
    let agent = Sleeper::new();
    register(&env, &repo.path, main.pid(), &[]).ok();
    let doc = error_doc(&env, register(&env, &repo.path, agent.pid(), &["--branch", "a..b"]), 2);
    assert_eq!(
        doc,
        json!({
            "success": false,
            "code": "invalid_branch_name",
            "error": "invalid branch name \"a..b\": Reference name cannot contain repeated dots",
            "hint": "branch names follow `git check-ref-format --branch`",
        })
    );
    for bad in
        ["--branch=-x", "--branch=x y", "--branch=a~1", "--branch=$(touch pwned)", "--branch=x.lock", "--branch=@"]
    {
        let doc = error_doc(&env, register(&env, &repo.path, agent.pid(), &[bad]), 2);
        assert_eq!(doc["code"], "invalid_branch_name", "{bad}: {doc:#}");
    }
    assert_eq!(env.git(&repo.path, &["branch", "--format=%(refname)"]), "refs/heads/main");
    assert_eq!(env.git_worktrees(&repo.path).len(), 1);
    assert!(!repo.path.join("pwned").exists() && !env.root().join("pwned").exists());
    assert_eq!(env.status(&repo.path)["totalSessions"], 1);
}

#[test]
fn invalid_pids_are_usage_errors() {
    let env = Env::new();
    let repo = env.repo("repo");
    for pid in ["0", "-1", "99999999999"] {
        let out = env.pcc().args(["register", "--json", "--pid", pid, "--repo"]).arg(&repo.path).out();
        let doc = error_doc(&env, out, 2);
        assert_eq!(
            doc,
            json!({"success": false, "code": "invalid_pid",
                   "error": format!("invalid pid {pid}: must be between 1 and 2147483647")}),
        );
        for cmd in ["release", "heartbeat"] {
            let doc = error_doc(&env, env.pcc().args([cmd, "--json", "--pid", pid]).out(), 2);
            assert_eq!(doc["code"], "invalid_pid", "{cmd} --pid {pid}");
        }
    }
    let doc =
        error_doc(&env, env.pcc().args(["register", "--json", "--pid", "abc", "--repo"]).arg(&repo.path).out(), 2);
    assert_eq!(
        doc,
        json!({"success": false, "code": "usage",
               "error": "invalid value 'abc' for '--pid <N>': invalid digit found in string"})
    );
    assert_eq!(env.status(&repo.path)["totalSessions"], 0);
}

#[test]
fn a_data_dir_below_a_regular_file_is_reported() {
    let env = Env::new();
    let file = env.root().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let out = env.pcc().env("PARALLEL_CC_DATA_DIR", file.join("sub")).args(["status", "--json"]).out();
    let doc = error_doc(&env, out, 1);
    assert_eq!(
        doc,
        json!({
            "success": false,
            "code": "data_dir_unwritable",
            "error": "cannot create the data directory [ROOT]/file/sub: Not a directory (os error 20)",
            "hint": "set PARALLEL_CC_DATA_DIR to a writable directory, or fix the permissions",
        })
    );
}

#[test]
fn a_corrupt_config_file_is_a_config_error_naming_the_file() {
    let env = Env::new();
    std::fs::create_dir_all(env.data_dir()).unwrap();
    let file = env.data_dir().join("config.toml");

    std::fs::write(&file, "session = [\n").unwrap();
    for args in [&["status", "--json"][..], &["config", "list", "--json"][..]] {
        let doc = error_doc(&env, env.pcc().args(args).out(), 2);
        assert_eq!(doc["code"], "invalid_config", "{args:?}: {doc:#}");
        assert!(
            doc["error"].as_str().unwrap().starts_with("cannot parse configuration file [ROOT]/data/config.toml: "),
            "{doc:#}"
        );
        assert_eq!(doc["hint"], "fix or remove [ROOT]/data/config.toml");
    }

    std::fs::write(&file, "[session]\nstale_minutes = \"soon\"\n").unwrap();
    let doc = error_doc(&env, env.pcc().args(["status", "--json"]).out(), 2);
    assert_eq!(
        doc,
        json!({
            "success": false,
            "code": "invalid_config",
            "error": "invalid configuration in [ROOT]/data/config.toml: key session.stale_minutes: expected an integer from 1 to 10080",
        })
    );
}

#[test]
fn a_corrupt_database_is_reported_not_overwritten() {
    let env = Env::new();
    std::fs::create_dir_all(env.data_dir()).unwrap();
    let db = env.data_dir().join("coordinator.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    let repo = env.repo("repo");
    let p = Sleeper::new();
    for out in [env.pcc().args(["status", "--json"]).out(), register(&env, &repo.path, p.pid(), &[])] {
        let doc = error_doc(&env, out, 1);
        assert_eq!(
            doc,
            json!({
                "success": false,
                "code": "database_corrupt",
                "error": "the database [ROOT]/data/coordinator.db is corrupt or not a SQLite database: file is not a database: Error code 26: file is not a database",
                "hint": "move [ROOT]/data/coordinator.db aside (parallel-cc will create a new one), or restore a *.backup next to it",
            })
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), garbage, "the corrupt file was changed");
}

#[test]
fn usage_errors_with_json_are_one_json_document() {
    let env = Env::new();
    let cases: &[(&[&str], &str)] = &[
        (&["status", "--json", "--bogus"], "unexpected argument '--bogus' found"),
        (&["--json", "status", "--bogus"], "unexpected argument '--bogus' found"),
        (&["--json", "bogus"], "unrecognized subcommand 'bogus'"),
        (&["status", "--json", "--interval", "0"], "invalid value '0' for '--interval <S>': 0 is not in 1..=3600"),
        (
            &["run", "--json", "--worktree", "--no-worktree"],
            "the argument '--worktree' cannot be used with '--no-worktree'",
        ),
    ];
    for (args, error) in cases {
        let doc = error_doc(&env, env.pcc().args(*args).out(), 2);
        assert_eq!(doc, json!({"success": false, "code": "usage", "error": error}), "{args:?}");
    }
    // Human mode: clap's message on stderr, nothing on stdout.
    let out = env.pcc().args(["status", "--bogus"]).out().expect_code(2);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(out.stderr.contains("--bogus"), "{}", out.describe());
}

/// A missing required argument: the JSON error must say which one (clap's first line alone,
/// "the following required arguments were not provided:", names nothing).
#[test]

fn a_missing_required_argument_is_named_in_the_json_error() {
    let env = Env::new();
    let doc = error_doc(&env, env.pcc().args(["register", "--json"]).out(), 2);
    assert_eq!(doc["code"], "usage");
    let error = doc["error"].as_str().unwrap();
    assert!(error.contains("--repo") && error.contains("--pid"), "the error names no argument: {error}");
}

#[test]
fn unknown_config_keys_and_snapshots() {
    let env = Env::new();
    let doc = error_doc(&env, env.pcc().args(["config", "get", "nope.key", "--json"]).out(), 2);
    assert_eq!(
        doc,
        json!({"success": false, "code": "unknown_config_key", "error": "unknown configuration key \"nope.key\"",
               "hint": "list known keys with `parallel-cc config list`"})
    );
    let doc = error_doc(&env, env.pcc().args(["restore", "nope", "--json"]).out(), 1);
    assert_eq!(
        doc,
        json!({"success": false, "code": "unknown_snapshot", "error": "no snapshot named \"nope\"",
               "hint": "list snapshots with `parallel-cc snapshot list`"})
    );
}

#[test]
fn worktree_names_are_validated_and_never_reused() {
    let env = Env::new();
    let repo = env.repo("repo");
    let main = Sleeper::new();
    let a = Sleeper::new();
    let b = Sleeper::new();
    register(&env, &repo.path, main.pid(), &[]).ok();
    for bad in ["../escape", "a/b", ".hidden", "x y", "$(touch pwned)"] {
        let doc = error_doc(&env, register(&env, &repo.path, a.pid(), &["--name", bad]), 2);
        assert_eq!(doc["code"], "invalid_name", "{bad}: {doc:#}");
        assert!(doc["error"].as_str().unwrap().contains(bad), "the error names the bad name: {doc:#}");
    }
    assert!(!env.root().join("escape").exists());
    let reg = register(&env, &repo.path, a.pid(), &["--name", "feature-x"]).ok().json();
    assert_eq!(reg["worktreeName"], "feature-x");
    assert_eq!(reg["worktreePath"], path_str(&env.root().join("repo-worktrees/feature-x")));
    let doc = error_doc(&env, register(&env, &repo.path, b.pid(), &["--name", "feature-x"]), 1);
    assert_eq!(
        doc,
        json!({"success": false, "code": "worktree_exists",
               "error": "worktree path already exists: [ROOT]/repo-worktrees/feature-x"})
    );
    assert_eq!(env.status(&repo.path)["totalSessions"], 2);
}

/// `--branch main` while main is checked out in the main checkout: a clear error that names the
/// branch and where it is checked out, and the user's branch survives.
#[test]
fn a_branch_checked_out_elsewhere_fails_cleanly_and_survives() {
    let env = Env::new();
    let repo = env.repo("repo");
    let tip = env.git(&repo.path, &["rev-parse", "main"]);
    let main = Sleeper::new();
    let agent = Sleeper::new();
    register(&env, &repo.path, main.pid(), &[]).ok();
    let out = register(&env, &repo.path, agent.pid(), &["--branch", "main"]);
    let doc = error_doc(&env, out, 1);
    assert!(doc["error"].as_str().unwrap().contains("main"), "{doc:#}");
    assert_eq!(env.git(&repo.path, &["rev-parse", "main"]), tip, "the user's branch was touched");
    assert_eq!(env.git_worktrees(&repo.path).len(), 1, "no worktree left behind");
    assert_eq!(env.status(&repo.path)["totalSessions"], 1);
}

#[test]
fn a_branch_checked_out_elsewhere_gets_a_readable_message() {
    let env = Env::new();
    let repo = env.repo("repo");
    let main = Sleeper::new();
    let agent = Sleeper::new();
    register(&env, &repo.path, main.pid(), &[]).ok();
    let doc = error_doc(&env, register(&env, &repo.path, agent.pid(), &["--branch", "main"]), 1);
    let error = doc["error"].as_str().unwrap();
    assert!(error.contains("main") && error.contains("[ROOT]/repo"), "names the branch and where: {error}");
    assert!(!error.contains("FullName(") && !error.contains("[\"") && !error.ends_with("Conflict"), "{error}");
    assert_eq!(doc["code"], "branch_checked_out", "a specific code: {doc:#}");
}
