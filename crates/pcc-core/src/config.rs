//! Configuration (PRODUCT.md §8). Layers, lowest first: built-in defaults <
//! `$DATA_DIR/config.toml` < `<repo>/.parallel-cc.toml` < `PARALLEL_CC_<SECTION>_<KEY>`
//! environment < command-line flags (applied by the frontends).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{DocumentMut, Item, Value};

use crate::env;
use crate::error::{CoreError, Result, io_err};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyType {
    Bool,
    Int { min: i64, max: i64 },
    Float { min: f64 },
    Str,
    FloatList,
}

impl KeyType {
    fn expected(self) -> String {
        match self {
            KeyType::Bool => "true or false".into(),
            KeyType::Int { min, max } => format!("an integer from {min} to {max}"),
            KeyType::Float { min } => format!("a number >= {min}"),
            KeyType::Str => "a string".into(),
            KeyType::FloatList => "a comma-separated list of numbers between 0 and 1".into(),
        }
    }
}

pub struct KeyDef {
    pub key: &'static str,
    pub ty: KeyType,
    pub default: Option<&'static str>,
    pub help: &'static str,
}

/// Every configuration key. The environment variable of a key is `PARALLEL_CC_` followed by the
/// key in upper case with `.` replaced by `_`.
pub const KEYS: &[KeyDef] = &[
    KeyDef {
        key: "session.stale_minutes",
        ty: KeyType::Int { min: 1, max: 10_080 },
        default: Some("10"),
        help: "minutes without heartbeat before a session whose PID cannot be seen counts as dead",
    },
    KeyDef {
        key: "worktree.dir",
        ty: KeyType::Str,
        default: None,
        help: "parent directory of new worktrees (default: <parent of repo>/<repo>-worktrees)",
    },
    KeyDef {
        key: "worktree.prefix",
        ty: KeyType::Str,
        default: Some("parallel-"),
        help: "prefix of generated worktree names",
    },
    KeyDef {
        key: "worktree.setup",
        ty: KeyType::Str,
        default: None,
        help: "command run (by sh -c) in each new worktree after it is created",
    },
    KeyDef {
        key: "cleanup.keep_unmerged_worktrees",
        ty: KeyType::Bool,
        default: Some("true"),
        help: "keep a clean worktree whose branch has unmerged commits (false: remove it, keep the branch)",
    },
    KeyDef {
        key: "cleanup.snapshot_days",
        ty: KeyType::Int { min: 1, max: 36_500 },
        default: Some("30"),
        help: "days to keep snapshots before cleanup deletes them",
    },
    KeyDef {
        key: "status.fresh_worktrees",
        ty: KeyType::Int { min: 0, max: 100_000 },
        default: Some("1"),
        help: "worktrees each status call looks at afresh, the least recently looked at first (others show \
               their last recorded details with its time; a worktree never looked at is always looked at; \
               status --watch looks at all of them)",
    },
    KeyDef {
        key: "hooks.enforce_claims",
        ty: KeyType::Bool,
        default: Some("true"),
        help: "deny edits to files another session claims EXCLUSIVE",
    },
    KeyDef {
        key: "hooks.guard_worktree",
        ty: KeyType::Bool,
        default: Some("true"),
        help: "deny edits outside the session's own checkout",
    },
    KeyDef { key: "sandbox.provider", ty: KeyType::Str, default: None, help: "sandbox provider: e2b or local" },
    KeyDef {
        key: "sandbox.checkpoint_minutes",
        ty: KeyType::Int { min: 1, max: 1440 },
        default: Some("5"),
        help: "minutes between result checkpoints of a sandboxed run",
    },
    KeyDef { key: "sandbox.template", ty: KeyType::Str, default: Some("claude"), help: "default E2B template" },
    KeyDef {
        key: "budget.per_session_default",
        ty: KeyType::Float { min: 0.0 },
        default: None,
        help: "default cost limit of one sandboxed run, USD",
    },
    KeyDef {
        key: "budget.daily",
        ty: KeyType::Float { min: 0.0 },
        default: None,
        help: "spend limit per UTC day, USD",
    },
    KeyDef {
        key: "budget.weekly",
        ty: KeyType::Float { min: 0.0 },
        default: None,
        help: "spend limit per week (Monday to Sunday, UTC), USD",
    },
    KeyDef {
        key: "budget.monthly",
        ty: KeyType::Float { min: 0.0 },
        default: None,
        help: "spend limit per calendar month (UTC), USD",
    },
    KeyDef {
        key: "budget.warning_thresholds",
        ty: KeyType::FloatList,
        default: Some("0.5,0.8"),
        help: "fractions of a limit at which to warn",
    },
];

