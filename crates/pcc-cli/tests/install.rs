//! `parallel-cc install` end to end (PRODUCT.md §3.1): hooks, worktree provider, alias, MCP
//! server, `--status`, `--dry-run`, `--uninstall`, against real files in a hermetic HOME.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Env, Out, PCC, RunExt, path_str};
use pcc_testkit::tree_contents;
use serde_json::{Value, json};

/// `parallel-cc install ARGS` with `SHELL=shell` (never the host's).
fn install(env: &Env, shell: &str, args: &[&str]) -> Command {
    let mut c = env.pcc();
    c.env("SHELL", shell).arg("install").args(args);
    c
}

fn home(env: &Env) -> PathBuf {
    env.t.home()
}

fn settings(env: &Env) -> PathBuf {
    home(env).join(".claude/settings.json")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pcc_exe() -> String {
    path_str(&std::fs::canonicalize(PCC).unwrap())
}

/// The hook object of ours for `event` (the first group holding a `… hook <sub>` command).
fn our_command(doc: &Value, event: &str) -> Option<String> {
    doc["hooks"][event]
        .as_array()?
        .iter()
        .flat_map(|g| g["hooks"].as_array().cloned().unwrap_or_default())
        .filter_map(|h| h["command"].as_str().map(str::to_string))
        .find(|c| c.contains(" hook "))
}

/// The hooks every `install --hooks` writes, for `exe` (already quoted for sh).
fn expected_hooks(exe: &str) -> Value {
    let cmd = |s: &str| json!([{"type": "command", "command": format!("{exe} hook {s}")}]);
    json!({
        "PreToolUse": [{"matcher": "Edit|Write|MultiEdit|NotebookEdit", "hooks": cmd("pre-tool-use")}],
        "PostToolUse": [{"matcher": "*", "hooks": cmd("post-tool-use")}],
        "PostToolUseFailure": [{"matcher": "*", "hooks": cmd("post-tool-use-failure")}],
        "SessionStart": [{"hooks": cmd("session-start")}],
        "SessionEnd": [{"hooks": cmd("session-end")}],
        "Stop": [{"hooks": cmd("stop")}],
    })
}

const BUSY_SETTINGS: &str = r#"{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "permissions": {
    "allow": ["Bash(npm test:*)", "Read(~/.zshrc)"],
    "deny": ["Bash(rm -rf:*)"]
  },
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "*",
        "hooks": [{"type": "command", "command": "other-tool log --all", "timeout": 30}]
      },
      {
        "matcher": "Bash",
        "hooks": [{"type": "command", "command": "/usr/bin/audit.sh"}]
      }
    ],
    "Notification": [{"hooks": [{"type": "command", "command": "notify-send 'Claude'"}]}]
  },
  "model": "opus",
  "unknownFutureKey": {"nested": [1, 2.5, null, true, "ü"]},
  "env": {"FOO": "bar"}
}
"#;

