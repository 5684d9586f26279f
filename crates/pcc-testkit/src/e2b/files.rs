//! The sandbox filesystem: sandbox paths mapped under the sandbox's root directory, the plain
//! HTTP `/files` download and upload (streamed, never buffered whole), and the unary
//! `filesystem.Filesystem` RPCs the SDKs use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http_body_util::BodyStream;
use hyper::body::Incoming;
use hyper::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use hyper::{Request, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::connect::ConnectError;
use super::envd::{self, User};
use super::state::Sandbox;
use super::time::rfc3339;
use super::web::{self, Reject, Response, json_error};

/// A sandbox path and where it lives on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Absolute, normalised sandbox path (`/home/user/a.txt`).
    pub sandbox: String,
    /// `<root>/home/user/a.txt`.
    pub host: PathBuf,
}

/// Map a client path onto the sandbox root: `~` is the user's home, a relative path is joined
/// onto it, `.` and `..` are resolved lexically, and climbing above `/` is refused.
pub fn resolve(root: &Path, home: &str, path: &str) -> Result<Resolved, String> {
    let abs = if path == "~" {
        home.to_string()
    } else if let Some(rest) = path.strip_prefix("~/") {
        format!("{home}/{rest}")
    } else if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{home}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in abs.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("path '{path}' escapes the sandbox root"));
                }
            }
            c => parts.push(c),
        }
    }
    if parts.iter().any(|p| p.contains('\0')) {
        return Err(format!("path '{path}' contains a NUL byte"));
    }
    let mut host = root.to_path_buf();
    host.extend(&parts);
    Ok(Resolved { sandbox: format!("/{}", parts.join("/")), host })
}

/// The sandbox path of a host path under `root`.
fn sandbox_path(root: &Path, host: &Path) -> String {
    match host.strip_prefix(root) {
        Ok(rel) => format!("/{}", rel.to_string_lossy()),
        Err(_) => host.to_string_lossy().into_owned(),
    }
}

/// Go's `FileMode.String()` for the permission column.
fn permissions(kind: char, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(kind);
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        s.push(if mode & (1 << (8 - i)) != 0 { c } else { '-' });
    }
    s
}

/// `EntryInfo` in protojson: int64 `size` as a string, zero values omitted, enum names.
fn entry_info(root: &Path, host: &Path) -> std::io::Result<Value> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::symlink_metadata(host)?;
    let path = sandbox_path(root, host);
    let name = host.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "/".to_string());
    let ft = meta.file_type();
    let (kind, type_name) = if ft.is_symlink() {
        ('L', "FILE_TYPE_SYMLINK")
    } else if ft.is_dir() {
        ('d', "FILE_TYPE_DIRECTORY")
    } else {
        ('-', "FILE_TYPE_FILE")
    };
    let mode = meta.permissions().mode() & 0o777;
    let owner = if path == "/root" || path.starts_with("/root/") { "root" } else { "user" };
    let mut v = json!({
        "name": name,
        "type": type_name,
        "path": path,
        "permissions": permissions(kind, mode),
        "owner": owner,
        "group": owner,
    });
    if meta.len() > 0 {
        v["size"] = json!(meta.len().to_string());
    }
    if mode != 0 {
        v["mode"] = json!(mode);
    }
    if let Ok(t) = meta.modified() {
        v["modifiedTime"] = json!(rfc3339(t));
    }
    if ft.is_symlink()
        && let Ok(target) = std::fs::read_link(host)
    {
        let t = if target.is_absolute() { sandbox_path(root, &target) } else { target.to_string_lossy().into_owned() };
        v["symlinkTarget"] = json!(t);
    }
    Ok(v)
}

fn io_error(e: &std::io::Error, path: &str) -> ConnectError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ConnectError::not_found(format!("path '{path}' does not exist")),
        std::io::ErrorKind::PermissionDenied => ConnectError::new("permission_denied", format!("{path}: {e}")),
        _ => ConnectError::internal(format!("{path}: {e}")),
    }
}

fn str_field<'a>(msg: &'a Value, field: &str) -> Result<&'a str, ConnectError> {
    msg.get(field).and_then(Value::as_str).ok_or_else(|| ConnectError::invalid_argument(format!("{field} is required")))
}