/// Spellings of the original tool (camelCase, kebab-case, old names) mapped to ours.
fn normalize_key(key: &str) -> String {
    let k = key.trim();
    let aliased = match k {
        "budget.monthlyLimit" | "budget.monthly-limit" | "budget.monthly_limit" => "budget.monthly",
        "budget.perSessionDefault" | "budget.per-session-default" | "budget.per-session" => {
            "budget.per_session_default"
        }
        "budget.warningThresholds" | "budget.warning-thresholds" => "budget.warning_thresholds",
        other => other,
    };
    aliased.replace('-', "_")
}

pub fn key_def(key: &str) -> Result<&'static KeyDef> {
    let k = normalize_key(key);
    KEYS.iter().find(|d| d.key == k).ok_or(CoreError::UnknownConfigKey { key: key.to_string() })
}

pub fn env_var_for(key: &str) -> String {
    format!("{}{}", env::CONFIG_PREFIX, key.replace('.', "_").to_ascii_uppercase())
}

/// A typed configuration value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ConfigValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    FloatList(Vec<f64>),
}

impl std::fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Int(i) => write!(f, "{i}"),
            ConfigValue::Float(x) => write!(f, "{x}"),
            ConfigValue::Str(s) => write!(f, "{s}"),
            ConfigValue::FloatList(v) => {
                let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                write!(f, "{}", parts.join(","))
            }
        }
    }
}

/// Parse a value given as text (command line, environment).
pub fn parse_text(def: &KeyDef, text: &str, origin: &str) -> Result<ConfigValue> {
    let bad = || CoreError::Config {
        origin: origin.to_string(),
        key: def.key.to_string(),
        reason: format!("expected {}, got {text:?}", def.ty.expected()),
    };
    let t = text.trim();
    Ok(match def.ty {
        KeyType::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => ConfigValue::Bool(true),
            "false" | "0" | "no" | "off" => ConfigValue::Bool(false),
            _ => return Err(bad()),
        },
        KeyType::Int { min, max } => {
            let v: i64 = t.parse().map_err(|_| bad())?;
            if v < min || v > max {
                return Err(bad());
            }
            ConfigValue::Int(v)
        }
        KeyType::Float { min } => {
            let v: f64 = t.parse().map_err(|_| bad())?;
            if !v.is_finite() || v < min {
                return Err(bad());
            }
            ConfigValue::Float(v)
        }
        KeyType::Str => ConfigValue::Str(text.to_string()),
        KeyType::FloatList => {
            let mut v = Vec::new();
            for part in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let x: f64 = part.parse().map_err(|_| bad())?;
                if !(0.0..=1.0).contains(&x) {
                    return Err(bad());
                }
                v.push(x);
            }
            ConfigValue::FloatList(v)
        }
    })
}

