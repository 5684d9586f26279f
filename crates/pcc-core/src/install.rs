//! `install` (PRODUCT.md §3.1): Claude Code hooks, the worktree provider, the `claude` alias and
//! the MCP server entry, added to and removed from the user's own files.
//!
//! The edits are pure functions over file contents ([`hooks`], [`mcp`], [`text`]). This module
//! is the thin layer that finds the files from an explicit [`Environment`] (HOME, the running
//! executable, the shell — tests inject them), reads them, and writes what changed. Nothing is
//! written until every requested edit has been computed, so a file that cannot be parsed stops
//! the whole run with every file untouched. Each write is atomic (temp file, fsync, rename) and
//! keeps the file's permissions; a file whose edit changes nothing is not rewritten.
//!
//! [`status`] reads the same files with the same recognisers; `doctor` uses it, so the two can
//! never disagree.

mod diff;
mod files;
pub mod hooks;
pub mod mcp;
pub mod text;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env;
use crate::error::Result;
use hooks::HookSpec;
use text::Shell;

/// Errors of `install` (wrapped in [`crate::CoreError::Install`]).
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot parse {path} at line {line}, column {column}: {reason}")]
    Parse { path: PathBuf, line: usize, column: usize, reason: String },
    #[error("{path} is not a JSON object")]
    NotAnObject { path: PathBuf },
    #[error("cannot edit {path}: {what}")]
    Shape { path: PathBuf, what: String },
    #[error("{path} is not UTF-8 text")]
    NotUtf8 { path: PathBuf },
    #[error("unsupported shell: {shell}")]
    UnsupportedShell { shell: String },
    #[error("cannot tell which shell's startup file to edit: SHELL is not set")]
    NoShell,
    #[error("cannot determine the home directory: set HOME")]
    NoHome,
    #[error("cannot find the running parallel-cc executable")]
    NoExecutable {
        #[source]
        source: std::io::Error,
    },
    #[error("the path of the parallel-cc executable is not UTF-8: {path}")]
    ExecutableNotUtf8 { path: PathBuf },
    #[error("--local needs a git repository: {path} is not inside one")]
    NotARepo { path: PathBuf },
}

impl InstallError {
    pub fn code(&self) -> &'static str {
        match self {
            InstallError::Parse { .. }
            | InstallError::NotAnObject { .. }
            | InstallError::Shape { .. }
            | InstallError::NotUtf8 { .. } => "invalid_settings_file",
            InstallError::UnsupportedShell { .. } | InstallError::NoShell => "unsupported_shell",
            InstallError::NoHome => "no_home",
            InstallError::NoExecutable { .. } | InstallError::ExecutableNotUtf8 { .. } => "io_error",
            InstallError::NotARepo { .. } => "not_a_git_repo",
        }
    }

    /// Only a missing HOME is a usage/configuration error; the rest are failures (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(self, InstallError::NoHome)
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            InstallError::Parse { .. }
            | InstallError::NotAnObject { .. }
            | InstallError::Shape { .. }
            | InstallError::NotUtf8 { .. } => {
                Some("nothing was changed; fix the file (or move it aside) and run install again".into())
            }
            InstallError::UnsupportedShell { .. } => Some(
                "the alias supports bash, zsh and fish; add `alias claude=claude-parallel` to your shell's startup \
                 file yourself, or leave out --alias"
                    .into(),
            ),
            InstallError::NoShell => Some("set SHELL (e.g. SHELL=/bin/bash), or leave out --alias".into()),
            InstallError::NotARepo { .. } => {
                Some("run inside a git repository, pass --repo <path>, or use --global".into())
            }
            _ => None,
        }
    }
}

/// A settings document of an unexpected shape (`hooks` not an object, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    pub what: String,
}

impl ShapeError {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        ShapeError { what: what.into() }
    }

    fn at(self, path: &Path) -> InstallError {
        InstallError::Shape { path: path.into(), what: self.what }
    }
}

/// What `install` works from: where home is, which executable the hooks and the MCP entry run,
/// which shell gets the alias, and the PATH to look for `claude-parallel` on.
#[derive(Clone, Debug)]
pub struct Environment {
    pub home: PathBuf,
    /// Absolute (canonical) path of the `parallel-cc` executable.
    pub exe: PathBuf,
    /// `$SHELL`.
    pub shell: Option<String>,
    /// `$PATH`.
    pub path: Option<OsString>,
}

