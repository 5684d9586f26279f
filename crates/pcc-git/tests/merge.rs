#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Conflict prediction (PRODUCT.md §4.4): in-memory merges of commits and of live checkouts,
//! checked against `git merge-tree --write-tree`, and shown to write nothing anywhere.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{cli_worktree, git, git_dir, make_executable, status_set, symlink, write};
use pcc_git::{CommitId, ConflictHunk, ConflictKind, MergePrediction, Repo};
use pcc_testkit::{TestEnv, TestRepo, tree_contents};

type Step = fn(&TestEnv, &Path);

/// A constructed merge: `base` is committed on main, then `ours` and `theirs` each on a branch of
/// that name forked from it. `expect` lists the conflicts (primary path and kind) we report.
struct Case {
    name: &'static str,
    base: Step,
    ours: Step,
    theirs: Step,
    expect: &'static [(&'static str, ConflictKind)],
}

const LINES: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";
const BINARY_BASE: &[u8] = b"\x00\x01\x02binary base\xff\x00";
const BINARY_OURS: &[u8] = b"\x00\x01\x02binary ours\xff\x00";
const BINARY_THEIRS: &[u8] = b"\x00\x01\x02binary theirs\xff\x00";

fn put(root: &Path, rel: &str, content: &str) {
    write(root, rel, content.as_bytes());
}

fn replace_line(root: &Path, rel: &str, line: usize, with: &str) {
    let text = std::fs::read_to_string(root.join(rel)).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[line - 1] = with.to_string();
    put(root, rel, &(lines.join("\n") + "\n"));
}

fn mv(env: &TestEnv, root: &Path, args: &[&str]) {
    git(env, root, args);
}

fn nothing(_: &TestEnv, _: &Path) {}

fn base_lines(_: &TestEnv, root: &Path) {
    put(root, "a.txt", LINES);
    put(root, "b.txt", LINES);
    put(root, "script.sh", "#!/bin/sh\necho one\necho two\necho three\necho four\n");
    write(root, "data.bin", BINARY_BASE);
}

