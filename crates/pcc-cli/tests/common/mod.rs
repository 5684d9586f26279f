//! Shared helpers for the end-to-end tests of the `parallel-cc` and `claude-parallel` binaries.
//!
//! Every child process runs through [`TestEnv::command`], so it gets a hermetic HOME, data dir
//! and git configuration. Every invocation is checked for panics.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pcc_testkit::{TestEnv, TestRepo};
use serde_json::Value;

pub const PCC: &str = env!("CARGO_BIN_EXE_parallel-cc");
pub const CLAUDE_PARALLEL: &str = env!("CARGO_BIN_EXE_claude-parallel");

/// The git identity variables `TestEnv` sets; a user without a git identity has none of them.
pub const IDENTITY_VARS: &[&str] =
    &["GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"];

/// What a finished command left behind.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn from_output(what: &str, o: Output) -> Out {
        let out = Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        assert!(!out.stderr.contains("panicked"), "{what} panicked:\n{}", out.describe());
        assert!(!out.stdout.contains("panicked"), "{what} panicked:\n{}", out.describe());
        out
    }

    pub fn describe(&self) -> String {
        format!("exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }

    /// Exits with `code`, else fails the test with the whole output.
    pub fn expect_code(self, code: i32) -> Out {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{}", self.describe());
        self
    }

    pub fn ok(self) -> Out {
        self.expect_code(0)
    }

    /// stdout holds exactly one JSON document and nothing else.
    pub fn json(&self) -> Value {
        let doc = one_json(self.stdout.as_bytes());
        assert!(doc.is_ok(), "{}\n{}", doc.as_ref().err().cloned().unwrap_or_default(), self.describe());
        doc.unwrap()
    }
}

/// Exactly one JSON document in `bytes` (surrounding whitespace allowed), or why not.
pub fn one_json(bytes: &[u8]) -> Result<Value, String> {
    let mut docs = Vec::new();
    for doc in serde_json::Deserializer::from_slice(bytes).into_iter::<Value>() {
        match doc {
            Ok(v) => docs.push(v),
            Err(e) => return Err(format!("stdout is not pure JSON ({e}) after {} document(s)", docs.len())),
        }
    }
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => Err(format!("expected exactly one JSON document on stdout, found {n}")),
    }
}

/// Run `cmd` to completion and collect its output.
pub trait RunExt {
    fn out(&mut self) -> Out;
}

impl RunExt for Command {
    fn out(&mut self) -> Out {
        let what = format!("{:?}", self);
        let o = self.output();
        assert!(o.is_ok(), "cannot run {what}: {:?}", o.as_ref().err());
        Out::from_output(&what, o.unwrap())
    }
}

/// A test's world: a [`TestEnv`] plus shortcuts for running the binaries in it.
pub struct Env {
    pub t: TestEnv,
}

impl Env {
    pub fn new() -> Env {
        Env { t: TestEnv::new().expect("test env") }
    }

    pub fn root(&self) -> PathBuf {
        self.t.root()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.t.data_dir()
    }

    /// A repository with one commit on `main`.
    pub fn repo(&self, name: &str) -> TestRepo<'_> {
        self.t.repo(name).expect("test repo")
    }

    /// `parallel-cc` with this environment, run from the temp root (not a git repository).
    pub fn pcc(&self) -> Command {
        let mut c = self.t.command(PCC);
        c.current_dir(self.root());
        c
    }

    /// `parallel-cc` as a user with no git identity at all would run it.
    pub fn pcc_no_identity(&self) -> Command {
        let mut c = self.pcc();
        for k in IDENTITY_VARS {
            c.env_remove(k);
        }
        c
    }

    pub fn claude_parallel(&self) -> Command {
        let mut c = self.t.command(CLAUDE_PARALLEL);
        c.current_dir(self.root());
        c
    }

    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.t.git(dir, args).expect("git")
    }

    /// `register --repo <repo> --pid <pid> --json [extra]`, expected to succeed.
    pub fn register(&self, repo: &Path, pid: u32, extra: &[&str]) -> Value {
        self.pcc()
            .args(["register", "--json", "--pid", &pid.to_string()])
            .arg("--repo")
            .arg(repo)
            .args(extra)
            .out()
            .ok()
            .json()
    }

    /// `status --json --repo <repo>`.
    pub fn status(&self, repo: &Path) -> Value {
        self.pcc().args(["status", "--json", "--repo"]).arg(repo).out().ok().json()
    }

    /// `status --json --all`.
    pub fn status_all(&self) -> Value {
        self.pcc().args(["status", "--json", "--all"]).out().ok().json()
    }

    /// The session with `id` in a status document.
    pub fn session<'v>(status: &'v Value, id: &str) -> Option<&'v Value> {
        status["sessions"].as_array()?.iter().find(|s| s["sessionId"] == id)
    }

    /// Paths listed by `git worktree list --porcelain`.
    pub fn git_worktrees(&self, repo: &Path) -> Vec<String> {
        self.git(repo, &["worktree", "list", "--porcelain"])
            .lines()
            .filter_map(|l| l.strip_prefix("worktree ").map(str::to_string))
            .collect()
    }

    pub fn branch_exists(&self, repo: &Path, branch: &str) -> bool {
        let r = format!("refs/heads/{branch}");
        self.t.git_output(repo, &["rev-parse", "--verify", "--quiet", &r]).expect("git").status.success()
    }

    /// A directory with an executable `name` script, for putting first on PATH.
    pub fn fake_program(&self, name: &str, script: &str) -> PathBuf {
        let bin = self.root().join("fakebin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        bin
    }

    /// PATH with `dir` first.
    pub fn path_with(dir: &Path) -> std::ffi::OsString {
        let mut parts = vec![dir.to_path_buf()];
        if let Some(p) = std::env::var_os("PATH") {
            parts.extend(std::env::split_paths(&p));
        }
        std::env::join_paths(parts).unwrap()
    }
}

/// A long-lived process whose PID a test registers sessions for; killed when dropped.
pub struct Sleeper(Child);

impl Sleeper {
    pub fn new() -> Sleeper {
        let child = Command::new("sleep")
            .arg("300")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        Sleeper(child)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Kill it now and reap it, so its PID is no longer alive.
    pub fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGKILL a process that is not our child (e.g. an agent started by a supervisor we killed).
pub fn kill9(pid: i32) {
    if let Some(p) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    }
}

/// Kills the listed processes (SIGKILL) when dropped, so a failing test leaves nothing running.
#[derive(Default)]
pub struct KillOnDrop(pub Vec<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in &self.0 {
            if pid_running(*pid) {
                kill9(*pid);
            }
        }
    }
}

/// Whether `pid` is a running (not zombie) process.
pub fn pid_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}

/// Poll `cond` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Replace every occurrence of `from` inside the strings of `v` with `to` (for comparing whole
/// documents that mention temp paths).
pub fn scrub(v: &Value, from: &str, to: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(from, to)),
        Value::Array(a) => Value::Array(a.iter().map(|x| scrub(x, from, to)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), scrub(x, from, to))).collect()),
        other => other.clone(),
    }
}

/// The sorted keys of a JSON object.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    k.sort();
    k
}

pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
