//! Sandbox failures, typed by what the caller can do about them.
//!
//! No variant holds a reqwest error or a raw response body: foreign text is scrubbed of secrets
//! and bounded before it lands in a `message` (see `secret::scrub`). A command that exits
//! non-zero is not an error; its [`crate::ExitStatus`] says so.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Who answered (or failed to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The E2B control plane (`api.<domain>`).
    Api,
    /// envd, the daemon inside an E2B sandbox.
    Envd,
    /// The local provider.
    Local,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Api => "the E2B API",
            Service::Envd => "the sandbox daemon",
            Service::Local => "the local sandbox",
        })
    }
}

/// The thing that was not found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A sandbox, by id.
    Sandbox(String),
    /// A process inside a sandbox, by pid.
    Process(u32),
    /// A file or directory inside a sandbox.
    File(String),
    /// Something else the daemon could not find (an RPC route, say).
    Other(String),
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Sandbox(id) => write!(f, "sandbox {id}"),
            Resource::Process(pid) => write!(f, "process {pid}"),
            Resource::File(path) => write!(f, "file {path}"),
            Resource::Other(what) => f.write_str(what),
        }
    }
}

/// A Connect protocol error code (the JSON codec spells them in snake_case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectCode {
    /// `canceled`
    Canceled,
    /// `unknown`
    Unknown,
    /// `invalid_argument`
    InvalidArgument,
    /// `deadline_exceeded`
    DeadlineExceeded,
    /// `not_found`
    NotFound,
    /// `already_exists`
    AlreadyExists,
    /// `permission_denied`
    PermissionDenied,
    /// `resource_exhausted`
    ResourceExhausted,
    /// `failed_precondition`
    FailedPrecondition,
    /// `aborted`
    Aborted,
    /// `out_of_range`
    OutOfRange,
    /// `unimplemented`
    Unimplemented,
    /// `internal`
    Internal,
    /// `unavailable`
    Unavailable,
    /// `data_loss`
    DataLoss,
    /// `unauthenticated`
    Unauthenticated,
    /// A code this client does not know.
    Other(String),
}

impl ConnectCode {
    /// Parses the wire spelling; unknown codes are kept as [`ConnectCode::Other`].
    pub fn parse(code: &str) -> ConnectCode {
        match code {
            "canceled" | "cancelled" => ConnectCode::Canceled,
            "unknown" => ConnectCode::Unknown,
            "invalid_argument" => ConnectCode::InvalidArgument,
            "deadline_exceeded" => ConnectCode::DeadlineExceeded,
            "not_found" => ConnectCode::NotFound,
            "already_exists" => ConnectCode::AlreadyExists,
            "permission_denied" => ConnectCode::PermissionDenied,
            "resource_exhausted" => ConnectCode::ResourceExhausted,
            "failed_precondition" => ConnectCode::FailedPrecondition,
            "aborted" => ConnectCode::Aborted,
            "out_of_range" => ConnectCode::OutOfRange,
            "unimplemented" => ConnectCode::Unimplemented,
            "internal" => ConnectCode::Internal,
            "unavailable" => ConnectCode::Unavailable,
            "data_loss" => ConnectCode::DataLoss,
            "unauthenticated" => ConnectCode::Unauthenticated,
            other => ConnectCode::Other(other.to_owned()),
        }
    }

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ConnectCode::Canceled => "canceled",
            ConnectCode::Unknown => "unknown",
            ConnectCode::InvalidArgument => "invalid_argument",
            ConnectCode::DeadlineExceeded => "deadline_exceeded",
            ConnectCode::NotFound => "not_found",
            ConnectCode::AlreadyExists => "already_exists",
            ConnectCode::PermissionDenied => "permission_denied",
            ConnectCode::ResourceExhausted => "resource_exhausted",
            ConnectCode::FailedPrecondition => "failed_precondition",
            ConnectCode::Aborted => "aborted",
            ConnectCode::OutOfRange => "out_of_range",
            ConnectCode::Unimplemented => "unimplemented",
            ConnectCode::Internal => "internal",
            ConnectCode::Unavailable => "unavailable",
            ConnectCode::DataLoss => "data_loss",
            ConnectCode::Unauthenticated => "unauthenticated",
            ConnectCode::Other(code) => code,
        }
    }
}

