use std::path::PathBuf;

use pcc_core::claims::{Actor, ClaimChangeView, ClaimFilter, ClaimRequest, ClaimsView};
use pcc_core::rules::ClaimMode;

use crate::error::CliError;
use crate::ui::{BLUE, BOLD, DIM, RED, YELLOW, paint};
use crate::{Ctx, Outcome, open_coordinator, repo_or_cwd};

/// File claims: advisory locks a session takes so other sessions keep off a file or directory
/// (`claims` alone lists them)
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<ClaimsCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum ClaimsCommand {
    /// List claims in force (the default)
    List(ListArgs),
    /// Claim a file or directory (trailing `/`) for this session
    Claim(ClaimArgs),
    /// Release a claim
    Release {
        /// Claim id (from `claims` or `claims claim`)
        #[arg(value_name = "ID")]
        id: String,
        /// Release a claim of another session
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        session: SessionArg,
    },
    /// Raise a claim's mode (INTENT → SHARED → EXCLUSIVE)
    Escalate {
        #[arg(value_name = "ID")]
        id: String,
        /// The new, stronger mode
        #[arg(long, value_name = "MODE", value_parser = parse_mode)]
        to: ClaimMode,
        #[command(flatten)]
        session: SessionArg,
    },
}

#[derive(Debug, Default, clap::Args)]
pub struct ListArgs {
    /// Repository (default: the current directory's)
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Only claims of this session
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Only claims covering this file (or directory)
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// Ended and expired claims too (history)
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, clap::Args)]
pub struct ClaimArgs {
    /// File or directory, relative to the current directory or absolute
    #[arg(value_name = "FILE")]
    pub file: String,
    /// EXCLUSIVE (only this session changes it), SHARED or INTENT
    #[arg(long, value_name = "MODE", default_value = "EXCLUSIVE", value_parser = parse_mode)]
    pub mode: ClaimMode,
    /// Why, shown to other sessions
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Lifetime in hours, 1–8760 (it also ends with the session)
    #[arg(long, value_name = "H", default_value_t = pcc_core::claims::DEFAULT_TTL_HOURS)]
    pub ttl_hours: u32,
    #[command(flatten)]
    pub session: SessionArg,
}

#[derive(Debug, clap::Args)]
pub struct SessionArg {
    /// The session acting (default: the one working in the current directory)
    #[arg(long = "session", value_name = "ID", env = "PARALLEL_CC_SESSION_ID", hide_env_values = true)]
    pub session: Option<String>,
}

fn parse_mode(text: &str) -> Result<ClaimMode, String> {
    ClaimMode::parse(text).ok_or_else(|| format!("unknown mode {text:?}: use EXCLUSIVE, SHARED or INTENT"))
}

fn actor(session: SessionArg) -> Result<Actor, CliError> {
    Ok(Actor { session_id: session.session.filter(|s| !s.trim().is_empty()), cwd: repo_or_cwd(None)? })
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let mut coord = open_coordinator()?;
    match a.command {
        None => list(ctx, &mut coord, a.list),
        Some(ClaimsCommand::List(l)) => list(ctx, &mut coord, l),
        Some(ClaimsCommand::Claim(c)) => {
            let req = ClaimRequest {
                actor: actor(c.session)?,
                file: c.file,
                mode: c.mode,
                reason: c.reason,
                ttl_hours: Some(c.ttl_hours),
            };
            let out = coord.claim(&req)?;
            if ctx.ui.json {
                ctx.ui.json(&out);
            } else {
                ctx.ui.status(&out.message);
                ctx.ui.data(&out.claim_id);
            }
            Ok(Outcome::Done(0))
        }
        Some(ClaimsCommand::Release { id, force, session }) => {
            done(ctx, &coord.release_claim(&id, &actor(session)?, force)?)
        }
        Some(ClaimsCommand::Escalate { id, to, session }) => {
            done(ctx, &coord.escalate_claim(&id, &actor(session)?, to)?)
        }
    }
}

fn done(ctx: &Ctx, v: &ClaimChangeView) -> Result<Outcome, CliError> {
    if ctx.ui.json {
        ctx.ui.json(v);
    } else {
        ctx.ui.status(&v.message);
    }
    Ok(Outcome::Done(0))
}

fn list(ctx: &Ctx, coord: &mut pcc_core::Coordinator, l: ListArgs) -> Result<Outcome, CliError> {
    let cwd = repo_or_cwd(None)?;
    let filter =
        ClaimFilter { repo: l.repo, session: l.session, files: l.file.into_iter().collect(), history: l.all, cwd };
    let view: ClaimsView = coord.claims(&filter)?;
    if ctx.ui.json {
        ctx.ui.json(&view);
        return Ok(Outcome::Done(0));
    }
    if view.claims.is_empty() {
        ctx.ui.data(if l.all { "No claims" } else { "No claims in force" });
        return Ok(Outcome::Done(0));
    }
    for c in &view.claims {
        let colour = match c.claim_mode.as_str() {
            "EXCLUSIVE" => RED,
            "SHARED" => YELLOW,
            _ => BLUE,
        };
        let state = match (&c.ended_reason, c.minutes_until_expiry) {
            (Some(r), _) => format!("ended: {r}"),
            (None, Some(m)) => format!("expires {} (in {})", c.expires_at.as_deref().unwrap_or("?"), minutes(m)),
            (None, None) => "no expiry".to_string(),
        };
        ctx.ui.data(&format!("{} {}  {}", paint(colour, "●"), paint(BOLD, &c.file_path), c.claim_mode));
        ctx.ui.data(&format!(
            "    session {} (branch {})  {}  id {}",
            c.session_id.get(..8).unwrap_or(&c.session_id),
            c.branch.as_deref().unwrap_or("-"),
            paint(DIM, &state),
            c.claim_id
        ));
        if let Some(r) = &c.reason {
            ctx.ui.data(&format!("    reason: {r}"));
        }
    }
    Ok(Outcome::Done(0))
}

fn minutes(m: i64) -> String {
    if m >= 120 { format!("{} h", m / 60) } else { format!("{m} min") }
}
