//! The Connect protocol (v1, JSON codec) as envd speaks it: unary calls with bare JSON bodies,
//! server streams of enveloped messages (`[flags:u8][len:u32 BE][payload]`) ending with an
//! end-of-stream frame (flag `0x02`), and Connect error bodies.

use bytes::{BufMut, Bytes, BytesMut};
use hyper::StatusCode;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};

use super::faults::StreamFaults;
use super::web::{self, Body, BodySender, Closed, Response};

pub const FLAG_END_STREAM: u8 = 0x02;
pub const FLAG_COMPRESSED: u8 = 0x01;

/// The exact streaming content type; the Python client rejects any parameter after it.
pub const STREAM_CONTENT_TYPE: &str = "application/connect+json";

/// A Connect error: code name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    pub code: &'static str,
    pub message: String,
    /// Overrides the status of the code, for connect-go's 404 on an unknown procedure.
    pub status: Option<u16>,
}

impl ConnectError {
    pub fn new(code: &'static str, message: impl Into<String>) -> ConnectError {
        ConnectError { code, message: message.into(), status: None }
    }
    /// What connect-go answers for a procedure it does not serve: 404, code `unimplemented`.
    pub fn no_such_procedure(procedure: &str) -> ConnectError {
        ConnectError {
            status: Some(404),
            ..ConnectError::new("unimplemented", format!("{procedure} is not implemented by the fake envd"))
        }
    }
    pub fn not_found(message: impl Into<String>) -> ConnectError {
        ConnectError::new("not_found", message)
    }
    pub fn invalid_argument(message: impl Into<String>) -> ConnectError {
        ConnectError::new("invalid_argument", message)
    }
    pub fn internal(message: impl Into<String>) -> ConnectError {
        ConnectError::new("internal", message)
    }
    pub fn unimplemented(message: impl Into<String>) -> ConnectError {
        ConnectError::new("unimplemented", message)
    }

    pub fn to_json(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
    }

    /// The unary error response: non-200 status per the Connect mapping, JSON body.
    pub fn response(&self) -> Response {
        let status = self.status.map(web::status).unwrap_or_else(|| http_status(self.code));
        web::json(status, &self.to_json())
    }
}

/// Connect code → HTTP status (Connect protocol v1).
pub fn http_status(code: &str) -> StatusCode {
    let n = match code {
        "canceled" => 499,
        "invalid_argument" | "failed_precondition" | "out_of_range" => 400,
        "deadline_exceeded" => 504,
        "not_found" => 404,
        "already_exists" | "aborted" => 409,
        "permission_denied" => 403,
        "resource_exhausted" => 429,
        "unimplemented" => 501,
        "unavailable" => 503,
        "unauthenticated" => 401,
        _ => 500,
    };
    web::status(n)
}

/// `[flags][len BE][payload]`.
pub fn envelope(flags: u8, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + payload.len());
    b.put_u8(flags);
    b.put_u32(payload.len() as u32);
    b.put_slice(payload);
    b.freeze()
}

/// The single message of a server-streaming request body.
pub fn decode_single_envelope(body: &[u8]) -> Result<Value, ConnectError> {
    if body.len() < 5 {
        return Err(ConnectError::invalid_argument("request body is not an enveloped message"));
    }
    let flags = body[0];
    let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    if flags & FLAG_COMPRESSED != 0 {
        return Err(ConnectError::internal("compressed messages are not supported"));
    }
    if flags & FLAG_END_STREAM != 0 {
        return Err(ConnectError::invalid_argument("unexpected end-of-stream frame in a request"));
    }
    let payload = body.get(5..5 + len).ok_or_else(|| ConnectError::invalid_argument("truncated envelope"))?;
    if body.len() != 5 + len {
        return Err(ConnectError::unimplemented("server-streaming request carries more than one message"));
    }
    serde_json::from_slice(payload).map_err(|e| ConnectError::invalid_argument(format!("unmarshal message: {e}")))
}