impl Environment {
    /// From this process: `$HOME`, `std::env::current_exe()` (canonical), `$SHELL`, `$PATH`.
    pub fn from_process() -> Result<Environment> {
        let home =
            std::env::var_os(env::HOME).filter(|h| !h.is_empty()).map(PathBuf::from).ok_or(InstallError::NoHome)?;
        let exe = std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .map_err(|source| InstallError::NoExecutable { source })?;
        let shell = std::env::var_os(env::SHELL).filter(|s| !s.is_empty()).map(|s| s.to_string_lossy().into_owned());
        Ok(Environment { home, exe, shell, path: std::env::var_os("PATH") })
    }

    /// `~/.claude/settings.json`.
    pub fn global_settings(&self) -> PathBuf {
        self.home.join(".claude").join("settings.json")
    }

    /// `~/.claude.json`.
    pub fn claude_json(&self) -> PathBuf {
        self.home.join(".claude.json")
    }

    fn exe_str(&self) -> Result<&str> {
        Ok(self.exe.to_str().ok_or_else(|| InstallError::ExecutableNotUtf8 { path: self.exe.clone() })?)
    }

    /// The shell named by `$SHELL`.
    pub fn shell(&self) -> Result<Shell> {
        let raw = self.shell.as_deref().ok_or(InstallError::NoShell)?;
        let name = text::shell_basename(raw);
        Ok(Shell::from_name(name).ok_or_else(|| InstallError::UnsupportedShell { shell: name.to_string() })?)
    }

    /// The shell startup file the alias goes into.
    pub fn profile(&self, shell: Shell) -> PathBuf {
        shell.profile(&self.home, Path::exists)
    }

    /// `claude-parallel` next to the executable, else on PATH.
    pub fn find_wrapper(&self) -> Option<PathBuf> {
        const WRAPPER: &str = "claude-parallel";
        let beside = self.exe.parent().map(|d| d.join(WRAPPER)).filter(|p| p.is_file());
        beside.or_else(|| std::env::split_paths(self.path.as_deref()?).map(|d| d.join(WRAPPER)).find(|p| p.is_file()))
    }
}

/// `<repo>/.claude/settings.json`.
pub fn local_settings(repo: &Path) -> PathBuf {
    repo.join(".claude").join("settings.json")
}

/// Which settings file the hooks go into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `~/.claude/settings.json`.
    Global,
    /// `<repo>/.claude/settings.json`, `repo` being the main checkout.
    Local { repo: PathBuf },
}

impl Scope {
    /// The local scope of the repository containing `path` (its main checkout).
    pub fn local(path: &Path) -> Result<Scope> {
        crate::repo_root(path)
            .map(|repo| Scope::Local { repo })
            .ok_or_else(|| InstallError::NotARepo { path: path.into() }.into())
    }

    pub fn name(&self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Local { .. } => "local",
        }
    }
}

/// What to install or remove. Parts combine; `uninstall` reverses each named part.
#[derive(Clone, Debug)]
pub struct InstallRequest {
    /// The hooks of [`hooks::CORE_HOOKS`] (uninstall: those and the original tool's heartbeat).
    pub hooks: bool,
    /// The hooks of [`hooks::PROVIDER_HOOKS`].
    pub worktree_provider: bool,
    pub alias: bool,
    pub mcp: bool,
    pub scope: Scope,
    /// With a local scope (install only): add [`text::GITIGNORE_ENTRY`] to the repository's
    /// `.gitignore` unless it is covered.
    pub gitignore: bool,
    pub uninstall: bool,
    /// Compute everything, write nothing; the report carries the diffs.
    pub dry_run: bool,
}

/// What happened to the hooks.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HooksResult {
    pub settings_path: String,
    pub scope: &'static str,
    /// The settings file did not exist and was (or would be) created.
    pub created: bool,
    /// Our entries were (or would be) merged into an existing file.
    pub merged: bool,
    /// Nothing to do: every entry was there, pointing at this executable.
    pub already_installed: bool,
    /// Uninstall: entries were (or would be) removed.
    pub removed: bool,
    /// Events installed, or (uninstall) from which entries were removed.
    pub events: Vec<String>,
    /// Commands of older entries that were replaced (another path, the original's heartbeat).
    pub replaced: Vec<String>,
}

/// What happened to the alias.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AliasResult {
    pub shell: String,
    pub profile_path: String,
    pub created: bool,
    pub merged: bool,
    pub already_installed: bool,
    pub removed: bool,
    /// Where `claude-parallel` was found (next to parallel-cc, or on PATH).
    pub wrapper_path: Option<String>,
}

