use std::io::IsTerminal;
use std::path::PathBuf;

use pcc_core::install::{self, Environment, InstallReport, InstallRequest, InstallStatus, Scope, ScopeStatus};

use crate::error::CliError;
use crate::ui::{GREEN, YELLOW, paint};
use crate::{Ctx, Outcome, repo_or_cwd};

/// Install (or remove) Claude Code hooks, the worktree provider, the claude alias and the MCP server
///
/// Flags combine: `--hooks --alias` does both, `--all` is hooks + alias + MCP server, and
/// `--uninstall` removes what the other flags name (everything, worktree provider included, with
/// `--all`). Re-running changes nothing. Without an action flag it asks on a terminal. What each
/// flag writes and removes: docs/install.md.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Hooks in Claude Code's settings.json (tool use, session start/end, stop)
    #[arg(long)]
    pub hooks: bool,
    /// WorktreeCreate/WorktreeRemove hooks: parallel-cc creates and disposes of Claude Code's worktrees
    #[arg(long)]
    pub worktree_provider: bool,
    /// `alias claude='claude-parallel'` in the startup file of $SHELL (bash, zsh or fish)
    #[arg(long)]
    pub alias: bool,
    /// The MCP server in ~/.claude.json
    #[arg(long)]
    pub mcp: bool,
    /// Hooks, alias and MCP server (with --uninstall also the worktree provider)
    #[arg(long)]
    pub all: bool,
    /// Hooks in ~/.claude/settings.json (the default)
    #[arg(long, conflicts_with = "local")]
    pub global: bool,
    /// Hooks in the repository's .claude/settings.json (its main checkout)
    #[arg(long)]
    pub local: bool,
    /// Repository for --local and --status (default: the current directory)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// With --local: add .claude/settings.local.json to the repository's .gitignore if not covered
    #[arg(long, requires = "local", conflicts_with = "uninstall")]
    pub gitignore: bool,
    /// Remove what the other flags name instead of installing it
    #[arg(long)]
    pub uninstall: bool,
    /// Show what is installed where
    #[arg(
        long,
        conflicts_with_all = [
            "hooks", "worktree_provider", "alias", "mcp", "all", "uninstall", "dry_run", "interactive", "gitignore",
        ]
    )]
    pub status: bool,
    /// Print the diff of every file it would change, and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Ask what to install (the default on a terminal when no action flag is given)
    #[arg(long)]
    pub interactive: bool,
}

const EXAMPLES: &str = "examples:
  parallel-cc install --all                  hooks, alias and MCP server
  parallel-cc install --hooks                hooks in ~/.claude/settings.json
  parallel-cc install --hooks --local        hooks in this repository's .claude/settings.json
  parallel-cc install --hooks --worktree-provider
  parallel-cc install --alias --mcp --dry-run
  parallel-cc install --status
  parallel-cc install --uninstall --all";

