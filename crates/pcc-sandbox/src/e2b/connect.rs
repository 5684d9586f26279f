//! The Connect protocol as envd speaks it with the JSON codec: envelopes, end-of-stream frames,
//! error bodies, and the mapping of Connect codes and HTTP statuses to [`SandboxError`].

use bytes::{Buf, Bytes, BytesMut};
use serde::Deserialize;

use crate::error::{ConnectCode, Resource, SandboxError, Service};
use crate::secret::{Secret, scrub};

/// Envelope flag: the payload is compressed (never negotiated here).
const FLAG_COMPRESSED: u8 = 0x01;
/// Envelope flag: end of stream; the payload is the JSON end-of-stream message.
const FLAG_END_STREAM: u8 = 0x02;
/// Header size: flags (1) + big-endian length (4).
const HEADER: usize = 5;
/// The largest frame accepted. envd sends output in chunks of up to 32 KiB (about 44 KiB as
/// base64 JSON); anything near this bound is a broken or hostile peer.
pub(crate) const MAX_FRAME: usize = 16 << 20;

/// One enveloped message, request side.
pub(crate) fn envelope(payload: &[u8]) -> Result<Vec<u8>, SandboxError> {
    let len = u32::try_from(payload.len()).map_err(|_| SandboxError::InvalidCommand {
        reason: "the request is larger than a Connect envelope can carry".into(),
    })?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// A decoded frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A message payload (JSON).
    Message(Bytes),
    /// The end-of-stream payload (JSON `{"error"?, "metadata"?}`).
    End(Bytes),
}

/// Incremental envelope decoder: feed it chunks as they arrive, take frames as they complete.
/// Holds at most one incomplete frame.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    buf: BytesMut,
}

impl Decoder {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete frame, `None` when more bytes are needed.
    pub(crate) fn next_frame(&mut self) -> Result<Option<Frame>, String> {
        if self.buf.len() < HEADER {
            return Ok(None);
        }
        let flags = self.buf[0];
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if flags & FLAG_COMPRESSED != 0 {
            return Err("received a compressed frame although identity encoding was asked for".into());
        }
        if len > MAX_FRAME {
            return Err(format!("frame of {len} bytes exceeds the {MAX_FRAME}-byte limit"));
        }
        if self.buf.len() < HEADER + len {
            self.buf.reserve(HEADER + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(HEADER);
        let payload = self.buf.split_to(len).freeze();
        Ok(Some(if flags & FLAG_END_STREAM != 0 { Frame::End(payload) } else { Frame::Message(payload) }))
    }

    /// Bytes of an incomplete frame are waiting.
    pub(crate) fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }
}

/// A Connect error as JSON: `{"code": "not_found", "message": "…"}`. envd's HTTP middleware and
/// the E2B proxy send `{"code": 401, "message": …}` instead: an integer code is an HTTP status.
#[derive(Debug, Deserialize)]
struct WireError {
    code: Option<serde_json::Value>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireEndStream {
    error: Option<WireError>,
}

/// Where an error happened, to type it and to scrub it.
pub(crate) struct ErrorContext<'a> {
    /// The RPC or endpoint, e.g. `process.Process/Start`.
    pub operation: &'a str,
    /// What a `not_found` refers to.
    pub resource: Resource,
    /// The sandbox, for "gone".
    pub sandbox_id: &'a str,
    /// Secrets that must not appear in the message.
    pub secrets: &'a [&'a Secret],
}