/// What happened to the MCP server entry.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct McpResult {
    pub settings_path: String,
    pub created: bool,
    pub merged: bool,
    pub already_installed: bool,
    pub removed: bool,
    /// An existing `parallel-cc` entry (another path, the original's `mcp-serve`) was rewritten.
    pub replaced: bool,
}

/// A file that was (or, with `dry_run`, would be) written.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    pub path: String,
    pub created: bool,
    /// Unified diff (dry run only).
    pub diff: Option<String>,
}

/// The result of [`apply`]. Parts that were not requested are `None`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InstallReport {
    pub success: bool,
    pub uninstall: bool,
    pub dry_run: bool,
    pub hooks: Option<HooksResult>,
    pub alias: Option<AliasResult>,
    pub mcp: Option<McpResult>,
    pub gitignore_updated: bool,
    pub gitignore_path: Option<String>,
    pub changes: Vec<FileChange>,
    /// Things the user should act on (printed on stderr by the CLI).
    pub warnings: Vec<String>,
}

struct PlannedWrite {
    path: PathBuf,
    old: Option<String>,
    new: String,
    new_mode: u32,
}

fn display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn specs(req: &InstallRequest) -> Vec<HookSpec> {
    let mut v = Vec::new();
    if req.hooks {
        v.extend(hooks::CORE_HOOKS);
    }
    if req.worktree_provider {
        v.extend(hooks::PROVIDER_HOOKS);
    }
    v
}

/// Install or uninstall what `req` names. Every edit is computed before anything is written.
pub fn apply(env: &Environment, req: &InstallRequest) -> Result<InstallReport> {
    let mut plan: Vec<PlannedWrite> = Vec::new();
    let mut report = InstallReport {
        success: true,
        uninstall: req.uninstall,
        dry_run: req.dry_run,
        hooks: None,
        alias: None,
        mcp: None,
        gitignore_updated: false,
        gitignore_path: None,
        changes: Vec::new(),
        warnings: Vec::new(),
    };

    if req.hooks || req.worktree_provider {
        let path = match &req.scope {
            Scope::Global => env.global_settings(),
            Scope::Local { repo } => local_settings(repo),
        };
        let file = files::read_json(&path)?;
        let mut value = file.value.clone();
        let specs = specs(req);
        let edit = if req.uninstall {
            hooks::uninstall(&mut value, &specs)
        } else {
            hooks::install(&mut value, env.exe_str()?, &specs)
        }
        .map_err(|e| e.at(&path))?;
        let changed = value != file.value || (file.text.is_none() && !req.uninstall);
        let exists = file.text.is_some();
        report.hooks = Some(HooksResult {
            settings_path: display(&path),
            scope: req.scope.name(),
            created: changed && !exists,
            merged: changed && exists && !req.uninstall,
            already_installed: !changed && !req.uninstall,
            removed: changed && req.uninstall,
            events: edit.events,
            replaced: edit.replaced,
        });
        if changed {
            plan.push(PlannedWrite { path, old: file.text, new: files::json_text(&value), new_mode: 0o644 });
        }
    }

    if req.gitignore
        && !req.uninstall
        && let Scope::Local { repo } = &req.scope
    {
        let path = repo.join(".gitignore");
        let old = files::read_text(&path)?;
        if let Some(new) = text::add_gitignore(old.as_deref().unwrap_or("")) {
            report.gitignore_updated = true;
            plan.push(PlannedWrite { path: path.clone(), old, new, new_mode: 0o644 });
        }
        report.gitignore_path = Some(display(&path));
    }

    if req.alias {
        let shell = env.shell()?;
        let path = env.profile(shell);
        let old = files::read_text(&path)?;
        let current = old.as_deref().unwrap_or("");
        let new = if req.uninstall { text::remove_alias(current) } else { text::add_alias(current, shell) };
        let wrapper = env.find_wrapper();
        if wrapper.is_none() && !req.uninstall {
            report.warnings.push(format!(
                "claude-parallel is not next to {} nor on PATH: the alias needs it (install both binaries with \
                 `cargo install --path crates/pcc-cli`)",
                env.exe.display()
            ));
        }
        let changed = new.is_some();
        report.alias = Some(AliasResult {
            shell: shell.name().to_string(),
            profile_path: display(&path),
            created: changed && old.is_none(),
            merged: changed && old.is_some() && !req.uninstall,
            already_installed: !changed && !req.uninstall,
            removed: changed && req.uninstall,
            wrapper_path: wrapper.as_deref().map(display),
        });
        if let Some(new) = new {
            plan.push(PlannedWrite { path, old, new, new_mode: 0o644 });
        }
    }

    if req.mcp {
        let path = env.claude_json();
        let file = files::read_json(&path)?;
        let mut value = file.value.clone();
        let (changed, replaced) = if req.uninstall {
            (mcp::uninstall(&mut value), false)
        } else {
            let edit = mcp::install(&mut value, env.exe_str()?).map_err(|e| e.at(&path))?;
            (edit.changed, edit.replaced)
        };
        let exists = file.text.is_some();
        report.mcp = Some(McpResult {
            settings_path: display(&path),
            created: changed && !exists,
            merged: changed && exists && !req.uninstall,
            already_installed: !changed && !req.uninstall,
            removed: changed && req.uninstall,
            replaced,
        });
        if changed {
            // ~/.claude.json holds account details: a new one is private to the user.
            plan.push(PlannedWrite { path, old: file.text, new: files::json_text(&value), new_mode: 0o600 });
        }
    }

    for w in &plan {
        let diff = req.dry_run.then(|| {
            let label = display(&w.path);
            let old_label = if w.old.is_some() { label.clone() } else { "/dev/null".to_string() };
            diff::unified(&old_label, &label, w.old.as_deref().unwrap_or(""), &w.new)
        });
        report.changes.push(FileChange { path: display(&w.path), created: w.old.is_none(), diff });
    }
    if !req.dry_run {
        for w in &plan {
            crate::fsutil::write_atomic(&w.path, w.new.as_bytes(), w.new_mode)?;
            tracing::info!(path = %w.path.display(), "install wrote");
        }
    }
    Ok(report)
}

