//! Transfer throughput of the E2B client over loopback to the fake E2B service: a 100 MB upload
//! and 100 MB of command output, with the process's peak RSS.
//!
//! Run with `cargo bench -p pcc-sandbox`. The fake runs in this same process (its own thread and
//! runtime, and the commands it runs are child processes), so the RSS printed is an upper bound
//! on the client's.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use futures_util::StreamExt;
use pcc_sandbox::{Command, CommandEvent, CreateOptions, E2bConfig, E2bProvider, FileSource, SandboxProvider, Secret};
use pcc_testkit::e2b::FakeE2b;
use tokio::io::AsyncWriteExt;

const SIZE: u64 = 100 * 1024 * 1024;

fn status_kb(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with(field)).context("no such field")?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
}

fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1_000_000.0 / secs
}

fn main() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(run())
}

async fn run() -> Result<()> {
    let fake = FakeE2b::start()?;
    let config = E2bConfig::new(Secret::new(fake.api_key()))
        .with_api_url(&fake.api_url())?
        .with_sandbox_url(&fake.sandbox_url())?;
    let p = E2bProvider::new(config)?;
    let sbx = p.create(&CreateOptions::default()).await?;

    let dir = tempfile::tempdir()?;
    let local = dir.path().join("upload.bin");
    let mut f = tokio::fs::File::create(&local).await?;
    let block: Vec<u8> = (0..1_048_576u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    for _ in 0..(SIZE / block.len() as u64) {
        f.write_all(&block).await?;
    }
    f.flush().await?;
    drop(f);
    p.run_collect(&sbx, &Command::shell("true"), 0).await?;
    let before = status_kb("VmHWM:")?;

    let mut upload_best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let sent = p.write_file(&sbx, "upload.bin", FileSource::Path(local.clone())).await?;
        upload_best = upload_best.min(started.elapsed().as_secs_f64());
        ensure!(sent == SIZE, "sent {sent} bytes");
    }
    let after_upload = status_kb("VmHWM:")?;

    let mut stream_best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let mut proc = p.run(&sbx, &Command::argv(["head", "-c", &SIZE.to_string(), "/dev/zero"])).await?;
        let mut received = 0u64;
        while let Some(event) = proc.next().await {
            match event? {
                CommandEvent::Stdout(chunk) => received += chunk.len() as u64,
                CommandEvent::Stderr(_) => {}
                CommandEvent::Exit(status) => ensure!(status.success(), "{status:?}"),
            }
        }
        stream_best = stream_best.min(started.elapsed().as_secs_f64());
        ensure!(received == SIZE, "received {received} bytes");
    }
    let after_stream = status_kb("VmHWM:")?;
    p.kill(sbx.id()).await?;

    println!("pcc-sandbox transfer over loopback to the in-process fake E2B (best of 3, 100 MiB each)");
    println!(
        "  upload 100 MiB file (multipart, streamed):  {:>8.1} MB/s  ({:.3} s)",
        mb_per_s(SIZE, upload_best),
        upload_best
    );
    println!(
        "  stream 100 MiB of stdout (Connect, JSON):   {:>8.1} MB/s  ({:.3} s)",
        mb_per_s(SIZE, stream_best),
        stream_best
    );
    println!("  peak RSS (VmHWM) before transfers:          {:>8.1} MiB", before as f64 / 1024.0);
    println!("  peak RSS (VmHWM) after the uploads:         {:>8.1} MiB", after_upload as f64 / 1024.0);
    println!("  peak RSS (VmHWM) after the streams:         {:>8.1} MiB", after_stream as f64 / 1024.0);
    println!("  note: the fake server runs in this process, so the RSS is an upper bound on the client's");
    Ok(())
}
