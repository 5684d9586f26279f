//! The one audited way to turn an argument vector into a bash command line.
//!
//! envd runs every command as `/bin/bash -l -c "<line>"` (that is how the SDKs use it, and the
//! login shell gives the template's PATH). An argument vector reaches the sandbox through
//! [`join`]: each word is single-quoted unless it consists only of characters bash never
//! interprets, and the command word is always quoted, so no argument can become an expansion,
//! a second command, an assignment, a reserved word or an alias.

use std::borrow::Cow;

use crate::error::{Result, SandboxError};

/// Characters that mean nothing to bash in an argument position (no `=`, `~`, `%`, globs,
/// quotes, separators or expansions).
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | ',' | '+' | '@')
}

/// Quotes one word for bash. NUL cannot travel in an argument and is refused.
pub fn quote(word: &str) -> Result<Cow<'_, str>> {
    if word.contains('\0') {
        return Err(SandboxError::InvalidCommand { reason: "an argument contains a NUL byte".into() });
    }
    if !word.is_empty() && word.chars().all(is_plain) {
        return Ok(Cow::Borrowed(word));
    }
    Ok(Cow::Owned(single_quoted(word)))
}

/// Inside single quotes bash interprets nothing; a `'` closes the quote, so it is written as
/// `'\''` (close, escaped quote, reopen).
fn single_quoted(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Joins an argument vector into one bash command line that runs exactly that vector.
pub fn join<S: AsRef<str>>(argv: &[S]) -> Result<String> {
    let Some((program, args)) = argv.split_first() else {
        return Err(SandboxError::InvalidCommand { reason: "the argument vector is empty".into() });
    };
    let program = program.as_ref();
    if program.is_empty() {
        return Err(SandboxError::InvalidCommand { reason: "the program name is empty".into() });
    }
    // Quote the command word even when plain: `time`, `if` or an alias would otherwise be
    // taken as bash syntax rather than a program.
    quote(program)?;
    let mut line = single_quoted(program);
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg.as_ref())?);
    }
    Ok(line)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Runs the joined line through a real bash and returns the arguments `printf` received.
    fn through_bash(args: &[&str]) -> Vec<String> {
        let mut argv = vec!["printf", "%s\\0"];
        argv.extend_from_slice(args);
        let line = join(&argv).unwrap();
        let out = std::process::Command::new("bash").arg("-c").arg(&line).env_clear().output().unwrap();
        assert!(out.status.success(), "bash failed on {line:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let mut got: Vec<String> = text.split('\0').map(str::to_owned).collect();
        assert_eq!(got.pop().as_deref(), Some(""), "printf output ends with a NUL");
        got
    }

    #[test]
    fn hostile_arguments_arrive_verbatim() {
        let cases = [
            "plain",
            "",
            " ",
            "it's",
            "'",
            "''",
            "\"double\"",
            "$(touch /tmp/pcc-sandbox-quote-pwned)",
            "`touch /tmp/pcc-sandbox-quote-pwned`",
            "${HOME}",
            "$HOME",
            "a;b",
            "a && b || c | d",
            "line one\nline two\n",
            "tab\there",
            "back\\slash\\",
            "*",
            "~",
            "~/x",
            "!!",
            "%1",
            "FOO=bar",
            "-n",
            "--",
            "#comment",
            "ünïcödé ✓ 日本語",
            "\u{202e}rtl",
            "'$(x)'\"`y`\"",
            "{a,b}",
            "[abc]",
            "<in >out 2>&1",
        ];
        let got = through_bash(&cases);
        assert_eq!(got, cases);
        assert!(!std::path::Path::new("/tmp/pcc-sandbox-quote-pwned").exists());
    }

    #[test]
    fn command_word_is_never_syntax() {
        // `time` is a bash reserved word and `FOO=bar` an assignment when unquoted.
        assert_eq!(join(&["time", "x"]).unwrap(), "'time' x");
        let out = std::process::Command::new("bash").arg("-c").arg(join(&["FOO=bar"]).unwrap()).output().unwrap();
        assert_eq!(out.status.code(), Some(127), "FOO=bar must be looked up as a command, not assigned");
    }

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(
            join(&["git", "format-patch", "--binary", "base..HEAD", "-o", "/tmp/out"]).unwrap(),
            "'git' format-patch --binary base..HEAD -o /tmp/out"
        );
        assert_eq!(quote("a b").unwrap(), "'a b'");
        assert_eq!(quote("it's").unwrap(), "'it'\\''s'");
    }

    #[test]
    fn refuses_what_cannot_be_expressed() {
        assert!(matches!(join::<&str>(&[]), Err(SandboxError::InvalidCommand { .. })));
        assert!(matches!(join(&[""]), Err(SandboxError::InvalidCommand { .. })));
        assert!(matches!(join(&["echo", "a\0b"]), Err(SandboxError::InvalidCommand { .. })));
        assert!(matches!(quote("\0"), Err(SandboxError::InvalidCommand { .. })));
    }
}
