//! Conflict prediction and rebase end to end (PRODUCT.md §4.4): `conflicts check`, `conflicts
//! matrix`, `rebase --check` and `rebase`, with real repositories and live sessions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{Env, Out, RunExt, Sleeper};
use pcc_testkit::TestRepo;

fn pcc_in(env: &Env, dir: &Path, args: &[&str]) -> Out {
    env.pcc().current_dir(dir).arg("--json").args(args).out()
}

/// main: a.txt (5 lines), b.txt. Branch `clash` changes line 3 of a.txt, `calm` adds c.txt;
/// main then changes line 3 of a.txt differently.
fn branches(env: &Env) -> TestRepo<'_> {
    let r = env.repo("repo");
    r.write("a.txt", "1\n2\n3\n4\n5\n").unwrap();
    r.write("b.txt", "b\n").unwrap();
    r.commit_all("base").unwrap();
    r.git(&["checkout", "-q", "-b", "clash"]).unwrap();
    r.write("a.txt", "1\n2\nTHREE-clash\n4\n5\n").unwrap();
    r.commit_all("clash").unwrap();
    r.git(&["checkout", "-q", "-b", "calm", "main"]).unwrap();
    r.write("c.txt", "c\n").unwrap();
    r.commit_all("calm").unwrap();
    r.git(&["checkout", "-q", "main"]).unwrap();
    r.write("a.txt", "1\n2\nTHREE-main\n4\n5\n").unwrap();
    r.commit_all("main moves").unwrap();
    r
}

#[test]
fn check_reports_the_files_kinds_and_hunks_and_writes_nothing() {
    let env = Env::new();
    let r = branches(&env);
    let objects = r.object_count().unwrap();
    let doc = pcc_in(&env, &r.path, &["conflicts", "check", "--branch", "clash"]).expect_code(3).json();
    assert_eq!(doc["hasConflicts"], true);
    assert_eq!(doc["target"], "main");
    assert_eq!(doc["conflictingFiles"], serde_json::json!(["a.txt"]));
    assert_eq!(doc["conflicts"][0]["kind"], "content");
    let hunk = &doc["conflicts"][0]["hunks"][0];
    assert_eq!((hunk["oursStart"].as_u64(), hunk["theirsStart"].as_u64()), (Some(3), Some(3)), "{doc:#}");
    assert_eq!(hunk["ours"], "THREE-clash\n");
    assert_eq!(hunk["theirs"], "THREE-main\n");
    assert!(!doc["guidance"].as_array().unwrap().is_empty());
    assert_eq!(r.object_count().unwrap(), objects, "the object database is untouched");

    let doc = pcc_in(&env, &r.path, &["conflicts", "check", "--branch", "calm"]).ok().json();
    assert_eq!(doc["hasConflicts"], false);
    assert_eq!(doc["conflictingFiles"], serde_json::json!([]));
    // rebase --check is the same prediction, for the checked-out branch.
    r.git(&["checkout", "-q", "clash"]).unwrap();
    let doc = pcc_in(&env, &r.path, &["rebase", "--check"]).expect_code(3).json();
    assert_eq!(doc["checkOnly"], true);
    assert_eq!(doc["outcome"], "would_conflict");
    assert_eq!(doc["hasConflicts"], true);
    assert!(!doc["conflictingFiles"].as_array().unwrap().is_empty());
    assert_eq!(r.git(&["rev-parse", "--abbrev-ref", "HEAD"]).unwrap().trim(), "clash", "nothing moved");
    assert!(!r.path.join(".git/index.lock").exists());
}

#[test]
fn hostile_branch_names_run_nothing() {
    let env = Env::new();
    let r = branches(&env);
    for bad in ["$(touch x)", "--branch=-rf", "a..b", "refs/heads/HEAD", "`touch x`"] {
        let args: Vec<&str> = if bad.starts_with("--") {
            vec!["conflicts", "check", bad]
        } else {
            vec!["conflicts", "check", "--branch", bad]
        };
        let out = pcc_in(&env, &r.path, &args);
        assert!(matches!(out.code, Some(1) | Some(2)), "{bad}: {}", out.describe());
        assert!(!r.path.join("x").exists() && !env.root().join("x").exists(), "{bad} ran a command");
    }
}

/// M in the main checkout, A and B in worktrees, all live.
fn sessions(env: &Env, repo: &Path) -> (Vec<Sleeper>, Vec<(String, PathBuf)>) {
    let procs = vec![Sleeper::new(), Sleeper::new(), Sleeper::new()];
    let mut out = Vec::new();
    for p in &procs {
        let v = env.register(repo, p.pid(), &[]);
        out.push((v["sessionId"].as_str().unwrap().to_string(), PathBuf::from(v["worktreePath"].as_str().unwrap())));
    }
    (procs, out)
}

