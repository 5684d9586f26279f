//! JSON shapes on the wire (E2B-PROTOCOL.md §2.5, §3.4), parsed leniently: unknown fields are
//! ignored, protojson's omitted zero values default, and 64-bit integers may come as strings.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::provider::{SandboxInfo, SandboxState};

/// `Sandbox`: the answer to create and connect. `Debug` redacts the access token.
#[derive(Deserialize)]
pub(crate) struct SandboxWire {
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    #[serde(rename = "templateID", default)]
    pub template_id: String,
    #[serde(rename = "envdVersion", default)]
    pub envd_version: Option<String>,
    #[serde(rename = "envdAccessToken", default)]
    pub envd_access_token: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
}

impl fmt::Debug for SandboxWire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxWire")
            .field("sandbox_id", &self.sandbox_id)
            .field("template_id", &self.template_id)
            .field("envd_version", &self.envd_version)
            .field("envd_access_token", &self.envd_access_token.as_ref().map(|_| crate::secret::REDACTED))
            .field("domain", &self.domain)
            .finish()
    }
}

/// `SandboxDetail` and `ListedSandbox`.
#[derive(Debug, Deserialize)]
pub(crate) struct DetailWire {
    #[serde(rename = "sandboxID")]
    sandbox_id: String,
    #[serde(rename = "templateID", default)]
    template_id: String,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(rename = "startedAt", default)]
    started_at: Option<String>,
    #[serde(rename = "endAt", default)]
    end_at: Option<String>,
    #[serde(rename = "cpuCount", default, deserialize_with = "lenient_opt_u32")]
    cpu_count: Option<u32>,
    #[serde(rename = "memoryMB", default, deserialize_with = "lenient_opt_u32")]
    memory_mb: Option<u32>,
    #[serde(rename = "diskSizeMB", default, deserialize_with = "lenient_opt_u32")]
    disk_size_mb: Option<u32>,
    #[serde(rename = "envdVersion", default)]
    envd_version: Option<String>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

impl From<DetailWire> for SandboxInfo {
    fn from(w: DetailWire) -> SandboxInfo {
        SandboxInfo {
            id: w.sandbox_id,
            template_id: w.template_id,
            alias: w.alias.filter(|a| !a.is_empty()),
            state: w.state.as_deref().map_or(SandboxState::Running, SandboxState::parse),
            started_at: w.started_at,
            end_at: w.end_at,
            cpu_count: w.cpu_count,
            memory_mb: w.memory_mb,
            disk_size_mb: w.disk_size_mb,
            envd_version: w.envd_version,
            metadata: w.metadata.unwrap_or_default(),
        }
    }
}

/// An E2B control-plane error body: `{"code": 404, "message": "…", "error_code"?: "…"}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ApiErrorWire {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
}

/// `StartRequest`.
#[derive(Debug, Serialize)]
pub(crate) struct StartRequestWire<'a> {
    pub process: ProcessConfigWire<'a>,
    pub stdin: bool,
}

/// `ProcessConfig`. `Debug` shows the environment's names only and no arguments (the script
/// may hold credentials).
#[derive(Serialize)]
pub(crate) struct ProcessConfigWire<'a> {
    pub cmd: &'a str,
    pub args: Vec<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub envs: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<&'a str>,
}

impl fmt::Debug for ProcessConfigWire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessConfigWire")
            .field("cmd", &self.cmd)
            .field("args", &format_args!("[{} arguments]", self.args.len()))
            .field("envs", &self.envs.keys().collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .finish()
    }
}

/// `SendSignalRequest`.
#[derive(Debug, Serialize)]
pub(crate) struct SendSignalWire {
    pub process: PidSelectorWire,
    pub signal: &'static str,
}

/// `ProcessSelector` by pid.
#[derive(Debug, Serialize)]
pub(crate) struct PidSelectorWire {
    pub pid: u32,
}

/// `StartResponse` / `ConnectResponse`: one `ProcessEvent`.
#[derive(Debug, Deserialize)]
pub(crate) struct ProcessEventEnvelope<'a> {
    #[serde(borrow, default)]
    pub event: Option<ProcessEventWire<'a>>,
}

/// `ProcessEvent`: a oneof, so exactly one member is set.
#[derive(Debug, Deserialize)]
pub(crate) struct ProcessEventWire<'a> {
    #[serde(default)]
    pub start: Option<StartEventWire>,
    #[serde(borrow, default)]
    pub data: Option<DataEventWire<'a>>,
    #[serde(default)]
    pub end: Option<EndEventWire>,
    // `keepalive` is the remaining member; it carries nothing and falls through as unknown.
}

/// `ProcessEvent.StartEvent`; `pid` is omitted when 0.
#[derive(Debug, Deserialize)]
pub(crate) struct StartEventWire {
    #[serde(default, deserialize_with = "lenient_u32")]
    pub pid: u32,
}

/// `ProcessEvent.DataEvent`: base64 bytes.
#[derive(Debug, Deserialize)]
pub(crate) struct DataEventWire<'a> {
    #[serde(borrow, default)]
    pub stdout: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub stderr: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub pty: Option<Text<'a>>,
}

/// A string borrowed from the frame when it has no escapes (base64 never has), so output is
/// not copied twice. (`Option<Cow<str>>` alone would always allocate.)
#[derive(Debug, Deserialize)]
pub(crate) struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

/// `ProcessEvent.EndEvent`; `exitCode` is omitted when 0.
#[derive(Debug, Deserialize)]
pub(crate) struct EndEventWire {
    #[serde(rename = "exitCode", alias = "exit_code", default, deserialize_with = "lenient_i32")]
    pub exit_code: i32,
    #[serde(default)]
    pub exited: bool,
    #[serde(default)]
    pub status: String,
}

