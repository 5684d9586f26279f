use crate::error::CliError;
use crate::{Ctx, Outcome};

/// Print shell completions
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Shell to print completions for
    pub shell: clap_complete::Shell,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    // Generate into memory first: generate() panics on a closed pipe.
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut crate::command(), "parallel-cc", &mut buf);
    let script = String::from_utf8_lossy(&buf);
    if ctx.ui.json {
        ctx.ui.json(&serde_json::json!({ "shell": a.shell.to_string(), "script": script }));
    } else {
        ctx.ui.data(script.trim_end());
    }
    Ok(Outcome::Done(0))
}
