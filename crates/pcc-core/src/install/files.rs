//! Reading the files `install` edits (they are written with [`crate::fsutil::write_atomic`]).

use std::path::Path;

use serde_json::Value;

use super::InstallError;
use crate::error::{Result, io_err};

/// A file's text, `None` when it does not exist.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| InstallError::NotUtf8 { path: path.into() }.into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("cannot read", path)(e)),
    }
}

/// A JSON file as it is on disk and as a value.
pub(crate) struct JsonFile {
    pub text: Option<String>,
    pub value: Value,
}

/// Read a JSON settings file that must hold an object. A missing file, or one holding only
/// whitespace, reads as `{}`.
pub(crate) fn read_json(path: &Path) -> Result<JsonFile> {
    let text = read_text(path)?;
    let value = match text.as_deref() {
        None => Value::Object(Default::default()),
        Some(t) if t.trim().is_empty() => Value::Object(Default::default()),
        Some(t) => serde_json::from_str::<Value>(t).map_err(|e| InstallError::Parse {
            path: path.into(),
            line: e.line(),
            column: e.column(),
            reason: parse_reason(&e),
        })?,
    };
    if !value.is_object() {
        return Err(InstallError::NotAnObject { path: path.into() }.into());
    }
    Ok(JsonFile { text, value })
}

/// serde_json's message without its ` at line L column C` suffix (the error carries both).
fn parse_reason(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// The text a JSON settings file is written as: 2-space indent and a final newline.
pub(crate) fn json_text(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("settings.json");
        std::fs::write(&p, "{\n  \"a\": 1,\n  oops\n}\n").unwrap();
        let e = read_json(&p).err().unwrap();
        let msg = e.to_string();
        assert!(msg.contains(&p.display().to_string()), "{msg}");
        assert!(msg.contains("line 3, column 3"), "{msg}");
        std::fs::write(&p, "[1]").unwrap();
        assert!(read_json(&p).err().unwrap().to_string().contains("not a JSON object"));
        std::fs::write(&p, " \n").unwrap();
        assert_eq!(read_json(&p).unwrap().value, serde_json::json!({}));
    }
}