fn from_toml(def: &KeyDef, item: &Item, origin: &str) -> Result<ConfigValue> {
    let bad = || CoreError::Config {
        origin: origin.to_string(),
        key: def.key.to_string(),
        reason: format!("expected {}", def.ty.expected()),
    };
    let v = item.as_value().ok_or_else(bad)?;
    match (def.ty, v) {
        (KeyType::Bool, Value::Boolean(b)) => Ok(ConfigValue::Bool(*b.value())),
        (KeyType::Int { .. }, Value::Integer(i)) => parse_text(def, &i.value().to_string(), origin),
        (KeyType::Float { .. }, Value::Integer(i)) => parse_text(def, &i.value().to_string(), origin),
        (KeyType::Float { .. }, Value::Float(x)) => parse_text(def, &x.value().to_string(), origin),
        (KeyType::Str, Value::String(s)) => Ok(ConfigValue::Str(s.value().clone())),
        (KeyType::FloatList, Value::Array(a)) => {
            let parts: Vec<String> = a.iter().map(|x| x.to_string().trim().to_string()).collect();
            parse_text(def, &parts.join(","), origin)
        }
        (KeyType::FloatList, Value::String(s)) => parse_text(def, s.value(), origin),
        _ => Err(bad()),
    }
}

fn to_toml(value: &ConfigValue) -> Value {
    match value {
        ConfigValue::Bool(b) => Value::from(*b),
        ConfigValue::Int(i) => Value::from(*i),
        ConfigValue::Float(x) => Value::from(*x),
        ConfigValue::Str(s) => Value::from(s.as_str()),
        ConfigValue::FloatList(v) => {
            let mut a = toml_edit::Array::new();
            for x in v {
                a.push(*x);
            }
            Value::Array(a)
        }
    }
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Default,
    User(PathBuf),
    Repo(PathBuf),
    Env(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::User(p) | Origin::Repo(p) => write!(f, "{}", p.display()),
            Origin::Env(v) => write!(f, "env {v}"),
        }
    }
}

/// The resolved configuration with the origin of every value.
#[derive(Clone, Debug, Default)]
pub struct Config {
    values: BTreeMap<&'static str, (ConfigValue, Origin)>,
    /// Unknown keys found in files, reported as warnings.
    pub unknown_keys: Vec<(PathBuf, String)>,
}

pub fn user_config_path(data_dir: &Path) -> PathBuf {
    data_dir.join("config.toml")
}

pub fn repo_config_path(repo: &Path) -> PathBuf {
    repo.join(".parallel-cc.toml")
}

fn read_doc(path: &Path) -> Result<Option<DocumentMut>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("cannot read", path)(e)),
    };
    text.parse::<DocumentMut>().map(Some).map_err(|e| CoreError::ConfigParse {
        path: path.to_path_buf(),
        reason: e.to_string().trim().replace('\n', " "),
    })
}

impl Config {
    /// Resolve all layers for a data dir and (optionally) a repository.
    pub fn load(data_dir: &Path, repo: Option<&Path>) -> Result<Config> {
        Self::load_with_env(data_dir, repo, |k| std::env::var(k).ok())
    }

    pub fn load_with_env(data_dir: &Path, repo: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut cfg = Config::default();
        for def in KEYS {
            if let Some(d) = def.default {
                cfg.values.insert(def.key, (parse_text(def, d, "default")?, Origin::Default));
            }
        }
        let user = user_config_path(data_dir);
        cfg.apply_file(&user, Origin::User(user.clone()))?;
        if let Some(repo) = repo {
            let p = repo_config_path(repo);
            cfg.apply_file(&p, Origin::Repo(p.clone()))?;
        }
        for def in KEYS {
            let var = env_var_for(def.key);
            if let Some(text) = env(&var) {
                let v = parse_text(def, &text, &format!("environment variable {var}"))?;
                cfg.values.insert(def.key, (v, Origin::Env(var)));
            }
        }
        Ok(cfg)
    }