/// Our hooks in one settings file.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ScopeStatus {
    pub path: String,
    pub exists: bool,
    /// Every hook of `install --hooks` is there.
    pub installed: bool,
    /// Events holding a parallel-cc entry.
    pub events: Vec<String>,
    /// Events of `install --hooks` without our entry, when some of them have one.
    pub missing_events: Vec<String>,
    /// `WorktreeCreate` and `WorktreeRemove` are both there.
    pub worktree_provider: bool,
    /// An entry runs another parallel-cc executable than this one.
    pub stale_path: Option<String>,
    /// The original tool's heartbeat hook is there.
    pub legacy_heartbeat: bool,
    /// The file cannot be read or parsed.
    pub error: Option<String>,
}

/// `install --status` → `hooks`. The first four fields are the original tool's.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HooksStatus {
    pub global_installed: bool,
    pub local_installed: bool,
    pub global_path: String,
    /// `null` outside a repository.
    pub local_path: Option<String>,
    /// The worktree provider is installed in either file.
    pub worktree_provider: bool,
    /// An installed entry runs another executable than this one (first found).
    pub stale_path: Option<String>,
    pub global: ScopeStatus,
    pub local: Option<ScopeStatus>,
}

/// `install --status` → `alias`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AliasStatus {
    pub installed: bool,
    /// Basename of `$SHELL` (`null` when unset).
    pub shell: Option<String>,
    /// `null` for a shell the alias does not support.
    pub profile_path: Option<String>,
    pub error: Option<String>,
}

/// `install --status` → `mcp`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct McpStatus {
    pub installed: bool,
    pub settings_path: String,
    pub command: Option<String>,
    /// The entry differs from what `install --mcp` writes now (another path, the original's).
    pub stale_path: Option<String>,
    pub error: Option<String>,
}

/// `install --status`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct InstallStatus {
    pub hooks: HooksStatus,
    pub alias: AliasStatus,
    pub mcp: McpStatus,
}

fn same_executable(program: &str, exe: &Path) -> bool {
    let p = Path::new(program);
    p == exe || std::fs::canonicalize(p).is_ok_and(|c| c == exe)
}

