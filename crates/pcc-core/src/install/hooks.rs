//! Claude Code hook entries in a settings.json document: which are ours, adding them, removing
//! them. Pure functions over a `serde_json::Value`; no I/O.
//!
//! The layout (CLAUDE-CODE-HOOKS.md): `hooks.<Event>` is an array of groups
//! `{"matcher": …, "hooks": [{"type": "command", "command": …}]}`. A hook object is ours when its
//! command's first word (after shell unquoting) is an executable named `parallel-cc` followed by
//! `hook <event>`, or when it runs the original tool's `parallel-cc-heartbeat.sh`.

use serde_json::{Map, Value};

use super::ShapeError;

/// One hook parallel-cc registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookSpec {
    /// Claude Code event name (`PreToolUse`).
    pub event: &'static str,
    /// Tool-name matcher of the group, for tool events.
    pub matcher: Option<&'static str>,
    /// `parallel-cc hook <sub>`.
    pub sub: &'static str,
}

const fn spec(event: &'static str, matcher: Option<&'static str>, sub: &'static str) -> HookSpec {
    HookSpec { event, matcher, sub }
}

/// The hooks of `install --hooks`.
pub const CORE_HOOKS: [HookSpec; 6] = [
    spec("PreToolUse", Some("Edit|Write|MultiEdit|NotebookEdit"), "pre-tool-use"),
    spec("PostToolUse", Some("*"), "post-tool-use"),
    spec("PostToolUseFailure", Some("*"), "post-tool-use-failure"),
    spec("SessionStart", None, "session-start"),
    spec("SessionEnd", None, "session-end"),
    spec("Stop", None, "stop"),
];

/// The hooks of `install --worktree-provider`.
pub const PROVIDER_HOOKS: [HookSpec; 2] =
    [spec("WorktreeCreate", None, "worktree-create"), spec("WorktreeRemove", None, "worktree-remove")];

/// Basename of the original TypeScript tool's hook script.
pub const LEGACY_HEARTBEAT: &str = "parallel-cc-heartbeat.sh";
const PROGRAM: &str = "parallel-cc";

/// Quote `s` for `sh` when it holds anything but `[A-Za-z0-9/._+-]`: single quotes, with each
/// `'` written as `'\''`. Claude Code runs a hook as `sh -c '<command>'`.
pub fn sh_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._+-".contains(c));
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

/// The hook command for `exe hook <sub>`.
pub fn command_for(exe: &str, sub: &str) -> String {
    format!("{} hook {sub}", sh_quote(exe))
}

/// Split a command line into words as `sh` would (quotes and backslashes; no expansion).
/// `None` if a quote is left open.
pub fn sh_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => cur.push(c),
                            '\n' => {}
                            c => {
                                cur.push('\\');
                                cur.push(c);
                            }
                        },
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => cur.push(c),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// A hook command parallel-cc recognises as its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ours {
    /// `<program> hook <sub> …` where `program`'s basename is `parallel-cc`.
    Hook { program: String, sub: String },
    /// The original tool's `parallel-cc-heartbeat.sh` (a PostToolUse heartbeat).
    LegacyHeartbeat { program: String },
}

fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Whether `command` is one of ours, and which.
pub fn classify(command: &str) -> Option<Ours> {
    let words = sh_words(command)?;
    let program = words.first()?;
    match basename(program) {
        PROGRAM if words.get(1).map(String::as_str) == Some("hook") => {
            let sub = words.get(2)?;
            Some(Ours::Hook { program: program.clone(), sub: sub.clone() })
        }
        LEGACY_HEARTBEAT => Some(Ours::LegacyHeartbeat { program: program.clone() }),
        _ => None,
    }
}

/// Is `command` our hook for `spec` (the legacy heartbeat counts as our PostToolUse hook)?
fn is_for(spec: &HookSpec, command: &str) -> bool {
    match classify(command) {
        Some(Ours::Hook { sub, .. }) => sub == spec.sub,
        Some(Ours::LegacyHeartbeat { .. }) => spec.sub == "post-tool-use",
        None => false,
    }
}

fn matcher_is(group: &Value, matcher: Option<&str>) -> bool {
    match (group.get("matcher"), matcher) {
        (None, None) => true,
        (Some(Value::String(a)), Some(m)) => a == m,
        _ => false,
    }
}

