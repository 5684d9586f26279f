//! Injected faults: what a test can make the fake do wrong, and the queue that hands them out.

use std::time::Duration;

/// A misbehaviour queued with [`super::FakeE2b::inject`]. Faults of different kinds are
/// independent; faults of the same kind fire in the order they were injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next `times` control-plane requests whose path starts with `path_prefix` get `status`
    /// with a JSON error body (`{"code":status,"message":…}`); optional `Retry-After` seconds and
    /// `Should-Retry` header value. Checked after the API key, so a bad key still gets 401.
    Status { path_prefix: String, status: u16, retry_after: Option<u64>, should_retry: Option<bool>, times: usize },
    /// The next envd server stream (process Start/Connect) is cut (connection closed, no
    /// end-of-stream frame) after `after_bytes` bytes of body, mid-message. The process itself
    /// keeps running, as it does on a real disconnect.
    DropStream { after_bytes: usize },
    /// Every response (either plane) is delayed by this long before it is handled, `times` times.
    Slow { delay: Duration, times: usize },
    /// The next process stream (Start/Connect) ends with this end-of-stream Connect error
    /// (code, message) instead of `{}`; everything before it (start, data, end) is unchanged.
    EndStreamError { code: String, message: String },
}

/// Faults waiting to fire.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: Vec<Fault>,
}

/// What a control-plane request must answer instead of its real response.
#[derive(Debug, Clone)]
pub(crate) struct StatusFault {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub should_retry: Option<bool>,
}

/// The stream faults that apply to one process stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamFaults {
    pub drop_after: Option<usize>,
    pub end_error: Option<(String, String)>,
}

impl FaultQueue {
    pub fn push(&mut self, fault: Fault) {
        // A fault that can never fire is dropped rather than kept forever.
        match &fault {
            Fault::Status { times: 0, .. } | Fault::Slow { times: 0, .. } => {}
            _ => self.faults.push(fault),
        }
    }

    pub fn take_slow(&mut self) -> Option<Duration> {
        let i = self.faults.iter().position(|f| matches!(f, Fault::Slow { .. }))?;
        let delay = match &mut self.faults[i] {
            Fault::Slow { delay, times } => {
                *times -= 1;
                let d = *delay;
                if *times == 0 {
                    self.faults.remove(i);
                }
                d
            }
            _ => return None,
        };
        Some(delay)
    }

    pub fn take_status(&mut self, path: &str) -> Option<StatusFault> {
        let i = self
            .faults
            .iter()
            .position(|f| matches!(f, Fault::Status { path_prefix, .. } if path.starts_with(path_prefix.as_str())))?;
        let out = match &mut self.faults[i] {
            Fault::Status { status, retry_after, should_retry, times, .. } => {
                *times -= 1;
                let out = StatusFault { status: *status, retry_after: *retry_after, should_retry: *should_retry };
                if *times == 0 {
                    self.faults.remove(i);
                }
                out
            }
            _ => return None,
        };
        Some(out)
    }

    /// The stream faults for the next process stream, consumed.
    pub fn take_stream(&mut self) -> StreamFaults {
        let mut out = StreamFaults::default();
        if let Some(i) = self.faults.iter().position(|f| matches!(f, Fault::DropStream { .. }))
            && let Fault::DropStream { after_bytes } = self.faults.remove(i)
        {
            out.drop_after = Some(after_bytes);
        }
        if let Some(i) = self.faults.iter().position(|f| matches!(f, Fault::EndStreamError { .. }))
            && let Fault::EndStreamError { code, message } = self.faults.remove(i)
        {
            out.end_error = Some((code, message));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn status_faults_fire_by_prefix_and_count_down() {
        let mut q = FaultQueue::default();
        q.push(Fault::Status {
            path_prefix: "/v2/sandboxes".into(),
            status: 429,
            retry_after: Some(1),
            should_retry: Some(false),
            times: 2,
        });
        assert!(q.take_status("/sandboxes/x").is_none());
        assert_eq!(q.take_status("/v2/sandboxes").unwrap().status, 429);
        assert_eq!(q.take_status("/v2/sandboxes/abc/connect").unwrap().retry_after, Some(1));
        assert!(q.take_status("/v2/sandboxes").is_none());
    }

    #[test]
    fn slow_counts_down_and_stream_faults_are_taken_once() {
        let mut q = FaultQueue::default();
        q.push(Fault::Slow { delay: Duration::from_millis(5), times: 1 });
        q.push(Fault::DropStream { after_bytes: 7 });
        q.push(Fault::EndStreamError { code: "internal".into(), message: "boom".into() });
        assert_eq!(q.take_slow(), Some(Duration::from_millis(5)));
        assert_eq!(q.take_slow(), None);
        let s = q.take_stream();
        assert_eq!(s.drop_after, Some(7));
        assert_eq!(s.end_error, Some(("internal".into(), "boom".into())));
        let s = q.take_stream();
        assert!(s.drop_after.is_none() && s.end_error.is_none());
    }
}