#[test]
fn the_matrix_finds_uncommitted_work_that_would_collide() {
    let env = Env::new();
    let r = env.repo("repo");
    r.write("a.txt", "1\n2\n3\n4\n5\n").unwrap();
    r.commit_all("base").unwrap();
    let (_procs, s) = sessions(&env, &r.path);
    let (a, a_wt) = &s[1];
    let (b, b_wt) = &s[2];
    std::fs::write(a_wt.join("a.txt"), "1\n2\nA\n4\n5\n").unwrap();
    std::fs::write(b_wt.join("a.txt"), "1\n2\nB\n4\n5\n").unwrap();
    std::fs::write(b_wt.join("new.txt"), "b's new file\n").unwrap();
    std::fs::write(r.path.join("other.txt"), "main's untracked file\n").unwrap();
    let objects = r.object_count().unwrap();
    let before = env.git(b_wt, &["status", "--porcelain"]);

    let doc = pcc_in(&env, &r.path, &["conflicts", "matrix"]).expect_code(3).json();
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 3, "{doc:#}");
    let pairs = doc["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 3);
    let ab = pairs
        .iter()
        .find(|p| (p["a"] == a.as_str() && p["b"] == b.as_str()) || (p["a"] == b.as_str() && p["b"] == a.as_str()))
        .unwrap();
    assert_eq!(ab["clean"], false);
    assert_eq!(ab["conflictingFiles"], serde_json::json!(["a.txt"]));
    assert_eq!(doc["conflicting"], 1, "only A × B conflicts: {doc:#}");
    assert!(doc["vsTarget"].as_array().unwrap().iter().all(|p| p["clean"] == true));
    assert_eq!(r.object_count().unwrap(), objects);
    assert_eq!(env.git(b_wt, &["status", "--porcelain"]), before, "the checkout is untouched");

    // From inside B's worktree, `check --uncommitted` merges B's working state into main.
    std::fs::write(r.path.join("a.txt"), "1\n2\n3\n4\n5\n").unwrap();
    r.write("a.txt", "1\n2\nMAIN\n4\n5\n").unwrap();
    r.commit_all("main changes line 3").unwrap();
    let doc = pcc_in(&env, b_wt, &["conflicts", "check", "--uncommitted"]).expect_code(3).json();
    assert_eq!(doc["conflictingFiles"], serde_json::json!(["a.txt"]));
    let doc = pcc_in(&env, b_wt, &["conflicts", "check"]).ok().json();
    assert_eq!(doc["hasConflicts"], false, "B's committed state has no change: {doc:#}");
}