fn yes(answer: &str) -> bool {
    matches!(answer, "y" | "yes")
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let env = Environment::from_process()?;
    if a.status {
        let dir = repo_or_cwd(a.repo)?;
        let st = install::status(&env, Some(&dir));
        if ctx.ui.json {
            ctx.ui.json(&st);
        } else {
            render_status(ctx, &st);
        }
        return Ok(Outcome::Done(0));
    }

    let mut hooks = a.hooks || a.all;
    let mut provider = a.worktree_provider || (a.all && a.uninstall);
    let mut alias = a.alias || a.all;
    let mcp = a.mcp || a.all;
    let mut local = a.local;
    let named = hooks || provider || alias || mcp;
    let terminal = std::io::stdin().is_terminal() && !ctx.ui.json;

    if a.interactive || (!named && terminal && !a.uninstall && !a.dry_run) {
        // The original tool's questions (it never asked about MCP or .gitignore).
        if !hooks && !provider {
            hooks = yes(&ctx.ui.ask("Install heartbeat hooks? [y/N]:"));
        }
        if (hooks || provider) && !a.global && !local {
            local = matches!(ctx.ui.ask("  Install globally or locally? [global/local]:").as_str(), "l" | "local");
        }
        if !alias {
            alias = yes(&ctx.ui.ask("Add claude=claude-parallel alias? [y/N]:"));
        }
    } else if !named {
        let what = if a.uninstall { "nothing to uninstall named" } else { "no action specified" };
        return Err(CliError::Usage {
            message: format!("{what}: pass --hooks, --worktree-provider, --alias, --mcp, --all or --status"),
            hint: Some(EXAMPLES.into()),
        });
    } else if (hooks || provider) && !a.global && !local && terminal && !a.uninstall && !a.dry_run {
        match ctx.ui.ask("Install globally or locally? [global/local/skip]:").as_str() {
            "" | "g" | "global" => {}
            "l" | "local" => local = true,
            "s" | "skip" => (hooks, provider) = (false, false),
            _ => {
                ctx.ui.warn("Unknown option: hooks skipped");
                (hooks, provider) = (false, false);
            }
        }
    }

    if a.gitignore && !(hooks || provider) {
        return Err(CliError::usage("--gitignore goes with --hooks --local (or --worktree-provider --local)"));
    }
    if a.repo.is_some() && !local {
        return Err(CliError::Usage {
            message: "--repo applies to --local and --status".into(),
            hint: Some("add --local to install the hooks into that repository".into()),
        });
    }
    let scope = if local { Scope::local(&repo_or_cwd(a.repo)?)? } else { Scope::Global };
    let req = InstallRequest {
        hooks,
        worktree_provider: provider,
        alias,
        mcp,
        scope,
        gitignore: a.gitignore,
        uninstall: a.uninstall,
        dry_run: a.dry_run,
    };
    let report = install::apply(&env, &req)?;
    for w in &report.warnings {
        ctx.ui.warn(w);
    }
    if ctx.ui.json {
        ctx.ui.json(&report);
    } else {
        render_report(ctx, &report);
    }
    Ok(Outcome::Done(0))
}

fn render_report(ctx: &Ctx, r: &InstallReport) {
    let ok = paint(GREEN, "✓");
    // With --dry-run stdout carries the diffs; the summary goes to stderr.
    let say = |text: String| if r.dry_run { ctx.ui.status(&text) } else { ctx.ui.data(&text) };
    let would = |now: &str, then: &str| if r.dry_run { then.to_string() } else { now.to_string() };

    if r.dry_run {
        for c in &r.changes {
            if let Some(d) = &c.diff {
                ctx.ui.data(d.trim_end_matches('\n'));
            }
        }
    }
    if let Some(h) = &r.hooks {
        let events = h.events.join(", ");
        let line = if h.already_installed {
            format!("{ok} Hooks already installed in {}", h.settings_path)
        } else if h.removed {
            format!("{ok} Hooks {} from {} ({events})", would("removed", "would be removed"), h.settings_path)
        } else if r.uninstall {
            format!("{ok} No parallel-cc hooks in {}", h.settings_path)
        } else {
            format!("{ok} Hooks {} {} ({events})", would("installed in", "would be installed in"), h.settings_path)
        };
        say(line);
        for old in &h.replaced {
            say(format!("  replaced: {old}"));
        }
    }
    if r.gitignore_updated
        && let Some(p) = &r.gitignore_path
    {
        say(format!(
            "{ok} {} {}",
            install::text::GITIGNORE_ENTRY,
            would(&format!("added to {p}"), &format!("would be added to {p}"))
        ));
    }
    if let Some(al) = &r.alias {
        let line = if al.already_installed {
            format!("{ok} Alias already in {}", al.profile_path)
        } else if al.removed {
            format!("{ok} Alias {} {}", would("removed from", "would be removed from"), al.profile_path)
        } else if r.uninstall {
            format!("{ok} No parallel-cc alias in {}", al.profile_path)
        } else {
            format!("{ok} Alias claude=claude-parallel {} {}", would("added to", "would be added to"), al.profile_path)
        };
        say(line);
        if !r.dry_run && (al.created || al.merged || al.removed) {
            ctx.ui.status(&format!("Open a new shell, or run: source {}", al.profile_path));
        }
    }
    if let Some(m) = &r.mcp {
        let line = if m.already_installed {
            format!("{ok} MCP server already configured in {}", m.settings_path)
        } else if m.removed {
            format!("{ok} MCP server {} {}", would("removed from", "would be removed from"), m.settings_path)
        } else if r.uninstall {
            format!("{ok} No parallel-cc MCP server in {}", m.settings_path)
        } else {
            format!("{ok} MCP server {} {}", would("configured in", "would be configured in"), m.settings_path)
        };
        say(line);
    }
    if r.dry_run {
        ctx.ui.status(&format!("dry run: {} file(s) would change; nothing was written", r.changes.len()));
    } else if r.hooks.is_some() && !r.changes.is_empty() {
        ctx.ui.status("Claude Code reads settings when a session starts: restart running sessions.");
    }
    if r.hooks.is_none() && r.alias.is_none() && r.mcp.is_none() {
        ctx.ui.status("Nothing to do.");
    }
}