impl fmt::Display for ConnectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a sandbox provider can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// No E2B API key in the configuration or the environment.
    #[error("no E2B API key: E2B_API_KEY is not set")]
    MissingApiKey,
    /// A configuration value is unusable (a malformed URL, say).
    #[error("invalid {name}: {reason}")]
    Config {
        /// The setting, e.g. `E2B_API_URL`.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The API key or the sandbox access token was refused (HTTP 401/403, `unauthenticated`,
    /// `permission_denied`).
    #[error("{service} refused the credentials: {message}")]
    Auth {
        /// Who refused.
        service: Service,
        /// The server's message, scrubbed.
        message: String,
    },
    /// A sandbox, process or file does not exist.
    #[error("{resource} not found: {message}")]
    NotFound {
        /// What was looked for.
        resource: Resource,
        /// The server's message, scrubbed.
        message: String,
    },
    /// Too many requests or too many concurrent sandboxes (HTTP 429, `resource_exhausted`), after
    /// the retries the server allowed.
    #[error("{service} is rate limiting requests: {message}")]
    RateLimited {
        /// Who refused.
        service: Service,
        /// The server's message, scrubbed.
        message: String,
        /// When the server said a retry could succeed.
        retry_after: Option<Duration>,
    },
    /// The sandbox is no longer running: it timed out, was killed, or its host lost it (envd
    /// answered through the proxy with 502).
    #[error("sandbox {id} is gone: {message}")]
    SandboxGone {
        /// The sandbox id.
        id: String,
        /// The proxy's message, scrubbed.
        message: String,
    },
    /// A deadline passed: a command's timeout (`deadline_exceeded`; the process was killed), a
    /// request's timeout, or a stream that went silent.
    #[error("{operation} timed out: {message}")]
    TimedOut {
        /// What was waited for.
        operation: String,
        /// Details.
        message: String,
    },
    /// The peer broke the protocol: a malformed or truncated frame, a stream with no end, a
    /// body that is not the JSON it should be.
    #[error("protocol error from {service}: {message}")]
    Protocol {
        /// Who sent it.
        service: Service,
        /// What was wrong.
        message: String,
    },
    /// The control plane answered with another error status.
    #[error("{service} answered {status}: {message}")]
    Api {
        /// Who answered.
        service: Service,
        /// The HTTP status.
        status: u16,
        /// The server's message, scrubbed.
        message: String,
        /// E2B's machine-readable `error_code`, when given.
        error_code: Option<String>,
    },
    /// envd answered an RPC with another Connect error.
    #[error("{operation} failed ({code}): {message}")]
    Rpc {
        /// The RPC or endpoint.
        operation: String,
        /// The Connect code.
        code: ConnectCode,
        /// The server's message, scrubbed.
        message: String,
    },
    /// The connection failed (DNS, refused, reset, TLS) before or while talking to a service.
    #[error("cannot talk to {service}: {message}")]
    Transport {
        /// Who could not be reached.
        service: Service,
        /// The transport's description, without URLs or secrets.
        message: String,
    },
    /// A local file operation failed.
    #[error("{op} {}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A path would leave the sandbox's root (local provider).
    #[error("path {path:?} is not inside the sandbox: {reason}")]
    PathOutsideSandbox {
        /// The path as given.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The command cannot be expressed (an empty argument vector, a NUL byte).
    #[error("invalid command: {reason}")]
    InvalidCommand {
        /// Why.
        reason: String,
    },
    /// The provider has no such operation.
    #[error("the {provider} provider cannot {operation}")]
    Unsupported {
        /// The provider's name.
        provider: &'static str,
        /// The operation.
        operation: &'static str,
    },
    /// A sandbox handle was passed to a provider that did not make it.
    #[error("sandbox {id} belongs to the {owner} provider, not {provider}")]
    WrongProvider {
        /// The sandbox id.
        id: String,
        /// The provider that made the handle.
        owner: &'static str,
        /// The provider it was passed to.
        provider: &'static str,
    },
}

impl SandboxError {
    /// A stable snake_case name for the error class, for JSON output and exit-code mapping.
    pub fn code(&self) -> &'static str {
        match self {
            SandboxError::MissingApiKey => "missing_api_key",
            SandboxError::Config { .. } => "config",
            SandboxError::Auth { .. } => "auth",
            SandboxError::NotFound { .. } => "not_found",
            SandboxError::RateLimited { .. } => "rate_limited",
            SandboxError::SandboxGone { .. } => "sandbox_gone",
            SandboxError::TimedOut { .. } => "timed_out",
            SandboxError::Protocol { .. } => "protocol",
            SandboxError::Api { .. } => "api",
            SandboxError::Rpc { .. } => "rpc",
            SandboxError::Transport { .. } => "transport",
            SandboxError::Io { .. } => "io",
            SandboxError::PathOutsideSandbox { .. } => "path_outside_sandbox",
            SandboxError::InvalidCommand { .. } => "invalid_command",
            SandboxError::Unsupported { .. } => "unsupported",
            SandboxError::WrongProvider { .. } => "wrong_provider",
        }
    }

    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            SandboxError::MissingApiKey => {
                Some("set E2B_API_KEY (https://e2b.dev/dashboard), or use the local provider (--provider local)".into())
            }
            SandboxError::Auth { service: Service::Api, .. } => {
                Some("check E2B_API_KEY: the key may be mistyped, revoked or for another team".into())
            }
            SandboxError::Auth { .. } => Some("reconnect to the sandbox to get a fresh access token".into()),
            SandboxError::RateLimited { .. } => {
                Some("wait and retry; the plan limits concurrent sandboxes and the creation rate".into())
            }
            SandboxError::SandboxGone { .. } => {
                Some("the sandbox timed out or was killed; start a new one (a longer --timeout keeps it alive)".into())
            }
            SandboxError::Transport { service: Service::Api | Service::Envd, .. } => {
                Some("check the network, and E2B_DOMAIN / E2B_API_URL if set".into())
            }
            SandboxError::Config { name, .. } => Some(format!("fix or unset {name}")),
            _ => None,
        }
    }
}

/// Results in this crate.
pub type Result<T, E = SandboxError> = std::result::Result<T, E>;