#[test]
fn hooks_merge_keeps_everything_else_rerun_changes_nothing_and_uninstall_restores() {
    let env = Env::new();
    let path = settings(&env);
    write(&path, BUSY_SETTINGS);
    let original: Value = serde_json::from_str(BUSY_SETTINGS).unwrap();

    let doc = install(&env, "/bin/bash", &["--hooks", "--json"]).out().ok().json();
    let hooks = &doc["hooks"];
    assert_eq!(doc["success"], true);
    assert_eq!(hooks["settingsPath"], path_str(&path));
    assert_eq!((hooks["created"].clone(), hooks["merged"].clone()), (json!(false), json!(true)), "{doc:#}");
    assert_eq!(hooks["alreadyInstalled"], false);
    assert_eq!(doc["alias"], Value::Null);
    assert_eq!(doc["mcp"], Value::Null);

    let after = read_json(&path);
    // Every key other than `hooks` is unchanged, in its place.
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&after), keys(&original));
    for k in keys(&original).iter().filter(|k| *k != "hooks") {
        assert_eq!(after[k], original[k], "{k}");
    }
    // The other tools' hooks are all there, first, untouched; ours follow.
    assert_eq!(after["hooks"]["Notification"], original["hooks"]["Notification"]);
    let post = after["hooks"]["PostToolUse"].as_array().unwrap();
    assert_eq!(post[..2], original["hooks"]["PostToolUse"].as_array().unwrap()[..]);
    assert_eq!(post.len(), 3);
    let exe = pcc_exe();
    for (event, ours) in expected_hooks(&exe).as_object().unwrap() {
        let groups = after["hooks"][event].as_array().unwrap();
        assert_eq!(groups.last().unwrap(), &ours[0], "{event}");
    }
    // 2-space indent and a final newline.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("{}\n", serde_json::to_string_pretty(&after).unwrap()));

    // Again: not a byte changes, and it says so.
    let before = std::fs::read(&path).unwrap();
    let doc = install(&env, "/bin/bash", &["--hooks", "--json"]).out().ok().json();
    assert_eq!(doc["hooks"]["alreadyInstalled"], true, "{doc:#}");
    assert_eq!(doc["changes"], json!([]));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let out = install(&env, "/bin/bash", &["--hooks"]).out().ok();
    assert!(out.stdout.contains("Hooks already installed in"), "{}", out.describe());
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Uninstall: the same document as before install.
    let doc = install(&env, "/bin/bash", &["--uninstall", "--hooks", "--json"]).out().ok().json();
    assert_eq!(doc["hooks"]["removed"], true, "{doc:#}");
    assert_eq!(read_json(&path), original);
    // And once more: nothing to remove, nothing written.
    let before = std::fs::read(&path).unwrap();
    let doc = install(&env, "/bin/bash", &["--uninstall", "--hooks", "--json"]).out().ok().json();
    assert_eq!(doc["hooks"]["removed"], false);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_file_created_by_install_becomes_empty_on_uninstall_and_keeps_its_permissions() {
    let env = Env::new();
    let path = settings(&env);
    let doc = install(&env, "/bin/bash", &["--hooks", "--worktree-provider", "--json"]).out().ok().json();
    assert_eq!(doc["hooks"]["created"], true);
    let mut expected = expected_hooks(&pcc_exe());
    let cmd = |s: &str| json!([{"hooks": [{"type": "command", "command": format!("{} hook {s}", pcc_exe())}]}]);
    expected["WorktreeCreate"] = cmd("worktree-create");
    expected["WorktreeRemove"] = cmd("worktree-remove");
    assert_eq!(read_json(&path), json!({"hooks": expected}));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // --uninstall --worktree-provider removes just those two.
    install(&env, "/bin/bash", &["--uninstall", "--worktree-provider"]).out().ok();
    assert_eq!(read_json(&path), json!({"hooks": expected_hooks(&pcc_exe())}));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    install(&env, "/bin/bash", &["--uninstall", "--all"]).out().ok();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n", "the user's file stays, empty");
}

#[test]
fn an_invalid_settings_file_is_left_untouched_and_named() {
    let env = Env::new();
    let path = settings(&env);
    let bad = "{\n  \"permissions\": {},\n  \"hooks\": {,}\n}\n";
    write(&path, bad);
    let out = install(&env, "/bin/bash", &["--hooks", "--alias", "--json"]).out().expect_code(1);
    let doc = out.json();
    assert_eq!(doc["success"], false);
    assert_eq!(doc["code"], "invalid_settings_file");
    let msg = doc["error"].as_str().unwrap();
    assert!(msg.starts_with(&format!("cannot parse {} at line 3, column 13: ", path_str(&path))), "{msg}");
    assert!(doc["hint"].as_str().unwrap().contains("nothing was changed"), "{doc:#}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), bad);
    assert!(!home(&env).join(".bashrc").exists(), "no part is written when one fails");

    let out = install(&env, "/bin/bash", &["--hooks"]).out().expect_code(1);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(out.stderr.contains(&path_str(&path)) && out.stderr.contains("line 3"), "{}", out.describe());

    for not_an_object in ["[1, 2]\n", "\"text\"\n"] {
        write(&path, not_an_object);
        let doc = install(&env, "/bin/bash", &["--hooks", "--json"]).out().expect_code(1).json();
        assert_eq!(doc["error"], format!("{} is not a JSON object", path_str(&path)));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), not_an_object);
    }
    // A `hooks` of the wrong type: also untouched.
    let odd = "{\"hooks\": [\"x\"]}\n";
    write(&path, odd);
    let doc = install(&env, "/bin/bash", &["--hooks", "--json"]).out().expect_code(1).json();
    assert_eq!(doc["error"], format!("cannot edit {}: `hooks` is not an object", path_str(&path)));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), odd);
}

