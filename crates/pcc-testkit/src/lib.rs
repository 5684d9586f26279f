//! Test fixtures for parallel-cc (dev-only).
//!
//! [`TestEnv`] gives a test its own temporary root with its own HOME, data dir and git
//! configuration (global and system config pointed at nothing, fixed author and dates), so tests
//! never touch the real home, git config or network and can run in parallel.
//! [`TestRepo`] is a real git repository driven by the real git CLI.
//! With the `fake-e2b` feature, `e2b::FakeE2b` is a fake E2B service (control plane and envd)
//! on loopback, proven against the official Python SDK (`tests/e2b_sdk_conformance.rs`).
//!
//! Never a dependency of non-dev code.

#[cfg(feature = "fake-e2b")]
pub mod e2b;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// A hermetic environment: temp root, HOME, data dir, empty git config.
pub struct TestEnv {
    root: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> Result<Self> {
        let root = tempfile::Builder::new().prefix("pcc-test-").tempdir().context("create temp dir")?;
        let env = TestEnv { root };
        std::fs::create_dir_all(env.home())?;
        std::fs::write(env.root().join("gitconfig"), "")?;
        Ok(env)
    }

    /// Canonical root of this environment.
    pub fn root(&self) -> PathBuf {
        std::fs::canonicalize(self.root.path()).unwrap_or_else(|_| self.root.path().to_path_buf())
    }

    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root().join("data")
    }

    /// Environment variables every child process of a test gets.
    pub fn vars(&self) -> BTreeMap<OsString, OsString> {
        let mut v = BTreeMap::new();
        let mut set = |k: &str, val: OsString| {
            v.insert(OsString::from(k), val);
        };
        set("HOME", self.home().into());
        set("PARALLEL_CC_DATA_DIR", self.data_dir().into());
        set("GIT_CONFIG_GLOBAL", self.root().join("gitconfig").into());
        set("GIT_CONFIG_NOSYSTEM", "1".into());
        set("GIT_CONFIG_SYSTEM", "/dev/null".into());
        set("GIT_AUTHOR_NAME", "Test Author".into());
        set("GIT_AUTHOR_EMAIL", "author@example.com".into());
        set("GIT_COMMITTER_NAME", "Test Committer".into());
        set("GIT_COMMITTER_EMAIL", "committer@example.com".into());
        set("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z".into());
        set("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z".into());
        set("GIT_TERMINAL_PROMPT", "0".into());
        set("NO_COLOR", "1".into());
        set("XDG_CONFIG_HOME", self.home().join(".config").into());
        v
    }

    /// Variables to remove from a child's environment so the host cannot leak in.
    pub fn removed_vars() -> &'static [&'static str] {
        &[
            "PARALLEL_CC_SESSION_ID",
            "PARALLEL_CC_REPO",
            "PARALLEL_CC_WORKTREE",
            "PARALLEL_CC_LOG",
            "CLAUDE_PROJECT_DIR",
            "CLAUDE_PID",
            "CLAUDE_CODE_SESSION_ID",
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "E2B_API_KEY",
            "ANTHROPIC_API_KEY",
        ]
    }

    /// A command with this environment applied.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        for k in Self::removed_vars() {
            c.env_remove(k);
        }
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PARALLEL_CC_") {
                c.env_remove(&k);
            }
        }
        c.envs(self.vars());
        c.stdin(Stdio::null());
        c
    }

    /// Run git with this environment in `dir`; fails the test on a non-zero exit.
    pub fn git(&self, dir: &Path, args: &[&str]) -> Result<String> {
        let out = self.git_output(dir, args)?;
        if !out.status.success() {
            bail!("git {} failed in {}: {}", args.join(" "), dir.display(), String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    pub fn git_output(&self, dir: &Path, args: &[&str]) -> Result<Output> {
        self.command("git").arg("-C").arg(dir).args(args).output().context("run git")
    }

    /// A new repository at `<root>/<name>` with one commit on `main`.
    pub fn repo(&self, name: &str) -> Result<TestRepo<'_>> {
        let path = self.root().join(name);
        std::fs::create_dir_all(&path)?;
        self.git(&path, &["init", "-q", "-b", "main"])?;
        let repo = TestRepo { path: std::fs::canonicalize(&path)?, env: self };
        repo.write("README.md", "# test repo\n")?;
        repo.commit_all("initial commit")?;
        Ok(repo)
    }
}

/// A real git repository inside a [`TestEnv`].
pub struct TestRepo<'e> {
    pub path: PathBuf,
    env: &'e TestEnv,
}

impl TestRepo<'_> {
    pub fn git(&self, args: &[&str]) -> Result<String> {
        self.env.git(&self.path, args)
    }

    pub fn write(&self, rel: &str, content: &str) -> Result<()> {
        write_file(&self.path, rel, content.as_bytes())
    }

    pub fn commit_all(&self, message: &str) -> Result<String> {
        self.git(&["add", "-A"])?;
        self.git(&["commit", "-q", "-m", message])?;
        self.git(&["rev-parse", "HEAD"])
    }

    /// Count of objects in the object database (loose + packed).
    pub fn object_count(&self) -> Result<u64> {
        let out = self.git(&["count-objects", "-v"])?;
        let mut n = 0;
        for line in out.lines() {
            if let Some(v) = line.strip_prefix("count: ").or_else(|| line.strip_prefix("in-pack: ")) {
                n += v.trim().parse::<u64>()?;
            }
        }
        Ok(n)
    }
}

/// Write `content` at `root/rel`, creating parent directories.
pub fn write_file(root: &Path, rel: &str, content: &[u8]) -> Result<()> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&p, content).with_context(|| format!("write {}", p.display()))
}

/// Every file below `root` (excluding `.git`), with its bytes and, on unix, whether it is
/// executable or a symlink: the "byte for byte" picture of a checkout.
pub fn tree_contents(root: &Path) -> Result<BTreeMap<String, (Vec<u8>, u32)>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, u32)>) -> Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == ".git" {
                continue;
            }
            let path = entry.path();
            let rel = path.strip_prefix(base)?.to_string_lossy().replace('\\', "/");
            let meta = std::fs::symlink_metadata(&path)?;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path)?;
                out.insert(rel, (target.to_string_lossy().into_owned().into_bytes(), 0o120000));
            } else if meta.is_dir() {
                walk(base, &path, out)?;
            } else {
                #[cfg(unix)]
                let mode = {
                    use std::os::unix::fs::PermissionsExt;
                    if meta.permissions().mode() & 0o111 != 0 { 0o100755 } else { 0o100644 }
                };
                #[cfg(not(unix))]
                let mode = 0o100644;
                out.insert(rel, (std::fs::read(&path)?, mode));
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out)?;
    Ok(out)
}
