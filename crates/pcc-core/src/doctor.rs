//! `doctor` (PRODUCT.md §2.7): checks, each ok / warn / fail with a hint.

use std::path::{Path, PathBuf};

use crate::coordinator::Coordinator;
use crate::env;
use crate::install;
use crate::views::{CheckStatus, DoctorCheck, DoctorReport};

fn check(name: &str, status: CheckStatus, message: impl Into<String>, hint: Option<&str>) -> DoctorCheck {
    DoctorCheck { name: name.into(), status, message: message.into(), hint: hint.map(Into::into) }
}

/// Parse git's `x.y.z` and compare with 2.30.
fn git_at_least_2_30(version: &str) -> bool {
    let mut parts =
        version.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= (2, 30)
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}

/// The hooks check: `install::status` read the same way `install --status` reads it.
fn hooks_check(st: &install::HooksStatus, exe: &Path) -> DoctorCheck {
    let scopes: Vec<(&str, &install::ScopeStatus)> =
        std::iter::once(("globally", &st.global)).chain(st.local.iter().map(|l| ("in this repository", l))).collect();
    let flag = |name: &str| if name == "globally" { "" } else { " --local" };
    for (name, s) in &scopes {
        if let Some(err) = &s.error {
            return check(
                "hooks",
                CheckStatus::Warn,
                err.clone(),
                Some("fix the file, then run `parallel-cc install --hooks`"),
            );
        }
        if let Some(stale) = &s.stale_path {
            return check(
                "hooks",
                CheckStatus::Warn,
                format!("hooks installed {name} run {stale}, not this executable ({})", exe.display()),
                Some(&format!("run `parallel-cc install --hooks{}` to point them here", flag(name))),
            );
        }
        if !s.missing_events.is_empty() {
            return check(
                "hooks",
                CheckStatus::Warn,
                format!("hooks installed {name} lack {}", s.missing_events.join(", ")),
                Some(&format!("run `parallel-cc install --hooks{}`", flag(name))),
            );
        }
        if s.legacy_heartbeat {
            return check(
                "hooks",
                CheckStatus::Warn,
                format!("the original tool's heartbeat hook is installed {name}"),
                Some(&format!("run `parallel-cc install --hooks{}` to replace it", flag(name))),
            );
        }
    }
    let installed: Vec<&str> = scopes.iter().filter(|(_, s)| s.installed).map(|(n, _)| *n).collect();
    if installed.is_empty() {
        return check(
            "hooks",
            CheckStatus::Warn,
            "Claude Code hooks not installed",
            Some("run `parallel-cc install --hooks`"),
        );
    }
    let provider = if st.worktree_provider { " (with the worktree provider)" } else { "" };
    check("hooks", CheckStatus::Ok, format!("Claude Code hooks installed {}{provider}", installed.join(" and ")), None)
}

fn mcp_check(st: &install::McpStatus, exe: &Path) -> DoctorCheck {
    if let Some(err) = &st.error {
        return check(
            "mcp",
            CheckStatus::Warn,
            err.clone(),
            Some("fix the file, then run `parallel-cc install --mcp`"),
        );
    }
    if !st.installed {
        return check("mcp", CheckStatus::Warn, "MCP server not configured", Some("run `parallel-cc install --mcp`"));
    }
    if let Some(stale) = &st.stale_path {
        return check(
            "mcp",
            CheckStatus::Warn,
            format!("the MCP server entry in {} runs {stale:?}, not `{} mcp serve`", st.settings_path, exe.display()),
            Some("run `parallel-cc install --mcp` to point it here"),
        );
    }
    check("mcp", CheckStatus::Ok, format!("MCP server configured in {}", st.settings_path), None)
}

