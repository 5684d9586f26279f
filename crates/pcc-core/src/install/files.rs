//! Reading the files `install` edits, and writing them atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Where a write to `path` lands: through a symlink (dotfile managers link startup files), to
/// the file it points at, so the link survives.
pub(crate) fn write_target(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

/// Replace `path`'s contents atomically: a temp file in the same directory, fsync, rename, keeping
/// the permissions of the file it replaces (`new_mode` for a new file). Creates the directory.
pub(crate) fn write_atomic(path: &Path, contents: &str, new_mode: u32) -> Result<()> {
    let target = write_target(path);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io_err("cannot create directory", &dir))?;
    let existing = std::fs::metadata(&target).ok().map(|m| m.permissions());
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.parallel-cc-{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(new_mode);
        }
        #[cfg(not(unix))]
        let _ = new_mode;
        let mut f = opts.open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        if let Some(perms) = &existing {
            f.set_permissions(perms.clone())?;
        }
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &target)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err("cannot write", &target)(e));
    }
    // Make the rename itself durable; a failure here loses nothing already written.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
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

    #[cfg(unix)]
    #[test]
    fn atomic_write_keeps_permissions_and_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, "new", 0o644).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o600);
        let fresh = dir.path().join("sub/dir/f");
        write_atomic(&fresh, "x", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "x");
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