#[test]
fn dry_run_prints_the_diffs_and_changes_nothing() {
    let env = Env::new();
    write(&settings(&env), BUSY_SETTINGS);
    write(&home(&env).join(".bashrc"), "export A=1\n");
    write(&home(&env).join(".claude.json"), "{\n  \"numStartups\": 4\n}\n");
    let before = tree_contents(&home(&env)).unwrap();

    let out = install(&env, "/bin/bash", &["--all", "--dry-run"]).out().ok();
    assert_eq!(tree_contents(&home(&env)).unwrap(), before, "dry run wrote something");
    let bashrc = path_str(&home(&env).join(".bashrc"));
    assert!(
        out.stdout.contains(&format!(
            "--- {bashrc}\n+++ {bashrc}\n@@ -1,1 +1,4 @@\n export A=1\n+\n+# parallel-cc: alias for claude-parallel wrapper\n+alias claude='claude-parallel'\n"
        )),
        "{}",
        out.describe()
    );
    let claude_json = path_str(&home(&env).join(".claude.json"));
    assert!(out.stdout.contains(&format!("--- {claude_json}\n+++ {claude_json}\n")), "{}", out.describe());
    assert!(
        out.stdout.contains("-  \"numStartups\": 4\n+  \"numStartups\": 4,\n+  \"mcpServers\": {\n"),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains(&format!("+            \"command\": \"{} hook stop\"\n", pcc_exe())),
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains("dry run: 3 file(s) would change; nothing was written"), "{}", out.describe());
    // stdout is the diffs only.
    assert!(out.stdout.lines().all(|l| l.starts_with(['-', '+', ' ', '@', '\\'])), "{}", out.describe());

    let doc = install(&env, "/bin/bash", &["--all", "--dry-run", "--json"]).out().ok().json();
    assert_eq!(tree_contents(&home(&env)).unwrap(), before);
    assert_eq!(doc["dryRun"], true);
    let changes = doc["changes"].as_array().unwrap();
    let paths: Vec<&str> = changes.iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(paths, [path_str(&settings(&env)), bashrc.clone(), claude_json.clone()]);
    assert!(changes.iter().all(|c| c["diff"].as_str().is_some_and(|d| d.starts_with("--- "))), "{doc:#}");
    assert_eq!(doc["hooks"]["merged"], true);

    // Once installed, a dry run has nothing to show.
    install(&env, "/bin/bash", &["--all"]).out().ok();
    let out = install(&env, "/bin/bash", &["--all", "--dry-run"]).out().ok();
    assert_eq!(out.stdout, "", "{}", out.describe());
}

#[test]
fn status_json_has_the_original_shape() {
    let env = Env::new();
    let repo = env.repo("repo");
    let status = |dir: &Path| install(&env, "/bin/zsh", &["--status", "--json"]).current_dir(dir).out().ok().json();

    let st = status(&env.root());
    let obj_keys = |v: &Value| common::keys(v);
    assert_eq!(obj_keys(&st), ["alias", "hooks", "mcp"]);
    for k in ["globalInstalled", "localInstalled", "globalPath", "localPath"] {
        assert!(st["hooks"].get(k).is_some(), "hooks.{k} missing: {st:#}");
    }
    for k in ["installed", "shell", "profilePath"] {
        assert!(st["alias"].get(k).is_some(), "alias.{k} missing: {st:#}");
    }
    for k in ["installed", "settingsPath"] {
        assert!(st["mcp"].get(k).is_some(), "mcp.{k} missing: {st:#}");
    }
    assert_eq!(st["hooks"]["globalInstalled"], false);
    assert_eq!(st["hooks"]["globalPath"], path_str(&settings(&env)));
    assert_eq!(st["hooks"]["localPath"], Value::Null, "not in a repository");
    assert_eq!(
        st["alias"],
        json!({"installed": false, "shell": "zsh", "profilePath": path_str(&home(&env).join(".zshrc")), "error": null})
    );
    assert_eq!(st["mcp"]["installed"], false);
    assert_eq!(st["mcp"]["settingsPath"], path_str(&home(&env).join(".claude.json")));

    install(&env, "/bin/zsh", &["--all"]).out().ok();
    install(&env, "/bin/zsh", &["--hooks", "--local"]).current_dir(&repo.path).out().ok();
    let sub = repo.path.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let st = status(&sub);
    assert_eq!(st["hooks"]["globalInstalled"], true, "{st:#}");
    assert_eq!(st["hooks"]["localInstalled"], true, "{st:#}");
    assert_eq!(st["hooks"]["localPath"], path_str(&repo.path.join(".claude/settings.json")));
    assert_eq!(st["hooks"]["stalePath"], Value::Null);
    assert_eq!(st["alias"]["installed"], true);
    assert_eq!(st["mcp"]["installed"], true);
    assert_eq!(st["mcp"]["command"], pcc_exe());

    let out = install(&env, "/bin/zsh", &["--status"]).current_dir(&repo.path).out().ok();
    assert!(out.stdout.starts_with("Installation Status\n"), "{}", out.describe());
    assert!(out.stdout.contains("Hooks (global):    installed"), "{}", out.describe());
}