/// The response head of a server stream: always 200 with the exact content type.
pub fn stream_response(body: Body) -> Response {
    let mut r = hyper::Response::new(body);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(STREAM_CONTENT_TYPE));
    r
}

/// A stream refused before it started still answers 200 and carries the error in its
/// end-of-stream frame, as connect-go does.
pub fn stream_error_response(err: &ConnectError) -> Response {
    let payload = json!({ "error": err.to_json() }).to_string();
    let mut r = web::full(StatusCode::OK, None, envelope(FLAG_END_STREAM, payload.as_bytes()));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(STREAM_CONTENT_TYPE));
    r
}

/// The writing end of a server stream, with the injected stream faults applied: it counts
/// body bytes and cuts the connection at `drop_after`, and replaces a clean end with
/// `end_error`.
pub struct StreamWriter {
    tx: BodySender,
    sent: usize,
    faults: StreamFaults,
    cut: bool,
}

impl StreamWriter {
    pub fn new(tx: BodySender, faults: StreamFaults) -> StreamWriter {
        StreamWriter { tx, sent: 0, faults, cut: false }
    }

    pub async fn message(&mut self, msg: &Value) -> Result<(), Closed> {
        self.write(envelope(0, msg.to_string().as_bytes())).await
    }

    /// The end-of-stream frame: `{}` or `{"error":…}`. Consumes the writer: nothing follows.
    pub async fn end(mut self, error: Option<ConnectError>) {
        let payload = match (self.faults.end_error.take(), error) {
            (Some((code, message)), _) => json!({ "error": { "code": code, "message": message } }),
            (None, Some(e)) => json!({ "error": e.to_json() }),
            (None, None) => json!({}),
        };
        let _ = self.write(envelope(FLAG_END_STREAM, payload.to_string().as_bytes())).await;
    }

    async fn write(&mut self, frame: Bytes) -> Result<(), Closed> {
        if self.cut {
            return Err(Closed);
        }
        if let Some(limit) = self.faults.drop_after
            && self.sent + frame.len() >= limit
        {
            let keep = limit.saturating_sub(self.sent);
            if keep > 0 {
                self.tx.send(frame.slice(..keep)).await?;
            }
            self.sent += keep;
            self.cut = true;
            self.tx.abort("injected fault: stream dropped").await;
            return Err(Closed);
        }
        self.sent += frame.len();
        self.tx.send(frame).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_match_the_captured_bytes() {
        let msg = br#"{"event":{"start":{"pid":4242}}}"#;
        let e = envelope(0, msg);
        assert_eq!(&e[..5], &[0, 0, 0, 0, 0x20]);
        assert_eq!(&e[5..], msg);
        assert_eq!(&envelope(FLAG_END_STREAM, b"{}")[..], b"\x02\x00\x00\x00\x02{}");
    }

    #[test]
    fn decodes_one_request_envelope_and_rejects_the_rest() {
        let payload = br#"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hello"]},"stdin":false}"#;
        assert_eq!(payload.len(), 0x4d);
        let v = decode_single_envelope(&envelope(0, payload)).unwrap();
        assert_eq!(v["process"]["args"][2], "echo hello");
        assert_eq!(decode_single_envelope(b"{}").unwrap_err().code, "invalid_argument");
        let mut two = envelope(0, b"{}").to_vec();
        two.extend_from_slice(&envelope(0, b"{}"));
        assert!(decode_single_envelope(&two).is_err());
        assert_eq!(decode_single_envelope(&envelope(1, b"{}")).unwrap_err().code, "internal");
    }

    #[test]
    fn maps_codes_to_statuses() {
        assert_eq!(http_status("not_found").as_u16(), 404);
        assert_eq!(http_status("already_exists").as_u16(), 409);
        assert_eq!(http_status("deadline_exceeded").as_u16(), 504);
        assert_eq!(http_status("unauthenticated").as_u16(), 401);
        assert_eq!(http_status("whatever").as_u16(), 500);
    }
}