fn group_for(spec: &HookSpec, command: &str) -> Value {
    let mut hook = Map::new();
    hook.insert("type".into(), "command".into());
    hook.insert("command".into(), command.into());
    let mut group = Map::new();
    if let Some(m) = spec.matcher {
        group.insert("matcher".into(), m.into());
    }
    group.insert("hooks".into(), Value::Array(vec![Value::Object(hook)]));
    Value::Object(group)
}

fn hook_objects(group: &Value) -> &[Value] {
    group.get("hooks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn command_of(hook: &Value) -> Option<&str> {
    hook.get("command").and_then(Value::as_str)
}

/// Positions `(group, hook)` of our hook objects for `spec` in an event's array.
fn find(groups: &[Value], spec: &HookSpec) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        for (hi, h) in hook_objects(g).iter().enumerate() {
            if command_of(h).is_some_and(|c| is_for(spec, c)) {
                found.push((gi, hi));
            }
        }
    }
    found
}

/// Remove the hook objects at `positions`; drop each group they leave empty. Returns how many.
fn remove_at(groups: &mut Vec<Value>, positions: &[(usize, usize)]) -> usize {
    let mut sorted = positions.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut removed = 0;
    let mut touched: Vec<usize> = Vec::new();
    for &(gi, hi) in sorted.iter().rev() {
        if let Some(hooks) = groups.get_mut(gi).and_then(|g| g.get_mut("hooks")).and_then(Value::as_array_mut)
            && hi < hooks.len()
        {
            hooks.remove(hi);
            removed += 1;
            if touched.last() != Some(&gi) {
                touched.push(gi);
            }
        }
    }
    // `touched` is in descending order, so removing a group does not shift the next index.
    for gi in touched {
        if groups.get(gi).is_some_and(|g| hook_objects(g).is_empty()) {
            groups.remove(gi);
        }
    }
    removed
}

/// What [`install`] or [`uninstall`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookEdit {
    /// Events now holding our entry (install) or from which entries were removed (uninstall).
    pub events: Vec<String>,
    /// Commands of ours that were replaced (an older path, the original tool's heartbeat).
    pub replaced: Vec<String>,
    /// Hook objects removed (uninstall; duplicates dropped by install).
    pub removed: usize,
}

fn root_object(settings: &mut Value) -> Result<&mut Map<String, Value>, ShapeError> {
    settings.as_object_mut().ok_or_else(|| ShapeError::new("the document is not a JSON object"))
}

/// Add (or update in place) our entries for `specs`, running `exe`. Everything else — other
/// keys, other hooks, other hooks of a group that holds ours — stays as it is, in its order.
pub fn install(settings: &mut Value, exe: &str, specs: &[HookSpec]) -> Result<HookEdit, ShapeError> {
    let root = root_object(settings)?;
    let hooks = root.entry("hooks").or_insert_with(|| Value::Object(Map::new()));
    let hooks = hooks.as_object_mut().ok_or_else(|| ShapeError::new("`hooks` is not an object"))?;
    let mut edit = HookEdit::default();
    for spec in specs {
        let groups = hooks.entry(spec.event).or_insert_with(|| Value::Array(Vec::new()));
        let groups =
            groups.as_array_mut().ok_or_else(|| ShapeError::new(format!("`hooks.{}` is not an array", spec.event)))?;
        install_one(groups, spec, &command_for(exe, spec.sub), &mut edit);
        edit.events.push(spec.event.to_string());
    }
    Ok(edit)
}