#[test]
fn alias_for_bash_with_and_without_a_final_newline() {
    let env = Env::new();
    let rc = home(&env).join(".bashrc");
    let block = "# parallel-cc: alias for claude-parallel wrapper\nalias claude='claude-parallel'\n";
    for (original, installed, restored) in [
        ("export PATH=$HOME/bin:$PATH\nalias ll='ls -l'\n", None, None),
        ("export PATH=$HOME/bin:$PATH", None, Some("export PATH=$HOME/bin:$PATH\n")),
        ("", Some(block.to_string()), None),
    ] {
        write(&rc, original);
        let doc = install(&env, "/bin/bash", &["--alias", "--json"]).out().ok().json();
        assert_eq!(doc["alias"]["shell"], "bash");
        assert_eq!(doc["alias"]["profilePath"], path_str(&rc));
        assert_eq!(doc["alias"]["merged"], true, "{doc:#}");
        let sep = if original.ends_with('\n') { "\n" } else { "\n\n" };
        let want = installed.unwrap_or_else(|| format!("{original}{sep}{block}"));
        assert_eq!(std::fs::read_to_string(&rc).unwrap(), want, "{original:?}");
        let doc = install(&env, "/bin/bash", &["--alias", "--json"]).out().ok().json();
        assert_eq!(doc["alias"]["alreadyInstalled"], true);
        assert_eq!(std::fs::read_to_string(&rc).unwrap(), want);
        let doc = install(&env, "/bin/bash", &["--uninstall", "--alias", "--json"]).out().ok().json();
        assert_eq!(doc["alias"]["removed"], true);
        assert_eq!(std::fs::read_to_string(&rc).unwrap(), restored.unwrap_or(original), "{original:?}");
    }
    // No .bashrc but a .bash_profile: the alias goes there.
    std::fs::remove_file(&rc).unwrap();
    let profile = home(&env).join(".bash_profile");
    write(&profile, "source ~/.profile\n");
    let doc = install(&env, "bash", &["--alias", "--json"]).out().ok().json();
    assert_eq!(doc["alias"]["profilePath"], path_str(&profile));
    assert!(std::fs::read_to_string(&profile).unwrap().ends_with(block));
    assert!(!rc.exists());
    // A user's own alias line counts as installed, and uninstall removes exactly the alias lines.
    write(&rc, "alias g=git\nalias claude=\"claude-parallel\"\necho hi\n");
    let doc = install(&env, "/bin/bash", &["--alias", "--json"]).out().ok().json();
    assert_eq!(doc["alias"]["alreadyInstalled"], true);
    install(&env, "/bin/bash", &["--uninstall", "--alias"]).out().ok();
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), "alias g=git\necho hi\n");
}

#[test]
fn alias_for_zsh_and_fish_and_an_error_for_other_shells() {
    let env = Env::new();
    install(&env, "/usr/bin/zsh", &["--alias"]).out().ok();
    assert_eq!(
        std::fs::read_to_string(home(&env).join(".zshrc")).unwrap(),
        "# parallel-cc: alias for claude-parallel wrapper\nalias claude='claude-parallel'\n"
    );
    let fish = home(&env).join(".config/fish/config.fish");
    install(&env, "/usr/local/bin/fish", &["--alias"]).out().ok();
    assert_eq!(
        std::fs::read_to_string(&fish).unwrap(),
        "# parallel-cc: alias for claude-parallel wrapper\nalias claude 'claude-parallel'\n"
    );
    install(&env, "/usr/local/bin/fish", &["--uninstall", "--alias"]).out().ok();
    assert_eq!(std::fs::read_to_string(&fish).unwrap(), "");

    let before = tree_contents(&home(&env)).unwrap();
    let doc = install(&env, "/bin/tcsh", &["--alias", "--hooks", "--json"]).out().expect_code(1).json();
    assert_eq!(doc["code"], "unsupported_shell");
    assert_eq!(doc["error"], "unsupported shell: tcsh");
    assert!(doc["hint"].as_str().unwrap().contains("bash, zsh and fish"));
    assert_eq!(tree_contents(&home(&env)).unwrap(), before, "nothing written when the alias part fails");

    let out = env.pcc().env_remove("SHELL").args(["install", "--alias"]).out().expect_code(1);
    assert!(out.stderr.contains("SHELL is not set"), "{}", out.describe());
}