impl ErrorContext<'_> {
    fn scrub(&self, text: &str) -> String {
        scrub(text, self.secrets)
    }

    /// A Connect code and message as a typed error.
    pub(crate) fn connect_error(&self, code: ConnectCode, message: &str) -> SandboxError {
        let message = self.scrub(message);
        match code {
            ConnectCode::Unauthenticated | ConnectCode::PermissionDenied => {
                SandboxError::Auth { service: Service::Envd, message }
            }
            ConnectCode::NotFound => SandboxError::NotFound { resource: self.resource.clone(), message },
            ConnectCode::DeadlineExceeded => SandboxError::TimedOut { operation: self.operation.to_owned(), message },
            ConnectCode::ResourceExhausted => {
                SandboxError::RateLimited { service: Service::Envd, message, retry_after: None }
            }
            code => SandboxError::Rpc { operation: self.operation.to_owned(), code, message },
        }
    }

    /// An end-of-stream payload: `Ok(())` for a clean end, the typed error otherwise.
    pub(crate) fn end_of_stream(&self, payload: &[u8]) -> Result<(), SandboxError> {
        let end: WireEndStream = serde_json::from_slice(payload).map_err(|e| SandboxError::Protocol {
            service: Service::Envd,
            message: self.scrub(&format!("malformed end-of-stream frame in {}: {e}", self.operation)),
        })?;
        match end.error {
            None => Ok(()),
            Some(err) => {
                let code = match &err.code {
                    Some(serde_json::Value::String(code)) => ConnectCode::parse(code),
                    _ => ConnectCode::Unknown,
                };
                Err(self.connect_error(code, err.message.as_deref().unwrap_or_default()))
            }
        }
    }

    /// A non-success HTTP answer from envd (or the proxy in front of it) as a typed error.
    pub(crate) fn http_error(&self, status: u16, body: &[u8]) -> SandboxError {
        let wire: Option<WireError> = serde_json::from_slice(body).ok();
        let message = match wire.as_ref().and_then(|w| w.message.as_deref()) {
            Some(m) => self.scrub(m),
            None => self.scrub(&String::from_utf8_lossy(body)),
        };
        let message = if message.is_empty() { format!("HTTP {status}") } else { message };
        // The proxy answers 502 when the sandbox is not there any more, whatever the body.
        if status == 502 {
            return SandboxError::SandboxGone { id: self.sandbox_id.to_owned(), message };
        }
        if status == 401 {
            return SandboxError::Auth { service: Service::Envd, message };
        }
        let code = match wire.as_ref().and_then(|w| w.code.as_ref()) {
            Some(serde_json::Value::String(code)) => ConnectCode::parse(code),
            Some(serde_json::Value::Number(n)) => {
                code_for_e2b_status(n.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(status))
            }
            _ => code_for_plain_status(status),
        };
        self.connect_error(code, &message)
    }
}

/// E2B's own layer over plain JSON errors (`{"code": <int>}`): the integer is an HTTP status.
fn code_for_e2b_status(status: u16) -> ConnectCode {
    match status {
        400 => ConnectCode::InvalidArgument,
        401 => ConnectCode::Unauthenticated,
        403 => ConnectCode::PermissionDenied,
        404 => ConnectCode::NotFound,
        409 => ConnectCode::AlreadyExists,
        429 => ConnectCode::ResourceExhausted,
        502 | 503 => ConnectCode::Unavailable,
        504 => ConnectCode::DeadlineExceeded,
        501 => ConnectCode::Unimplemented,
        _ => ConnectCode::Internal,
    }
}