#[test]
fn rebase_moves_clean_work_and_aborts_on_conflicts_leaving_everything_as_it_was() {
    let env = Env::new();
    let r = env.repo("repo");
    r.write("a.txt", "1\n2\n3\n4\n5\n").unwrap();
    r.commit_all("base").unwrap();
    let (_procs, s) = sessions(&env, &r.path);
    let (_, wt) = &s[1];
    let commit_in = |dir: &Path, file: &str, text: &str, msg: &str| {
        std::fs::write(dir.join(file), text).unwrap();
        env.git(dir, &["add", "-A"]);
        env.git(dir, &["commit", "-q", "-m", msg]);
    };
    commit_in(wt, "mine.txt", "mine\n", "work in the worktree");
    commit_in(&r.path, "theirs.txt", "theirs\n", "main moves");
    let doc = pcc_in(&env, wt, &["rebase"]).ok().json();
    assert_eq!(doc["outcome"], "rebased", "{doc:#}");
    assert!(wt.join("theirs.txt").exists() && wt.join("mine.txt").exists());
    let doc = pcc_in(&env, wt, &["rebase"]).ok().json();
    assert_eq!(doc["outcome"], "up_to_date");

    // A conflicting commit: aborted, reported, nothing changed.
    commit_in(wt, "a.txt", "1\n2\nWT\n4\n5\n", "worktree changes line 3");
    commit_in(&r.path, "a.txt", "1\n2\nMAIN\n4\n5\n", "main changes line 3");
    let head = env.git(wt, &["rev-parse", "HEAD"]);
    let doc = pcc_in(&env, wt, &["rebase"]).expect_code(3).json();
    assert_eq!(doc["outcome"], "conflicts");
    assert_eq!(doc["conflictingFiles"], serde_json::json!(["a.txt"]));
    assert_eq!(env.git(wt, &["rev-parse", "HEAD"]), head);
    assert_eq!(std::fs::read_to_string(wt.join("a.txt")).unwrap(), "1\n2\nWT\n4\n5\n");
    assert_eq!(env.git(wt, &["status", "--porcelain"]), "");

    // Uncommitted changes to tracked files: refused before git runs.
    std::fs::write(wt.join("mine.txt"), "edited, not committed\n").unwrap();
    let doc = pcc_in(&env, wt, &["rebase"]).expect_code(1).json();
    assert_eq!(doc["code"], "worktree_dirty", "{doc:#}");
    assert_eq!(std::fs::read_to_string(wt.join("mine.txt")).unwrap(), "edited, not committed\n");
    assert_eq!(env.git(wt, &["rev-parse", "HEAD"]), head);

    // Ignored files the new base would overwrite: refused, the file untouched.
    std::fs::write(wt.join("mine.txt"), "mine\n").unwrap();
    assert_eq!(env.git(wt, &["status", "--porcelain"]), "");
    let exclude = PathBuf::from(env.git(wt, &["rev-parse", "--git-path", "info/exclude"]));
    let exclude = if exclude.is_absolute() { exclude } else { wt.join(exclude) };
    std::fs::create_dir_all(exclude.parent().unwrap()).unwrap();
    std::fs::write(&exclude, "secret.env\n").unwrap();
    std::fs::write(wt.join("secret.env"), "MY LOCAL SECRET\n").unwrap();
    env.git(&r.path, &["reset", "-q", "--hard", "HEAD~1"]);
    // (info/exclude is shared by every checkout: main adds the file by force.)
    std::fs::write(r.path.join("secret.env"), "template\n").unwrap();
    env.git(&r.path, &["add", "-f", "secret.env"]);
    env.git(&r.path, &["commit", "-q", "-m", "main tracks secret.env"]);
    let doc = pcc_in(&env, wt, &["rebase"]).expect_code(1).json();
    assert_eq!(doc["code"], "would_overwrite_ignored", "{doc:#}");
    assert!(doc["error"].as_str().unwrap().contains("secret.env"));
    assert_eq!(std::fs::read_to_string(wt.join("secret.env")).unwrap(), "MY LOCAL SECRET\n");
    std::fs::remove_file(wt.join("secret.env")).unwrap();

    // A rebase the user has under way is theirs: refused, not aborted.
    commit_in(&r.path, "a.txt", "1\n2\nMAIN-AGAIN\n4\n5\n", "main changes line 3 again");
    env.t.git_output(wt, &["rebase", "main"]).unwrap();
    assert!(wt.join("a.txt").exists());
    let in_progress = env.git(wt, &["rev-parse", "--git-path", "rebase-merge"]);
    let in_progress =
        if Path::new(&in_progress).is_absolute() { PathBuf::from(in_progress) } else { wt.join(in_progress) };
    assert!(in_progress.exists(), "the user's rebase stopped on its conflict");
    let doc = pcc_in(&env, wt, &["rebase"]).expect_code(1).json();
    assert_eq!(doc["code"], "operation_in_progress", "{doc:#}");
    assert!(in_progress.exists(), "the user's rebase is still there");
}

/// One constructed merge: base files, then what each side does (in the checkout, then commit).
struct Case {
    name: &'static str,
    base: &'static [(&'static str, &'static [u8])],
    feature: fn(&Env, &Path),
    main: fn(&Env, &Path),
}