fn corpus() -> Vec<Case> {
    vec![
        Case {
            name: "content conflict",
            base: base_lines,
            ours: |_, r| replace_line(r, "a.txt", 3, "THREE (ours)"),
            theirs: |_, r| replace_line(r, "a.txt", 3, "THREE (theirs)"),
            expect: &[("a.txt", ConflictKind::Content)],
        },
        Case {
            name: "clean edits to different lines of one file",
            base: base_lines,
            ours: |_, r| replace_line(r, "a.txt", 2, "TWO"),
            theirs: |_, r| replace_line(r, "a.txt", 8, "EIGHT"),
            expect: &[],
        },
        Case {
            name: "the same edit on both sides",
            base: base_lines,
            ours: |_, r| replace_line(r, "a.txt", 5, "FIVE"),
            theirs: |_, r| replace_line(r, "a.txt", 5, "FIVE"),
            expect: &[],
        },
        Case {
            name: "add/add with different content",
            base: base_lines,
            ours: |_, r| put(r, "new/file.txt", "added by ours\n"),
            theirs: |_, r| put(r, "new/file.txt", "added by theirs\n"),
            expect: &[("new/file.txt", ConflictKind::AddAdd)],
        },
        Case {
            name: "add/add with identical content",
            base: base_lines,
            ours: |_, r| put(r, "new/file.txt", "the same\n"),
            theirs: |_, r| put(r, "new/file.txt", "the same\n"),
            expect: &[],
        },
        Case {
            name: "modify/delete",
            base: base_lines,
            ours: |_, r| replace_line(r, "a.txt", 1, "ONE"),
            theirs: |_, r| std::fs::remove_file(r.join("a.txt")).unwrap(),
            expect: &[("a.txt", ConflictKind::ModifyDelete)],
        },
        Case {
            name: "delete/modify",
            base: base_lines,
            ours: |_, r| std::fs::remove_file(r.join("a.txt")).unwrap(),
            theirs: |_, r| replace_line(r, "a.txt", 1, "ONE"),
            expect: &[("a.txt", ConflictKind::ModifyDelete)],
        },
        Case {
            name: "rename on one side, modify on the other",
            base: base_lines,
            ours: |env, r| mv(env, r, &["mv", "a.txt", "renamed.txt"]),
            theirs: |_, r| replace_line(r, "a.txt", 9, "NINE"),
            expect: &[],
        },
        Case {
            name: "rename/rename",
            base: base_lines,
            ours: |env, r| mv(env, r, &["mv", "a.txt", "ours-name.txt"]),
            theirs: |env, r| mv(env, r, &["mv", "a.txt", "theirs-name.txt"]),
            expect: &[("a.txt", ConflictKind::Rename)],
        },
        Case {
            name: "rename/delete",
            base: base_lines,
            ours: |env, r| mv(env, r, &["mv", "a.txt", "moved.txt"]),
            theirs: |_, r| std::fs::remove_file(r.join("a.txt")).unwrap(),
            // git leaves only the renamed file unmerged.
            expect: &[("moved.txt", ConflictKind::Rename)],
        },
        Case {
            name: "file vs directory",
            base: base_lines,
            ours: |_, r| put(r, "thing", "a file\n"),
            theirs: |_, r| put(r, "thing/inside.txt", "a file in a directory\n"),
            expect: &[("thing", ConflictKind::Type)],
        },
        Case {
            name: "modified file vs directory",
            base: base_lines,
            ours: |_, r| replace_line(r, "b.txt", 4, "FOUR"),
            theirs: |_, r| {
                std::fs::remove_file(r.join("b.txt")).unwrap();
                put(r, "b.txt/inside.txt", "b is a directory now\n");
            },
            expect: &[("b.txt", ConflictKind::Type)],
        },
        Case {
            name: "file vs symlink",
            base: base_lines,
            ours: |_, r| put(r, "link", "a regular file\n"),
            theirs: |_, r| symlink("a.txt", &r.join("link")),
            expect: &[("link", ConflictKind::Type)],
        },
        Case {
            name: "binary conflict",
            base: base_lines,
            ours: |_, r| write(r, "data.bin", BINARY_OURS),
            theirs: |_, r| write(r, "data.bin", BINARY_THEIRS),
            expect: &[("data.bin", ConflictKind::Content)],
        },
        Case {
            name: "executable bit on one side, content on the other",
            base: base_lines,
            ours: |_, r| make_executable(&r.join("script.sh")),
            theirs: |_, r| replace_line(r, "script.sh", 3, "echo TWO"),
            expect: &[],
        },
        Case {
            name: "a conflict plus a clean change in another file",
            base: base_lines,
            ours: |_, r| {
                replace_line(r, "a.txt", 3, "THREE (ours)");
                replace_line(r, "b.txt", 1, "ONE (ours)");
            },
            theirs: |_, r| {
                replace_line(r, "a.txt", 3, "THREE (theirs)");
                replace_line(r, "b.txt", 10, "TEN (theirs)");
            },
            expect: &[("a.txt", ConflictKind::Content)],
        },
        Case {
            name: "unrelated additions",
            base: nothing,
            ours: |_, r| put(r, "x.txt", "x\n"),
            theirs: |_, r| put(r, "y.txt", "y\n"),
            expect: &[],
        },
    ]
}

/// Build the case's history in a fresh repository; returns (ours tip, theirs tip, base commit).
fn build<'e>(env: &'e TestEnv, case: &Case) -> (TestRepo<'e>, String, String, String) {
    let repo = env.repo("proj").unwrap();
    (case.base)(env, &repo.path);
    git(env, &repo.path, &["add", "-A"]);
    git(env, &repo.path, &["commit", "-q", "--allow-empty", "-m", "base"]);
    let base = git(env, &repo.path, &["rev-parse", "HEAD"]);
    let mut tips = Vec::new();
    for (branch, step) in [("ours", case.ours), ("theirs", case.theirs)] {
        git(env, &repo.path, &["checkout", "-q", "-b", branch, "main"]);
        step(env, &repo.path);
        tips.push(repo.commit_all(branch).unwrap());
    }
    git(env, &repo.path, &["checkout", "-q", "main"]);
    let theirs = tips.pop().unwrap();
    let ours = tips.pop().unwrap();
    (repo, ours, theirs, base)
}

