//! The control plane: the REST API at `E2B_API_URL` (create, connect, info, list, timeout, pause,
//! kill, metrics), authenticated by `X-API-Key`, errors as `{"code":N,"message":…}`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};

use super::state::{NewSandbox, Sandbox, SandboxState, Shared};
use super::time::{parse_rfc3339, rfc3339};
use super::web::{self, Reject, Response, json_error};
use super::{BASE_TEMPLATE_ID, CLIENT_ID, ENVD_VERSION};

/// The longest timeout the fake accepts: the Pro plan's 24 hours.
const MAX_TIMEOUT_SECS: i64 = 24 * 3600;
const DEFAULT_TIMEOUT_V2: i64 = 300;
const DEFAULT_TIMEOUT_V1: i64 = 15;
const MAX_BODY: usize = 1 << 20;

pub async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    if path == "/health" && method == Method::GET {
        return web::full(StatusCode::OK, Some("text/plain"), "Health check successful");
    }
    match web::header(req.headers(), "x-api-key") {
        Some(k) if k == shared.api_key => {}
        Some(_) => return json_error(StatusCode::UNAUTHORIZED, "Invalid API key, please visit https://e2b.dev/docs"),
        None => return json_error(StatusCode::UNAUTHORIZED, "Missing API key, please visit https://e2b.dev/docs"),
    }
    let fault = shared.faults_lock().take_status(&path);
    if let Some(f) = fault {
        let mut r = json_error(web::status(f.status), format!("injected fault: status {}", f.status));
        if let Some(s) = f.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert("retry-after", v);
        }
        if let Some(b) = f.should_retry {
            r.headers_mut().insert("should-retry", HeaderValue::from_static(if b { "true" } else { "false" }));
        }
        return r;
    }

    let query = req.uri().query().map(str::to_string);
    let segments: Vec<String> = path.trim_matches('/').split('/').map(str::to_string).collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let body = if method == Method::POST || method == Method::PUT {
        match web::read_small(req.into_body(), MAX_BODY).await {
            Ok(b) => b,
            Err(r) => return r.response(),
        }
    } else {
        bytes::Bytes::new()
    };

    let routed: Result<Response, Reject> = match (&method, seg.as_slice()) {
        (&Method::POST, ["v2", "sandboxes"]) => create(shared, &body, true),
        (&Method::POST, ["sandboxes"]) => create(shared, &body, false),
        (&Method::GET, ["v2", "sandboxes"]) => list_v2(shared, query.as_deref()),
        (&Method::GET, ["sandboxes"]) => Ok(list_v1(shared, query.as_deref())),
        (&Method::POST, ["v2", "sandboxes", id, "connect"]) | (&Method::POST, ["sandboxes", id, "connect"]) => {
            connect(shared, id, &body)
        }
        (&Method::POST, ["sandboxes", id, "resume"]) => resume(shared, id, &body),
        (&Method::GET, ["sandboxes", id]) => with_sandbox(shared, id, |s| web::json(StatusCode::OK, &detail(s))),
        (&Method::DELETE, ["sandboxes", id]) => {
            if shared.kill(short_id(id)) {
                Ok(web::empty(StatusCode::NO_CONTENT))
            } else {
                Err(not_found(id))
            }
        }
        (&Method::POST, ["sandboxes", id, "timeout"]) => set_timeout(shared, id, &body),
        (&Method::POST, ["sandboxes", id, "refreshes"]) => refresh(shared, id, &body),
        (&Method::POST, ["sandboxes", id, "pause"]) => with_sandbox(shared, id, |s| {
            if s.pause() {
                web::empty(StatusCode::NO_CONTENT)
            } else {
                json_error(StatusCode::CONFLICT, format!("Sandbox \"{}\" is already paused", s.id))
            }
        }),
        (&Method::GET, ["sandboxes", id, "metrics"]) => {
            with_sandbox(shared, id, |s| web::json(StatusCode::OK, &metrics(s)))
        }
        _ => Err(Reject::new(StatusCode::NOT_FOUND, format!("no route for {method} {path}"))),
    };
    routed.unwrap_or_else(|r| r.response())
}

