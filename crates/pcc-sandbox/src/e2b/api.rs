//! The control plane: REST at `api.<domain>` (E2B-PROTOCOL.md §2), with the SDK's retries.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Response, Url};
use tracing::{debug, warn};

use super::envd::EnvdConn;
use super::wire::{ApiErrorWire, DetailWire, SandboxWire};
use super::{Inner, transport_error};
use crate::error::{Resource, Result, SandboxError, Service};
use crate::provider::{Connection, CreateOptions, ListQuery, Sandbox, SandboxInfo};
use crate::secret::{Secret, scrub};

/// The most of an error body read into memory.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;
/// The largest lifetime sent: the wire field is an int32 of seconds. Anything longer is
/// clamped here, and the server answers with its own plan limit (400 "Timeout cannot be
/// greater than N hours").
const MAX_TIMEOUT_SECS: u64 = i32::MAX as u64;
/// A list follows at most this many pages (a server handing out tokens forever stops here).
const MAX_PAGES: usize = 10_000;

/// Which failures a request may be repeated after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Safe to repeat: 429, 502, 503, 504 are retried.
    Idempotent,
    /// Create without an idempotency key: only 429 and 503, where the server refused before
    /// making anything; a gateway error (502, 504) may hide a sandbox that was made.
    Refused,
}

impl Retry {
    fn allows(self, status: u16) -> bool {
        match self {
            Retry::Idempotent => matches!(status, 429 | 502 | 503 | 504),
            Retry::Refused => matches!(status, 429 | 503),
        }
    }
}

/// One control-plane request.
struct ApiRequest<'a> {
    operation: &'static str,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
    idempotency_key: Option<&'a str>,
    retry: Retry,
}

impl<'a> ApiRequest<'a> {
    fn new(operation: &'static str, method: Method, path: String) -> ApiRequest<'a> {
        ApiRequest {
            operation,
            method,
            path,
            query: Vec::new(),
            body: None,
            idempotency_key: None,
            retry: Retry::Idempotent,
        }
    }

    fn json(mut self, body: serde_json::Value) -> ApiRequest<'a> {
        self.body = Some(body);
        self
    }
}