/// What `git merge-tree --write-tree --name-only` says: (clean, conflicted paths). It writes
/// objects, so callers measure their own object counts before running it.
fn git_merge_tree(env: &TestEnv, dir: &Path, ours: &str, theirs: &str) -> (bool, BTreeSet<String>) {
    let out = env.git_output(dir, &["merge-tree", "--write-tree", "--name-only", ours, theirs]).unwrap();
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 1)), "git merge-tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let tree = lines.next().unwrap();
    assert_eq!(tree.len(), 40, "first line is the tree id: {stdout}");
    let paths: BTreeSet<String> = lines.take_while(|l| !l.is_empty()).map(str::to_string).collect();
    (code == Some(0), paths)
}

fn reported(p: &MergePrediction) -> Vec<(String, ConflictKind)> {
    p.conflicts.iter().map(|c| (c.path.clone(), c.kind)).collect()
}

#[test]
fn committed_merges_agree_with_git_merge_tree_and_write_nothing() {
    let mut failures = Vec::new();
    for case in corpus() {
        let env = TestEnv::new().unwrap();
        let (repo, ours, theirs, base) = build(&env, &case);
        let r = Repo::open(&repo.path).unwrap();
        let (ours_id, theirs_id) = (CommitId::parse(&ours).unwrap(), CommitId::parse(&theirs).unwrap());

        let objects = repo.object_count().unwrap();
        // By id (labels are the ids, as when git is given ids), and by branch name both ways.
        let by_id = r.predict_merge(&ours_id, &theirs_id).unwrap();
        let predictor = r.merge_predictor().unwrap();
        let ours_side = predictor.commit(&ours_id).unwrap().with_label("ours");
        let theirs_side = predictor.commit(&theirs_id).unwrap().with_label("theirs");
        let forward = predictor.predict(&ours_side, &theirs_side).unwrap();
        let backward = predictor.predict(&theirs_side, &ours_side).unwrap();
        assert_eq!(repo.object_count().unwrap(), objects, "{}: prediction wrote objects", case.name);
        assert!(!repo.path.join(".git/index.lock").exists());

        let want: Vec<(String, ConflictKind)> = case.expect.iter().map(|(p, k)| (p.to_string(), *k)).collect();
        for (label, prediction, (a, b)) in [
            ("by id", &by_id, (ours.as_str(), theirs.as_str())),
            ("ours <- theirs", &forward, ("ours", "theirs")),
            ("theirs <- ours", &backward, ("theirs", "ours")),
        ] {
            let (git_clean, git_paths) = git_merge_tree(&env, &repo.path, a, b);
            let ours_paths: BTreeSet<String> = prediction.conflicting_paths().into_iter().collect();
            if prediction.clean != git_clean || ours_paths != git_paths || reported(prediction) != want {
                failures.push(format!(
                    "{} ({label}): clean {} vs git {git_clean}; paths {ours_paths:?} vs git {git_paths:?}; \
                     conflicts {:?}, expected {want:?}",
                    case.name,
                    prediction.clean,
                    reported(prediction)
                ));
            }
            assert_eq!(prediction.clean, prediction.conflicts.is_empty());
            for c in &prediction.conflicts {
                assert!(c.paths.contains(&c.path) || c.kind == ConflictKind::Type, "{}: {c:?}", case.name);
            }
            assert_eq!(prediction.base.as_ref().map(CommitId::as_str), Some(base.as_str()), "{}", case.name);
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn rename_rename_lists_the_source_and_both_destinations() {
    let env = TestEnv::new().unwrap();
    let case = corpus().into_iter().find(|c| c.name == "rename/rename").unwrap();
    let (repo, ours, theirs, _) = build(&env, &case);
    let r = Repo::open(&repo.path).unwrap();
    let p = r.predict_merge(&CommitId::parse(&ours).unwrap(), &CommitId::parse(&theirs).unwrap()).unwrap();
    assert_eq!(p.conflicts.len(), 1, "{p:?}");
    assert_eq!(p.conflicts[0].paths, ["a.txt", "ours-name.txt", "theirs-name.txt"]);
    assert!(p.conflicts[0].hunks.is_empty());
}

#[test]
fn binary_conflicts_have_no_hunks() {
    let env = TestEnv::new().unwrap();
    let case = corpus().into_iter().find(|c| c.name == "binary conflict").unwrap();
    let (repo, ours, theirs, _) = build(&env, &case);
    let r = Repo::open(&repo.path).unwrap();
    let p = r.predict_merge(&CommitId::parse(&ours).unwrap(), &CommitId::parse(&theirs).unwrap()).unwrap();
    assert_eq!(reported(&p), [("data.bin".to_string(), ConflictKind::Content)]);
    assert!(p.conflicts[0].hunks.is_empty());
    assert!(!p.conflicts[0].hunks_truncated);
}

#[test]
fn content_conflict_hunks_have_each_sides_lines_and_text() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    let base: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    repo.write("src/lib.rs", &base).unwrap();
    let base_commit = repo.commit_all("base").unwrap();

    // ours: two lines inserted at the top (shifting its numbering), line 5 changed, line 15
    // changed; theirs: line 5 changed differently, line 10 changed (clean), lines 15-16 replaced
    // by three lines.
    git(&env, &repo.path, &["checkout", "-q", "-b", "ours"]);
    let mut ours: Vec<String> = base.lines().map(str::to_string).collect();
    ours[4] = "line 5 by ours".into();
    ours[14] = "line 15 by ours".into();
    ours.insert(0, "// header 2".into());
    ours.insert(0, "// header 1".into());
    repo.write("src/lib.rs", &(ours.join("\n") + "\n")).unwrap();
    let ours_tip = repo.commit_all("ours").unwrap();

    git(&env, &repo.path, &["checkout", "-q", "-b", "theirs", &base_commit]);
    let mut theirs: Vec<String> = base.lines().map(str::to_string).collect();
    theirs[4] = "line 5 by theirs".into();
    theirs[9] = "line 10 by theirs".into();
    theirs.splice(14..16, ["a".to_string(), "b".to_string(), "c".to_string()]);
    repo.write("src/lib.rs", &(theirs.join("\n") + "\n")).unwrap();
    let theirs_tip = repo.commit_all("theirs").unwrap();

    let r = Repo::open(&repo.path).unwrap();
    let p = r.predict_merge(&CommitId::parse(&ours_tip).unwrap(), &CommitId::parse(&theirs_tip).unwrap()).unwrap();
    assert!(!p.clean);
    assert_eq!(p.base.as_ref().map(CommitId::as_str), Some(base_commit.as_str()));
    assert_eq!(reported(&p), [("src/lib.rs".to_string(), ConflictKind::Content)]);
    let c = &p.conflicts[0];
    assert!(!c.hunks_truncated);
    assert_eq!(
        c.hunks,
        [
            ConflictHunk {
                ours_start: 7,
                ours_lines: 1,
                theirs_start: 5,
                theirs_lines: 1,
                base_start: 5,
                base_lines: 1,
                ours: "line 5 by ours\n".into(),
                theirs: "line 5 by theirs\n".into(),
                base: "line 5\n".into(),
                truncated: false,
            },
            ConflictHunk {
                ours_start: 17,
                ours_lines: 2,
                theirs_start: 15,
                theirs_lines: 3,
                base_start: 15,
                base_lines: 2,
                ours: "line 15 by ours\nline 16\n".into(),
                theirs: "a\nb\nc\n".into(),
                base: "line 15\nline 16\n".into(),
                truncated: false,
            },
        ]
    );

    // The same regions git marks (`git merge-file --diff3`), counted from the markers.
    let show = |rev: &str| git(&env, &repo.path, &["show", &format!("{rev}:src/lib.rs")]) + "\n";
    let dir = env.root().join("merge-file");
    for (name, rev) in [("base", &base_commit), ("ours", &ours_tip), ("theirs", &theirs_tip)] {
        put(&dir, name, &show(rev));
    }
    let out = env.git_output(&dir, &["merge-file", "-p", "--diff3", "ours", "base", "theirs"]).unwrap();
    assert_eq!(out.status.code(), Some(2), "git counts two conflicts");
    let merged = String::from_utf8(out.stdout).unwrap();
    assert!(merged.contains("<<<<<<< ours\nline 5 by ours\n||||||| base\nline 5\n=======\nline 5 by theirs\n>>>>>>>"));
    assert!(
        merged.contains(
            "<<<<<<< ours\nline 15 by ours\nline 16\n||||||| base\nline 15\nline 16\n=======\na\nb\nc\n>>>>>>>"
        )
    );
}

#[test]
fn criss_cross_histories_merge_against_a_virtual_base_like_git() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    repo.write("a.txt", LINES).unwrap();
    repo.write("b.txt", LINES).unwrap();
    repo.commit_all("base").unwrap();
    // x and y each change a file, then each merges the other: two merge bases.
    git(&env, &repo.path, &["checkout", "-q", "-b", "x"]);
    replace_line(&repo.path, "a.txt", 2, "two (x)");
    let x1 = repo.commit_all("x1").unwrap();
    git(&env, &repo.path, &["checkout", "-q", "-b", "y", "main"]);
    replace_line(&repo.path, "b.txt", 2, "two (y)");
    let y1 = repo.commit_all("y1").unwrap();
    git(&env, &repo.path, &["merge", "-q", "--no-ff", "-m", "y merges x", &x1]);
    git(&env, &repo.path, &["checkout", "-q", "x"]);
    git(&env, &repo.path, &["merge", "-q", "--no-ff", "-m", "x merges y", &y1]);
    replace_line(&repo.path, "a.txt", 5, "five (x)");
    let x = repo.commit_all("x2").unwrap();
    git(&env, &repo.path, &["checkout", "-q", "y"]);
    replace_line(&repo.path, "a.txt", 5, "five (y)");
    let y = repo.commit_all("y2").unwrap();
    assert_eq!(git(&env, &repo.path, &["merge-base", "--all", &x, &y]).lines().count(), 2);

    let objects = repo.object_count().unwrap();
    let r = Repo::open(&repo.path).unwrap();
    let p = r.predict_merge(&CommitId::parse(&x).unwrap(), &CommitId::parse(&y).unwrap()).unwrap();
    assert_eq!(repo.object_count().unwrap(), objects, "the virtual merge base stays in memory");
    assert_eq!(reported(&p), [("a.txt".to_string(), ConflictKind::Content)]);
    let h = &p.conflicts[0].hunks;
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!((h[0].ours.as_str(), h[0].theirs.as_str()), ("five (x)\n", "five (y)\n"));
    let (git_clean, git_paths) = git_merge_tree(&env, &repo.path, &x, &y);
    assert!(!git_clean);
    assert_eq!(p.conflicting_paths().into_iter().collect::<BTreeSet<_>>(), git_paths);
    assert!(p.base.is_some());
}

#[test]
fn unrelated_histories_merge_against_the_empty_tree_and_an_explicit_base_is_honoured() {
    let env = TestEnv::new().unwrap();
    let repo = env.repo("proj").unwrap();
    repo.write("a.txt", LINES).unwrap();
    let base = repo.commit_all("base").unwrap();
    git(&env, &repo.path, &["checkout", "-q", "-b", "ours"]);
    replace_line(&repo.path, "a.txt", 1, "ONE (ours)");
    let ours = repo.commit_all("ours").unwrap();
    git(&env, &repo.path, &["checkout", "-q", "--orphan", "unrelated"]);
    git(&env, &repo.path, &["rm", "-rq", "--cached", "."]);
    std::fs::remove_file(repo.path.join("README.md")).unwrap();
    replace_line(&repo.path, "a.txt", 10, "TEN (unrelated)");
    let unrelated = repo.commit_all("unrelated").unwrap();
    git(&env, &repo.path, &["checkout", "-q", "-f", "main"]);

    let objects = repo.object_count().unwrap();
    let r = Repo::open(&repo.path).unwrap();
    let predictor = r.merge_predictor().unwrap();
    let ours = predictor.commit(&CommitId::parse(&ours).unwrap()).unwrap();
    let unrelated = predictor.commit(&CommitId::parse(&unrelated).unwrap()).unwrap();
    // No shared history: both sides added a.txt, with different content.
    let p = predictor.predict(&ours, &unrelated).unwrap();
    assert_eq!(p.base, None);
    assert_eq!(reported(&p), [("a.txt".to_string(), ConflictKind::AddAdd)]);
    assert_eq!(p.conflicts[0].hunks.len(), 1, "the whole file differs as one region: {p:?}");
    // Against the base the caller names, the two edits are far apart.
    let base = CommitId::parse(&base).unwrap();
    let p = predictor.predict_with_base(Some(&base), &ours, &unrelated).unwrap();
    assert_eq!(p.base, Some(base));
    assert!(p.clean, "{p:?}");
    assert_eq!(predictor.predict_with_base(None, &ours, &unrelated).unwrap().conflicts.len(), 1);
    assert_eq!(repo.object_count().unwrap(), objects);
}

/// A repository with two linked worktrees (branches s1 and s2) forked from main.
fn live_fixture(env: &TestEnv) -> (TestRepo<'_>, std::path::PathBuf, std::path::PathBuf) {
    let repo = env.repo("proj").unwrap();
    repo.write(".gitignore", "*.log\n").unwrap();
    repo.write("shared.txt", LINES).unwrap();
    repo.write("other.txt", LINES).unwrap();
    repo.write("gone.txt", "deleted in s1\n").unwrap();
    repo.write("tool.sh", "#!/bin/sh\necho tool\n").unwrap();
    symlink("shared.txt", &repo.path.join("link"));
    repo.commit_all("fixture").unwrap();
    let s1 = cli_worktree(env, &repo.path, "proj-s1", "s1");
    let s2 = cli_worktree(env, &repo.path, "proj-s2", "s2");
    (repo, s1, s2)
}

/// Everything a prediction must leave alone in a checkout.
struct Untouched {
    files: std::collections::BTreeMap<String, (Vec<u8>, u32)>,
    status: BTreeSet<String>,
    index: Vec<u8>,
}

fn untouched(env: &TestEnv, wt: &Path) -> Untouched {
    let status = status_set(env, wt); // may refresh the index, so read it after
    Untouched {
        files: tree_contents(wt).unwrap(),
        status,
        index: std::fs::read(git_dir(env, wt).join("index")).unwrap(),
    }
}

fn assert_untouched(env: &TestEnv, wt: &Path, before: &Untouched) {
    assert_eq!(std::fs::read(git_dir(env, wt).join("index")).unwrap(), before.index, "index of {}", wt.display());
    assert!(!git_dir(env, wt).join("index.lock").exists());
    assert_eq!(tree_contents(wt).unwrap(), before.files, "files of {}", wt.display());
    assert_eq!(status_set(env, wt), before.status, "status of {}", wt.display());
}

/// The tree git builds for a checkout's files (`git add -A` into a scratch index). Writes objects.
fn git_worktree_tree(env: &TestEnv, wt: &Path) -> String {
    let scratch = env.root().join("scratch-index");
    std::fs::copy(git_dir(env, wt).join("index"), &scratch).unwrap();
    let run = |args: &[&str]| {
        let out = env.command("git").arg("-C").arg(wt).args(args).env("GIT_INDEX_FILE", &scratch).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    run(&["add", "-A"]);
    let tree = run(&["write-tree"]);
    std::fs::remove_file(&scratch).unwrap();
    tree
}

#[test]
fn live_checkouts_with_uncommitted_work_are_merged_in_memory() {
    let env = TestEnv::new().unwrap();
    let (repo, s1, s2) = live_fixture(&env);
    let fork = git(&env, &repo.path, &["rev-parse", "HEAD"]);

    // s1: same line as s2 in shared.txt, top of other.txt, an untracked file also made by s2,
    // a deletion, a staged new file, +x on a file, a new symlink, an ignored file.
    replace_line(&s1, "shared.txt", 2, "two (s1)");
    replace_line(&s1, "other.txt", 1, "one (s1)");
    put(&s1, "notes/added.txt", "from s1\n");
    std::fs::remove_file(s1.join("gone.txt")).unwrap();
    put(&s1, "staged.txt", "staged in s1\n");
    git(&env, &s1, &["add", "staged.txt"]);
    make_executable(&s1.join("other.txt"));
    symlink("other.txt", &s1.join("new-link"));
    put(&s1, "debug.log", "ignored\n");
    // s2: same line of shared.txt, bottom of other.txt, the same untracked path.
    replace_line(&s2, "shared.txt", 2, "two (s2)");
    replace_line(&s2, "other.txt", 10, "ten (s2)");
    put(&s2, "notes/added.txt", "from s2\n");

    let before1 = untouched(&env, &s1);
    let before2 = untouched(&env, &s2);
    let objects = repo.object_count().unwrap();

    let r = Repo::open(&repo.path).unwrap();
    let predictor = r.merge_predictor().unwrap();
    let side1 = predictor.checkout_state(&s1).unwrap();
    let side2 = predictor.checkout_state(&s2).unwrap();
    let p = predictor.predict(&side1, &side2).unwrap();
    let reverse = predictor.predict(&side2, &side1).unwrap();

    assert_eq!(repo.object_count().unwrap(), objects, "prediction wrote objects");
    assert_untouched(&env, &s1, &before1);
    assert_untouched(&env, &s2, &before2);

    assert_eq!(side1.head().unwrap().as_str(), fork);
    assert_eq!(p.base.as_ref().map(CommitId::as_str), Some(fork.as_str()));
    assert!(!p.clean);
    assert_eq!(
        reported(&p),
        [("notes/added.txt".to_string(), ConflictKind::AddAdd), ("shared.txt".to_string(), ConflictKind::Content)]
    );
    assert_eq!(reported(&reverse), reported(&p));
    let shared = &p.conflicts[1];
    assert_eq!(shared.hunks.len(), 1);
    let h = &shared.hunks[0];
    assert_eq!((h.ours_start, h.ours_lines, h.theirs_start, h.theirs_lines), (2, 1, 2, 1));
    assert_eq!((h.ours.as_str(), h.theirs.as_str(), h.base.as_str()), ("two (s1)\n", "two (s2)\n", "two\n"));
    let added = &p.conflicts[0];
    assert_eq!(added.hunks.len(), 1);
    assert_eq!((added.hunks[0].ours.as_str(), added.hunks[0].theirs.as_str()), ("from s1\n", "from s2\n"));

    // The working-state trees are exactly what git would commit with `git add -A`.
    assert_eq!(side1.tree_id(), git_worktree_tree(&env, &s1));
    assert_eq!(side2.tree_id(), git_worktree_tree(&env, &s2));
}

#[test]
fn live_checkouts_with_separate_edits_merge_cleanly_and_against_a_branch() {
    let env = TestEnv::new().unwrap();
    let (repo, s1, s2) = live_fixture(&env);
    let fork = git(&env, &repo.path, &["rev-parse", "HEAD"]);
    replace_line(&s1, "shared.txt", 2, "two (s1)");
    put(&s1, "only-in-s1.txt", "s1\n");
    replace_line(&s2, "shared.txt", 9, "nine (s2)");
    std::fs::remove_file(s2.join("gone.txt")).unwrap();
    // s2 also has a commit of its own: the merge base is still the fork point.
    put(&s2, "committed.txt", "committed in s2\n");
    git(&env, &s2, &["add", "committed.txt"]);
    git(&env, &s2, &["commit", "-q", "-m", "s2 work"]);

    // main moves on: it changes the line s1 is editing.
    replace_line(&repo.path, "shared.txt", 2, "two (main)");
    let main_tip = repo.commit_all("main work").unwrap();

    let before1 = untouched(&env, &s1);
    let before2 = untouched(&env, &s2);
    let objects = repo.object_count().unwrap();

    let r = Repo::open(&repo.path).unwrap();
    let predictor = r.merge_predictor().unwrap();
    let side1 = predictor.checkout_state(&s1).unwrap();
    let side2 = predictor.checkout_state(&s2).unwrap();
    let main = predictor.commit(&CommitId::parse(&main_tip).unwrap()).unwrap();
    let pair = predictor.predict(&side1, &side2).unwrap();
    let s1_main = predictor.predict(&side1, &main).unwrap();
    let s2_main = predictor.predict(&side2, &main).unwrap();
    let main_s1 = predictor.predict(&main, &side1).unwrap();
    // The same predictor again gives the same answer (merge bases are cached).
    assert_eq!(predictor.predict(&side1, &side2).unwrap(), pair);

    assert_eq!(repo.object_count().unwrap(), objects, "prediction wrote objects");
    assert_untouched(&env, &s1, &before1);
    assert_untouched(&env, &s2, &before2);

    assert!(pair.clean, "{pair:?}");
    assert_eq!(pair.base.as_ref().map(CommitId::as_str), Some(fork.as_str()));
    assert!(s2_main.clean, "{s2_main:?}");
    assert_eq!(reported(&s1_main), [("shared.txt".to_string(), ConflictKind::Content)]);
    assert_eq!(reported(&main_s1), reported(&s1_main));
    let h = &s1_main.conflicts[0].hunks;
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].ours.as_str(), h[0].theirs.as_str()), ("two (s1)\n", "two (main)\n"));
}