/// `id-clientID` (legacy) is accepted and shortened, as the API does.
fn short_id(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

fn not_found(id: &str) -> Reject {
    Reject::new(
        StatusCode::NOT_FOUND,
        format!("Sandbox \"{}\" doesn't exist or you don't have access to it", short_id(id)),
    )
}

fn with_sandbox(shared: &Shared, id: &str, f: impl FnOnce(&Arc<Sandbox>) -> Response) -> Result<Response, Reject> {
    match shared.sandbox(short_id(id)) {
        Some(s) => Ok(f(&s)),
        None => Err(not_found(id)),
    }
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Reject> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Reject::new(StatusCode::BAD_REQUEST, "request body must be a JSON object")),
        Err(e) => Err(Reject::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}"))),
    }
}

fn string_map(v: Option<&Value>, field: &str) -> Result<BTreeMap<String, String>, Reject> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    _ => return Err(Reject::new(StatusCode::BAD_REQUEST, format!("{field}.{k} must be a string"))),
                }
            }
        }
        Some(_) => return Err(Reject::new(StatusCode::BAD_REQUEST, format!("{field} must be an object"))),
    }
    Ok(out)
}

/// A timeout in seconds from `field`, validated like the API does.
fn timeout(m: &Map<String, Value>, field: &str, default: Option<i64>) -> Result<Duration, Reject> {
    let secs = match m.get(field) {
        None | Some(Value::Null) => match default {
            Some(d) => d,
            None => return Err(Reject::new(StatusCode::BAD_REQUEST, format!("{field} is required"))),
        },
        Some(v) => {
            v.as_i64().ok_or_else(|| Reject::new(StatusCode::BAD_REQUEST, format!("{field} must be an integer")))?
        }
    };
    if secs < 0 {
        return Err(Reject::new(StatusCode::BAD_REQUEST, "Timeout must be greater than 0"));
    }
    if secs > MAX_TIMEOUT_SECS {
        return Err(Reject::new(
            StatusCode::BAD_REQUEST,
            format!("Timeout cannot be greater than {} hours", MAX_TIMEOUT_SECS / 3600),
        ));
    }
    Ok(Duration::from_secs(secs as u64))
}