/// protojson writes 64-bit integers as strings and parsers accept either form for any integer.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    Num(i64),
    Str(String),
}

impl NumOrString {
    fn as_i64(&self) -> Option<i64> {
        match self {
            NumOrString::Num(n) => Some(*n),
            NumOrString::Str(s) => s.trim().parse().ok(),
        }
    }
}

fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v: Option<NumOrString> = Option::deserialize(d)?;
    match v {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| serde::de::Error::custom("expected an integer")),
    }
}

fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = lenient_i64(d)?.unwrap_or(0);
    u32::try_from(v).map_err(|_| serde::de::Error::custom("integer out of range for uint32"))
}

fn lenient_i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = lenient_i64(d)?.unwrap_or(0);
    i32::try_from(v).map_err(|_| serde::de::Error::custom("integer out of range for int32"))
}

fn lenient_opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match lenient_i64(d)? {
        None => Ok(None),
        Some(v) => u32::try_from(v).map(Some).map_err(|_| serde::de::Error::custom("integer out of range")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_credentials() {
        let wire: SandboxWire = serde_json::from_str(r#"{"sandboxID":"i1","envdAccessToken":"tok-secret-1"}"#).unwrap();
        let shown = format!("{wire:?}");
        assert!(!shown.contains("tok-secret-1") && shown.contains("i1"), "{shown}");
        let envs = BTreeMap::from([("TOKEN".to_owned(), "env-secret-2".to_owned())]);
        let config = ProcessConfigWire {
            cmd: "/bin/bash",
            args: vec!["-l", "-c", "curl -H key-secret-3"],
            envs: &envs,
            cwd: None,
        };
        let shown = format!("{:?}", StartRequestWire { process: config, stdin: false });
        assert!(
            shown.contains("TOKEN") && !shown.contains("env-secret-2") && !shown.contains("key-secret-3"),
            "{shown}"
        );
    }

    #[test]
    fn start_request_matches_the_sdk() {
        let envs = BTreeMap::new();
        let req = StartRequestWire {
            process: ProcessConfigWire {
                cmd: "/bin/bash",
                args: vec!["-l", "-c", "echo hello"],
                envs: &envs,
                cwd: None,
            },
            stdin: false,
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hello"]},"stdin":false}"#
        );
        let envs = BTreeMap::from([("A".to_owned(), "1".to_owned())]);
        let req = StartRequestWire {
            process: ProcessConfigWire {
                cmd: "/bin/bash",
                args: vec!["-l", "-c", "echo hi"],
                envs: &envs,
                cwd: Some("/tmp"),
            },
            stdin: false,
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"],"envs":{"A":"1"},"cwd":"/tmp"},"stdin":false}"#
        );
        let sig = SendSignalWire { process: PidSelectorWire { pid: 42 }, signal: "SIGNAL_SIGKILL" };
        assert_eq!(serde_json::to_string(&sig).unwrap(), r#"{"process":{"pid":42},"signal":"SIGNAL_SIGKILL"}"#);
    }

    #[test]
    fn protojson_quirks() {
        let end: ProcessEventEnvelope<'_> =
            serde_json::from_str(r#"{"event":{"end":{"exited":true,"status":"exit status 0"}}}"#).unwrap();
        let end = end.event.unwrap().end.unwrap();
        assert_eq!((end.exit_code, end.exited), (0, true));
        let end: ProcessEventEnvelope<'_> =
            serde_json::from_str(r#"{"event":{"end":{"exitCode":"-1","status":"signal: killed"}}}"#).unwrap();
        let end = end.event.unwrap().end.unwrap();
        assert_eq!((end.exit_code, end.exited), (-1, false));
        let end: ProcessEventEnvelope<'_> =
            serde_json::from_str(r#"{"event":{"end":{"exit_code":3,"exited":true,"error":"exit status 3"}}}"#).unwrap();
        assert_eq!(end.event.unwrap().end.unwrap().exit_code, 3);
        let start: ProcessEventEnvelope<'_> =
            serde_json::from_str(r#"{"event":{"start":{"pid":"4242"}},"newField":1}"#).unwrap();
        assert_eq!(start.event.unwrap().start.unwrap().pid, 4242);
        let data: ProcessEventEnvelope<'_> =
            serde_json::from_str(r#"{"event":{"data":{"stdout":"aGVsbG8K"}}}"#).unwrap();
        let data = data.event.unwrap().data.unwrap();
        assert!(matches!(data.stdout, Some(Text(Cow::Borrowed("aGVsbG8K")))));
        let ka: ProcessEventEnvelope<'_> = serde_json::from_str(r#"{"event":{"keepalive":{}}}"#).unwrap();
        let ka = ka.event.unwrap();
        assert!(ka.start.is_none() && ka.data.is_none() && ka.end.is_none());
    }

    #[test]
    fn detail_defaults() {
        let d: DetailWire = serde_json::from_str(
            r#"{"sandboxID":"i1","templateID":"t","clientID":"6532622b","startedAt":"2026-01-01T00:00:00Z",
               "endAt":"2026-01-01T00:05:00Z","cpuCount":2,"memoryMB":"512","diskSizeMB":1024,"state":"paused",
               "envdVersion":"0.6.13","metadata":{"k":"v"}}"#,
        )
        .unwrap();
        let info = SandboxInfo::from(d);
        assert_eq!(info.state, SandboxState::Paused);
        assert_eq!(info.memory_mb, Some(512));
        assert_eq!(info.metadata.get("k").map(String::as_str), Some("v"));
    }
}