fn install_one(groups: &mut Vec<Value>, spec: &HookSpec, wanted: &str, edit: &mut HookEdit) {
    let found = find(groups, spec);
    let exact = found.iter().position(|&(gi, hi)| {
        let g = &groups[gi];
        let h = &hook_objects(g)[hi];
        matcher_is(g, spec.matcher) && command_of(h) == Some(wanted) && h.get("type") == Some(&"command".into())
    });
    let mut drop: Vec<(usize, usize)> = Vec::new();
    let mut append = false;
    match (exact, found.first()) {
        (Some(keep), _) => drop.extend(found.iter().enumerate().filter(|(i, _)| *i != keep).map(|(_, p)| *p)),
        (None, Some(&(gi, hi))) => {
            drop.extend(found.iter().skip(1));
            let group = &mut groups[gi];
            let matcher_ok = matcher_is(group, spec.matcher);
            let alone = hook_objects(group).len() == 1;
            if matcher_ok || alone {
                if !matcher_ok && let Some(g) = group.as_object_mut() {
                    match spec.matcher {
                        Some(m) => {
                            g.insert("matcher".into(), m.into());
                        }
                        None => {
                            g.shift_remove("matcher");
                        }
                    }
                }
                if let Some(h) = group
                    .get_mut("hooks")
                    .and_then(Value::as_array_mut)
                    .and_then(|hs| hs.get_mut(hi))
                    .and_then(Value::as_object_mut)
                {
                    if let Some(old) = h.get("command").and_then(Value::as_str) {
                        edit.replaced.push(old.to_string());
                    }
                    h.insert("type".into(), "command".into());
                    h.insert("command".into(), wanted.into());
                }
            } else {
                // Ours sits in another tool's group with a different matcher: move it out.
                if let Some(old) = command_of(&hook_objects(group)[hi]) {
                    edit.replaced.push(old.to_string());
                }
                drop.push((gi, hi));
                append = true;
            }
        }
        (None, None) => append = true,
    }
    edit.removed += remove_at(groups, &drop);
    if append {
        groups.push(group_for(spec, wanted));
    }
}

/// Remove our entries for `specs` (with the original tool's heartbeat when `specs` holds the
/// PostToolUse hook). A group, an event array, or the `hooks` object is dropped only when this
/// removal emptied it. A document without `hooks` is left alone.
pub fn uninstall(settings: &mut Value, specs: &[HookSpec]) -> Result<HookEdit, ShapeError> {
    let root = root_object(settings)?;
    let mut edit = HookEdit::default();
    let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) else { return Ok(edit) };
    let was_empty = hooks.is_empty();
    for spec in specs {
        let Some(groups) = hooks.get_mut(spec.event).and_then(Value::as_array_mut) else { continue };
        let found = find(groups, spec);
        if found.is_empty() {
            continue;
        }
        edit.removed += remove_at(groups, &found);
        edit.events.push(spec.event.to_string());
        if groups.is_empty() {
            hooks.shift_remove(spec.event);
        }
    }
    if hooks.is_empty() && !was_empty {
        root.shift_remove("hooks");
    }
    Ok(edit)
}

/// Our hooks found in a settings document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookScan {
    /// Events (of [`CORE_HOOKS`] and [`PROVIDER_HOOKS`]) with our entry, in that order.
    pub events: Vec<&'static str>,
    /// Distinct executables our entries run (unquoted), in order of appearance.
    pub programs: Vec<String>,
    /// The original tool's heartbeat hook is present.
    pub legacy: bool,
}