#[test]
fn mcp_entry_keeps_the_rest_of_claude_json_and_uninstall_restores_it() {
    let env = Env::new();
    let path = home(&env).join(".claude.json");
    let original = json!({
        "numStartups": 12,
        "oauthAccount": {"emailAddress": "a@example.com"},
        "mcpServers": {"github": {"type": "stdio", "command": "gh-mcp", "args": [], "env": {"T": "x"}}},
        "projects": {"/home/a/p": {"allowedTools": [], "mcpServers": {}}},
        "tipsHistory": {"x": 1}
    });
    write(&path, &serde_json::to_string_pretty(&original).unwrap());
    let doc = install(&env, "/bin/bash", &["--mcp", "--json"]).out().ok().json();
    assert_eq!(doc["mcp"]["merged"], true, "{doc:#}");
    let after = read_json(&path);
    assert_eq!(
        after["mcpServers"]["parallel-cc"],
        json!({"type": "stdio", "command": pcc_exe(), "args": ["mcp", "serve"], "env": {}})
    );
    let mut without = after.clone();
    without["mcpServers"].as_object_mut().unwrap().shift_remove("parallel-cc");
    assert_eq!(without, original);
    let before = std::fs::read(&path).unwrap();
    assert_eq!(install(&env, "/bin/bash", &["--mcp", "--json"]).out().ok().json()["mcp"]["alreadyInstalled"], true);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    install(&env, "/bin/bash", &["--uninstall", "--mcp"]).out().ok();
    assert_eq!(read_json(&path), original);

    // The original tool's entry is ours: replaced, not duplicated.
    write(&path, r#"{"mcpServers": {"parallel-cc": {"command": "parallel-cc", "args": ["mcp-serve"]}}}"#);
    let st = install(&env, "/bin/bash", &["--status", "--json"]).out().ok().json();
    assert_eq!(st["mcp"]["installed"], true);
    assert_eq!(st["mcp"]["stalePath"], "parallel-cc");
    let doc = install(&env, "/bin/bash", &["--mcp", "--json"]).out().ok().json();
    assert_eq!(doc["mcp"]["replaced"], true);
    assert_eq!(
        read_json(&path),
        json!({"mcpServers": {"parallel-cc": {"type": "stdio", "command": pcc_exe(), "args": ["mcp", "serve"], "env": {}}}})
    );
    install(&env, "/bin/bash", &["--uninstall", "--mcp"]).out().ok();
    assert_eq!(read_json(&path), json!({}));
}

#[test]
fn the_original_heartbeat_hook_is_replaced_by_ours() {
    let env = Env::new();
    let path = settings(&env);
    write(
        &path,
        r#"{"hooks": {"PostToolUse": [
            {"matcher": "*", "hooks": [{"type": "command", "command": "~/.local/bin/parallel-cc-heartbeat.sh"}]},
            {"matcher": "*", "hooks": [{"type": "command", "command": "other-tool"}]}
        ]}}"#,
    );
    let st = install(&env, "/bin/bash", &["--status", "--json"]).out().ok().json();
    assert_eq!(st["hooks"]["global"]["legacyHeartbeat"], true);
    assert_eq!(st["hooks"]["globalInstalled"], false);

    let doc = install(&env, "/bin/bash", &["--hooks", "--json"]).out().ok().json();
    assert_eq!(doc["hooks"]["replaced"], json!(["~/.local/bin/parallel-cc-heartbeat.sh"]));
    let after = read_json(&path);
    assert_eq!(
        after["hooks"]["PostToolUse"],
        json!([
            {"matcher": "*", "hooks": [{"type": "command", "command": format!("{} hook post-tool-use", pcc_exe())}]},
            {"matcher": "*", "hooks": [{"type": "command", "command": "other-tool"}]}
        ]),
        "replaced in place, the other tool's group kept"
    );
    assert!(!std::fs::read_to_string(&path).unwrap().contains("heartbeat"));
    // Uninstall removes ours (and a heartbeat left anywhere) but not the other tool's hook.
    install(&env, "/bin/bash", &["--uninstall", "--hooks"]).out().ok();
    assert_eq!(
        read_json(&path),
        json!({"hooks": {"PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "other-tool"}]}]}})
    );
}

/// Copy an executable through `cp`, so this (multi-threaded) test process never holds a
/// writable descriptor of it that a concurrently forked child could inherit (exec would then fail
/// with "text file busy").
#[cfg(unix)]
fn copy_executable(from: &Path, to: &Path) {
    let status = Command::new("cp").arg(from).arg(to).status().unwrap();
    assert!(status.success(), "cp {} {}", from.display(), to.display());
}

/// The executable lives under a path with a space and a quote: the hook command quotes it so
/// `sh -c` runs exactly it; a later install from another path replaces the entries in place;
/// status and doctor report the stale path meanwhile.
#[cfg(unix)]
#[test]
fn an_executable_path_with_a_space_and_a_quote_survives_sh() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let dir = env.root().join("my tools/it's here");
    std::fs::create_dir_all(&dir).unwrap();
    let odd = dir.join("parallel-cc");
    copy_executable(Path::new(PCC), &odd);
    let odd_str = path_str(&odd);

    let mut c = env.t.command(&odd);
    c.current_dir(env.root()).env("SHELL", "/bin/bash").args(["install", "--hooks", "--json"]);
    let out = c.out().ok();
    let doc = out.json();
    assert_eq!(doc["hooks"]["created"], true, "{}", out.describe());
    let after = read_json(&settings(&env));
    let quoted = format!("'{}'", odd_str.replace('\'', r"'\''"));
    assert_eq!(after["hooks"], expected_hooks(&quoted));

    // Put a recorder where the executable is and run each command the way Claude Code does.
    let record = env.root().join("args.txt");
    let recorder = env.root().join("recorder.sh");
    std::fs::write(&recorder, format!("#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\" > '{}'\n", path_str(&record))).unwrap();
    std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).unwrap();
    copy_executable(&recorder, &odd);
    for (event, sub) in [("PreToolUse", "pre-tool-use"), ("Stop", "stop")] {
        let cmd = our_command(&after, event).unwrap();
        let status = Command::new("sh").arg("-c").arg(&cmd).current_dir(env.root()).status().unwrap();
        assert!(status.success(), "{cmd}");
        assert_eq!(std::fs::read_to_string(&record).unwrap(), format!("{odd_str}\nhook\n{sub}\n"), "{cmd}");
    }

    // The real binary sees entries pointing elsewhere: status and doctor say so.
    let st = install(&env, "/bin/bash", &["--status", "--json"]).out().ok().json();
    assert_eq!(st["hooks"]["globalInstalled"], true);
    assert_eq!(st["hooks"]["stalePath"], odd_str.as_str(), "{st:#}");
    let doctor = env.pcc().args(["doctor", "--json"]).out().json();
    let check = doctor["checks"].as_array().unwrap().iter().find(|c| c["name"] == "hooks").unwrap().clone();
    assert_eq!(check["status"], "warn", "{check:#}");
    assert!(check["message"].as_str().unwrap().contains(&odd_str), "{check:#}");
    assert_eq!(check["hint"], "run `parallel-cc install --hooks` to point them here");

    // Installing from the real binary replaces every entry in place.
    let doc = install(&env, "/bin/bash", &["--hooks", "--json"]).out().ok().json();
    assert_eq!(doc["hooks"]["replaced"].as_array().unwrap().len(), 6, "{doc:#}");
    assert_eq!(read_json(&settings(&env))["hooks"], expected_hooks(&pcc_exe()));
    let doctor = env.pcc().args(["doctor", "--json"]).out().json();
    let check = doctor["checks"].as_array().unwrap().iter().find(|c| c["name"] == "hooks").unwrap().clone();
    assert_eq!(check["status"], "ok", "{check:#}");
}