pub async fn rpc(sbx: &Arc<Sandbox>, method: &str, req: Request<Incoming>) -> Response {
    let sbx = sbx.clone();
    let method = method.to_string();
    envd::unary(req, move |headers, msg| async move {
        let user = User::from_headers(&headers)?;
        let root = sbx.root().to_path_buf();
        let resolve_field = |field: &str| -> Result<Resolved, ConnectError> {
            resolve(&root, &user.home, str_field(&msg, field)?).map_err(ConnectError::invalid_argument)
        };
        match method.as_str() {
            "Stat" => {
                let p = resolve_field("path")?;
                let entry = entry_info(&root, &p.host).map_err(|e| io_error(&e, &p.sandbox))?;
                Ok(json!({ "entry": entry }))
            }
            "MakeDir" => {
                let p = resolve_field("path")?;
                match std::fs::symlink_metadata(&p.host) {
                    Ok(m) if m.is_dir() => {
                        return Err(ConnectError::new(
                            "already_exists",
                            format!("directory '{}' already exists", p.sandbox),
                        ));
                    }
                    Ok(_) => {
                        return Err(ConnectError::invalid_argument(format!(
                            "path '{}' already exists and is not a directory",
                            p.sandbox
                        )));
                    }
                    Err(_) => {}
                }
                std::fs::create_dir_all(&p.host).map_err(|e| io_error(&e, &p.sandbox))?;
                let entry = entry_info(&root, &p.host).map_err(|e| io_error(&e, &p.sandbox))?;
                Ok(json!({ "entry": entry }))
            }
            "Move" => {
                let src = resolve_field("source")?;
                let dst = resolve_field("destination")?;
                std::fs::symlink_metadata(&src.host).map_err(|e| io_error(&e, &src.sandbox))?;
                if let Some(parent) = dst.host.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io_error(&e, &dst.sandbox))?;
                }
                std::fs::rename(&src.host, &dst.host).map_err(|e| io_error(&e, &src.sandbox))?;
                let entry = entry_info(&root, &dst.host).map_err(|e| io_error(&e, &dst.sandbox))?;
                Ok(json!({ "entry": entry }))
            }
            "ListDir" => {
                let p = resolve_field("path")?;
                let depth = msg.get("depth").and_then(Value::as_u64).unwrap_or(1).max(1);
                let meta = std::fs::metadata(&p.host).map_err(|e| io_error(&e, &p.sandbox))?;
                if !meta.is_dir() {
                    return Err(ConnectError::invalid_argument(format!("path '{}' is not a directory", p.sandbox)));
                }
                let mut entries = Vec::new();
                list_dir(&root, &p.host, depth, &mut entries).map_err(|e| io_error(&e, &p.sandbox))?;
                Ok(json!({ "entries": entries }))
            }
            "Remove" => {
                let p = resolve_field("path")?;
                if p.host == root {
                    return Err(ConnectError::invalid_argument("refusing to remove the sandbox root"));
                }
                let res = match std::fs::symlink_metadata(&p.host) {
                    Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p.host),
                    Ok(_) => std::fs::remove_file(&p.host),
                    Err(e) => Err(e),
                };
                match res {
                    Ok(()) => Ok(json!({})),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
                    Err(e) => Err(io_error(&e, &p.sandbox)),
                }
            }
            // connect-go answers an unknown procedure with 404 and code `unimplemented`; the
            // watcher RPCs are answered the same way, as the fake has no watchers.
            other => Err(ConnectError::no_such_procedure(&format!("/filesystem.Filesystem/{other}"))),
        }
    })
    .await
}

fn list_dir(root: &Path, dir: &Path, depth: u64, out: &mut Vec<Value>) -> std::io::Result<()> {
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let Ok(entry) = entry_info(root, &child) else { continue };
        out.push(entry);
        let is_dir = std::fs::symlink_metadata(&child).map(|m| m.is_dir()).unwrap_or(false);
        if depth > 1 && is_dir {
            list_dir(root, &child, depth - 1, out)?;
        }
    }
    Ok(())
}

