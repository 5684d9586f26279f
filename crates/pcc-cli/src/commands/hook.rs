//! `parallel-cc hook <event>`: what Claude Code runs (PRODUCT.md §3.2). Never blocks the agent
//! because of its own failure: bad input, a missing or locked database, an unknown session all end
//! with exit 0 and nothing on stdout, and a line in `hooks.log` in the data directory.

use std::io::{Read, Write};

use pcc_core::hook_input::{HookInput, MAX_INPUT_BYTES};
use pcc_core::{HookEnv, HookEvent, HookReply};

use crate::error::CliError;
use crate::{Ctx, Outcome};

/// Handle a Claude Code hook event, reading Claude Code's JSON on stdin (`install --hooks` sets
/// these up)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// pre-tool-use, post-tool-use, post-tool-use-failure, session-start, session-end, stop,
    /// worktree-create or worktree-remove (other events are accepted and ignored)
    #[arg(value_name = "EVENT")]
    pub event: String,
}

/// `hooks.log` is cut back to its newest half once it passes this size.
const LOG_LIMIT: u64 = 1024 * 1024;

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    let Some(event) = HookEvent::parse(&a.event) else {
        log_line(&a.event, "unknown event, ignored");
        return Ok(Outcome::Done(0));
    };
    let mut bytes = Vec::new();
    let read = std::io::stdin().lock().take(MAX_INPUT_BYTES as u64 + 1).read_to_end(&mut bytes);
    let input = match read {
        Ok(_) => HookInput::parse(&bytes),
        Err(e) => {
            log_line(event.cli_name(), &format!("cannot read stdin: {e}"));
            None
        }
    };
    let Some(input) = input else {
        log_line(event.cli_name(), &format!("input ignored: not a JSON object of at most {MAX_INPUT_BYTES} bytes"));
        return fail_or_ignore(event, "no usable input on stdin");
    };
    let result = pcc_core::default_data_dir()
        .and_then(|dir| pcc_core::Coordinator::open_for_hook(&dir))
        .and_then(|mut coord| coord.hook(event, &input, &HookEnv::from_process()));
    match result {
        Ok(HookReply::Silent) => {}
        Ok(HookReply::Json(v)) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{v}");
        }
        Ok(HookReply::Text(t)) => ctx.ui.data(&t),
        Err(e) => {
            let e = CliError::from(e);
            log_line(event.cli_name(), &e.full_message());
            return fail_or_ignore(event, &e.full_message());
        }
    }
    Ok(Outcome::Done(0))
}

/// Every hook but one does nothing when it fails. WorktreeCreate must print a path, or Claude
/// Code exits: there the failure is reported (stderr, exit 1) so the user sees why.
fn fail_or_ignore(event: HookEvent, message: &str) -> Result<Outcome, CliError> {
    if event == HookEvent::WorktreeCreate {
        return Err(CliError::Failed {
            message: format!("cannot create the worktree: {message}"),
            hint: Some(format!("details in {}", log_path().map(|p| p.display().to_string()).unwrap_or_default())),
            code: "hook_failed",
            exit: crate::error::EXIT_FAILED,
        });
    }
    Ok(Outcome::Done(0))
}

fn log_path() -> Option<std::path::PathBuf> {
    pcc_core::default_data_dir().ok().map(|d| d.join("hooks.log"))
}

/// One line in `hooks.log` (and at debug level on stderr). Best effort.
fn log_line(event: &str, message: &str) {
    tracing::debug!(event, message, "hook");
    let Some(path) = log_path() else { return };
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > LOG_LIMIT)
        && let Ok(text) = std::fs::read(&path)
    {
        let half = text.len() / 2;
        let cut = text[half..].iter().position(|b| *b == b'\n').map_or(half, |i| half + i + 1);
        let _ = std::fs::write(&path, &text[cut..]);
    }
    let line = format!("{} {event}: {}\n", pcc_core::Timestamp::now(), message.replace('\n', " "));
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
}