#[test]
fn working_state_trees_follow_files_replaced_by_directories_and_back() {
    let env = TestEnv::new().unwrap();
    let (repo, s1, _s2) = live_fixture(&env);
    // A tracked file becomes a directory, a tracked directory's only file becomes a file of the
    // directory's name, a staged rename, a file deleted from the index but kept on disk.
    put(&repo.path, "dir/only.txt", "in a directory\n");
    repo.commit_all("a directory").unwrap();
    git(&env, &s1, &["merge", "-q", "--ff-only", "main"]);
    std::fs::remove_file(s1.join("gone.txt")).unwrap();
    put(&s1, "gone.txt/inner.txt", "gone.txt is a directory now\n");
    std::fs::remove_dir_all(s1.join("dir")).unwrap();
    put(&s1, "dir", "dir is a file now\n");
    std::fs::create_dir(s1.join("moved")).unwrap();
    git(&env, &s1, &["mv", "other.txt", "moved/other.txt"]);
    git(&env, &s1, &["rm", "-q", "--cached", "tool.sh"]);

    let before = untouched(&env, &s1);
    let objects = repo.object_count().unwrap();
    let r = Repo::open(&repo.path).unwrap();
    let predictor = r.merge_predictor().unwrap();
    let side = predictor.checkout_state(&s1).unwrap();
    let main = predictor.commit(&r.resolve_commit("main").unwrap()).unwrap();
    let p = predictor.predict(&side, &main).unwrap();
    assert!(p.clean, "{p:?}");
    assert_eq!(repo.object_count().unwrap(), objects);
    assert_untouched(&env, &s1, &before);
    assert_eq!(side.tree_id(), git_worktree_tree(&env, &s1));
}

#[test]
fn a_clean_checkout_is_its_head_and_foreign_checkouts_are_refused() {
    let env = TestEnv::new().unwrap();
    let (repo, s1, _s2) = live_fixture(&env);
    let r = Repo::open(&repo.path).unwrap();
    let predictor = r.merge_predictor().unwrap();
    let head = CommitId::parse(&git(&env, &s1, &["rev-parse", "HEAD"])).unwrap();
    let clean = predictor.checkout_state(&s1).unwrap();
    assert_eq!(clean.tree_id(), predictor.commit(&head).unwrap().tree_id());
    assert_eq!(clean.head(), Some(head.clone()));
    assert_eq!(clean.label(), "s1", "a checkout is labelled with its branch");
    assert_eq!(predictor.checkout_state(&repo.path).unwrap().head(), Some(head));

    let other = env.repo("other").unwrap();
    let err = predictor.checkout_state(&other.path).unwrap_err();
    assert!(matches!(err, pcc_git::GitError::NotAWorktree { .. }), "{err:?}");
    let missing = CommitId::parse(&"1".repeat(40)).unwrap();
    assert!(matches!(predictor.commit(&missing), Err(pcc_git::GitError::UnknownRevision { .. })));
}