/// The user of a `/files` request: the `username` query parameter.
fn files_user(q: &std::collections::BTreeMap<String, String>) -> Result<User, Reject> {
    User::named(q.get("username").map(String::as_str)).map_err(|m| Reject::new(StatusCode::UNAUTHORIZED, m))
}

/// `GET /files?path=&username=`: the raw bytes, streamed.
pub async fn download(sbx: &Arc<Sandbox>, req: Request<Incoming>) -> Response {
    let q = web::query_map(req.uri().query());
    let user = match files_user(&q) {
        Ok(u) => u,
        Err(r) => return r.response(),
    };
    let Some(path) = q.get("path") else {
        return json_error(StatusCode::BAD_REQUEST, "path is required");
    };
    let p = match resolve(sbx.root(), &user.home, path) {
        Ok(p) => p,
        Err(m) => return json_error(StatusCode::BAD_REQUEST, m),
    };
    let meta = match tokio::fs::metadata(&p.host).await {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return json_error(StatusCode::NOT_FOUND, format!("path '{}' does not exist", p.sandbox));
        }
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, format!("error stating '{}': {e}", p.sandbox)),
    };
    if meta.is_dir() {
        return json_error(StatusCode::BAD_REQUEST, format!("path '{}' is a directory", p.sandbox));
    }
    let mut file = match tokio::fs::File::open(&p.host).await {
        Ok(f) => f,
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, format!("error opening '{}': {e}", p.sandbox)),
    };
    let len = meta.len();
    let (tx, body) = web::channel_body(Some(len));
    tokio::spawn(async move {
        let mut left = len;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            match file.read(&mut buf[..want]).await {
                Ok(0) => {
                    tx.abort("file shrank while it was being read").await;
                    return;
                }
                Ok(n) => {
                    left -= n as u64;
                    if tx.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tx.abort(&e.to_string()).await;
                    return;
                }
            }
        }
    });
    let mut r = hyper::Response::new(body);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let name = p.host.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{}\"", name.replace('"', "\\\""))) {
        r.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    r
}

/// `POST /files`: multipart (part `file`, destination in `?path=` or the part's filename) or
/// `application/octet-stream` with `?path=`; parents are created, data goes straight to disk.
pub async fn upload(sbx: &Arc<Sandbox>, req: Request<Incoming>) -> Response {
    let q = web::query_map(req.uri().query());
    let user = match files_user(&q) {
        Ok(u) => u,
        Err(r) => return r.response(),
    };
    if let Some(enc) = web::header(req.headers(), "content-encoding")
        && !enc.eq_ignore_ascii_case("identity")
    {
        return json_error(
            StatusCode::BAD_REQUEST,
            format!("content encoding {enc:?} is not supported by the fake envd"),
        );
    }
    let ct = web::header(req.headers(), "content-type").unwrap_or("").to_string();
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let stream = BodyStream::new(req.into_body()).filter_map(|frame| async move {
        match frame {
            Ok(f) => f.into_data().ok().map(Ok::<Bytes, hyper::Error>),
            Err(e) => Some(Err(e)),
        }
    });
    let root = sbx.root().to_path_buf();

    if media == "multipart/form-data" {
        let boundary = match multer::parse_boundary(&ct) {
            Ok(b) => b,
            Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("invalid multipart content type: {e}")),
        };
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut written: Vec<Value> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("error parsing multipart body: {e}")),
            };
            if field.name() != Some("file") {
                continue;
            }
            let dest = match q.get("path").cloned().or_else(|| field.file_name().map(str::to_string)) {
                Some(d) if !d.is_empty() => d,
                _ => return json_error(StatusCode::BAD_REQUEST, "no destination: set ?path= or the part's filename"),
            };
            let p = match resolve(&root, &user.home, &dest) {
                Ok(p) => p,
                Err(m) => return json_error(StatusCode::BAD_REQUEST, m),
            };
            if seen.contains(&p.sandbox) {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    format!("cannot upload '{}' twice in one request", p.sandbox),
                );
            }
            seen.push(p.sandbox.clone());
            let chunks = futures_util::stream::unfold(field, |mut f| async move {
                match f.chunk().await {
                    Ok(Some(c)) => Some((Ok(c), f)),
                    Ok(None) => None,
                    Err(e) => Some((Err(std::io::Error::other(e.to_string())), f)),
                }
            });
            if let Err(r) = write_file(&p, chunks).await {
                return r.response();
            }
            written.push(written_entry(&p));
        }
        if written.is_empty() {
            return json_error(StatusCode::BAD_REQUEST, "no part named \"file\" in the multipart body");
        }
        web::json(StatusCode::OK, &Value::Array(written))
    } else if media == "application/octet-stream" {
        let Some(dest) = q.get("path") else {
            return json_error(StatusCode::BAD_REQUEST, "path is required for an octet-stream upload");
        };
        let p = match resolve(&root, &user.home, dest) {
            Ok(p) => p,
            Err(m) => return json_error(StatusCode::BAD_REQUEST, m),
        };
        let chunks = stream.map(|r| r.map_err(|e| std::io::Error::other(e.to_string())));
        if let Err(r) = write_file(&p, chunks).await {
            return r.response();
        }
        web::json(StatusCode::OK, &json!([written_entry(&p)]))
    } else {
        json_error(StatusCode::BAD_REQUEST, format!("unsupported content type {ct:?}"))
    }
}

