//! Where the E2B planes are and how to talk to them, resolved as the SDKs do
//! (E2B-PROTOCOL.md §2.1 and §3.1).

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use crate::error::{Result, SandboxError};
use crate::secret::Secret;

/// `E2B_API_KEY`: the API key.
pub const ENV_API_KEY: &str = "E2B_API_KEY";
/// `E2B_DOMAIN`: the base domain (default `e2b.app`).
pub const ENV_DOMAIN: &str = "E2B_DOMAIN";
/// `E2B_API_URL`: the control-plane base URL, verbatim (overrides the domain).
pub const ENV_API_URL: &str = "E2B_API_URL";
/// `E2B_SANDBOX_URL`: the envd base URL for every sandbox, verbatim (requests are routed by the
/// `E2b-Sandbox-Id` header).
pub const ENV_SANDBOX_URL: &str = "E2B_SANDBOX_URL";

/// The default domain.
pub const DEFAULT_DOMAIN: &str = "e2b.app";
/// envd's port inside the sandbox.
pub(crate) const ENVD_PORT: u16 = 49983;
/// Domains served by the shared `sandbox.<domain>` host, routed by headers.
const SHARED_HOST_DOMAINS: &[&str] =
    &["e2b.app", "e2b.dev", "e2b.pro", "e2b-staging.dev", "e2b-tango.dev", "e2b-juliett.dev", "foxtrot-2.e2b.dev"];

/// The E2B client's settings. `Debug` never shows the key.
#[derive(Clone)]
pub struct E2bConfig {
    api_key: Secret,
    domain: String,
    api_url: String,
    sandbox_url: Option<String>,
    request_timeout: Duration,
    max_retries: u32,
    stream_idle_timeout: Duration,
    max_retry_after: Duration,
}

impl E2bConfig {
    /// Settings for `api_key` against the default domain.
    pub fn new(api_key: Secret) -> E2bConfig {
        E2bConfig {
            api_key,
            domain: DEFAULT_DOMAIN.to_owned(),
            api_url: format!("https://api.{DEFAULT_DOMAIN}"),
            sandbox_url: None,
            request_timeout: Duration::from_secs(60),
            max_retries: 3,
            stream_idle_timeout: Duration::from_secs(150),
            max_retry_after: Duration::from_secs(60),
        }
    }

