use std::path::PathBuf;

use pcc_core::autofix::{ApplyRequest, GenerateRequest, ListRequest, SuggestionView};
use pcc_core::claims::Actor;

use crate::commands::conflicts::CheckArgs;
use crate::error::CliError;
use crate::ui::{BOLD, DIM, GREEN, RED, YELLOW, paint};
use crate::{Ctx, Outcome, open_coordinator, repo_or_cwd};

/// Whole-file resolutions for conflicting files, each with an explanation, risks and a confidence
/// (`suggestions` alone lists them)
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<SuggestionsCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum SuggestionsCommand {
    /// List stored suggestions (the default)
    List(ListArgs),
    /// Analyse the conflicts of a merge and store a suggestion per applicable strategy
    Generate(GenerateArgs),
    /// Write a suggestion's resolution over the file in this session's checkout (backup kept)
    Apply {
        /// Suggestion id (from `suggestions list` or `generate`)
        #[arg(value_name = "ID")]
        id: String,
        /// Check everything and say what would change; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Write it even though no merge is stopped on the file: an ordinary edit (merging the
        /// branches will still stop on the file)
        #[arg(long)]
        force: bool,
        /// The session whose checkout is written (default: the one working in the current directory)
        #[arg(long = "session", value_name = "ID", env = "PARALLEL_CC_SESSION_ID", hide_env_values = true)]
        session: Option<String>,
    },
    /// Why a suggestion scores what it does, and its diff against ours
    Explain {
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Debug, Default, clap::Args)]
pub struct ListArgs {
    /// Repository (default: the current directory's)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Only suggestions for this file (repo-relative)
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// Only suggestions at least this confident (0 to 1)
    #[arg(long, value_name = "C", default_value_t = 0.5, value_parser = parse_confidence)]
    pub min_confidence: f64,
    /// Only applied suggestions
    #[arg(long)]
    pub applied: bool,
    /// At most this many
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Only this file (repository-relative; `./`, `../` and absolute paths are read from the
    /// current directory)
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// Show only suggestions at least this confident (0 to 1); all are stored
    #[arg(long, value_name = "C", default_value_t = 0.5, value_parser = parse_confidence)]
    pub min_confidence: f64,
    /// At most this many per file, best first
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_suggestions: usize,
}

fn parse_confidence(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(c) if (0.0..=1.0).contains(&c) => Ok(c),
        _ => Err(format!("{text:?} is not a confidence between 0 and 1")),
    }
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let mut coord = open_coordinator()?;
    match a.command.unwrap_or(SuggestionsCommand::List(a.list)) {
        SuggestionsCommand::List(l) => {
            let req = ListRequest {
                dir: repo_or_cwd(l.repo)?,
                file: l.file,
                min_confidence: l.min_confidence,
                applied: l.applied.then_some(true),
                limit: l.limit,
            };
            let v = coord.list_suggestions(&req)?;
            if ctx.ui.json {
                ctx.ui.json(&v);
            } else if v.suggestions.is_empty() {
                ctx.ui.status("No suggestions (`parallel-cc suggestions generate` makes them)");
            } else {
                for s in &v.suggestions {
                    show(ctx, s);
                }
            }
        }
        SuggestionsCommand::Generate(g) => {
            let session_id = std::env::var(pcc_core::env::SESSION_ID).ok().filter(|s| !s.trim().is_empty());
            let check = g.check.request()?;
            let actor = Actor { session_id, cwd: check.dir.clone() };
            let req = GenerateRequest {
                check,
                file: g.file,
                min_confidence: g.min_confidence,
                max_suggestions: g.max_suggestions,
                actor: Some(actor),
            };
            let v = coord.generate_suggestions(&req)?;
            if ctx.ui.json {
                ctx.ui.json(&v);
            } else {
                for s in &v.skipped {
                    ctx.ui.warn(s);
                }
                if v.suggestions.is_empty() {
                    ctx.ui.status(&format!(
                        "{} suggestion{} made, none at or above the confidence asked for",
                        v.total_generated,
                        if v.total_generated == 1 { "" } else { "s" }
                    ));
                }
                for s in &v.suggestions {
                    show(ctx, s);
                }
                if v.filtered_by_confidence > 0 {
                    ctx.ui.status(&format!("{} less confident left out (--min-confidence)", v.filtered_by_confidence));
                }
            }
        }
        SuggestionsCommand::Apply { id, dry_run, force, session } => {
            let actor = Actor { session_id: session.filter(|s| !s.trim().is_empty()), cwd: repo_or_cwd(None)? };
            let v = coord.apply_suggestion(&ApplyRequest { suggestion_id: id, dry_run, force, actor })?;
            if ctx.ui.json {
                ctx.ui.json(&v);
            } else {
                ctx.ui.data(&if v.applied { paint(GREEN, &v.message) } else { v.message.clone() });
                if let Some(cmd) = &v.rollback_command {
                    ctx.ui.status(&format!("undo with: {cmd}"));
                }
            }
        }
        SuggestionsCommand::Explain { id } => {
            let v = coord.explain_suggestion(&id)?;
            if ctx.ui.json {
                ctx.ui.json(&v);
            } else {
                show(ctx, &v.suggestion);
                if let Some(f) = &v.factors {
                    ctx.ui.data(&format!(
                        "  factors: complexity {:.2}, similarity {:.2}, validity {:.2}, record {:.2}{}{}{}",
                        f.complexity,
                        f.similarity,
                        f.validity,
                        f.record,
                        if f.semantic { ", SEMANTIC ×0.7" } else { "" },
                        if f.large { ", large ×0.9" } else { "" },
                        if f.invalid { ", broken (capped at 0.3)" } else { "" }
                    ));
                }
                ctx.ui.data(&format!("  {}", paint(DIM, &v.formula)));
                ctx.ui.data(&v.diff);
            }
        }
    }
    Ok(Outcome::Done(0))
}

fn show(ctx: &Ctx, s: &SuggestionView) {
    let icon = if s.applied_at.is_some() { paint(GREEN, "✓") } else { paint(DIM, "○") };
    let colour = if s.confidence >= 0.8 {
        GREEN
    } else if s.confidence >= 0.5 {
        YELLOW
    } else {
        RED
    };
    ctx.ui.data(&format!("{icon} {} {}", paint(BOLD, &s.file_path), paint(DIM, &s.suggestion_id)));
    ctx.ui.data(&format!(
        "  Strategy: {}  Confidence: {}  Type: {}{}",
        s.strategy,
        paint(colour, &format!("{:.1}%", s.confidence * 100.0)),
        s.conflict_type,
        s.severity.as_deref().map(|x| format!(" ({x})")).unwrap_or_default()
    ));
    ctx.ui.data(&format!(
        "  Generated: {}{}",
        s.generated_at,
        s.applied_at.as_deref().map(|a| format!("  Applied: {a}")).unwrap_or_default()
    ));
    ctx.ui.data(&format!("  {}", s.explanation));
    for r in &s.risks {
        ctx.ui.data(&format!("  {} {r}", paint(YELLOW, "⚠")));
    }
}