fn written_entry(p: &Resolved) -> Value {
    let name = p.sandbox.rsplit('/').next().unwrap_or("").to_string();
    json!({ "path": p.sandbox, "name": name, "type": "file" })
}

async fn write_file<S>(p: &Resolved, chunks: S) -> Result<(), Reject>
where
    S: futures_util::Stream<Item = std::io::Result<Bytes>>,
{
    if tokio::fs::metadata(&p.host).await.map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Reject::new(StatusCode::BAD_REQUEST, format!("path '{}' is a directory", p.sandbox)));
    }
    if let Some(parent) = p.host.parent()
        && let Err(e) = tokio::fs::create_dir_all(parent).await
    {
        return Err(Reject::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("error creating parent of '{}': {e}", p.sandbox),
        ));
    }
    let file = tokio::fs::File::create(&p.host)
        .await
        .map_err(|e| Reject::new(StatusCode::INTERNAL_SERVER_ERROR, format!("error creating '{}': {e}", p.sandbox)))?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut chunks = std::pin::pin!(chunks);
    while let Some(chunk) = chunks.next().await {
        let chunk =
            chunk.map_err(|e| Reject::new(StatusCode::BAD_REQUEST, format!("error reading the upload: {e}")))?;
        out.write_all(&chunk).await.map_err(|e| {
            Reject::new(StatusCode::INTERNAL_SERVER_ERROR, format!("error writing '{}': {e}", p.sandbox))
        })?;
    }
    out.flush()
        .await
        .map_err(|e| Reject::new(StatusCode::INTERNAL_SERVER_ERROR, format!("error writing '{}': {e}", p.sandbox)))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths_under_the_root() {
        let root = Path::new("/tmp/r");
        let r = resolve(root, "/home/user", "/home/user/a.txt").unwrap();
        assert_eq!(r.sandbox, "/home/user/a.txt");
        assert_eq!(r.host, Path::new("/tmp/r/home/user/a.txt"));
        assert_eq!(resolve(root, "/home/user", "b/c").unwrap().sandbox, "/home/user/b/c");
        assert_eq!(resolve(root, "/root", "~/x").unwrap().sandbox, "/root/x");
        assert_eq!(resolve(root, "/home/user", "~").unwrap().sandbox, "/home/user");
        assert_eq!(resolve(root, "/home/user", "/home/user/../../etc/./x").unwrap().sandbox, "/etc/x");
        assert_eq!(resolve(root, "/home/user", "/").unwrap().host, Path::new("/tmp/r"));
        assert!(resolve(root, "/home/user", "/../etc").is_err());
        assert!(resolve(root, "/home/user", "../../../x").is_err());
    }

    #[test]
    fn permissions_look_like_go() {
        assert_eq!(permissions('-', 0o644), "-rw-r--r--");
        assert_eq!(permissions('d', 0o755), "drwxr-xr-x");
    }
}
