use std::path::PathBuf;

use pcc_core::config::{self, Config};

use crate::error::CliError;
use crate::ui::table;
use crate::{Ctx, Outcome};

/// Manage configuration: defaults < ~/.parallel-cc/config.toml < <repo>/.parallel-cc.toml <
/// PARALLEL_CC_* environment < flags
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print a key's value
    Get {
        key: String,
        /// Also print where the value comes from
        #[arg(long)]
        show_origin: bool,
        /// Resolve for this repository (default: the current one)
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
    },
    /// Set a key in the user config (or, with --repo-config, in <repo>/.parallel-cc.toml)
    Set {
        key: String,
        value: String,
        /// Write to the repository's .parallel-cc.toml
        #[arg(long)]
        repo_config: bool,
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
    },
    /// Remove a key from the user config (or the repository's with --repo-config)
    Unset {
        key: String,
        #[arg(long)]
        repo_config: bool,
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
    },
    /// List every key with its value
    List {
        /// Also print where each value comes from
        #[arg(long)]
        show_origin: bool,
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
    },
}

fn repo_of(repo: Option<PathBuf>) -> Option<PathBuf> {
    let start = repo.or_else(|| std::env::current_dir().ok())?;
    pcc_core::repo_root(&start)
}

fn target_file(data_dir: &std::path::Path, repo_config: bool, repo: Option<PathBuf>) -> Result<PathBuf, CliError> {
    if repo_config {
        let root = repo_of(repo)
            .ok_or_else(|| CliError::usage("--repo-config needs a git repository (run inside one or pass --repo)"))?;
        Ok(config::repo_config_path(&root))
    } else {
        Ok(config::user_config_path(data_dir))
    }
}

pub fn run(ctx: &Ctx, cmd: ConfigCommand) -> Result<Outcome, CliError> {
    let data_dir = pcc_core::default_data_dir()?;
    match cmd {
        ConfigCommand::Get { key, show_origin, repo } => {
            let def = config::key_def(&key)?;
            let cfg = Config::load(&data_dir, repo_of(repo).as_deref())?;
            let entry = cfg.get_with_origin(def.key);
            if ctx.ui.json {
                ctx.ui.json(&serde_json::json!({
                    "key": def.key,
                    "value": entry.map(|(v, _)| v),
                    "origin": entry.map(|(_, o)| o.to_string()),
                }));
            } else {
                let value = entry.map(|(v, _)| v.to_string()).unwrap_or_else(|| "(not set)".into());
                match (show_origin, entry) {
                    (true, Some((_, o))) => ctx.ui.data(&format!("{}: {value}  ({o})", def.key)),
                    _ => ctx.ui.data(&format!("{}: {value}", def.key)),
                }
            }
        }
        ConfigCommand::Set { key, value, repo_config, repo } => {
            let path = target_file(&data_dir, repo_config, repo)?;
            let (key, value) = config::set_in_file(&path, &key, &value)?;
            if ctx.ui.json {
                ctx.ui.json(&serde_json::json!({ "success": true, "key": key, "value": value, "file": path }));
            } else {
                ctx.ui.data(&format!("✓ Set {key} = {value}  ({})", path.display()));
            }
        }
        ConfigCommand::Unset { key, repo_config, repo } => {
            let path = target_file(&data_dir, repo_config, repo)?;
            let removed = config::unset_in_file(&path, &key)?;
            if ctx.ui.json {
                ctx.ui.json(
                    &serde_json::json!({ "success": true, "key": config::key_def(&key)?.key, "removed": removed }),
                );
            } else if removed {
                ctx.ui.data(&format!("✓ Unset {key}  ({})", path.display()));
            } else {
                ctx.ui.data(&format!("{key} was not set in {}", path.display()));
            }
        }
        ConfigCommand::List { show_origin, repo } => {
            let cfg = Config::load(&data_dir, repo_of(repo).as_deref())?;
            for (path, key) in &cfg.unknown_keys {
                ctx.ui.warn(&format!("unknown key {key} in {}", path.display()));
            }
            if ctx.ui.json {
                let mut obj = serde_json::Map::new();
                for (def, entry) in cfg.entries() {
                    obj.insert(
                        def.key.to_string(),
                        serde_json::json!({
                            "value": entry.map(|(v, _)| v),
                            "origin": entry.map(|(_, o)| o.to_string()),
                            "env": config::env_var_for(def.key),
                            "description": def.help,
                        }),
                    );
                }
                ctx.ui.json(&serde_json::Value::Object(obj));
            } else {
                let rows: Vec<Vec<String>> = cfg
                    .entries()
                    .into_iter()
                    .map(|(def, entry)| {
                        let mut row = vec![
                            def.key.to_string(),
                            entry.map(|(v, _)| v.to_string()).unwrap_or_else(|| "(not set)".into()),
                        ];
                        if show_origin {
                            row.push(entry.map(|(_, o)| o.to_string()).unwrap_or_default());
                        }
                        row
                    })
                    .collect();
                let headers: &[&str] = if show_origin { &["KEY", "VALUE", "ORIGIN"] } else { &["KEY", "VALUE"] };
                ctx.ui.data(&table(headers, &rows));
            }
        }
    }
    Ok(Outcome::Done(0))
}