    fn apply_file(&mut self, path: &Path, origin: Origin) -> Result<()> {
        let Some(doc) = read_doc(path)? else { return Ok(()) };
        let origin_text = path.display().to_string();
        for (section, item) in doc.iter() {
            let Some(table) = item.as_table_like() else {
                self.unknown_keys.push((path.to_path_buf(), section.to_string()));
                continue;
            };
            for (name, value) in table.iter() {
                let key = format!("{section}.{name}");
                match KEYS.iter().find(|d| d.key == key) {
                    Some(def) => {
                        let v = from_toml(def, value, &origin_text)?;
                        self.values.insert(def.key, (v, origin.clone()));
                    }
                    None => self.unknown_keys.push((path.to_path_buf(), key)),
                }
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.values.get(key).map(|(v, _)| v)
    }

    pub fn get_with_origin(&self, key: &str) -> Option<&(ConfigValue, Origin)> {
        self.values.get(key)
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(ConfigValue::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key) {
            Some(ConfigValue::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(ConfigValue::Str(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    pub fn stale_minutes(&self) -> i64 {
        self.int("session.stale_minutes").unwrap_or(10)
    }
    pub fn fresh_worktrees(&self) -> usize {
        self.int("status.fresh_worktrees").and_then(|v| usize::try_from(v).ok()).unwrap_or(1)
    }
    pub fn keep_unmerged(&self) -> bool {
        self.bool("cleanup.keep_unmerged_worktrees").unwrap_or(true)
    }
    pub fn snapshot_days(&self) -> i64 {
        self.int("cleanup.snapshot_days").unwrap_or(30)
    }
    pub fn worktree_prefix(&self) -> &str {
        self.str("worktree.prefix").unwrap_or("parallel-")
    }

    /// Every key with its value (or none) and origin, for `config list`.
    pub fn entries(&self) -> Vec<(&'static KeyDef, Option<&(ConfigValue, Origin)>)> {
        KEYS.iter().map(|d| (d, self.values.get(d.key))).collect()
    }
}

/// Set `key` in the TOML file at `path`, keeping its comments and other keys. Written atomically.
pub fn set_in_file(path: &Path, key: &str, text: &str) -> Result<(&'static str, ConfigValue)> {
    let def = key_def(key)?;
    let value = parse_text(def, text, "command line")?;
    let mut doc = read_doc(path)?.unwrap_or_default();
    let (section, name) = def.key.split_once('.').unwrap_or(("", def.key));
    if !doc.contains_table(section) {
        doc.insert(section, Item::Table(toml_edit::Table::new()));
    }
    let Some(table) = doc.get_mut(section).and_then(Item::as_table_like_mut) else {
        return Err(CoreError::ConfigParse { path: path.to_path_buf(), reason: format!("{section} is not a table") });
    };
    table.insert(name, Item::Value(to_toml(&value)));
    crate::fsutil::write_atomic(path, doc.to_string().as_bytes(), 0o644)?;
    Ok((def.key, value))
}

/// Remove `key` from the TOML file at `path`; returns whether it was there.
pub fn unset_in_file(path: &Path, key: &str) -> Result<bool> {
    let def = key_def(key)?;
    let Some(mut doc) = read_doc(path)? else { return Ok(false) };
    let (section, name) = def.key.split_once('.').unwrap_or(("", def.key));
    let removed = doc.get_mut(section).and_then(Item::as_table_like_mut).and_then(|t| t.remove(name)).is_some();
    if removed {
        crate::fsutil::write_atomic(path, doc.to_string().as_bytes(), 0o644)?;
    }
    Ok(removed)
}

/// Import the budget settings of the original's `config.json` once (it is renamed afterwards).
pub fn import_legacy_json(data_dir: &Path) -> Result<Vec<String>> {
    let json_path = data_dir.join("config.json");
    let text = match std::fs::read_to_string(&json_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("cannot read", &json_path)(e)),
    };
    let mut imported = Vec::new();
    if let Ok(serde_json::Value::Object(root)) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(serde_json::Value::Object(budget)) = root.get("budget")
    {
        let toml_path = user_config_path(data_dir);
        for (old, new) in [("monthlyLimit", "budget.monthly"), ("perSessionDefault", "budget.per_session_default")] {
            if let Some(n) = budget.get(old).and_then(serde_json::Value::as_f64) {
                set_in_file(&toml_path, new, &n.to_string())?;
                imported.push(new.to_string());
            }
        }
        if let Some(serde_json::Value::Array(a)) = budget.get("warningThresholds") {
            let parts: Vec<String> = a.iter().filter_map(serde_json::Value::as_f64).map(|x| x.to_string()).collect();
            if !parts.is_empty() {
                set_in_file(&toml_path, "budget.warning_thresholds", &parts.join(","))?;
                imported.push("budget.warning_thresholds".into());
            }
        }
    }
    let done = data_dir.join("config.json.imported");
    std::fs::rename(&json_path, &done).map_err(io_err("cannot rename", &json_path))?;
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_with_origins() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("data");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap_or_default();
        set_in_file(&user_config_path(&data), "session.stale_minutes", "20").unwrap_or_else(|e| panic!("{e}"));
        set_in_file(&user_config_path(&data), "worktree.prefix", "u-").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(repo_config_path(&repo), "[worktree]\nprefix = \"r-\"\n").unwrap_or_default();
        let cfg = Config::load_with_env(&data, Some(&repo), |k| {
            (k == "PARALLEL_CC_CLEANUP_SNAPSHOT_DAYS").then(|| "7".into())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.stale_minutes(), 20);
        assert_eq!(cfg.worktree_prefix(), "r-");
        assert_eq!(cfg.snapshot_days(), 7);
        assert!(cfg.keep_unmerged());
        assert!(matches!(cfg.get_with_origin("worktree.prefix"), Some((_, Origin::Repo(_)))));
        assert!(
            matches!(cfg.get_with_origin("cleanup.snapshot_days"), Some((_, Origin::Env(v))) if v == "PARALLEL_CC_CLEANUP_SNAPSHOT_DAYS")
        );
        assert!(matches!(cfg.get_with_origin("cleanup.keep_unmerged_worktrees"), Some((_, Origin::Default))));
    }

    #[test]
    fn invalid_values_name_the_file_key_and_expected_type() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = user_config_path(dir.path());
        std::fs::write(&path, "[session]\nstale_minutes = \"soon\"\n[mystery]\nx = 1\n").unwrap_or_default();
        let err = Config::load_with_env(dir.path(), None, |_| None).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("config.toml") && err.contains("session.stale_minutes") && err.contains("integer"),
            "{err}"
        );
        std::fs::write(&path, "[session\n").unwrap_or_default();
        assert!(matches!(Config::load_with_env(dir.path(), None, |_| None), Err(CoreError::ConfigParse { .. })));
        std::fs::write(&path, "[mystery]\nx = 1\n").unwrap_or_default();
        let cfg = Config::load_with_env(dir.path(), None, |_| None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.unknown_keys.len(), 1);
    }

    #[test]
    fn set_keeps_comments_and_unset_removes_only_the_key() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = user_config_path(dir.path());
        std::fs::write(&path, "# my settings\n[worktree]\nprefix = \"x-\" # mine\n").unwrap_or_default();
        set_in_file(&path, "budget.monthly-limit", "12.5").unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(text.contains("# my settings") && text.contains("# mine") && text.contains("monthly = 12.5"), "{text}");
        assert!(unset_in_file(&path, "budget.monthly").unwrap_or(false));
        assert!(!unset_in_file(&path, "budget.monthly").unwrap_or(true));
        assert!(matches!(set_in_file(&path, "nope.key", "1"), Err(CoreError::UnknownConfigKey { .. })));
        assert!(matches!(set_in_file(&path, "session.stale_minutes", "0"), Err(CoreError::Config { .. })));
        assert!(matches!(set_in_file(&path, "budget.warning_thresholds", "0.5,2"), Err(CoreError::Config { .. })));
    }
}
