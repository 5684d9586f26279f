//! 100 MB through each streaming path of the fake (upload, download, command stdout) with flat
//! memory. Alone in its own test binary so the process's peak RSS measures only this test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;

use common::{Client, request_with, unb64};
use pcc_testkit::e2b::FakeE2b;
use serde_json::{Value, json};

const SIZE: u64 = 100 * 1024 * 1024;
/// Far below the 100 MB that moves, far above the fake's and the client's chunk buffers.
const MAX_GROWTH_KB: u64 = 48 * 1024;

/// Peak resident set size of this process so far (`VmHWM`), in KiB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn pattern(i: u64) -> u8 {
    (i % 251) as u8
}

#[test]
fn hundred_megabytes_stream_through_with_flat_memory() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base"}));
    let root = fake.sandbox_root(&sbx.id).unwrap();
    // Warm up every path once, so one-off allocations are not counted as growth.
    let warm =
        c.envd(&sbx, "POST", "/files?path=%2Fhome%2Fuser%2Fw", &[("Content-Type", "application/octet-stream")], b"w");
    assert_eq!(warm.status, 200);
    let before = peak_rss_kb();

    // Upload: multipart, the way the SDK sends files, produced chunk by chunk.
    let boundary = "b0undary-large";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/home/user/big.bin\"\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let len = head.len() as u64 + SIZE + tail.len() as u64;
    let ct = format!("multipart/form-data; boundary={boundary}");
    let h =
        [("E2b-Sandbox-Id", sbx.id.as_str()), ("X-Access-Token", sbx.token.as_str()), ("Content-Type", ct.as_str())];
    let r = request_with(&fake.sandbox_url(), "POST", "/files", &h, len, |w: &mut dyn Write| {
        w.write_all(head.as_bytes())?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut i = 0u64;
        while i < SIZE {
            let n = (SIZE - i).min(buf.len() as u64) as usize;
            for (k, b) in buf[..n].iter_mut().enumerate() {
                *b = pattern(i + k as u64);
            }
            w.write_all(&buf[..n])?;
            i += n as u64;
        }
        w.write_all(tail.as_bytes())
    })
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(std::fs::metadata(root.join("home/user/big.bin")).unwrap().len(), SIZE);

    // Download: streamed back, checked byte by byte.
    let mut r = c.envd(&sbx, "GET", "/files?path=%2Fhome%2Fuser%2Fbig.bin", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(SIZE.to_string().as_str()));
    let mut buf = vec![0u8; 64 * 1024];
    let mut i = 0u64;
    loop {
        let n = r.reader().read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        for (k, b) in buf[..n].iter().enumerate() {
            assert_eq!(*b, pattern(i + k as u64), "byte {} differs", i + k as u64);
        }
        i += n as u64;
    }
    assert_eq!(i, SIZE);

    // Command stdout: 100 MB of `abcdefghi\n` lines through Start, decoded as it comes.
    let cmd = format!("yes abcdefghi | head -c {SIZE}");
    let mut r = c.start(&sbx, &cmd, false, &[]);
    r.message();
    let (mut total, mut newlines) = (0u64, 0u64);
    let end = loop {
        let (flags, v) = r.envelope().unwrap().unwrap();
        assert_eq!(flags, 0, "stream ended early: {v}");
        if let Some(s) = v["event"]["data"]["stdout"].as_str() {
            let bytes = unb64(s);
            assert!(bytes.len() <= 32 * 1024, "chunks are at most 32 KiB");
            total += bytes.len() as u64;
            newlines += bytes.iter().filter(|b| **b == b'\n').count() as u64;
        } else if let Some(e) = v["event"].get("end") {
            break e.clone();
        }
    };
    assert_eq!(end, json!({"exited": true, "status": "exit status 0"}));
    assert_eq!(r.envelope().unwrap(), Some((2, Value::Object(Default::default()))));
    assert_eq!((total, newlines), (SIZE, SIZE / 10));

    let growth = peak_rss_kb().saturating_sub(before);
    assert!(growth < MAX_GROWTH_KB, "peak RSS grew by {growth} KiB while moving 3 x 100 MB");
}