/// Connect's fallback when an error body is not a Connect error.
fn code_for_plain_status(status: u16) -> ConnectCode {
    match status {
        400 => ConnectCode::Internal,
        401 => ConnectCode::Unauthenticated,
        403 => ConnectCode::PermissionDenied,
        404 => ConnectCode::Unimplemented,
        429 | 502 | 503 | 504 => ConnectCode::Unavailable,
        _ => ConnectCode::Unknown,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn frame(flags: u8, payload: &str) -> Vec<u8> {
        let mut v = vec![flags];
        v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        v.extend_from_slice(payload.as_bytes());
        v
    }

    fn ctx<'a>(secrets: &'a [&'a Secret]) -> ErrorContext<'a> {
        ErrorContext { operation: "process.Process/Start", resource: Resource::Process(7), sandbox_id: "isbx", secrets }
    }

    #[test]
    fn envelope_matches_the_captured_bytes() {
        let payload = br#"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hello"]},"stdin":false}"#;
        let env = envelope(payload).unwrap();
        assert_eq!(&env[..5], &[0, 0, 0, 0, 0x4d]);
        assert_eq!(&env[5..], payload);
    }

    #[test]
    fn frames_split_at_every_byte_boundary() {
        let mut wire = Vec::new();
        wire.extend(frame(0, r#"{"event":{"start":{"pid":4242}}}"#));
        wire.extend(frame(0, r#"{"event":{"data":{"stdout":"aGVsbG8K"}}}"#));
        wire.extend(frame(0, r#"{"event":{"end":{"exited":true,"status":"exit status 0"}}}"#));
        wire.extend(frame(2, "{}"));
        for chunk in 1..=wire.len() {
            let mut dec = Decoder::default();
            let mut frames = Vec::new();
            for piece in wire.chunks(chunk) {
                dec.push(piece);
                while let Some(f) = dec.next_frame().unwrap() {
                    frames.push(f);
                }
            }
            assert_eq!(frames.len(), 4, "chunk size {chunk}");
            assert_eq!(frames[0], Frame::Message(Bytes::from_static(br#"{"event":{"start":{"pid":4242}}}"#)));
            assert_eq!(frames[3], Frame::End(Bytes::from_static(b"{}")));
            assert!(!dec.has_partial());
        }
    }

    #[test]
    fn truncated_frame_is_left_partial() {
        let wire = frame(0, r#"{"event":{"data":{"stdout":"aGVsbG8K"}}}"#);
        let mut dec = Decoder::default();
        dec.push(&wire[..wire.len() - 3]);
        assert_eq!(dec.next_frame().unwrap(), None);
        assert!(dec.has_partial(), "a body ending here must be reported as cut");
        let mut dec = Decoder::default();
        dec.push(&wire[..3]);
        assert_eq!(dec.next_frame().unwrap(), None);
        assert!(dec.has_partial());
    }

    #[test]
    fn compressed_and_oversized_frames_are_refused() {
        let mut dec = Decoder::default();
        dec.push(&frame(1, "x"));
        assert!(dec.next_frame().is_err());
        let mut dec = Decoder::default();
        let mut header = vec![0u8];
        header.extend_from_slice(&u32::MAX.to_be_bytes());
        dec.push(&header);
        assert!(dec.next_frame().is_err());
    }

    #[test]
    fn end_of_stream_errors_are_typed() {
        let c = ctx(&[]);
        assert!(c.end_of_stream(b"{}").is_ok());
        assert!(c.end_of_stream(br#"{"metadata":{"x-trailer":["v"]}}"#).is_ok());
        let err = c
            .end_of_stream(br#"{"error":{"code":"deadline_exceeded","message":"context deadline exceeded"}}"#)
            .unwrap_err();
        assert!(matches!(err, SandboxError::TimedOut { .. }), "{err:?}");
        let err = c.end_of_stream(br#"{"error":{"code":"not_found","message":"process with pid 7 not found"}}"#);
        assert!(matches!(err, Err(SandboxError::NotFound { resource: Resource::Process(7), .. })));
        let err = c.end_of_stream(br#"{"error":{"code":"invalid_argument","message":"cwd '/x' does not exist"}}"#);
        assert!(matches!(err, Err(SandboxError::Rpc { code: ConnectCode::InvalidArgument, .. })));
        let err = c.end_of_stream(br#"{"error":{"code":"unauthenticated","message":"invalid username"}}"#);
        assert!(matches!(err, Err(SandboxError::Auth { service: Service::Envd, .. })));
        assert!(matches!(c.end_of_stream(b"{not json"), Err(SandboxError::Protocol { .. })));
    }

    #[test]
    fn http_errors_are_typed() {
        let token = Secret::new("tok_planted_secret");
        let secrets = [&token];
        let c = ctx(&secrets);
        let gone = c.http_error(502, br#"{"sandboxId":"isbx","message":"The sandbox was not found","code":502}"#);
        assert!(matches!(gone, SandboxError::SandboxGone { ref id, .. } if id == "isbx"), "{gone:?}");
        let auth = c.http_error(401, br#"{"code":401,"message":"bad token tok_planted_secret"}"#);
        assert!(matches!(auth, SandboxError::Auth { .. }));
        assert!(!auth.to_string().contains("tok_planted_secret"), "{auth}");
        let nf = c.http_error(404, br#"{"code":"not_found","message":"nope"}"#);
        assert!(matches!(nf, SandboxError::NotFound { .. }));
        let nf = c.http_error(404, br#"{"code":404,"message":"path '/x' does not exist"}"#);
        assert!(matches!(nf, SandboxError::NotFound { .. }));
        let un = c.http_error(404, b"404 page not found");
        assert!(matches!(un, SandboxError::Rpc { code: ConnectCode::Unimplemented, .. }), "{un:?}");
        let dl = c.http_error(504, b"");
        assert!(matches!(dl, SandboxError::Rpc { code: ConnectCode::Unavailable, .. }), "{dl:?}");
        let full = c.http_error(507, br#"{"code":507,"message":"disk full"}"#);
        assert!(matches!(full, SandboxError::Rpc { code: ConnectCode::Internal, .. }), "{full:?}");
    }
}
