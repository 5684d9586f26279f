//! The redacting wrapper for credentials (the E2B API key, envd access tokens).

use std::fmt;
use std::sync::Arc;

/// What a secret prints as, wherever it is formatted.
pub const REDACTED: &str = "[redacted]";

/// A credential. `Debug` and `Display` print `[redacted]`; the value is reached only through
/// [`Secret::expose`], at the one place that puts it on the wire.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The credential itself, for a request header. Never format or log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the credential is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

/// Longest piece of foreign text (a server's error message, a transport error) kept in an error.
const MAX_FOREIGN_TEXT: usize = 512;

/// Text that came from outside (a response body, a transport error), made fit for an error
/// message: every known secret replaced by `[redacted]`, control characters flattened and the
/// length bounded (after the replacement, so a cut never leaves part of a secret). A server may echo a header back; a URL may carry anything.
pub(crate) fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if !secret.is_empty() {
            out = out.replace(secret.expose(), REDACTED);
        }
    }
    let mut cleaned: String =
        out.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned();
    if cleaned.len() > MAX_FOREIGN_TEXT {
        let mut cut = MAX_FOREIGN_TEXT;
        while !cleaned.is_char_boundary(cut) {
            cut -= 1;
        }
        cleaned.truncate(cut);
        cleaned.push('…');
    }
    cleaned
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn formats_redacted() {
        let s = Secret::new("e2b_0123456789abcdef");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some([redacted])");
        assert_eq!(s.expose(), "e2b_0123456789abcdef");
    }

    #[test]
    fn scrub_removes_every_secret_and_bounds_length() {
        let key = Secret::new("e2b_key_planted_123");
        let token = Secret::new("tok_planted_456");
        let text = "bad key e2b_key_planted_123 and tok_planted_456\nagain e2b_key_planted_123";
        let out = scrub(text, &[&key, &token]);
        assert_eq!(out, "bad key [redacted] and [redacted] again [redacted]");

        let long = format!("{}{}", "x".repeat(MAX_FOREIGN_TEXT - 5), key.expose());
        let out = scrub(&long, &[]);
        assert!(out.len() <= MAX_FOREIGN_TEXT + '…'.len_utf8());
        let out = scrub(&long, &[&key]);
        assert!(!out.contains("e2b_key"), "{out}");
    }
}
