//! HTTP plumbing shared by both planes: the response body type (whole or streamed through a
//! bounded channel), JSON responses, query strings, bounded request bodies.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

pub type Response = hyper::Response<Body>;

/// A response body: either whole (small JSON) or fed chunk by chunk from a bounded channel,
/// so a slow reader slows the producer instead of growing a buffer.
pub enum Body {
    Full(Option<Bytes>),
    Channel(mpsc::Receiver<std::io::Result<Bytes>>, Option<u64>),
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Channel(rx, _) => rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Channel(_, Some(n)) => SizeHint::with_exact(*n),
            Body::Channel(_, None) => SizeHint::default(),
        }
    }
}

/// The producing end of a [`Body::Channel`].
pub struct BodySender {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
}

/// The reader went away.
#[derive(Debug)]
pub struct Closed;

impl BodySender {
    pub async fn send(&self, bytes: Bytes) -> Result<(), Closed> {
        self.tx.send(Ok(bytes)).await.map_err(|_| Closed)
    }

    /// Make the server abort the response: with HTTP/1.1 chunked encoding the connection is
    /// closed without the terminating chunk, which the client sees as a broken body.
    /// What was sent before is delivered first: hyper drops its write buffer when a body
    /// fails, so this waits (boundedly) until hyper has taken every queued chunk and had a
    /// moment to flush it.
    pub async fn abort(&self, why: &str) {
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        while self.tx.capacity() < self.tx.max_capacity() && tokio::time::Instant::now() < until {
            if self.tx.is_closed() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let _ = self.tx.send(Err(std::io::Error::other(why.to_string()))).await;
    }
}

/// A streamed body with room for a few chunks; `len` sets `Content-Length` when known.
pub fn channel_body(len: Option<u64>) -> (BodySender, Body) {
    let (tx, rx) = mpsc::channel(4);
    (BodySender { tx }, Body::Channel(rx, len))
}

pub fn full(status: StatusCode, content_type: Option<&str>, body: impl Into<Bytes>) -> Response {
    let mut r = hyper::Response::new(Body::Full(Some(body.into())));
    *r.status_mut() = status;
    if let Some(ct) = content_type
        && let Ok(v) = HeaderValue::from_str(ct)
    {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

pub fn empty(status: StatusCode) -> Response {
    let mut r = hyper::Response::new(Body::Full(None));
    *r.status_mut() = status;
    r
}

pub fn json(status: StatusCode, value: &Value) -> Response {
    full(status, Some("application/json"), value.to_string())
}

/// The error body both the API and envd's plain HTTP endpoints use: `{"code":N,"message":…}`.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    json(status, &serde_json::json!({ "code": status.as_u16(), "message": message.into() }))
}

/// An error answer in the `{"code":N,"message":…}` shape, small enough to return in a `Result`
/// until it becomes a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub status: StatusCode,
    pub message: String,
}

impl Reject {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Reject {
        Reject { status, message: message.into() }
    }

    pub fn response(&self) -> Response {
        json_error(self.status, self.message.clone())
    }
}

pub fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Read a whole request body of at most `limit` bytes (only for small JSON bodies).
pub async fn read_small(body: Incoming, limit: usize) -> Result<Bytes, Reject> {
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                Err(Reject::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"))
            } else {
                Err(Reject::new(StatusCode::BAD_REQUEST, format!("cannot read request body: {e}")))
            }
        }
    }
}

/// Decode `application/x-www-form-urlencoded` percent escapes (`+` is a space).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parse a query string into its (decoded) pairs, in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// The first value of each query key.
pub fn query_map(query: Option<&str>) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in query_pairs(query) {
        m.entry(k).or_insert(v);
    }
    m
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries_like_a_form() {
        assert_eq!(percent_decode("%2Fhome%2Fuser%2Fa.txt"), "/home/user/a.txt");
        assert_eq!(percent_decode("a+b%20c%"), "a b c%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        let m = query_map(Some("path=%2Fx&username=user&path=second&flag"));
        assert_eq!(m["path"], "/x");
        assert_eq!(m["username"], "user");
        assert_eq!(m["flag"], "");
    }
}
