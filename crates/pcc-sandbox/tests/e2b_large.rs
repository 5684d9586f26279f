//! 100 MB through the client, both ways: complete, in order, and with memory staying flat. One
//! test in its own binary, so the process's memory is this transfer's (plus the in-process fake).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use pcc_sandbox::{
    Command, CommandEvent, CreateOptions, E2bConfig, E2bProvider, FileSource, LineSplitter, SandboxProvider, Secret,
};
use pcc_testkit::e2b::FakeE2b;
use tokio::io::AsyncWriteExt;

/// Memory growth allowed over the baseline while 100 MB pass (client and fake together).
const MAX_GROWTH_KB: u64 = 32 * 1024;

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Samples RSS every 10 ms until stopped; returns the peak.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    fn start() -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kb()));
        let (s, p) = (stop.clone(), peak.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kb(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Sampler { stop, peak, task }
    }

    async fn peak(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        self.peak.load(Ordering::Relaxed).max(rss_kb())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_megabytes_each_way_with_flat_memory() {
    let fake = FakeE2b::start().unwrap();
    let config = E2bConfig::new(Secret::new(fake.api_key()))
        .with_api_url(&fake.api_url())
        .unwrap()
        .with_sandbox_url(&fake.sandbox_url())
        .unwrap();
    let p = E2bProvider::new(config).unwrap();
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    // Warm up the connection pool and the allocator before the baseline.
    p.run_collect(&sbx, &Command::shell("head -c 1000000 /dev/zero"), 10).await.unwrap();

    // 12.5 million numbered lines: about 101 MB of stdout.
    const LINES: u64 = 12_500_000;
    let baseline = rss_kb();
    let sampler = Sampler::start();
    let mut proc = p.run(&sbx, &Command::argv(["seq", "1", &LINES.to_string()])).await.unwrap();
    let mut splitter = LineSplitter::new(64);
    let (mut next, mut bytes) = (1u64, 0u64);
    let mut status = None;
    while let Some(event) = proc.next().await {
        match event.unwrap() {
            CommandEvent::Stdout(chunk) => {
                bytes += chunk.len() as u64;
                for line in splitter.push(&chunk) {
                    let n: u64 = std::str::from_utf8(&line).unwrap().parse().unwrap();
                    assert_eq!(n, next, "line out of order");
                    next += 1;
                }
            }
            CommandEvent::Stderr(e) => panic!("stderr: {e:?}"),
            CommandEvent::Exit(s) => status = Some(s),
        }
    }
    let peak = sampler.peak().await;
    assert!(status.unwrap().success());
    assert_eq!(next, LINES + 1, "every line arrived");
    assert!(bytes > 100_000_000, "{bytes}");
    assert!(
        peak.saturating_sub(baseline) < MAX_GROWTH_KB,
        "memory grew by {} KiB streaming {bytes} bytes",
        peak.saturating_sub(baseline)
    );

    // Upload 100 MB from a file, streamed.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("upload.bin");
    let mut f = tokio::fs::File::create(&local).await.unwrap();
    let block: Vec<u8> = (0..1_048_576u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    for i in 0..100u8 {
        let mut b = block.clone();
        b[0] = i;
        f.write_all(&b).await.unwrap();
    }
    f.flush().await.unwrap();
    drop(f);
    let baseline = rss_kb();
    let sampler = Sampler::start();
    let sent = p.write_file(&sbx, "upload.bin", FileSource::Path(local.clone())).await.unwrap();
    let peak = sampler.peak().await;
    assert_eq!(sent, 100 * 1_048_576);
    assert!(
        peak.saturating_sub(baseline) < MAX_GROWTH_KB,
        "memory grew by {} KiB uploading",
        peak.saturating_sub(baseline)
    );
    let stored = fake.sandbox_root(sbx.id()).unwrap().join("home/user/upload.bin");
    assert_eq!(std::fs::metadata(&stored).unwrap().len(), sent);
    let out =
        p.run_collect(&sbx, &Command::argv(["cmp", "upload.bin", &local.display().to_string()]), 1000).await.unwrap();
    assert!(out.status.success(), "uploaded bytes differ: {}", String::from_utf8_lossy(&out.stdout));
    p.kill(sbx.id()).await.unwrap();
}
