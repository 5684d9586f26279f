//! The original tool's flat command names (`sandbox-run`, `merge-status`, …), accepted as hidden
//! aliases of the grouped commands with a one-line deprecation note on stderr.

use std::ffi::OsString;

/// (old name, new words, warn). `budget-status` was an alias without a warning in the original.
pub const FLAT_ALIASES: &[(&str, &[&str], bool)] = &[
    ("mcp-serve", &["mcp", "serve"], true),
    ("watch-merges", &["watch", "merges"], true),
    ("merge-status", &["merge", "status"], true),
    ("sandbox-run", &["sandbox", "run"], true),
    ("sandbox-logs", &["sandbox", "logs"], true),
    ("sandbox-download", &["sandbox", "download"], true),
    ("sandbox-kill", &["sandbox", "kill"], true),
    ("sandbox-list", &["sandbox", "list"], true),
    ("sandbox-status", &["sandbox", "status"], true),
    ("budget-status", &["budget", "status"], false),
];

/// Rewrite `argv` when its first command word is an old flat name whose new command exists in
/// this build. Returns the arguments and the note to print.
pub fn rewrite(args: Vec<OsString>) -> (Vec<OsString>, Option<String>) {
    // The first non-option word after the program name is the command.
    let Some(pos) = args.iter().skip(1).position(|a| !a.to_string_lossy().starts_with('-')).map(|p| p + 1) else {
        return (args, None);
    };
    let word = args[pos].to_string_lossy().into_owned();
    let Some((old, new, warn)) = FLAT_ALIASES.iter().find(|(old, _, _)| *old == word) else {
        return (args, None);
    };
    if crate::command().find_subcommand(new[0]).is_none() {
        return (args, None);
    }
    let mut out: Vec<OsString> = args[..pos].to_vec();
    out.extend(new.iter().map(OsString::from));
    out.extend(args[pos + 1..].iter().cloned());
    let note = warn.then(|| {
        format!(
            "\"{old}\" is deprecated; use \"parallel-cc {}\" instead (the old name will be removed in v3.0.0)",
            new.join(" ")
        )
    });
    (out, note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn unknown_words_and_new_names_pass_through() {
        let (a, n) = rewrite(os(&["parallel-cc", "--json", "status"]));
        assert_eq!(a, os(&["parallel-cc", "--json", "status"]));
        assert!(n.is_none());
    }

    #[test]
    fn new_names_are_the_old_names_split_at_the_dash() {
        for (old, new, _) in FLAT_ALIASES {
            assert_eq!(old.replace('-', " "), new.join(" "), "{old}");
        }
    }

    #[test]
    fn aliases_are_rewritten_only_when_their_command_exists() {
        for (old, new, warn) in FLAT_ALIASES {
            let (a, n) = rewrite(os(&["parallel-cc", old, "--x"]));
            if crate::command().find_subcommand(new[0]).is_some() {
                let mut want = vec!["parallel-cc"];
                want.extend(new.iter());
                want.push("--x");
                assert_eq!(a, os(&want));
                assert_eq!(n.is_some(), *warn);
            } else {
                assert_eq!(a, os(&["parallel-cc", old, "--x"]));
            }
        }
    }
}
