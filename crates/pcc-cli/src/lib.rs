//! The `parallel-cc` command line (and `claude-parallel`), a thin frontend over
//! `pcc_core::Coordinator`: parse arguments, call one core method, render human or JSON output.
//!
//! It must not hold rules of its own (they live in pcc-core) or reach into the building blocks.
//! stdout carries data only; everything else goes to stderr through [`ui::Ui`].
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod aliases;
pub mod commands;
pub mod error;
pub mod supervisor;
pub mod ui;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::error::{CliError, EXIT_USAGE};
use crate::ui::Ui;

/// Run several coding agents on one git repository, each in its own worktree
#[derive(Debug, Parser)]
#[command(name = "parallel-cc", version, propagate_version = true, disable_help_subcommand = true)]
#[command(after_help = "Start an agent:  parallel-cc run -- claude\nDocs: docs/cli.md, docs/config.md, docs/env.md")]
pub struct Cli {
    /// Print one JSON document on stdout instead of human output
    #[arg(long, global = true)]
    pub json: bool,
    /// Silence status messages on stderr (data and errors still print)
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace); see also PARALLEL_CC_LOG
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Write logs to this file instead of stderr
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start an agent in its own checkout, registered for the whole of its run
    #[command(next_help_heading = "Sessions")]
    Run(commands::run::Args),
    /// Register a session for a process (for other wrappers and scripts)
    Register(commands::register::Args),
    /// End the session of a process and dispose of its worktree safely
    Release(commands::release::Args),
    /// Mark the sessions of a process as alive
    Heartbeat(commands::heartbeat::Args),
    /// Show sessions: where they work, whether they live, what they hold
    Status(commands::status::Args),
    /// Reap dead sessions, remove clean worktrees, prune stale entries
    #[command(visible_alias = "gc")]
    Cleanup(commands::cleanup::Args),
    /// Manage snapshots of removed worktrees
    #[command(subcommand)]
    Snapshot(commands::snapshot::SnapshotCommand),
    /// Recreate a worktree from a snapshot
    Restore(commands::restore::Args),
    /// Check the installation and report problems
    Doctor(commands::doctor::Args),
    /// Bring the database to the latest schema
    #[command(visible_alias = "update", disable_version_flag = true)]
    Migrate(commands::migrate::Args),
    /// Manage configuration
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Print shell completions
    Completions(commands::completions::Args),
    /// Install (or remove) Claude Code hooks, the worktree provider, the claude alias and the MCP server
    #[command(next_help_heading = "Claude Code")]
    Install(commands::install::Args),
    /// Handle a Claude Code hook event (what the installed hooks run)
    Hook(commands::hook::Args),
    /// Show files that two or more live sessions are changing
    Overlaps(commands::overlaps::Args),
    /// The MCP server for the agents: `mcp serve`
    #[command(subcommand)]
    Mcp(commands::mcp::McpCommand),
    /// File claims: list, claim, release, escalate
    #[command(next_help_heading = "Coordination")]
    Claims(commands::claims::Args),
    /// Predict and analyse merge conflicts: check, matrix, analyze, history
    Conflicts(commands::conflicts::Args),
    /// Resolution suggestions for conflicts: list, generate, apply, explain
    Suggestions(commands::suggestions::Args),
    /// Rebase this checkout onto the target (abort and report on conflicts)
    Rebase(commands::conflicts::RebaseArgs),
    /// Background watchers: `watch merges`
    #[command(subcommand)]
    Watch(commands::merges::WatchCommand),
    /// Merge events and subscriptions: status, subscribe
    #[command(subcommand)]
    Merge(commands::merges::MergeCommand),
}

/// Context every command gets.
pub struct Ctx {
    pub ui: Ui,
}

/// Output of a command: what to print and how to exit.
pub enum Outcome {
    /// Exit with this code; output already rendered.
    Done(u8),
}

fn init_logging(verbose: u8, log_file: Option<&std::path::Path>) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var(pcc_core::env::LOG)
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let file = log_file.and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
    let _ = match file {
        Some(f) => builder.with_ansi(false).with_writer(std::sync::Mutex::new(f)).try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
}

/// Entry point of the `parallel-cc` binary.
pub fn main_parallel_cc() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(code) = hook_fast_path(&args) {
        return code;
    }
    let wants_json = args.iter().any(|a| a == "--json");
    let (args, note) = aliases::rewrite(args);
    if let Some(note) = note {
        let ui = Ui { json: wants_json, quiet: false };
        ui.warn(&note);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::from(if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    EXIT_USAGE
                } else {
                    0
                });
            }
            if wants_json {
                let ui = Ui { json: true, quiet: false };
                ui.json(
                    &serde_json::json!({"success": false, "error": usage_message(&e.to_string()), "code": "usage"}),
                );
            } else {
                let _ = e.print();
            }
            return ExitCode::from(EXIT_USAGE);
        }
    };
    init_logging(cli.verbose, cli.log_file.as_deref());
    let ctx = Ctx { ui: Ui { json: cli.json, quiet: cli.quiet } };
    match dispatch(&ctx, cli.command) {
        Ok(Outcome::Done(code)) => ExitCode::from(code),
        Err(e) => report(&ctx.ui, &e),
    }
}