fn scope_status(path: &Path, exe: &Path) -> ScopeStatus {
    let mut s = ScopeStatus {
        path: display(path),
        exists: path.exists(),
        installed: false,
        events: Vec::new(),
        missing_events: Vec::new(),
        worktree_provider: false,
        stale_path: None,
        legacy_heartbeat: false,
        error: None,
    };
    let file = match files::read_json(path) {
        Ok(f) => f,
        Err(e) => {
            s.error = Some(e.to_string());
            return s;
        }
    };
    let scan = hooks::scan(&file.value);
    let has = |spec: &HookSpec| scan.events.contains(&spec.event);
    s.installed = hooks::CORE_HOOKS.iter().all(has);
    if hooks::CORE_HOOKS.iter().any(has) {
        s.missing_events = hooks::CORE_HOOKS.iter().filter(|h| !has(h)).map(|h| h.event.to_string()).collect();
    }
    s.worktree_provider = hooks::PROVIDER_HOOKS.iter().all(has);
    s.events = scan.events.iter().map(|e| e.to_string()).collect();
    s.stale_path = scan.programs.into_iter().find(|p| !same_executable(p, exe));
    s.legacy_heartbeat = scan.legacy;
    s
}

/// What is installed, for `install --status` and `doctor`. `repo`: the directory whose
/// repository's local settings to look at (`None`: no local settings). Never fails: a file
/// that cannot be read is reported in its part's `error`.
pub fn status(env: &Environment, repo: Option<&Path>) -> InstallStatus {
    let global = scope_status(&env.global_settings(), &env.exe);
    let local = repo.and_then(crate::repo_root).map(|r| scope_status(&local_settings(&r), &env.exe));
    let hooks = HooksStatus {
        global_installed: global.installed,
        local_installed: local.as_ref().is_some_and(|l| l.installed),
        global_path: global.path.clone(),
        local_path: local.as_ref().map(|l| l.path.clone()),
        worktree_provider: global.worktree_provider || local.as_ref().is_some_and(|l| l.worktree_provider),
        stale_path: global.stale_path.clone().or_else(|| local.as_ref().and_then(|l| l.stale_path.clone())),
        global,
        local,
    };

    let alias = match env.shell() {
        Ok(shell) => {
            let path = env.profile(shell);
            let (installed, error) = match files::read_text(&path) {
                Ok(t) => (t.as_deref().is_some_and(text::has_alias), None),
                Err(e) => (false, Some(e.to_string())),
            };
            AliasStatus { installed, shell: Some(shell.name().into()), profile_path: Some(display(&path)), error }
        }
        Err(e) => AliasStatus {
            installed: false,
            shell: env.shell.as_deref().map(|s| text::shell_basename(s).to_string()),
            profile_path: None,
            error: Some(e.to_string()),
        },
    };

    let mcp_path = env.claude_json();
    let mcp = match (files::read_json(&mcp_path), env.exe.to_str()) {
        (Ok(file), Some(exe)) => {
            let scan = mcp::scan(&file.value, exe);
            McpStatus {
                installed: scan.installed,
                settings_path: display(&mcp_path),
                stale_path: (scan.installed && !scan.current).then(|| scan.command.clone().unwrap_or_default()),
                command: scan.command,
                error: None,
            }
        }
        (Err(e), _) => McpStatus {
            installed: false,
            settings_path: display(&mcp_path),
            command: None,
            stale_path: None,
            error: Some(e.to_string()),
        },
        (Ok(_), None) => McpStatus {
            installed: false,
            settings_path: display(&mcp_path),
            command: None,
            stale_path: None,
            error: Some(InstallError::ExecutableNotUtf8 { path: env.exe.clone() }.to_string()),
        },
    };

    InstallStatus { hooks, alias, mcp }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    struct World {
        _dir: tempfile::TempDir,
        env: Environment,
    }

    fn world(shell: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = bin.join("parallel-cc");
        std::fs::write(&exe, "").unwrap();
        std::fs::write(bin.join("claude-parallel"), "").unwrap();
        World { _dir: dir, env: Environment { home, exe, shell: Some(shell.into()), path: None } }
    }

    fn req() -> InstallRequest {
        InstallRequest {
            hooks: false,
            worktree_provider: false,
            alias: false,
            mcp: false,
            scope: Scope::Global,
            gitignore: false,
            uninstall: false,
            dry_run: false,
        }
    }

    fn read(p: &Path) -> Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn everything_installs_and_uninstalls() {
        let w = world("/bin/zsh");
        let all = InstallRequest { hooks: true, worktree_provider: true, alias: true, mcp: true, ..req() };
        let r = apply(&w.env, &all).unwrap();
        assert!(r.hooks.as_ref().unwrap().created);
        assert!(r.alias.as_ref().unwrap().created);
        assert!(r.mcp.as_ref().unwrap().created);
        assert_eq!(r.changes.len(), 3);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let st = status(&w.env, None);
        assert!(st.hooks.global_installed && st.hooks.worktree_provider && st.alias.installed && st.mcp.installed);
        assert_eq!(st.hooks.stale_path, None);
        assert_eq!(st.mcp.stale_path, None);
        assert!(std::fs::read_to_string(w.env.global_settings()).unwrap().ends_with("}\n"));

        let r = apply(&w.env, &all).unwrap();
        assert!(r.hooks.unwrap().already_installed && r.alias.unwrap().already_installed);
        assert!(r.mcp.unwrap().already_installed);
        assert!(r.changes.is_empty());

        let r = apply(&w.env, &InstallRequest { uninstall: true, ..all }).unwrap();
        assert!(r.hooks.unwrap().removed && r.alias.unwrap().removed && r.mcp.unwrap().removed);
        assert_eq!(read(&w.env.global_settings()), json!({}));
        assert_eq!(read(&w.env.claude_json()), json!({}));
        assert_eq!(std::fs::read_to_string(w.env.home.join(".zshrc")).unwrap(), "");
        let st = status(&w.env, None);
        assert!(!st.hooks.global_installed && !st.alias.installed && !st.mcp.installed);
    }

    #[test]
    fn uninstall_of_nothing_creates_nothing() {
        let w = world("bash");
        let r =
            apply(&w.env, &InstallRequest { hooks: true, alias: true, mcp: true, uninstall: true, ..req() }).unwrap();
        assert!(r.changes.is_empty());
        assert!(!w.env.global_settings().exists());
        assert!(!w.env.claude_json().exists());
        assert!(!w.env.home.join(".bashrc").exists());
    }

    #[test]
    fn a_bad_file_stops_everything_before_any_write() {
        let w = world("bash");
        std::fs::write(w.env.claude_json(), "{\"a\": }").unwrap();
        let e = apply(&w.env, &InstallRequest { hooks: true, alias: true, mcp: true, ..req() }).unwrap_err();
        assert!(e.to_string().contains(".claude.json at line 1, column 7"), "{e}");
        assert!(!w.env.global_settings().exists());
        assert!(!w.env.home.join(".bashrc").exists());
    }

    #[test]
    fn unknown_shell_is_an_error() {
        let w = world("/usr/bin/tcsh");
        let e = apply(&w.env, &InstallRequest { alias: true, ..req() }).unwrap_err();
        assert_eq!(e.to_string(), "unsupported shell: tcsh");
        let st = status(&w.env, None);
        assert_eq!(st.alias.shell.as_deref(), Some("tcsh"));
        assert_eq!(st.alias.profile_path, None);
    }

    #[test]
    fn dry_run_writes_nothing_and_diffs() {
        let w = world("fish");
        let r = apply(&w.env, &InstallRequest { hooks: true, alias: true, dry_run: true, ..req() }).unwrap();
        assert!(!w.env.global_settings().exists());
        assert!(!w.env.home.join(".config").exists());
        let d = r.changes[0].diff.as_deref().unwrap();
        assert!(d.starts_with("--- /dev/null\n+++ "), "{d}");
        assert!(d.contains("+        \"matcher\": \"Edit|Write|MultiEdit|NotebookEdit\",\n"), "{d}");
        assert!(r.changes[1].diff.as_deref().unwrap().ends_with("+alias claude 'claude-parallel'\n"));
    }

    #[test]
    fn the_worktree_provider_alone_is_not_a_partial_install() {
        let w = world("bash");
        apply(&w.env, &InstallRequest { worktree_provider: true, ..req() }).unwrap();
        let g = status(&w.env, None).hooks.global;
        assert_eq!((g.installed, g.worktree_provider), (false, true));
        assert_eq!(g.events, ["WorktreeCreate", "WorktreeRemove"]);
        assert!(g.missing_events.is_empty());
    }

    #[test]
    fn stale_paths_and_partial_installs_show_in_status() {
        let w = world("bash");
        let settings = w.env.global_settings();
        std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
        std::fs::write(
            &settings,
            r#"{"hooks": {"PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "/gone/parallel-cc hook post-tool-use"}]}]}}"#,
        )
        .unwrap();
        let st = status(&w.env, None);
        assert!(!st.hooks.global_installed);
        assert_eq!(st.hooks.stale_path.as_deref(), Some("/gone/parallel-cc"));
        assert_eq!(st.hooks.global.missing_events.len(), 5);
        // A symlink to this executable is not stale.
        let link = w.env.home.join("pcc-link");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&w.env.exe, &link).unwrap();
            assert!(same_executable(link.to_str().unwrap(), &w.env.exe));
        }
    }
}
