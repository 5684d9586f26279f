//! The `parallel-cc` entry of `mcpServers` in `~/.claude.json`. Pure functions over the
//! document; no I/O.

use serde_json::{Map, Value};

use super::ShapeError;

/// The key under `mcpServers`.
pub const SERVER_NAME: &str = "parallel-cc";

/// The entry `install --mcp` writes for `exe`, keeping `env` and any other keys of `existing`.
fn entry_for(exe: &str, existing: Option<&Map<String, Value>>) -> Value {
    let mut e = Map::new();
    e.insert("type".into(), "stdio".into());
    e.insert("command".into(), exe.into());
    e.insert("args".into(), Value::Array(vec!["mcp".into(), "serve".into()]));
    let env = existing.and_then(|m| m.get("env")).filter(|v| v.is_object()).cloned();
    e.insert("env".into(), env.unwrap_or_else(|| Value::Object(Map::new())));
    for (k, v) in existing.into_iter().flatten() {
        if !e.contains_key(k) {
            e.insert(k.clone(), v.clone());
        }
    }
    Value::Object(e)
}

/// What [`install`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct McpEdit {
    pub changed: bool,
    /// An existing `parallel-cc` entry (another path, the original's `mcp-serve`) was rewritten.
    pub replaced: bool,
}

/// Set `mcpServers.parallel-cc` (in place when it exists; everything else untouched).
pub fn install(doc: &mut Value, exe: &str) -> Result<McpEdit, ShapeError> {
    let root = doc.as_object_mut().ok_or_else(|| ShapeError::new("the document is not a JSON object"))?;
    let servers = root.entry("mcpServers").or_insert_with(|| Value::Object(Map::new()));
    let servers = servers.as_object_mut().ok_or_else(|| ShapeError::new("`mcpServers` is not an object"))?;
    match servers.get_mut(SERVER_NAME) {
        Some(current) => {
            let wanted = entry_for(exe, current.as_object());
            if *current == wanted && serde_json::to_string(current).ok() == serde_json::to_string(&wanted).ok() {
                return Ok(McpEdit::default());
            }
            *current = wanted;
            Ok(McpEdit { changed: true, replaced: true })
        }
        None => {
            servers.insert(SERVER_NAME.into(), entry_for(exe, None));
            Ok(McpEdit { changed: true, replaced: false })
        }
    }
}

/// Remove `mcpServers.parallel-cc`, and `mcpServers` if that emptied it. Whether it removed.
pub fn uninstall(doc: &mut Value) -> bool {
    let Some(root) = doc.as_object_mut() else { return false };
    let Some(servers) = root.get_mut("mcpServers").and_then(Value::as_object_mut) else { return false };
    if servers.shift_remove(SERVER_NAME).is_none() {
        return false;
    }
    if servers.is_empty() {
        root.shift_remove("mcpServers");
    }
    true
}

/// Our entry as found in a document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct McpScan {
    /// `mcpServers.parallel-cc` exists.
    pub installed: bool,
    /// Its `command`.
    pub command: Option<String>,
    /// It is exactly what `install --mcp` would write for this executable.
    pub current: bool,
}

pub fn scan(doc: &Value, exe: &str) -> McpScan {
    let Some(entry) = doc.get("mcpServers").and_then(|s| s.get(SERVER_NAME)) else { return McpScan::default() };
    let mut copy = doc.clone();
    let current = install(&mut copy, exe).is_ok_and(|e| !e.changed);
    McpScan { installed: true, command: entry.get("command").and_then(Value::as_str).map(str::to_string), current }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const EXE: &str = "/opt/bin/parallel-cc";

    #[test]
    fn install_adds_the_entry_and_keeps_everything_else() {
        let original = json!({"numStartups": 3, "mcpServers": {"other": {"command": "x"}}, "projects": {"/p": {}}});
        let mut v = original.clone();
        let edit = install(&mut v, EXE).unwrap();
        assert_eq!(edit, McpEdit { changed: true, replaced: false });
        assert_eq!(
            v,
            json!({"numStartups": 3, "mcpServers": {"other": {"command": "x"}, "parallel-cc":
                {"type": "stdio", "command": EXE, "args": ["mcp", "serve"], "env": {}}}, "projects": {"/p": {}}})
        );
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["numStartups", "mcpServers", "projects"]);
        assert_eq!(install(&mut v, EXE).unwrap(), McpEdit::default());
        assert!(scan(&v, EXE).current);
        assert!(uninstall(&mut v));
        assert_eq!(v, original);
        assert!(!uninstall(&mut v));
    }

    #[test]
    fn uninstall_drops_mcp_servers_it_emptied() {
        let mut v = json!({"a": 1});
        install(&mut v, EXE).unwrap();
        assert!(uninstall(&mut v));
        assert_eq!(v, json!({"a": 1}));
    }

    #[test]
    fn the_original_entry_and_old_paths_are_replaced_keeping_env() {
        let mut v = json!({"mcpServers": {"parallel-cc": {"command": "parallel-cc", "args": ["mcp-serve"]}}});
        let s = scan(&v, EXE);
        assert!(s.installed && !s.current);
        assert_eq!(s.command.as_deref(), Some("parallel-cc"));
        assert_eq!(install(&mut v, EXE).unwrap(), McpEdit { changed: true, replaced: true });
        assert_eq!(
            v["mcpServers"]["parallel-cc"],
            json!({"type": "stdio", "command": EXE, "args": ["mcp", "serve"], "env": {}})
        );

        let mut v = json!({"mcpServers": {"parallel-cc": {"command": "/old/parallel-cc", "args": ["mcp", "serve"], "env": {"A": "1"}, "x": 2}}});
        install(&mut v, EXE).unwrap();
        assert_eq!(
            v["mcpServers"]["parallel-cc"],
            json!({"type": "stdio", "command": EXE, "args": ["mcp", "serve"], "env": {"A": "1"}, "x": 2})
        );
        assert!(scan(&v, EXE).current);
    }

    #[test]
    fn wrong_shapes() {
        let mut v = json!({"mcpServers": []});
        assert!(install(&mut v, EXE).is_err());
        assert!(!uninstall(&mut v));
        assert!(!scan(&v, EXE).installed);
    }
}