/// `parallel-cc hook EVENT`, exactly as `install` writes it, runs on every tool call of every
/// agent (PRODUCT.md §11): it skips building the parser of the whole command line, a tenth of its
/// time. Anything else (options, `--help`, other arguments) goes through clap as usual.
fn hook_fast_path(args: &[OsString]) -> Option<ExitCode> {
    let [_, command, event] = args else { return None };
    let event = event.to_str().filter(|e| command == "hook" && !e.starts_with('-'))?;
    init_logging(0, None);
    let ctx = Ctx { ui: Ui { json: false, quiet: false } };
    Some(match commands::hook::run(&ctx, commands::hook::Args { event: event.to_string() }) {
        Ok(Outcome::Done(code)) => ExitCode::from(code),
        Err(e) => report(&ctx.ui, &e),
    })
}

/// The first paragraph of a clap error on one line: `the following required arguments were not
/// provided: --repo <PATH> --pid <N>` (clap puts the missing arguments on the following lines).
fn usage_message(rendered: &str) -> String {
    let parts: Vec<&str> =
        rendered.lines().map(str::trim).take_while(|l| !l.is_empty() && !l.starts_with("Usage:")).collect();
    let text = parts.join(" ");
    let text = text.trim_start_matches("error: ").trim();
    if text.is_empty() { "invalid arguments".to_string() } else { text.to_string() }
}

/// Print an error the way the user asked (human on stderr, or the JSON document on stdout).
pub fn report(ui: &Ui, e: &CliError) -> ExitCode {
    if ui.json {
        ui.json(&error::json_error(e));
    } else {
        ui.error(&e.full_message(), e.hint().as_deref());
    }
    ExitCode::from(e.exit_code())
}

fn dispatch(ctx: &Ctx, command: Command) -> Result<Outcome, CliError> {
    match command {
        Command::Run(a) => commands::run::run(ctx, a),
        Command::Register(a) => commands::register::run(ctx, a),
        Command::Release(a) => commands::release::run(ctx, a),
        Command::Heartbeat(a) => commands::heartbeat::run(ctx, a),
        Command::Status(a) => commands::status::run(ctx, a),
        Command::Cleanup(a) => commands::cleanup::run(ctx, a),
        Command::Snapshot(c) => commands::snapshot::run(ctx, c),
        Command::Restore(a) => commands::restore::run(ctx, a),
        Command::Doctor(a) => commands::doctor::run(ctx, a),
        Command::Migrate(a) => commands::migrate::run(ctx, a),
        Command::Config(c) => commands::config::run(ctx, c),
        Command::Completions(a) => commands::completions::run(ctx, a),
        Command::Install(a) => commands::install::run(ctx, a),
        Command::Hook(a) => commands::hook::run(ctx, a),
        Command::Overlaps(a) => commands::overlaps::run(ctx, a),
        Command::Mcp(c) => commands::mcp::run(ctx, c),
        Command::Claims(a) => commands::claims::run(ctx, a),
        Command::Conflicts(c) => commands::conflicts::run(ctx, c),
        Command::Suggestions(a) => commands::suggestions::run(ctx, a),
        Command::Rebase(a) => commands::conflicts::rebase(ctx, a),
        Command::Watch(c) => commands::merges::watch(ctx, c),
        Command::Merge(c) => commands::merges::merge(ctx, c),
    }
}

/// Entry point of `claude-parallel`: exactly `parallel-cc run -- claude ARGS…`.
pub fn main_claude_parallel() -> ExitCode {
    let agent_args: Vec<OsString> = std::env::args_os().skip(1).collect();
    init_logging(0, None);
    let ctx = Ctx { ui: Ui { json: false, quiet: false } };
    let args = commands::run::Args::for_agent(OsString::from("claude"), agent_args);
    match commands::run::run(&ctx, args) {
        Ok(Outcome::Done(code)) => ExitCode::from(code),
        Err(e) => report(&ctx.ui, &e),
    }
}

/// The clap command tree (completions, tests).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Open the coordinator on the configured data dir.
pub(crate) fn open_coordinator() -> Result<pcc_core::Coordinator, CliError> {
    let dir = pcc_core::default_data_dir()?;
    Ok(pcc_core::Coordinator::open(&dir)?)
}

/// The directory commands act on: `--repo` or the current directory.
pub(crate) fn repo_or_cwd(repo: Option<std::path::PathBuf>) -> Result<std::path::PathBuf, CliError> {
    match repo {
        Some(r) => Ok(r),
        None => std::env::current_dir().map_err(|e| CliError::Failed {
            message: format!("cannot read the current directory: {e}"),
            hint: None,
            code: "io_error",
            exit: error::EXIT_FAILED,
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        super::command().debug_assert();
    }
}