#[test]
fn doctor_warns_about_a_partial_install() {
    let env = Env::new();
    let cmd = format!("{} hook post-tool-use", pcc_exe());
    write(
        &settings(&env),
        &json!({"hooks": {"PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": cmd}]}]}})
            .to_string(),
    );
    let doctor = env.pcc().args(["doctor", "--json"]).out().json();
    let check = doctor["checks"].as_array().unwrap().iter().find(|c| c["name"] == "hooks").unwrap().clone();
    assert_eq!(check["status"], "warn");
    assert_eq!(
        check["message"],
        "hooks installed globally lack PreToolUse, PostToolUseFailure, SessionStart, SessionEnd, Stop"
    );
    assert_eq!(check["hint"], "run `parallel-cc install --hooks`");
    let st = install(&env, "/bin/bash", &["--status", "--json"]).out().ok().json();
    assert_eq!(st["hooks"]["globalInstalled"], false, "status and doctor agree");
    let mcp = doctor["checks"].as_array().unwrap().iter().find(|c| c["name"] == "mcp").unwrap().clone();
    assert_eq!(mcp["status"], "warn");
}

#[test]
fn local_hooks_go_to_the_main_checkout_and_gitignore_gets_its_entry() {
    let env = Env::new();
    let repo = env.repo("repo");
    repo.write(".gitignore", "target/\n").unwrap();
    let sub = repo.path.join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    let doc = install(&env, "/bin/bash", &["--hooks", "--local", "--gitignore", "--json"])
        .current_dir(&sub)
        .out()
        .ok()
        .json();
    let local = repo.path.join(".claude/settings.json");
    assert_eq!(doc["hooks"]["settingsPath"], path_str(&local));
    assert_eq!(doc["hooks"]["scope"], "local");
    assert_eq!(doc["gitignoreUpdated"], true);
    assert_eq!(read_json(&local), json!({"hooks": expected_hooks(&pcc_exe())}));
    assert!(!settings(&env).exists(), "the global file is not touched");
    assert_eq!(
        std::fs::read_to_string(repo.path.join(".gitignore")).unwrap(),
        "target/\n\n# Claude Code local settings\n.claude/settings.local.json\n"
    );
    let doc = install(&env, "/bin/bash", &["--hooks", "--local", "--gitignore", "--json"])
        .current_dir(&repo.path)
        .out()
        .ok()
        .json();
    assert_eq!(doc["gitignoreUpdated"], false);
    assert_eq!(doc["hooks"]["alreadyInstalled"], true);

    // From a linked worktree, and with --repo: the same file.
    let wt = env.root().join("wt");
    env.git(&repo.path, &["worktree", "add", "-q", "-b", "side", &path_str(&wt)]);
    let doc = install(&env, "/bin/bash", &["--hooks", "--local", "--json"]).current_dir(&wt).out().ok().json();
    assert_eq!(doc["hooks"]["settingsPath"], path_str(&local));
    let doc = install(&env, "/bin/bash", &["--uninstall", "--hooks", "--local", "--json", "--repo"])
        .arg(&wt)
        .out()
        .ok()
        .json();
    assert_eq!(doc["hooks"]["removed"], true);
    assert_eq!(read_json(&local), json!({}));

    // Outside a repository --local is a clear error.
    let doc = install(&env, "/bin/bash", &["--hooks", "--local", "--json"]).out().expect_code(1).json();
    assert_eq!(doc["code"], "not_a_git_repo");
    assert_eq!(doc["error"], format!("--local needs a git repository: {} is not inside one", path_str(&env.root())));
}