/// `Retry-After` in delta-seconds (HTTP dates are not used by E2B).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// `Should-Retry: true|false`, the server's override of the retry decision.
fn should_retry(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get("should-retry")?.to_str().ok()?.trim().to_ascii_lowercase();
    match value.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Exponential backoff from 0.1 s to 10 s with jitter in [50%, 100%].
fn backoff(attempt: u32) -> Duration {
    let base = 100u64.saturating_mul(1u64 << attempt.min(10)).min(10_000);
    let jitter = std::collections::hash_map::RandomState::new().build_hasher().finish() % 500;
    Duration::from_millis(base * (500 + jitter) / 1000)
}

impl Inner {
    fn api_secrets(&self) -> [&Secret; 1] {
        [self.config.api_key()]
    }

    fn api_url(&self, request: &ApiRequest<'_>) -> Result<Url> {
        let mut url = Url::parse(&format!("{}{}", self.config.api_url(), request.path))
            .map_err(|e| SandboxError::Config { name: super::ENV_API_URL, reason: format!("not a URL ({e})") })?;
        if !request.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &request.query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    fn api_builder(&self, request: &ApiRequest<'_>, url: Url) -> Result<reqwest::RequestBuilder> {
        let mut key = HeaderValue::from_str(self.config.api_key().expose()).map_err(|_| SandboxError::Config {
            name: super::ENV_API_KEY,
            reason: "the key holds characters that cannot travel in an HTTP header".into(),
        })?;
        key.set_sensitive(true);
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .header("X-API-Key", key)
            .timeout(self.config.request_timeout());
        if let Some(body) = &request.body {
            let bytes = serde_json::to_vec(body).map_err(|e| SandboxError::Protocol {
                service: Service::Api,
                message: format!("cannot encode the {} request: {e}", request.operation),
            })?;
            builder = builder.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        if let Some(key) = request.idempotency_key {
            builder = builder.header("Idempotency-Key", key);
        }
        Ok(builder)
    }

    /// Sends a request, retrying as the SDK does; returns the final response whatever its
    /// status.
    async fn api_send(&self, request: &ApiRequest<'_>) -> Result<Response> {
        let url = self.api_url(request)?;
        let max = self.config.max_retries();
        let mut attempt = 0u32;
        loop {
            let builder = self.api_builder(request, url.clone())?;
            let response = match builder.send().await {
                Ok(r) => r,
                // Nothing reached the server: always safe to try again.
                Err(e) if e.is_connect() && attempt < max => {
                    let delay = backoff(attempt);
                    debug!(
                        operation = request.operation,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "connect failed, retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(transport_error(Service::Api, request.operation, e, &self.api_secrets())),
            };
            let status = response.status().as_u16();
            if matches!(status, 429 | 502 | 503 | 504) && attempt < max {
                let headers = response.headers();
                let retry = match should_retry(headers) {
                    Some(forced) => forced,
                    None => request.retry.allows(status),
                };
                if retry {
                    let delay = retry_after(headers).unwrap_or_else(|| backoff(attempt));
                    if delay <= self.config.max_retry_after() {
                        warn!(
                            operation = request.operation,
                            status,
                            attempt,
                            delay_ms = delay.as_millis() as u64,
                            "E2B API asked to retry"
                        );
                        drop(response);
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                        continue;
                    }
                }
            }
            return Ok(response);
        }
    }

    /// Sends and fails on any non-2xx status.
    async fn api_ok(&self, request: &ApiRequest<'_>, sandbox: Option<&str>) -> Result<Response> {
        let response = self.api_send(request).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.api_error(request.operation, sandbox, response).await)
        }
    }

    /// A non-2xx answer as a typed error.
    async fn api_error(&self, operation: &'static str, sandbox: Option<&str>, response: Response) -> SandboxError {
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let body = read_error_body(response, MAX_ERROR_BODY, self.config.request_timeout()).await;
        let wire: ApiErrorWire = serde_json::from_slice(&body).unwrap_or_default();
        let raw = match wire.message {
            Some(m) => m,
            None => String::from_utf8_lossy(&body).into_owned(),
        };
        let mut message = scrub(&raw, &self.api_secrets());
        if message.is_empty() {
            message = format!("HTTP {status}");
        }
        debug!(operation, status, "E2B API error");
        match status {
            401 | 403 => SandboxError::Auth { service: Service::Api, message },
            404 => SandboxError::NotFound {
                resource: match sandbox {
                    Some(id) => Resource::Sandbox(id.to_owned()),
                    None => Resource::Other(operation.to_owned()),
                },
                message,
            },
            429 => SandboxError::RateLimited { service: Service::Api, message, retry_after },
            504 => SandboxError::TimedOut { operation: operation.to_owned(), message },
            _ => SandboxError::Api { service: Service::Api, status, message, error_code: wire.error_code },
        }
    }

    async fn json_body<T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        response: Response,
    ) -> Result<T> {
        let bytes =
            response.bytes().await.map_err(|e| transport_error(Service::Api, operation, e, &self.api_secrets()))?;
        serde_json::from_slice(&bytes).map_err(|e| SandboxError::Protocol {
            service: Service::Api,
            message: scrub(&format!("unexpected {operation} answer: {e}"), &self.api_secrets()),
        })
    }

    fn handle(&self, wire: SandboxWire) -> Result<Sandbox> {
        // Both go into the envd URL (host name and routing header): check them first.
        if super::check_id(&wire.sandbox_id).is_err() {
            return Err(SandboxError::Protocol {
                service: Service::Api,
                message: "the E2B API answered with an invalid sandbox id".into(),
            });
        }
        if let Some(domain) = wire.domain.as_deref().filter(|d| !d.is_empty())
            && !valid_domain(domain)
        {
            return Err(SandboxError::Protocol {
                service: Service::Api,
                message: "the E2B API answered with an invalid sandbox domain".into(),
            });
        }
        let envd_url = self.config.envd_url(&wire.sandbox_id, wire.domain.as_deref());
        let conn = EnvdConn {
            base_url: envd_url,
            sandbox_id: wire.sandbox_id.clone(),
            access_token: wire.envd_access_token.filter(|t| !t.is_empty()).map(Secret::new),
            api_key: self.config.api_key().clone(),
        };
        Ok(Sandbox::new(wire.sandbox_id, wire.template_id, wire.envd_version, Connection::E2b(Arc::new(conn))))
    }

    pub(crate) async fn create(&self, options: &CreateOptions) -> Result<Sandbox> {
        let mut body = serde_json::json!({
            "templateID": options.template,
            "metadata": options.metadata,
            "envVars": options.env_vars,
        });
        if let Some(timeout) = options.timeout {
            body["timeout"] = serde_json::json!(whole_seconds(timeout));
        }
        if let Some(allow) = options.allow_internet_access {
            body["allow_internet_access"] = serde_json::json!(allow);
        }
        let mut request = ApiRequest::new("create sandbox", Method::POST, "/v2/sandboxes".into()).json(body);
        request.idempotency_key = options.idempotency_key.as_deref();
        request.retry = if request.idempotency_key.is_some() { Retry::Idempotent } else { Retry::Refused };
        let response = self.api_ok(&request, None).await?;
        let wire: SandboxWire = self.json_body(request.operation, response).await?;
        debug!(sandbox_id = %wire.sandbox_id, template = %options.template, envd_version = ?wire.envd_version, "created sandbox");
        self.handle(wire)
    }

    pub(crate) async fn connect(&self, id: &str) -> Result<Sandbox> {
        let request = ApiRequest::new("connect to sandbox", Method::POST, format!("/v2/sandboxes/{id}/connect"))
            .json(serde_json::json!({}));
        let response = self.api_ok(&request, Some(id)).await?;
        let wire: SandboxWire = self.json_body(request.operation, response).await?;
        debug!(sandbox_id = %wire.sandbox_id, "connected to sandbox");
        self.handle(wire)
    }

    pub(crate) async fn info(&self, id: &str) -> Result<SandboxInfo> {
        let request = ApiRequest::new("get sandbox info", Method::GET, format!("/sandboxes/{id}"));
        let response = self.api_ok(&request, Some(id)).await?;
        let wire: DetailWire = self.json_body(request.operation, response).await?;
        Ok(wire.into())
    }

    pub(crate) async fn list(&self, query: &ListQuery) -> Result<Vec<SandboxInfo>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut request = ApiRequest::new("list sandboxes", Method::GET, "/v2/sandboxes".into());
            if !query.metadata.is_empty() {
                request.query.push(("metadata", metadata_query(&query.metadata)));
            }
            if !query.states.is_empty() {
                let states: Vec<&str> = query.states.iter().map(|s| s.as_str()).collect();
                request.query.push(("state", states.join(",")));
            }
            request.query.push(("limit", query.page_size.unwrap_or(100).clamp(1, 100).to_string()));
            if let Some(t) = &token {
                request.query.push(("nextToken", t.clone()));
            }
            let response = self.api_ok(&request, None).await?;
            let next = response
                .headers()
                .get("x-next-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .filter(|t| !t.is_empty());
            let page: Vec<DetailWire> = self.json_body(request.operation, response).await?;
            out.extend(page.into_iter().map(SandboxInfo::from));
            match next {
                Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    pub(crate) async fn set_timeout(&self, id: &str, timeout: Duration) -> Result<()> {
        let request = ApiRequest::new("set sandbox timeout", Method::POST, format!("/sandboxes/{id}/timeout"))
            .json(serde_json::json!({ "timeout": whole_seconds(timeout) }));
        self.api_ok(&request, Some(id)).await?;
        debug!(sandbox_id = id, timeout_s = whole_seconds(timeout), "set sandbox timeout");
        Ok(())
    }

    pub(crate) async fn pause(&self, id: &str) -> Result<bool> {
        let request = ApiRequest::new("pause sandbox", Method::POST, format!("/sandboxes/{id}/pause"))
            .json(serde_json::json!({}));
        let response = self.api_send(&request).await?;
        match response.status().as_u16() {
            409 => Ok(false),
            s if (200..300).contains(&s) => Ok(true),
            _ => Err(self.api_error(request.operation, Some(id), response).await),
        }
    }

    pub(crate) async fn kill(&self, id: &str) -> Result<bool> {
        let request = ApiRequest::new("kill sandbox", Method::DELETE, format!("/sandboxes/{id}"));
        let response = self.api_send(&request).await?;
        match response.status().as_u16() {
            404 => Ok(false),
            s if (200..300).contains(&s) => {
                debug!(sandbox_id = id, "killed sandbox");
                Ok(true)
            }
            _ => Err(self.api_error(request.operation, Some(id), response).await),
        }
    }
}

/// A host name: dot-separated labels of `[A-Za-z0-9-]`, none empty or starting or ending
/// with `-`.
fn valid_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A lifetime in whole seconds, rounded up, at least 1 (the API refuses 0), at most
/// [`MAX_TIMEOUT_SECS`].
fn whole_seconds(d: Duration) -> u64 {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    secs.clamp(1, MAX_TIMEOUT_SECS)
}

/// The `metadata` list filter, layered as the SDK does it: each key and value is
/// percent-quoted, the quoted pairs are form-encoded into `k=v&k2=v2`, and that string is
/// encoded once more as the query value (by the URL builder). The server decodes all three.
fn metadata_query(metadata: &BTreeMap<String, String>) -> String {
    let twice = |s: &str| percent_encode(&percent_encode(s));
    metadata.iter().map(|(k, v)| format!("{}={}", twice(k), twice(v))).collect::<Vec<_>>().join("&")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reads at most `limit` bytes of a body (an error page can be anything), for at most
/// `within`; a body that does not arrive in time is left out (empty), the status still tells.
pub(crate) async fn read_error_body(response: Response, limit: usize, within: Duration) -> Vec<u8> {
    let read = async {
        let mut out = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(Ok(chunk)) = stream.next().await {
            let room = limit.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if out.len() >= limit {
                break;
            }
        }
        out
    };
    tokio::time::timeout(within, read).await.unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn retry_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        assert_eq!(should_retry(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        h.insert("should-retry", HeaderValue::from_static("False"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(1)));
        assert_eq!(should_retry(&h), Some(false));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn retry_policy() {
        for s in [429, 502, 503, 504] {
            assert!(Retry::Idempotent.allows(s));
        }
        assert!(Retry::Refused.allows(429) && Retry::Refused.allows(503));
        assert!(!Retry::Refused.allows(502) && !Retry::Refused.allows(504));
        assert!(!Retry::Idempotent.allows(500) && !Retry::Idempotent.allows(401));
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        for attempt in 0..20 {
            let d = backoff(attempt);
            assert!(d >= Duration::from_millis(50) && d <= Duration::from_secs(10), "{attempt}: {d:?}");
        }
        assert!(backoff(5) > backoff(0));
    }

    #[test]
    fn domains_are_checked() {
        for good in ["e2b.app", "e2b.dev", "eu-1.e2b.app", "localhost"] {
            assert!(valid_domain(good), "{good}");
        }
        for bad in ["", "e2b.app/x", "evil.com#", "a..b", ".e2b.app", "-a.b", "user@host", "h:1", "a b"] {
            assert!(!valid_domain(bad), "{bad}");
        }
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(60_001)), 61);
        assert_eq!(whole_seconds(Duration::from_secs(600)), 600);
        assert_eq!(whole_seconds(Duration::MAX), MAX_TIMEOUT_SECS);
        assert_eq!(whole_seconds(Duration::new(u64::MAX, 1)), MAX_TIMEOUT_SECS);
    }

    #[test]
    fn metadata_is_encoded_as_the_sdk_does() {
        // What the Python SDK sent for {"k": "v w", "a&b": "c=d"} (captured; pairs reordered
        // here because a BTreeMap sorts its keys).
        let m = BTreeMap::from([("k".to_owned(), "v w".to_owned()), ("a&b".to_owned(), "c=d".to_owned())]);
        assert_eq!(metadata_query(&m), "a%2526b=c%253Dd&k=v%2520w");
        let mut url = Url::parse("http://h/v2/sandboxes").unwrap();
        url.query_pairs_mut().append_pair("metadata", &metadata_query(&m));
        assert_eq!(url.query(), Some("metadata=a%252526b%3Dc%25253Dd%26k%3Dv%252520w"));
    }
}