fn scope_line(s: &ScopeStatus) -> String {
    let state = if let Some(e) = &s.error {
        paint(YELLOW, &format!("unreadable ({e})"))
    } else if s.installed {
        paint(GREEN, "installed")
    } else if s.events.is_empty() {
        "not installed".to_string()
    } else if s.missing_events.is_empty() {
        "worktree provider only".to_string()
    } else {
        paint(YELLOW, &format!("partial (missing {})", s.missing_events.join(", ")))
    };
    format!("{state} — {}", s.path)
}

fn render_status(ctx: &Ctx, st: &InstallStatus) {
    let h = &st.hooks;
    ctx.ui.data("Installation Status");
    ctx.ui.data(&format!("  Hooks (global):    {}", scope_line(&h.global)));
    match &h.local {
        Some(l) => ctx.ui.data(&format!("  Hooks (local):     {}", scope_line(l))),
        None => ctx.ui.data("  Hooks (local):     not in a git repository"),
    }
    ctx.ui.data(&format!("  Worktree provider: {}", if h.worktree_provider { "installed" } else { "not installed" }));
    let alias = match (&st.alias.profile_path, &st.alias.error) {
        (Some(p), None) => format!(
            "{} ({}, {p})",
            if st.alias.installed { paint(GREEN, "installed") } else { "not installed".into() },
            st.alias.shell.as_deref().unwrap_or("?")
        ),
        (_, Some(e)) => format!("not installed ({e})"),
        (None, None) => "not installed".to_string(),
    };
    ctx.ui.data(&format!("  Alias:             {alias}"));
    let mcp = match &st.mcp.error {
        Some(e) => paint(YELLOW, &format!("unreadable ({e})")),
        None if st.mcp.installed => format!("{} — {}", paint(GREEN, "configured"), st.mcp.settings_path),
        None => format!("not configured — {}", st.mcp.settings_path),
    };
    ctx.ui.data(&format!("  MCP server:        {mcp}"));
    let warn = paint(YELLOW, "⚠");
    for s in std::iter::once(&h.global).chain(h.local.iter()) {
        if let Some(p) = &s.stale_path {
            ctx.ui.data(&format!(
                "  {warn} hooks in {} run {p}, not this executable: run `parallel-cc install --hooks`",
                s.path
            ));
        }
        if s.legacy_heartbeat {
            ctx.ui.data(&format!(
                "  {warn} {} has the original tool's heartbeat hook: run `parallel-cc install --hooks` to replace it",
                s.path
            ));
        }
    }
    if let Some(p) = &st.mcp.stale_path {
        ctx.ui.data(&format!("  {warn} the MCP server entry runs {p:?}: run `parallel-cc install --mcp`"));
    }
}