#[test]
fn usage_errors() {
    let env = Env::new();
    let usage = |args: &[&str]| {
        let out = install(&env, "/bin/bash", args).out().expect_code(2);
        let doc = out.json();
        assert_eq!(doc["code"], "usage", "{}", out.describe());
        doc
    };
    let doc = usage(&["--json"]);
    assert!(doc["error"].as_str().unwrap().starts_with("no action specified"), "{doc:#}");
    assert!(doc["hint"].as_str().unwrap().contains("parallel-cc install --all"), "{doc:#}");
    usage(&["--uninstall", "--json"]);
    usage(&["--dry-run", "--json"]);
    usage(&["--gitignore", "--hooks", "--json"]);
    usage(&["--status", "--hooks", "--json"]);
    usage(&["--global", "--local", "--hooks", "--json"]);
    usage(&["--repo", ".", "--hooks", "--json"]);
    // Without --json, on a non-terminal stdin: the examples on stderr, nothing on stdout.
    let out = install(&env, "/bin/bash", &[]).out().expect_code(2);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(out.stderr.contains("hint: examples:\n  parallel-cc install --all"), "{}", out.describe());
    assert_eq!(tree_contents(&home(&env)).unwrap().len(), 0, "nothing written");
}

fn with_stdin(mut cmd: Command, input: &str) -> Out {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    Out::from_output("install --interactive", child.wait_with_output().unwrap())
}

