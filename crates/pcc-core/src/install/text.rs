//! Line edits of plain-text files: the `claude` alias in a shell startup file and the
//! `.gitignore` entry. Pure functions over the file's text; `None` means "no change".

use std::path::{Path, PathBuf};

/// The comment line placed before the alias (the original tool's marker).
pub const ALIAS_MARKER: &str = "# parallel-cc: alias for claude-parallel wrapper";
/// The comment line placed before the `.gitignore` entry.
pub const GITIGNORE_COMMENT: &str = "# Claude Code local settings";
/// The `.gitignore` entry `install --local --gitignore` adds.
pub const GITIGNORE_ENTRY: &str = ".claude/settings.local.json";

/// A shell whose startup file the alias can go into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    /// From the basename of `$SHELL`.
    pub fn from_name(name: &str) -> Option<Shell> {
        match name {
            "bash" => Some(Shell::Bash),
            "zsh" => Some(Shell::Zsh),
            "fish" => Some(Shell::Fish),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
        }
    }

    pub fn alias_line(self) -> &'static str {
        match self {
            Shell::Fish => "alias claude 'claude-parallel'",
            Shell::Bash | Shell::Zsh => "alias claude='claude-parallel'",
        }
    }

    /// The startup file: bash `~/.bashrc` if it exists, else `~/.bash_profile` if it exists,
    /// else `~/.bashrc`; zsh `~/.zshrc`; fish `~/.config/fish/config.fish`.
    pub fn profile(self, home: &Path, exists: impl Fn(&Path) -> bool) -> PathBuf {
        match self {
            Shell::Bash => {
                let rc = home.join(".bashrc");
                let profile = home.join(".bash_profile");
                if !exists(&rc) && exists(&profile) { profile } else { rc }
            }
            Shell::Zsh => home.join(".zshrc"),
            Shell::Fish => home.join(".config").join("fish").join("config.fish"),
        }
    }
}

/// The basename of a `$SHELL` value (`/usr/bin/zsh` → `zsh`).
pub fn shell_basename(shell: &str) -> &str {
    shell.trim_end_matches('/').rsplit('/').next().unwrap_or(shell)
}