fn write(dir: &Path, rel: &str, data: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

const LINES: &[u8] = b"1\n2\n3\n4\n5\n6\n7\n8\n9\n";

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "content",
            base: &[("a.txt", LINES)],
            feature: |_, d| write(d, "a.txt", b"1\n2\nF\n4\n5\n6\n7\n8\n9\n"),
            main: |_, d| write(d, "a.txt", b"1\n2\nM\n4\n5\n6\n7\n8\n9\n"),
        },
        Case {
            name: "clean edits in one file",
            base: &[("a.txt", LINES)],
            feature: |_, d| write(d, "a.txt", b"F\n2\n3\n4\n5\n6\n7\n8\n9\n"),
            main: |_, d| write(d, "a.txt", b"1\n2\n3\n4\n5\n6\n7\n8\nM\n"),
        },
        Case {
            name: "add/add",
            base: &[("a.txt", LINES)],
            feature: |_, d| write(d, "new.txt", b"feature\n"),
            main: |_, d| write(d, "new.txt", b"main\n"),
        },
        Case {
            name: "modify/delete",
            base: &[("a.txt", LINES)],
            feature: |_, d| write(d, "a.txt", b"changed\n"),
            main: |e, d| {
                e.git(d, &["rm", "-q", "a.txt"]);
            },
        },
        Case {
            name: "delete/modify",
            base: &[("a.txt", LINES)],
            feature: |e, d| {
                e.git(d, &["rm", "-q", "a.txt"]);
            },
            main: |_, d| write(d, "a.txt", b"changed\n"),
        },
        Case {
            name: "rename+modify",
            base: &[("a.txt", LINES)],
            feature: |e, d| {
                e.git(d, &["mv", "a.txt", "b.txt"]);
            },
            main: |_, d| write(d, "a.txt", b"1\n2\n3\n4\nM\n6\n7\n8\n9\n"),
        },
        Case {
            name: "rename/rename",
            base: &[("a.txt", LINES)],
            feature: |e, d| {
                e.git(d, &["mv", "a.txt", "b.txt"]);
            },
            main: |e, d| {
                e.git(d, &["mv", "a.txt", "c.txt"]);
            },
        },
        Case {
            name: "file vs directory",
            base: &[("a.txt", LINES)],
            feature: |_, d| write(d, "d", b"a file\n"),
            main: |_, d| write(d, "d/x.txt", b"in a directory\n"),
        },
        Case {
            name: "binary",
            base: &[("bin.dat", b"\0\x01\x02base")],
            feature: |_, d| write(d, "bin.dat", b"\0\x01\x02feature"),
            main: |_, d| write(d, "bin.dat", b"\0\x01\x02main"),
        },
        Case {
            name: "mode change",
            base: &[("run.sh", b"echo 1\necho 2\necho 3\n")],
            feature: |_, d| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(d.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
            },
            main: |_, d| write(d, "run.sh", b"echo 1\necho 2\necho three\n"),
        },
    ]
}

#[test]
fn check_reports_exactly_what_git_merge_tree_reports_and_writes_nothing() {
    let mut conflicting = Vec::new();
    for case in cases() {
        let env = Env::new();
        let r = env.repo("repo");
        for (rel, data) in case.base {
            write(&r.path, rel, data);
        }
        r.commit_all("base").unwrap();
        env.git(&r.path, &["checkout", "-q", "-b", "feature"]);
        (case.feature)(&env, &r.path);
        env.git(&r.path, &["add", "-A"]);
        env.git(&r.path, &["commit", "-q", "-m", "feature"]);
        env.git(&r.path, &["checkout", "-q", "main"]);
        (case.main)(&env, &r.path);
        env.git(&r.path, &["add", "-A"]);
        env.git(&r.path, &["commit", "-q", "-m", "main"]);

        let objects = r.object_count().unwrap();
        let out = pcc_in(&env, &r.path, &["conflicts", "check", "--branch", "feature", "--target", "main"]);
        let ours_code = out.code;
        let doc = out.json();
        assert_eq!(r.object_count().unwrap(), objects, "{}: the prediction wrote objects", case.name);

        // git's answer, from a throwaway clone (merge-tree --write-tree writes objects).
        let clone = env.root().join("clone");
        env.git(&env.root(), &["clone", "-q", "--no-local", r.path.to_str().unwrap(), clone.to_str().unwrap()]);
        env.git(&clone, &["branch", "-q", "feature", "origin/feature"]);
        let o = env
            .t
            .git_output(&clone, &["merge-tree", "--write-tree", "--name-only", "--no-messages", "feature", "main"])
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut git_files: Vec<String> =
            text.lines().skip(1).take_while(|l| !l.is_empty()).map(str::to_string).collect();
        git_files.sort();
        git_files.dedup();
        let mut ours: Vec<String> = doc["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()))
            .collect();
        ours.sort();
        ours.dedup();
        assert_eq!(ours, git_files, "{}: {doc:#}", case.name);
        assert_eq!(ours_code, Some(if git_files.is_empty() { 0 } else { 3 }), "{}", case.name);
        assert_eq!(o.status.code(), Some(if git_files.is_empty() { 0 } else { 1 }), "{}: git's own verdict", case.name);
        if !git_files.is_empty() {
            conflicting.push(case.name);
        }
    }
    // The corpus is not vacuous: these conflict (the others merge cleanly).
    let expected =
        ["content", "add/add", "modify/delete", "delete/modify", "rename/rename", "file vs directory", "binary"];
    assert_eq!(conflicting, expected);
}