fn create(shared: &Shared, body: &[u8], v2: bool) -> Result<Response, Reject> {
    let m = parse_object(body)?;
    let template = match m.get("templateID") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(_) => return Err(Reject::new(StatusCode::BAD_REQUEST, "templateID must be a non-empty string")),
        None => return Err(Reject::new(StatusCode::BAD_REQUEST, "templateID is required")),
    };
    let timeout = timeout(&m, "timeout", Some(if v2 { DEFAULT_TIMEOUT_V2 } else { DEFAULT_TIMEOUT_V1 }))?;
    let metadata = string_map(m.get("metadata"), "metadata")?;
    let env_vars = string_map(m.get("envVars"), "envVars")?;
    // A name may carry a namespace and a tag; the alias is the bare name.
    let name = template.rsplit('/').next().unwrap_or(&template);
    let name = name.split(':').next().unwrap_or(name).to_string();
    let template_id = if name == "base" { BASE_TEMPLATE_ID.to_string() } else { template_id_for(&name) };
    let new = NewSandbox {
        template_id,
        alias: name,
        timeout,
        metadata,
        env_vars,
        auto_pause: m.get("autoPause").and_then(Value::as_bool).unwrap_or(false),
        allow_internet_access: m.get("allow_internet_access").and_then(Value::as_bool),
        // Every v2 sandbox is secured; v1 only when asked.
        secure: v2 || m.get("secure").and_then(Value::as_bool).unwrap_or(false),
    };
    match shared.create(new) {
        Ok(s) => Ok(web::json(StatusCode::CREATED, &sandbox_json(&s))),
        Err(e) => {
            Err(Reject::new(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot create the sandbox directory: {e}")))
        }
    }
}

/// A stable template ID for a template name other than `base`.
fn template_id_for(name: &str) -> String {
    // FNV-1a, spelled out so the same name always gives the same ID.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::new();
    for i in 0..20u64 {
        let v = h.rotate_left((i * 7) as u32) ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        out.push(char::from(alphabet[(v % alphabet.len() as u64) as usize]));
    }
    out
}

/// The `Sandbox` schema (create, connect, resume responses).
fn sandbox_json(s: &Sandbox) -> Value {
    let mut v = json!({
        "templateID": s.template_id,
        "alias": s.alias,
        "sandboxID": s.id,
        "clientID": CLIENT_ID,
        "envdVersion": ENVD_VERSION,
        "trafficAccessToken": null,
        "domain": null,
    });
    if s.secure {
        v["envdAccessToken"] = json!(s.token);
    }
    v
}

/// The `ListedSandbox` fields.
fn listed(s: &Sandbox) -> Value {
    let life = s.life();
    json!({
        "templateID": s.template_id,
        "alias": s.alias,
        "sandboxID": s.id,
        "clientID": CLIENT_ID,
        "startedAt": rfc3339(s.started_at),
        "endAt": rfc3339(life.end_wall),
        "cpuCount": 2,
        "memoryMB": 512,
        "diskSizeMB": 10240,
        "state": life.state.as_str(),
        "envdVersion": ENVD_VERSION,
        "metadata": s.metadata,
    })
}

/// The `SandboxDetail` schema.
fn detail(s: &Sandbox) -> Value {
    let mut v = listed(s);
    if s.secure {
        v["envdAccessToken"] = json!(s.token);
    }
    v["domain"] = Value::Null;
    v["allowInternetAccess"] = json!(s.allow_internet_access);
    v["lifecycle"] = json!({ "autoResume": false, "onTimeout": if s.auto_pause { "pause" } else { "kill" } });
    v
}

fn metrics(_s: &Sandbox) -> Value {
    let now = SystemTime::now();
    let unix = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    json!([{
        "timestamp": rfc3339(now),
        "timestampUnix": unix,
        "cpuCount": 2,
        "cpuUsedPct": 1.5,
        "memUsed": 64u64 << 20,
        "memTotal": 512u64 << 20,
        "memCache": 16u64 << 20,
        "diskUsed": 256u64 << 20,
        "diskTotal": 10240u64 << 20,
    }])
}

fn connect(shared: &Shared, id: &str, body: &[u8]) -> Result<Response, Reject> {
    let m = parse_object(body)?;
    let timeout = timeout(&m, "timeout", Some(DEFAULT_TIMEOUT_V2))?;
    with_sandbox(shared, id, |s| {
        if s.life().state == SandboxState::Paused && s.resume(timeout) {
            web::json(StatusCode::CREATED, &sandbox_json(s))
        } else {
            s.extend(timeout);
            web::json(StatusCode::OK, &sandbox_json(s))
        }
    })
}

fn resume(shared: &Shared, id: &str, body: &[u8]) -> Result<Response, Reject> {
    let m = parse_object(body)?;
    let timeout = timeout(&m, "timeout", Some(DEFAULT_TIMEOUT_V1))?;
    with_sandbox(shared, id, |s| {
        if s.resume(timeout) {
            web::json(StatusCode::CREATED, &sandbox_json(s))
        } else {
            json_error(StatusCode::CONFLICT, format!("Sandbox \"{}\" is already running", s.id))
        }
    })
}

fn set_timeout(shared: &Shared, id: &str, body: &[u8]) -> Result<Response, Reject> {
    let m = parse_object(body)?;
    let timeout = timeout(&m, "timeout", None)?;
    with_sandbox(shared, id, |s| {
        s.set_timeout(timeout);
        web::empty(StatusCode::NO_CONTENT)
    })
}

fn refresh(shared: &Shared, id: &str, body: &[u8]) -> Result<Response, Reject> {
    let m = parse_object(body)?;
    let secs = m.get("duration").and_then(Value::as_i64).unwrap_or(0);
    if !(0..=3600).contains(&secs) {
        return Err(Reject::new(StatusCode::BAD_REQUEST, "duration must be between 0 and 3600 seconds"));
    }
    with_sandbox(shared, id, |s| {
        s.extend(Duration::from_secs(secs as u64));
        web::empty(StatusCode::NO_CONTENT)
    })
}

/// `metadata=<urlencoded k=v&…>`: the value, once decoded, is itself a query string whose keys
/// and values the SDK percent-quoted before encoding it, so they are decoded once more.
fn metadata_filter(q: &BTreeMap<String, String>) -> Vec<(String, String)> {
    q.get("metadata")
        .map(|m| {
            web::query_pairs(Some(m))
                .into_iter()
                .map(|(k, v)| (web::percent_decode(&k), web::percent_decode(&v)))
                .collect()
        })
        .unwrap_or_default()
}

fn matches_metadata(s: &Sandbox, filter: &[(String, String)]) -> bool {
    filter.iter().all(|(k, v)| s.metadata.get(k) == Some(v))
}

fn list_v1(shared: &Shared, query: Option<&str>) -> Response {
    let q = web::query_map(query);
    let filter = metadata_filter(&q);
    let mut all: Vec<Arc<Sandbox>> = shared
        .sandboxes()
        .into_iter()
        .filter(|s| s.life().state == SandboxState::Running && matches_metadata(s, &filter))
        .collect();
    all.sort_by_key(|s| s.seq);
    web::json(StatusCode::OK, &Value::Array(all.iter().map(|s| listed(s)).collect()))
}

fn list_v2(shared: &Shared, query: Option<&str>) -> Result<Response, Reject> {
    let q = web::query_map(query);
    let filter = metadata_filter(&q);
    let mut states = vec![SandboxState::Running, SandboxState::Paused];
    if let Some(st) = q.get("state") {
        states.clear();
        for s in st.split(',').filter(|s| !s.is_empty()) {
            match s {
                "running" => states.push(SandboxState::Running),
                "paused" => states.push(SandboxState::Paused),
                other => return Err(Reject::new(StatusCode::BAD_REQUEST, format!("invalid state: {other}"))),
            }
        }
    }
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return Err(Reject::new(StatusCode::BAD_REQUEST, "limit must be between 1 and 100")),
    };
    let desc = match q.get("order").map(String::as_str) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => return Err(Reject::new(StatusCode::BAD_REQUEST, format!("invalid order: {other}"))),
    };
    let after = match q.get("startedAfter") {
        None => None,
        Some(t) => match parse_rfc3339(t) {
            Some(t) => Some(t),
            None => return Err(Reject::new(StatusCode::BAD_REQUEST, format!("invalid startedAfter: {t}"))),
        },
    };
    let cursor = match q.get("nextToken") {
        None => None,
        Some(t) => match t.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return Err(Reject::new(StatusCode::BAD_REQUEST, "invalid next token")),
        },
    };
    let template = q.get("template");

    let all = shared.sandboxes();
    let total_running = all.iter().filter(|s| s.life().state == SandboxState::Running).count();
    let mut hits: Vec<Arc<Sandbox>> = all
        .into_iter()
        .filter(|s| states.contains(&s.life().state))
        .filter(|s| matches_metadata(s, &filter))
        .filter(|s| after.is_none_or(|t| s.started_at > t))
        .filter(|s| template.is_none_or(|t| *t == s.template_id || *t == s.alias))
        .filter(|s| cursor.is_none_or(|c| if desc { s.seq <= c } else { s.seq >= c }))
        .collect();
    hits.sort_by_key(|s| s.seq);
    if desc {
        hits.reverse();
    }
    let next = hits.get(limit).map(|s| s.seq);
    hits.truncate(limit);
    let mut r = web::json(StatusCode::OK, &Value::Array(hits.iter().map(|s| listed(s)).collect()));
    if let Some(n) = next
        && let Ok(v) = HeaderValue::from_str(&n.to_string())
    {
        r.headers_mut().insert("x-next-token", v);
    }
    if let Ok(v) = HeaderValue::from_str(&total_running.to_string()) {
        r.headers_mut().insert("x-total-running", v);
    }
    Ok(r)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn template_ids_are_stable_and_api_shaped() {
        let a = template_id_for("claude");
        assert_eq!(a, template_id_for("claude"));
        assert_ne!(a, template_id_for("codex"));
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }

    #[test]
    fn metadata_filter_is_double_decoded() {
        // Python: urlencode({quote(k): quote(v)}) then the query encoding on top; this is what
        // the SDK sent for {"k": "v w", "a&b": "c=d"}.
        let q = web::query_map(Some("metadata=k%3Dv%252520w%26a%252526b%3Dc%25253Dd&limit=5"));
        assert_eq!(metadata_filter(&q), vec![("k".to_string(), "v w".to_string()), ("a&b".into(), "c=d".into())]);
    }

    #[test]
    fn legacy_ids_are_shortened() {
        assert_eq!(short_id("iabc-6532622b"), "iabc");
        assert_eq!(short_id("iabc"), "iabc");
    }
}
