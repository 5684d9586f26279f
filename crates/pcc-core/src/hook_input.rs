//! What Claude Code sends a command hook on stdin (CLAUDE-CODE-HOOKS.md). Only the fields
//! parallel-cc uses are read; every other field, present or future, is ignored.

use std::path::PathBuf;

use serde::Deserialize;

/// Hook input larger than this is ignored (PRODUCT.md §3.2).
pub const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;

/// The fields common to every event, plus the per-event fields parallel-cc reads.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HookInput {
    /// Claude Code's own session id (not parallel-cc's).
    #[serde(default)]
    pub session_id: Option<String>,
    /// Follows the agent's `cd`: the last resort for finding the session.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub hook_event_name: Option<String>,
    /// Set only inside a subagent.
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: Option<serde_json::Value>,
    /// WorktreeCreate: the worktree name Claude chose.
    #[serde(default)]
    pub name: Option<String>,
    /// SessionEnd: `clear`, `resume`, `logout`, `prompt_input_exit`, `other`.
    #[serde(default)]
    pub reason: Option<String>,
    /// WorktreeRemove: the path WorktreeCreate printed.
    #[serde(default)]
    pub worktree_path: Option<PathBuf>,
}

impl HookInput {
    /// Parse stdin. `None` for anything that is not a JSON object of at most
    /// [`MAX_INPUT_BYTES`]: a hook never fails because of its input.
    pub fn parse(bytes: &[u8]) -> Option<HookInput> {
        if bytes.len() > MAX_INPUT_BYTES {
            return None;
        }
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        if !value.is_object() {
            return None;
        }
        serde_json::from_value(value).ok()
    }

    /// The file an editing tool is about to change or has changed, if this is such a tool.
    pub fn edited_file(&self) -> Option<PathBuf> {
        let tool = self.tool_name.as_deref()?;
        let input = self.tool_input.as_ref()?;
        let key = match tool {
            "Write" | "Edit" | "MultiEdit" => "file_path",
            "NotebookEdit" => "notebook_path",
            _ => return None,
        };
        let path = input.get(key)?.as_str()?;
        (!path.is_empty()).then(|| PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_it_needs_and_ignores_the_rest() {
        let json = br#"{"session_id":"s","cwd":"/x","hook_event_name":"PreToolUse","tool_name":"Edit",
            "tool_input":{"file_path":"/x/a.rs","old_string":"a","new_string":"b"},"future":{"n":1}}"#;
        let h = HookInput::parse(json).unwrap();
        assert_eq!(h.hook_event_name.as_deref(), Some("PreToolUse"));
        assert_eq!(h.edited_file(), Some(PathBuf::from("/x/a.rs")));
        let nb = HookInput::parse(br#"{"tool_name":"NotebookEdit","tool_input":{"notebook_path":"/n.ipynb"}}"#);
        assert_eq!(nb.unwrap().edited_file(), Some(PathBuf::from("/n.ipynb")));
        let read = HookInput::parse(br#"{"tool_name":"Read","tool_input":{"file_path":"/x/a.rs"}}"#).unwrap();
        assert_eq!(read.edited_file(), None);
    }

    #[test]
    fn rejects_what_is_not_a_small_json_object() {
        for bad in [&b""[..], b"null", b"[1]", b"\"s\"", b"{", b"\xff\xfe\x00", br#"{"cwd": 5}"#] {
            assert!(HookInput::parse(bad).is_none(), "{bad:?}");
        }
        let mut huge = br#"{"cwd":""#.to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_INPUT_BYTES));
        huge.extend(br#""}"#);
        assert!(HookInput::parse(&huge).is_none());
    }
}
