use crate::error::CliError;
use crate::ui::{GREEN, paint};
use crate::{Ctx, Outcome, open_coordinator};

/// Bring the database to the latest schema (databases of the TypeScript tool are adopted in
/// place, after a backup)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accepted for compatibility with the original tool and ignored: there is one latest schema
    #[arg(long = "version", value_name = "VERSION")]
    pub target_version: Option<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Outcome, CliError> {
    if let Some(v) = &a.target_version {
        ctx.ui.status(&format!("note: --version {v} is ignored; the database is always brought to the latest schema"));
    }
    let coord = open_coordinator()?;
    let view = coord.migrate()?;
    if ctx.ui.json {
        ctx.ui.json(&view);
    } else {
        ctx.ui.data(&format!("Database: {}", coord.db_path().display()));
        if let Some(from) = &view.from {
            ctx.ui.data(&format!("Adopted a database of the TypeScript tool (schema {from})"));
        }
        if let Some(b) = &view.backup {
            ctx.ui.data(&format!("Backup: {b}"));
        }
        if view.migrations.is_empty() {
            ctx.ui.data(&format!("{} Already at latest version (schema {})", paint(GREEN, "✓"), view.schema_version));
        } else {
            ctx.ui.data(&format!(
                "{} Update completed successfully (schema {})",
                paint(GREEN, "✓"),
                view.schema_version
            ));
            for m in &view.migrations {
                ctx.ui.data(&format!("  - {m}"));
            }
        }
    }
    Ok(Outcome::Done(0))
}
