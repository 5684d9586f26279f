//! envd, the daemon inside each sandbox, reached for every sandbox through one URL and routed by
//! the `E2b-Sandbox-Id` header (as the shared `sandbox.<domain>` proxy does). This module does
//! the proxy's part (routing, 502 for a gone sandbox) and envd's middleware (access token, user),
//! then hands over to `process` and `files`.

use std::sync::Arc;

use base64::Engine as _;
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{HeaderMap, Method, Request, StatusCode};
use serde_json::{Value, json};

use super::connect::ConnectError;
use super::state::{SandboxState, Shared};
use super::web::{self, Response, json_error};
use super::{files, process};

/// The port envd listens on inside a sandbox.
pub const ENVD_PORT: &str = "49983";
const MAX_UNARY_BODY: usize = 4 << 20;

pub async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response {
    let Some(id) = web::header(req.headers(), "e2b-sandbox-id").map(str::to_string) else {
        return json_error(StatusCode::BAD_REQUEST, "missing E2b-Sandbox-Id header");
    };
    if let Some(port) = web::header(req.headers(), "e2b-sandbox-port")
        && port != ENVD_PORT
    {
        return proxy_error(&id, "The sandbox is running but port is not open");
    }
    let Some(sbx) = shared.sandbox(&id) else {
        return proxy_error(&id, "The sandbox was not found");
    };
    if sbx.life().state == SandboxState::Paused {
        return proxy_error(&id, "The sandbox was not found (it is paused)");
    }

    let path = req.uri().path().to_string();
    if path == "/health" && req.method() == Method::GET {
        let mut r = web::empty(StatusCode::NO_CONTENT);
        r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return r;
    }
    if sbx.secure && web::header(req.headers(), "x-access-token") != Some(sbx.token.as_str()) {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized access, please provide a valid access token or method signing if supported",
        );
    }

    let method = req.method().clone();
    match (method, path.as_str()) {
        (Method::GET, "/files") => files::download(&sbx, req).await,
        (Method::POST, "/files") => files::upload(&sbx, req).await,
        (Method::GET, "/envs") => web::json(StatusCode::OK, &json!(sbx.env_vars)),
        (Method::POST, p) if p.starts_with("/process.Process/") => {
            let rpc = p.trim_start_matches("/process.Process/").to_string();
            process::handle(shared, &sbx, &rpc, req).await
        }
        (Method::POST, p) if p.starts_with("/filesystem.Filesystem/") => {
            let rpc = p.trim_start_matches("/filesystem.Filesystem/").to_string();
            files::rpc(&sbx, &rpc, req).await
        }
        (Method::POST, _) => ConnectError::no_such_procedure(&path).response(),
        (m, _) => json_error(StatusCode::NOT_FOUND, format!("no route for {m} {path}")),
    }
}

/// What the proxy in front of envd answers when it cannot reach it.
fn proxy_error(id: &str, message: &str) -> Response {
    web::json(StatusCode::BAD_GATEWAY, &json!({ "sandboxId": id, "message": message, "code": 502 }))
}

/// A sandbox user: name and home directory (sandbox paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub home: String,
}

impl User {
    pub fn named(name: Option<&str>) -> Result<User, String> {
        match name.unwrap_or("user") {
            "" | "user" => Ok(User { name: "user".into(), home: "/home/user".into() }),
            "root" => Ok(User { name: "root".into(), home: "/root".into() }),
            other => Err(format!("invalid username: '{other}'")),
        }
    }

    /// The user of an RPC: `Authorization: Basic base64("<user>:")`, else the default user.
    pub fn from_headers(headers: &HeaderMap) -> Result<User, ConnectError> {
        let Some(auth) = web::header(headers, "authorization") else {
            return User::named(None).map_err(|m| ConnectError::new("unauthenticated", m));
        };
        let decoded = auth
            .strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ConnectError::new("unauthenticated", "invalid authorization header"))?;
        let name = decoded.split(':').next().unwrap_or("");
        User::named(Some(name)).map_err(|m| ConnectError::new("unauthenticated", m))
    }
}

/// Run a unary Connect call with a JSON codec: parse the bare JSON request, answer the bare
/// JSON response or a Connect error.
pub async fn unary<F, Fut>(req: Request<Incoming>, f: F) -> Response
where
    F: FnOnce(HeaderMap, Value) -> Fut,
    Fut: std::future::Future<Output = Result<Value, ConnectError>>,
{
    let ct = web::header(req.headers(), "content-type").unwrap_or("").to_string();
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media != "application/json" {
        let mut r =
            ConnectError::new("unknown", format!("unsupported content type {ct:?}; the fake envd speaks JSON only"))
                .response_with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        r.headers_mut().insert("accept-post", HeaderValue::from_static("application/json"));
        return r;
    }
    let (parts, body) = req.into_parts();
    let body = match web::read_small(body, MAX_UNARY_BODY).await {
        Ok(b) => b,
        Err(r) => return r.response(),
    };
    let msg: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return ConnectError::invalid_argument("message must be a JSON object").response(),
            Err(e) => return ConnectError::invalid_argument(format!("unmarshal message: {e}")).response(),
        }
    };
    match f(parts.headers, msg).await {
        Ok(v) => {
            let mut r = web::full(StatusCode::OK, None, v.to_string());
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        Err(e) => e.response(),
    }
}

impl ConnectError {
    fn response_with_status(&self, status: StatusCode) -> Response {
        web::json(status, &self.to_json())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn users_come_from_basic_auth() {
        let mut h = HeaderMap::new();
        assert_eq!(User::from_headers(&h).unwrap().home, "/home/user");
        h.insert("authorization", HeaderValue::from_static("Basic cm9vdDo=")); // "root:"
        assert_eq!(User::from_headers(&h).unwrap().home, "/root");
        h.insert("authorization", HeaderValue::from_static("Basic Ym9iOg==")); // "bob:"
        let e = User::from_headers(&h).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("unauthenticated", "invalid username: 'bob'"));
    }
}