    /// Reads `E2B_API_KEY`, `E2B_DOMAIN`, `E2B_API_URL` and `E2B_SANDBOX_URL` from the process
    /// environment. Empty values count as unset.
    pub fn from_env() -> Result<E2bConfig> {
        E2bConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Resolves the settings from any variable source (the environment, a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<E2bConfig> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let api_key = get(ENV_API_KEY).ok_or(SandboxError::MissingApiKey)?;
        let mut config = E2bConfig::new(Secret::new(api_key));
        if let Some(domain) = get(ENV_DOMAIN) {
            config = config.with_domain(&domain)?;
        }
        if let Some(url) = get(ENV_API_URL) {
            config.api_url = parse_base_url(ENV_API_URL, &url)?;
        }
        if let Some(url) = get(ENV_SANDBOX_URL) {
            config.sandbox_url = Some(parse_base_url(ENV_SANDBOX_URL, &url)?);
        }
        Ok(config)
    }

    /// Uses another domain: the API becomes `https://api.<domain>` (unless an API URL is set
    /// afterwards).
    pub fn with_domain(mut self, domain: &str) -> Result<E2bConfig> {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        self.api_url = domain_api_url(&domain)?;
        self.domain = domain;
        Ok(self)
    }

    /// Uses this control-plane URL verbatim.
    pub fn with_api_url(mut self, url: &str) -> Result<E2bConfig> {
        self.api_url = parse_base_url(ENV_API_URL, url)?;
        Ok(self)
    }

    /// Sends all envd traffic to this URL (routed by header).
    pub fn with_sandbox_url(mut self, url: &str) -> Result<E2bConfig> {
        self.sandbox_url = Some(parse_base_url(ENV_SANDBOX_URL, url)?);
        Ok(self)
    }

    /// Retries after 429/502/503/504 on the control plane (default 3, as the SDK).
    pub fn with_max_retries(mut self, retries: u32) -> E2bConfig {
        self.max_retries = retries;
        self
    }

    /// The timeout of each control-plane request and unary RPC (default 60 s).
    pub fn with_request_timeout(mut self, timeout: Duration) -> E2bConfig {
        self.request_timeout = timeout;
        self
    }

    /// How long a command or download stream may stay silent before it is given up (default
    /// 150 s; envd sends a keepalive every 50 s).
    pub fn with_stream_idle_timeout(mut self, timeout: Duration) -> E2bConfig {
        self.stream_idle_timeout = timeout;
        self
    }

    /// The longest `Retry-After` waited for; a longer one fails at once with its value (default
    /// 60 s).
    pub fn with_max_retry_after(mut self, limit: Duration) -> E2bConfig {
        self.max_retry_after = limit;
        self
    }

    /// The API key.
    pub fn api_key(&self) -> &Secret {
        &self.api_key
    }

    /// The domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The control-plane base URL.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The sandbox URL override, if any.
    pub fn sandbox_url(&self) -> Option<&str> {
        self.sandbox_url.as_deref()
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    pub(crate) fn max_retries(&self) -> u32 {
        self.max_retries
    }

    pub(crate) fn stream_idle_timeout(&self) -> Duration {
        self.stream_idle_timeout
    }

    pub(crate) fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// envd's base URL for a sandbox. `sandbox_domain` is the `domain` of the create or connect
    /// answer, when not null.
    pub fn envd_url(&self, sandbox_id: &str, sandbox_domain: Option<&str>) -> String {
        if let Some(url) = self.sandbox_url() {
            return url.to_owned();
        }
        let domain = sandbox_domain.filter(|d| !d.is_empty()).unwrap_or(&self.domain);
        if SHARED_HOST_DOMAINS.contains(&domain) {
            format!("https://sandbox.{domain}")
        } else {
            format!("https://{ENVD_PORT}-{sandbox_id}.{domain}")
        }
    }
}

fn domain_api_url(domain: &str) -> Result<String> {
    if domain.is_empty() || domain.contains(['/', ':', '@', '?', '#', ' ']) {
        return Err(SandboxError::Config { name: ENV_DOMAIN, reason: format!("{domain:?} is not a domain name") });
    }
    parse_base_url(ENV_DOMAIN, &format!("https://api.{domain}"))
}

/// Parses a base URL: http or https, no query or fragment. The URL itself is not secret, but
/// it never goes into an error whole: credentials could hide in its user-info. Returned without
/// a trailing slash, ready for `format!("{base}/path")`.
fn parse_base_url(name: &'static str, value: &str) -> Result<String> {
    let url =
        Url::parse(value.trim()).map_err(|e| SandboxError::Config { name, reason: format!("not a URL ({e})") })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SandboxError::Config { name, reason: format!("scheme {:?} is not http or https", url.scheme()) });
    }
    if url.host_str().is_none() {
        return Err(SandboxError::Config { name, reason: "the URL has no host".into() });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SandboxError::Config { name, reason: "the URL must not carry credentials".into() });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(SandboxError::Config { name, reason: "the URL must not have a query or fragment".into() });
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl fmt::Debug for E2bConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("E2bConfig")
            .field("api_key", &self.api_key)
            .field("domain", &self.domain)
            .field("api_url", &self.api_url())
            .field("sandbox_url", &self.sandbox_url())
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)]) -> Result<E2bConfig> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        E2bConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let c = resolve(&[("E2B_API_KEY", "e2b_k")]).unwrap();
        assert_eq!(c.domain(), "e2b.app");
        assert_eq!(c.api_url(), "https://api.e2b.app");
        assert_eq!(c.sandbox_url(), None);
        assert_eq!(c.envd_url("iabc", None), "https://sandbox.e2b.app");
        assert_eq!(c.api_key().expose(), "e2b_k");
    }

    #[test]
    fn missing_or_empty_key() {
        assert!(matches!(resolve(&[]), Err(SandboxError::MissingApiKey)));
        assert!(matches!(resolve(&[("E2B_API_KEY", "  ")]), Err(SandboxError::MissingApiKey)));
    }

    #[test]
    fn domain_decides_both_planes() {
        let c = resolve(&[("E2B_API_KEY", "k"), ("E2B_DOMAIN", "e2b.dev")]).unwrap();
        assert_eq!(c.api_url(), "https://api.e2b.dev");
        assert_eq!(c.envd_url("iabc", None), "https://sandbox.e2b.dev");

        let c = resolve(&[("E2B_API_KEY", "k"), ("E2B_DOMAIN", "example.com")]).unwrap();
        assert_eq!(c.api_url(), "https://api.example.com");
        assert_eq!(c.envd_url("iabc", None), "https://49983-iabc.example.com");
        // The create answer's domain wins over the configured one.
        assert_eq!(c.envd_url("iabc", Some("e2b.app")), "https://sandbox.e2b.app");
        assert_eq!(c.envd_url("iabc", Some("other.net")), "https://49983-iabc.other.net");
        assert_eq!(c.envd_url("iabc", Some("")), "https://49983-iabc.example.com");

        assert!(matches!(
            resolve(&[("E2B_API_KEY", "k"), ("E2B_DOMAIN", "http://x")]),
            Err(SandboxError::Config { name: "E2B_DOMAIN", .. })
        ));
    }

    #[test]
    fn urls_are_taken_verbatim() {
        let c = resolve(&[
            ("E2B_API_KEY", "k"),
            ("E2B_DOMAIN", "example.com"),
            ("E2B_API_URL", "http://127.0.0.1:3000"),
            ("E2B_SANDBOX_URL", "http://127.0.0.1:49983/"),
        ])
        .unwrap();
        assert_eq!(c.api_url(), "http://127.0.0.1:3000");
        assert_eq!(c.sandbox_url(), Some("http://127.0.0.1:49983"));
        assert_eq!(c.envd_url("iabc", Some("e2b.app")), "http://127.0.0.1:49983");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_credentials() {
        for bad in ["ftp://x", "not a url", "http://user:pw-secret@host", "http://h/?q=1"] {
            let err = resolve(&[("E2B_API_KEY", "k"), ("E2B_API_URL", bad)]).unwrap_err();
            assert!(matches!(err, SandboxError::Config { name: "E2B_API_URL", .. }), "{bad}: {err:?}");
            assert!(!err.to_string().contains("pw-secret"), "{err}");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let c = resolve(&[("E2B_API_KEY", "e2b_planted_key_000")]).unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("e2b_planted_key_000"), "{text}");
        assert!(text.contains("[redacted]"));
    }
}