/// Does `s`, which starts at a candidate `alias`, match `alias\s+claude[=\s].*claude-parallel`
/// (case-insensitive, within the line)?
fn alias_here(s: &str) -> bool {
    let Some(rest) = strip_prefix_ci(s, "alias") else { return false };
    let after_ws = rest.trim_start();
    if after_ws.len() == rest.len() {
        return false;
    }
    let Some(rest) = strip_prefix_ci(after_ws, "claude") else { return false };
    match rest.chars().next() {
        Some(c) if c == '=' || c.is_whitespace() => {
            rest[c.len_utf8()..].to_ascii_lowercase().contains("claude-parallel")
        }
        _ => false,
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

fn line_body(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

/// A line that defines the alias (`^\s*alias\s+claude[=\s].*claude-parallel`).
pub fn is_alias_line(line: &str) -> bool {
    alias_here(line_body(line).trim_start())
}

fn is_marker(line: &str) -> bool {
    line_body(line).trim() == ALIAS_MARKER
}

/// Is the alias installed: the marker, or an alias definition anywhere on a line.
pub fn has_alias(text: &str) -> bool {
    text.lines().any(|line| {
        is_marker(line) || line.char_indices().any(|(i, c)| matches!(c, 'a' | 'A') && alias_here(&line[i..]))
    })
}

/// Append `block` after a blank line (two newlines when the text lacks its final newline);
/// into an empty file as is.
pub fn append_block(text: &str, block: &str) -> String {
    if text.is_empty() {
        block.to_string()
    } else if text.ends_with('\n') {
        format!("{text}\n{block}")
    } else {
        format!("{text}\n\n{block}")
    }
}

/// Add the marker and the alias, unless it is installed already.
pub fn add_alias(text: &str, shell: Shell) -> Option<String> {
    if has_alias(text) {
        return None;
    }
    Some(append_block(text, &format!("{ALIAS_MARKER}\n{}\n", shell.alias_line())))
}

/// Remove the marker line, the alias line after it, every other alias definition line, and the
/// blank line install put before the marker. Nothing else changes.
pub fn remove_alias(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut drop = vec![false; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        if is_alias_line(line) {
            drop[i] = true;
        }
        if is_marker(line) {
            drop[i] = true;
            if i > 0 && line_body(lines[i - 1]).trim().is_empty() && !drop[i - 1] {
                drop[i - 1] = true;
            }
        }
    }
    if !drop.contains(&true) {
        return None;
    }
    Some(lines.iter().zip(&drop).filter(|(_, d)| !**d).map(|(l, _)| *l).collect())
}

/// Whether a `.gitignore` already ignores `.claude/settings.local.json`: one of the patterns
/// `.claude`, `.claude/`, `.claude/*`, `.claude/**`, `.claude/*.local.json`,
/// `.claude/settings.local.json` (each with or without a leading `/` or `**/`), `*.local.json` or
/// `settings.local.json`, not negated by a later `!` line.
pub fn gitignore_covers(text: &str) -> bool {
    const PATTERNS: &[&str] =
        &[".claude", ".claude/", ".claude/*", ".claude/**", ".claude/*.local.json", ".claude/settings.local.json"];
    let matches = |p: &str| {
        let p = p.trim_end();
        if p == "*.local.json" || p == "settings.local.json" {
            return true;
        }
        let p = p.strip_prefix("**/").or_else(|| p.strip_prefix('/')).unwrap_or(p);
        PATTERNS.contains(&p)
    };
    let mut covered = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_prefix('!') {
            Some(negated) if matches(negated) => covered = false,
            Some(_) => {}
            None if matches(line) => covered = true,
            None => {}
        }
    }
    covered
}

/// Add the entry (after its comment) unless already covered.
pub fn add_gitignore(text: &str) -> Option<String> {
    if gitignore_covers(text) {
        return None;
    }
    Some(append_block(text, &format!("{GITIGNORE_COMMENT}\n{GITIGNORE_ENTRY}\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASH: &str = "# parallel-cc: alias for claude-parallel wrapper\nalias claude='claude-parallel'\n";

    #[test]
    fn shells_and_profiles() {
        let home = Path::new("/h");
        assert_eq!(Shell::from_name(shell_basename("/usr/bin/zsh")), Some(Shell::Zsh));
        assert_eq!(Shell::from_name(shell_basename("/bin/tcsh")), None);
        assert_eq!(shell_basename("bash"), "bash");
        assert_eq!(Shell::Bash.profile(home, |_| false), Path::new("/h/.bashrc"));
        assert_eq!(Shell::Bash.profile(home, |p| p.ends_with(".bash_profile")), Path::new("/h/.bash_profile"));
        assert_eq!(Shell::Bash.profile(home, |_| true), Path::new("/h/.bashrc"));
        assert_eq!(Shell::Zsh.profile(home, |_| false), Path::new("/h/.zshrc"));
        assert_eq!(Shell::Fish.profile(home, |_| false), Path::new("/h/.config/fish/config.fish"));
    }

    #[test]
    fn alias_is_appended_with_the_separator_rules() {
        assert_eq!(add_alias("", Shell::Bash).unwrap(), BASH);
        assert_eq!(add_alias("export A=1\n", Shell::Bash).unwrap(), format!("export A=1\n\n{BASH}"));
        assert_eq!(add_alias("export A=1", Shell::Zsh).unwrap(), format!("export A=1\n\n{BASH}"));
        assert_eq!(
            add_alias("set -x A 1\n", Shell::Fish).unwrap(),
            "set -x A 1\n\n# parallel-cc: alias for claude-parallel wrapper\nalias claude 'claude-parallel'\n"
        );
    }

    #[test]
    fn alias_detection() {
        assert!(has_alias(BASH));
        assert!(has_alias("alias claude=\"claude-parallel\"\n"));
        assert!(has_alias("ALIAS  Claude 'claude-parallel'"));
        assert!(has_alias("  # alias claude=claude-parallel"));
        assert!(has_alias("# parallel-cc: alias for claude-parallel wrapper\n"));
        assert!(!has_alias("alias claude=claude\n"));
        assert!(!has_alias("alias claudex=claude-parallel\n"));
        assert!(!has_alias("aliasclaude=claude-parallel\n"));
        assert!(!has_alias("alias claude=x\nclaude-parallel\n"));
        assert_eq!(add_alias("x\nalias claude=claude-parallel\n", Shell::Bash), None);
    }

    #[test]
    fn alias_install_then_uninstall_restores_the_text() {
        for original in ["", "export A=1\n", "export A=1\n# end\n", "a\r\nb\r\n", "\n\n"] {
            let installed = add_alias(original, Shell::Bash).unwrap();
            assert_eq!(remove_alias(&installed).unwrap(), original, "{original:?}");
        }
        // Without a final newline the line gets one: the only byte that differs.
        let installed = add_alias("export A=1", Shell::Bash).unwrap();
        assert_eq!(remove_alias(&installed).unwrap(), "export A=1\n");
    }

    #[test]
    fn uninstall_removes_only_the_marker_and_alias_lines() {
        let text = "a\n\n# parallel-cc: alias for claude-parallel wrapper\nalias claude='claude-parallel'\nb\n  alias claude claude-parallel\nalias ls='ls -G'\n# alias claude=claude-parallel\n";
        assert_eq!(remove_alias(text).unwrap(), "a\nb\nalias ls='ls -G'\n# alias claude=claude-parallel\n");
        // A line after the marker that is not the alias stays.
        assert_eq!(remove_alias("# parallel-cc: alias for claude-parallel wrapper\necho hi\n").unwrap(), "echo hi\n");
        assert_eq!(remove_alias("alias ls='ls'\n"), None);
    }

    #[test]
    fn gitignore_entry() {
        assert_eq!(add_gitignore("").unwrap(), "# Claude Code local settings\n.claude/settings.local.json\n");
        assert_eq!(
            add_gitignore("target\n").unwrap(),
            "target\n\n# Claude Code local settings\n.claude/settings.local.json\n"
        );
        assert_eq!(
            add_gitignore("target").unwrap(),
            "target\n\n# Claude Code local settings\n.claude/settings.local.json\n"
        );
        for covered in [
            ".claude/\n",
            "/.claude\n",
            ".claude/settings.local.json\n",
            "**/.claude/\n",
            "*.local.json\n",
            " .claude/* \n",
        ] {
            assert_eq!(add_gitignore(covered), None, "{covered:?}");
        }
        for not_covered in
            ["# .claude/\n", ".claude/\n!.claude/settings.local.json\n", ".claude/settings.json\n", "claude\n"]
        {
            assert!(add_gitignore(not_covered).is_some(), "{not_covered:?}");
        }
    }
}
