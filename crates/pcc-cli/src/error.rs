//! The one place the CLI maps failures to exit codes and to the JSON error document.

use pcc_core::{CoreError, ExitClass};

/// Exit codes (PRODUCT.md §0).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_FOUND: u8 = 3;
/// The agent could not be started (as a shell reports a missing command).
pub const EXIT_AGENT_NOT_FOUND: u8 = 127;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{message}")]
    Usage { message: String, hint: Option<String> },
    #[error("{message}")]
    Failed { message: String, hint: Option<String>, code: &'static str, exit: u8 },
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage { message: message.into(), hint: None }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Core(e) => match e.exit_class() {
                ExitClass::Usage => EXIT_USAGE,
                ExitClass::Failed => EXIT_FAILED,
            },
            CliError::Usage { .. } => EXIT_USAGE,
            CliError::Failed { exit, .. } => *exit,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            CliError::Core(e) => e.code(),
            CliError::Usage { .. } => "usage",
            CliError::Failed { code, .. } => code,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Core(e) => e.hint(),
            CliError::Usage { hint, .. } | CliError::Failed { hint, .. } => hint.clone(),
        }
    }

    /// The message with its causes, for people: `a: b: c`.
    pub fn full_message(&self) -> String {
        let mut msg = self.to_string();
        let mut source = std::error::Error::source(self);
        // `transparent` forwards to the inner error's source chain.
        if let CliError::Core(inner) = self {
            source = std::error::Error::source(inner);
        }
        while let Some(s) = source {
            let text = s.to_string();
            if !text.is_empty() && !msg.contains(&text) {
                msg.push_str(": ");
                msg.push_str(&text);
            }
            source = s.source();
        }
        msg
    }
}

pub fn json_error(e: &CliError) -> serde_json::Value {
    let mut doc = serde_json::json!({ "success": false, "error": e.full_message(), "code": e.code() });
    if let (Some(h), Some(obj)) = (e.hint(), doc.as_object_mut()) {
        obj.insert("hint".into(), serde_json::Value::String(h));
    }
    doc
}