/// Find our hooks (read-only). A document of the wrong shape simply has none.
pub fn scan(settings: &Value) -> HookScan {
    let mut scan = HookScan::default();
    let Some(hooks) = settings.get("hooks").and_then(Value::as_object) else { return scan };
    for spec in CORE_HOOKS.iter().chain(PROVIDER_HOOKS.iter()) {
        let Some(groups) = hooks.get(spec.event).and_then(Value::as_array) else { continue };
        let mut present = false;
        for h in groups.iter().flat_map(hook_objects) {
            match command_of(h).and_then(classify) {
                Some(Ours::Hook { program, sub }) if sub == spec.sub => {
                    present = true;
                    if !scan.programs.contains(&program) {
                        scan.programs.push(program);
                    }
                }
                Some(Ours::LegacyHeartbeat { .. }) if spec.sub == "post-tool-use" => scan.legacy = true,
                _ => {}
            }
        }
        if present {
            scan.events.push(spec.event);
        }
    }
    scan
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const EXE: &str = "/opt/pcc/bin/parallel-cc";

    fn all() -> Vec<HookSpec> {
        CORE_HOOKS.iter().chain(PROVIDER_HOOKS.iter()).copied().collect()
    }

    #[test]
    fn quoting_leaves_plain_paths_alone_and_quotes_the_rest() {
        assert_eq!(sh_quote("/usr/local/bin/parallel-cc"), "/usr/local/bin/parallel-cc");
        assert_eq!(sh_quote("/a b/parallel-cc"), "'/a b/parallel-cc'");
        assert_eq!(sh_quote("/it's/x"), r"'/it'\''s/x'");
        assert_eq!(sh_quote("/a/$(rm -rf ~)/`x`;y"), "'/a/$(rm -rf ~)/`x`;y'");
        assert_eq!(sh_quote(""), "''");
        for s in ["/a b/c", "/it's", "/x\"y", "/$HOME", "/a\\b", "/ä/ö", "/new\nline"] {
            assert_eq!(sh_words(&sh_quote(s)).unwrap(), vec![s.to_string()], "{s:?}");
        }
    }

    #[test]
    fn words_follow_sh() {
        assert_eq!(sh_words("a  b\tc").unwrap(), ["a", "b", "c"]);
        assert_eq!(sh_words(r#"'a b' "c \"d\"" e\ f"#).unwrap(), ["a b", "c \"d\"", "e f"]);
        assert_eq!(sh_words("''").unwrap(), [""]);
        assert_eq!(sh_words("'open"), None);
        assert!(sh_words("   ").unwrap().is_empty());
    }

    #[test]
    fn classification() {
        let hook = |p: &str, s: &str| Some(Ours::Hook { program: p.into(), sub: s.into() });
        assert_eq!(classify("/x/parallel-cc hook post-tool-use"), hook("/x/parallel-cc", "post-tool-use"));
        assert_eq!(classify("parallel-cc hook stop"), hook("parallel-cc", "stop"));
        assert_eq!(classify("'/a b/parallel-cc' hook stop"), hook("/a b/parallel-cc", "stop"));
        assert_eq!(
            classify("~/.local/bin/parallel-cc-heartbeat.sh"),
            Some(Ours::LegacyHeartbeat { program: "~/.local/bin/parallel-cc-heartbeat.sh".into() })
        );
        assert_eq!(classify("/x/parallel-cc status"), None);
        assert_eq!(classify("/x/parallel-cc hook"), None);
        assert_eq!(classify("/x/not-parallel-cc hook stop"), None);
        assert_eq!(classify("echo parallel-cc hook stop"), None);
        assert_eq!(classify("'unterminated"), None);
    }

    #[test]
    fn install_into_nothing_writes_the_documented_layout() {
        let mut v = json!({});
        let edit = install(&mut v, EXE, &all()).unwrap();
        let cmd = |s: &str| format!("{EXE} hook {s}");
        let plain = |s: &str| json!([{"hooks": [{"type": "command", "command": cmd(s)}]}]);
        let matched = |m: &str, s: &str| json!([{"matcher": m, "hooks": [{"type": "command", "command": cmd(s)}]}]);
        assert_eq!(
            v,
            json!({"hooks": {
                "PreToolUse": matched("Edit|Write|MultiEdit|NotebookEdit", "pre-tool-use"),
                "PostToolUse": matched("*", "post-tool-use"),
                "PostToolUseFailure": matched("*", "post-tool-use-failure"),
                "SessionStart": plain("session-start"),
                "SessionEnd": plain("session-end"),
                "Stop": plain("stop"),
                "WorktreeCreate": plain("worktree-create"),
                "WorktreeRemove": plain("worktree-remove"),
            }})
        );
        assert_eq!(edit.events.len(), 8);
        assert!(edit.replaced.is_empty());
        // Key order is the documented one (matcher before hooks; events in spec order).
        let text = serde_json::to_string(&v).unwrap();
        assert!(text.starts_with(r#"{"hooks":{"PreToolUse":[{"matcher":"Edit|Write|MultiEdit|NotebookEdit","hooks""#));
    }

    #[test]
    fn install_keeps_foreign_hooks_and_is_idempotent() {
        let original = json!({
            "permissions": {"allow": ["Bash(ls)"]},
            "hooks": {
                "PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "other-tool log"}]}],
                "Notification": [{"hooks": [{"type": "command", "command": "notify-send hi"}]}]
            },
            "zeta": 1
        });
        let mut v = original.clone();
        install(&mut v, EXE, &CORE_HOOKS).unwrap();
        assert_eq!(v["permissions"], original["permissions"]);
        assert_eq!(v["zeta"], 1);
        assert_eq!(v["hooks"]["Notification"], original["hooks"]["Notification"]);
        assert_eq!(v["hooks"]["PostToolUse"][0], original["hooks"]["PostToolUse"][0]);
        assert_eq!(v["hooks"]["PostToolUse"][1]["hooks"][0]["command"], format!("{EXE} hook post-tool-use"));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["permissions", "hooks", "zeta"]);

        let once = v.clone();
        let edit = install(&mut v, EXE, &CORE_HOOKS).unwrap();
        assert_eq!(v, once);
        assert_eq!(serde_json::to_string(&v).unwrap(), serde_json::to_string(&once).unwrap());
        assert_eq!(edit.removed, 0);
        assert!(edit.replaced.is_empty());

        let edit = uninstall(&mut v, &CORE_HOOKS).unwrap();
        assert_eq!(v, original);
        assert_eq!(serde_json::to_string(&v).unwrap(), serde_json::to_string(&original).unwrap());
        assert_eq!(edit.removed, 6);
    }

    #[test]
    fn uninstall_drops_only_what_it_emptied() {
        let original = json!({"hooks": {"Stop": []}, "x": true});
        let mut v = original.clone();
        install(&mut v, EXE, &CORE_HOOKS).unwrap();
        uninstall(&mut v, &CORE_HOOKS).unwrap();
        // `Stop` was emptied by us, so it goes; `hooks` was not empty before, but is now.
        assert_eq!(v, json!({"x": true}));

        let mut v = json!({"hooks": {}});
        uninstall(&mut v, &CORE_HOOKS).unwrap();
        assert_eq!(v, json!({"hooks": {}}), "an empty hooks object we did not empty stays");

        let mut v = json!({});
        install(&mut v, EXE, &CORE_HOOKS).unwrap();
        uninstall(&mut v, &CORE_HOOKS).unwrap();
        assert_eq!(v, json!({}));
    }

    #[test]
    fn an_old_path_is_replaced_in_place() {
        let mut v = json!({"hooks": {"PostToolUse": [
            {"matcher": "*", "hooks": [
                {"type": "command", "command": "a"},
                {"type": "command", "command": "/old/parallel-cc hook post-tool-use", "timeout": 5},
                {"type": "command", "command": "b"}
            ]}
        ]}});
        let edit = install(&mut v, EXE, &CORE_HOOKS[1..2]).unwrap();
        assert_eq!(edit.replaced, ["/old/parallel-cc hook post-tool-use"]);
        assert_eq!(
            v["hooks"]["PostToolUse"],
            json!([{"matcher": "*", "hooks": [
                {"type": "command", "command": "a"},
                {"type": "command", "command": format!("{EXE} hook post-tool-use"), "timeout": 5},
                {"type": "command", "command": "b"}
            ]}])
        );
    }

    #[test]
    fn the_original_heartbeat_is_replaced_and_duplicates_collapse() {
        let mut v = json!({"hooks": {"PostToolUse": [
            {"matcher": "*", "hooks": [{"type": "command", "command": "~/.local/bin/parallel-cc-heartbeat.sh"}]},
            {"matcher": "*", "hooks": [{"type": "command", "command": "/old/parallel-cc hook post-tool-use"}]}
        ]}});
        let edit = install(&mut v, EXE, &CORE_HOOKS[1..2]).unwrap();
        assert_eq!(edit.replaced, ["~/.local/bin/parallel-cc-heartbeat.sh"]);
        assert_eq!(edit.removed, 1);
        assert_eq!(
            v["hooks"]["PostToolUse"],
            json!([{"matcher": "*", "hooks": [{"type": "command", "command": format!("{EXE} hook post-tool-use")}]}])
        );
        assert!(!scan(&v).legacy);
    }

    #[test]
    fn ours_in_a_foreign_group_with_another_matcher_moves_out() {
        let mut v = json!({"hooks": {"PreToolUse": [
            {"matcher": "Bash", "hooks": [
                {"type": "command", "command": "guard"},
                {"type": "command", "command": "/old/parallel-cc hook pre-tool-use"}
            ]}
        ]}});
        install(&mut v, EXE, &CORE_HOOKS[0..1]).unwrap();
        assert_eq!(
            v["hooks"]["PreToolUse"],
            json!([
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard"}]},
                {"matcher": "Edit|Write|MultiEdit|NotebookEdit",
                 "hooks": [{"type": "command", "command": format!("{EXE} hook pre-tool-use")}]}
            ])
        );
        // Alone in its group with the wrong matcher: the group is fixed in place.
        let mut v = json!({"hooks": {"Stop": [
            {"matcher": "*", "hooks": [{"type": "command", "command": "/old/parallel-cc hook stop"}]},
            {"hooks": [{"type": "command", "command": "x"}]}
        ]}});
        install(&mut v, EXE, &CORE_HOOKS[5..6]).unwrap();
        assert_eq!(
            v["hooks"]["Stop"],
            json!([
                {"hooks": [{"type": "command", "command": format!("{EXE} hook stop")}]},
                {"hooks": [{"type": "command", "command": "x"}]}
            ])
        );
    }

    #[test]
    fn provider_and_core_are_removed_separately() {
        let mut v = json!({});
        install(&mut v, EXE, &all()).unwrap();
        uninstall(&mut v, &PROVIDER_HOOKS).unwrap();
        assert_eq!(
            scan(&v).events,
            ["PreToolUse", "PostToolUse", "PostToolUseFailure", "SessionStart", "SessionEnd", "Stop"]
        );
        let mut w = json!({});
        install(&mut w, EXE, &all()).unwrap();
        uninstall(&mut w, &CORE_HOOKS).unwrap();
        assert_eq!(scan(&w).events, ["WorktreeCreate", "WorktreeRemove"]);
        uninstall(&mut w, &PROVIDER_HOOKS).unwrap();
        assert_eq!(w, json!({}));
    }

    #[test]
    fn wrong_shapes_are_errors_for_install_and_ignored_by_uninstall() {
        let mut v = json!({"hooks": []});
        assert!(install(&mut v, EXE, &CORE_HOOKS).is_err());
        assert_eq!(uninstall(&mut v, &CORE_HOOKS).unwrap(), HookEdit::default());
        let mut v = json!({"hooks": {"Stop": {}}});
        let e = install(&mut v, EXE, &CORE_HOOKS).unwrap_err();
        assert_eq!(e.what, "`hooks.Stop` is not an array");
        // (the caller discards a document whose edit failed, so a partial edit never reaches disk)
        // Groups and hook objects of unexpected shape are skipped, not touched.
        let original = json!({"hooks": {"Stop": ["junk", {"hooks": "junk"}, {"hooks": [42]}]}});
        let mut v = original.clone();
        install(&mut v, EXE, &CORE_HOOKS[5..6]).unwrap();
        uninstall(&mut v, &CORE_HOOKS[5..6]).unwrap();
        assert_eq!(v, original);
    }

    #[test]
    fn scan_reports_events_programs_and_legacy() {
        let mut v = json!({"hooks": {"PostToolUse": [
            {"matcher": "*", "hooks": [{"type": "command", "command": "/h/.local/bin/parallel-cc-heartbeat.sh"}]}
        ]}});
        let s = scan(&v);
        assert!(s.legacy);
        assert!(s.events.is_empty());
        install(&mut v, "/a b/parallel-cc", &CORE_HOOKS[..2]).unwrap();
        let s = scan(&v);
        assert_eq!(s.events, ["PreToolUse", "PostToolUse"]);
        assert_eq!(s.programs, ["/a b/parallel-cc"]);
        assert!(!s.legacy);
        assert_eq!(scan(&json!({"hooks": 3})), HookScan::default());
    }

    /// The generated command runs the executable through `sh -c`, whatever its path holds.
    #[cfg(unix)]
    #[test]
    fn generated_commands_run_under_sh() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for name in ["it's a dir", "plain", "$(touch pwned)", "back\\slash \"q\""] {
            let bin = dir.path().join(name);
            std::fs::create_dir_all(&bin).unwrap();
            let exe = bin.join("parallel-cc");
            let out = dir.path().join("args.txt");
            // Written here, put in place by `cp`: a child forked meanwhile by another test thread
            // must not inherit a writable descriptor of the file we exec ("text file busy").
            let src = dir.path().join("recorder.sh");
            std::fs::write(&src, format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n", out.display())).unwrap();
            std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert!(std::process::Command::new("cp").arg(&src).arg(&exe).status().unwrap().success());
            let cmd = command_for(exe.to_str().unwrap(), "pre-tool-use");
            let status = std::process::Command::new("sh").arg("-c").arg(&cmd).current_dir(dir.path()).status().unwrap();
            assert!(status.success(), "{cmd}");
            assert_eq!(std::fs::read_to_string(&out).unwrap(), "hook\npre-tool-use\n", "{cmd}");
            assert!(!dir.path().join("pwned").exists());
            assert_eq!(
                classify(&cmd),
                Some(Ours::Hook { program: exe.to_str().unwrap().into(), sub: "pre-tool-use".into() })
            );
        }
    }
}