impl Coordinator {
    /// Run every check. `repo`: the repository of the current directory, if any (for local hooks
    /// and orphan counts).
    pub fn doctor(&self, repo: Option<&Path>) -> DoctorReport {
        let mut checks = Vec::new();

        match pcc_git::git_version() {
            Ok(v) if git_at_least_2_30(&v) => checks.push(check("git", CheckStatus::Ok, format!("git {v}"), None)),
            Ok(v) => {
                checks.push(check("git", CheckStatus::Fail, format!("git {v} is older than 2.30"), Some("upgrade git")))
            }
            Err(e) => checks.push(check(
                "git",
                CheckStatus::Fail,
                e.to_string(),
                Some("install git (>= 2.30) and put it on PATH"),
            )),
        }

        let probe = self.data_dir.join(format!(".doctor-{}", std::process::id()));
        match std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe)) {
            Ok(()) => checks.push(check(
                "data dir",
                CheckStatus::Ok,
                format!("{} is writable", self.data_dir.display()),
                None,
            )),
            Err(e) => checks.push(check(
                "data dir",
                CheckStatus::Fail,
                format!("{} is not writable: {e}", self.data_dir.display()),
                Some("fix the permissions or set PARALLEL_CC_DATA_DIR"),
            )),
        }

        match self.store.integrity_check() {
            Ok(problems) if problems.is_empty() => checks.push(check(
                "database",
                CheckStatus::Ok,
                format!("{} passes integrity_check", self.db_path().display()),
                None,
            )),
            Ok(problems) => checks.push(check(
                "database",
                CheckStatus::Fail,
                format!("integrity_check: {}", problems.join("; ")),
                Some("restore a *.backup next to the database or move it aside"),
            )),
            Err(e) => checks.push(check("database", CheckStatus::Fail, e.to_string(), e.hint().as_deref())),
        }
        match self.store.schema_info() {
            Ok(info) if info.migration == info.latest => {
                checks.push(check("schema", CheckStatus::Ok, format!("schema {} (latest)", info.migration), None))
            }
            Ok(info) => checks.push(check(
                "schema",
                CheckStatus::Fail,
                format!("schema {} of {}", info.migration, info.latest),
                Some("run `parallel-cc migrate`"),
            )),
            Err(e) => checks.push(check("schema", CheckStatus::Fail, e.to_string(), None)),
        }

        match self.config(repo) {
            Ok(cfg) if cfg.unknown_keys.is_empty() => {
                checks.push(check("config", CheckStatus::Ok, "configuration parses", None))
            }
            Ok(cfg) => {
                let keys: Vec<String> =
                    cfg.unknown_keys.iter().map(|(p, k)| format!("{k} in {}", p.display())).collect();
                checks.push(check(
                    "config",
                    CheckStatus::Warn,
                    format!("unknown keys: {}", keys.join(", ")),
                    Some("see `parallel-cc config list` for known keys"),
                ));
            }
            Err(e) => checks.push(check("config", CheckStatus::Fail, e.to_string(), e.hint().as_deref())),
        }

        match install::Environment::from_process() {
            Ok(ienv) => {
                let st = install::status(&ienv, repo);
                checks.push(hooks_check(&st.hooks, &ienv.exe));
                checks.push(mcp_check(&st.mcp, &ienv.exe));
            }
            Err(e) => {
                checks.push(check("hooks", CheckStatus::Warn, e.to_string(), e.hint().as_deref()));
            }
        }

        match on_path("claude") {
            Some(p) => checks.push(check("claude", CheckStatus::Ok, format!("claude at {}", p.display()), None)),
            None => checks.push(check(
                "claude",
                CheckStatus::Warn,
                "claude is not on PATH",
                Some("install Claude Code, or pass another agent: parallel-cc run -- <agent>"),
            )),
        }
        for key in [env::E2B_API_KEY, env::ANTHROPIC_API_KEY] {
            if std::env::var_os(key).is_some_and(|v| !v.is_empty()) {
                checks.push(check(key, CheckStatus::Ok, format!("{key} is set"), None));
            } else {
                checks.push(check(
                    key,
                    CheckStatus::Warn,
                    format!("{key} is not set"),
                    Some("needed only for sandboxed runs"),
                ));
            }
        }

        let orphans = self.count_orphans();
        if orphans == 0 {
            checks.push(check("worktrees", CheckStatus::Ok, "no orphaned worktrees", None));
        } else {
            checks.push(check(
                "worktrees",
                CheckStatus::Warn,
                format!("{orphans} worktree(s) need attention (kept or orphaned)"),
                Some("see `parallel-cc status` and `parallel-cc cleanup --dry-run`"),
            ));
        }

        let ok = checks.iter().all(|c| c.status != CheckStatus::Fail);
        DoctorReport { checks, ok }
    }

    fn count_orphans(&self) -> usize {
        let Ok(rows) = self.store.read().open_sessions() else { return 0 };
        rows.iter().filter(|s| s.state == pcc_store::SessionState::Kept).count()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn git_versions_compare_numerically() {
        assert!(super::git_at_least_2_30("2.47.3"));
        assert!(super::git_at_least_2_30("2.30.0"));
        assert!(super::git_at_least_2_30("3.0"));
        assert!(!super::git_at_least_2_30("2.29.9"));
        assert!(!super::git_at_least_2_30("1.9"));
        assert!(!super::git_at_least_2_30("garbage"));
    }
}