#[test]
fn interactive_asks_the_original_questions() {
    let env = Env::new();
    let repo = env.repo("repo");
    let mut cmd = install(&env, "/bin/zsh", &["--interactive"]);
    cmd.current_dir(&repo.path);
    let out = with_stdin(cmd, "y\nlocal\nYES\n").ok();
    assert!(
        out.stderr.contains(
            "Install heartbeat hooks? [y/N]:   Install globally or locally? [global/local]: Add claude=claude-parallel alias? [y/N]: "
        ),
        "{}",
        out.describe()
    );
    assert_eq!(read_json(&repo.path.join(".claude/settings.json")), json!({"hooks": expected_hooks(&pcc_exe())}));
    assert!(std::fs::read_to_string(home(&env).join(".zshrc")).unwrap().contains("alias claude='claude-parallel'"));
    assert!(!settings(&env).exists());

    // "No" to everything (or end of input): nothing written.
    let env = Env::new();
    let out = with_stdin(install(&env, "/bin/zsh", &["--interactive", "--json"]), "n\n").ok();
    let doc = out.json();
    assert_eq!((doc["hooks"].clone(), doc["alias"].clone()), (Value::Null, Value::Null), "{doc:#}");
    assert_eq!(tree_contents(&home(&env)).unwrap().len(), 0);
}

#[test]
fn uninstall_all_removes_every_part() {
    let env = Env::new();
    write(&home(&env).join(".zshrc"), "setopt autocd\n");
    write(&home(&env).join(".claude.json"), "{\"numStartups\": 1}");
    write(&settings(&env), "{\"model\": \"opus\"}");
    let before: Vec<Value> = [settings(&env), home(&env).join(".claude.json")].iter().map(|p| read_json(p)).collect();
    install(&env, "/bin/zsh", &["--all", "--worktree-provider"]).out().ok();
    let st = install(&env, "/bin/zsh", &["--status", "--json"]).out().ok().json();
    assert_eq!(
        (
            &st["hooks"]["globalInstalled"],
            &st["hooks"]["worktreeProvider"],
            &st["alias"]["installed"],
            &st["mcp"]["installed"]
        ),
        (&json!(true), &json!(true), &json!(true), &json!(true))
    );
    let doc = install(&env, "/bin/zsh", &["--uninstall", "--all", "--json"]).out().ok().json();
    assert_eq!(doc["uninstall"], true);
    assert_eq!(doc["hooks"]["events"].as_array().unwrap().len(), 8, "{doc:#}");
    let after: Vec<Value> = [settings(&env), home(&env).join(".claude.json")].iter().map(|p| read_json(p)).collect();
    assert_eq!(after, before);
    assert_eq!(std::fs::read_to_string(home(&env).join(".zshrc")).unwrap(), "setopt autocd\n");
}

#[test]
fn human_output_in_full() {
    let env = Env::new();
    let h = path_str(&home(&env));
    let run = |args: &[&str]| {
        let out = install(&env, "/bin/zsh", args).out().ok();
        (out.stdout.replace(&h, "~"), out.stderr.replace(&h, "~"))
    };
    let events = "PreToolUse, PostToolUse, PostToolUseFailure, SessionStart, SessionEnd, Stop";
    assert_eq!(
        run(&["--hooks", "--alias", "--mcp"]),
        (
            format!(
                "✓ Hooks installed in ~/.claude/settings.json ({events})\n\
                 ✓ Alias claude=claude-parallel added to ~/.zshrc\n\
                 ✓ MCP server configured in ~/.claude.json\n"
            ),
            "Open a new shell, or run: source ~/.zshrc\n\
             Claude Code reads settings when a session starts: restart running sessions.\n"
                .to_string()
        )
    );
    assert_eq!(
        run(&["--all", "--quiet"]),
        (
            "✓ Hooks already installed in ~/.claude/settings.json\n\
             ✓ Alias already in ~/.zshrc\n\
             ✓ MCP server already configured in ~/.claude.json\n"
                .to_string(),
            String::new()
        )
    );
    assert_eq!(
        run(&["--status"]).0,
        "Installation Status\n  \
         Hooks (global):    installed — ~/.claude/settings.json\n  \
         Hooks (local):     not in a git repository\n  \
         Worktree provider: not installed\n  \
         Alias:             installed (zsh, ~/.zshrc)\n  \
         MCP server:        configured — ~/.claude.json\n"
    );
    assert_eq!(
        run(&["--uninstall", "--all", "-q"]).0,
        format!(
            "✓ Hooks removed from ~/.claude/settings.json ({events})\n\
             ✓ Alias removed from ~/.zshrc\n\
             ✓ MCP server removed from ~/.claude.json\n"
        )
    );
    assert_eq!(
        run(&["--uninstall", "--all", "-q"]).0,
        "✓ No parallel-cc hooks in ~/.claude/settings.json\n\
         ✓ No parallel-cc alias in ~/.zshrc\n\
         ✓ No parallel-cc MCP server in ~/.claude.json\n"
    );
}
