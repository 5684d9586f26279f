//! The local provider through the `SandboxProvider` trait: every method, against real child
//! processes in temporary directories.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use pcc_sandbox::{
    Command, CommandEvent, CreateOptions, FileSource, ListQuery, LocalProvider, Resource, SandboxError,
    SandboxProvider, SandboxState, Signal,
};

fn provider() -> (tempfile::TempDir, LocalProvider) {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalProvider::new(dir.path().join("sandboxes"));
    (dir, p)
}

/// Polls `check` until it holds or ten seconds pass.
async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Whether process `pid` is gone (a zombie counts as gone: it runs nothing any more, and an
/// orphan's zombie may wait for a reaper this test does not control).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesised command name.
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
        }
    }
}

/// The first stdout line of a process, as a pid.
async fn read_pid(proc: &mut pcc_sandbox::Process) -> u32 {
    let mut text = Vec::new();
    while !text.ends_with(b"\n") {
        match proc.next_event().await.unwrap().unwrap() {
            CommandEvent::Stdout(chunk) => text.extend_from_slice(&chunk),
            other => panic!("expected the pid on stdout, got {other:?}"),
        }
    }
    std::str::from_utf8(&text).unwrap().trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_through_the_trait_object() {
    let (_dir, local) = provider();
    let p: &dyn SandboxProvider = &local;
    assert_eq!(p.name(), "local");

    let mut options = CreateOptions::new("claude");
    options.metadata.insert("run".into(), "r1".into());
    options.timeout = Some(Duration::from_secs(600));
    let sbx = p.create(&options).await.unwrap();
    assert!(sbx.id().starts_with("local-"));
    assert_eq!(sbx.provider(), "local");
    let root = local.root_of(sbx.id()).unwrap();
    assert!(root.is_dir());
    assert!(p.is_running(&sbx).await.unwrap());

    let info = p.info(sbx.id()).await.unwrap();
    assert_eq!(info.template_id, "claude");
    assert_eq!(info.state, SandboxState::Running);
    assert_eq!(info.metadata.get("run").map(String::as_str), Some("r1"));
    assert!(info.started_at.as_deref().unwrap().ends_with('Z'));

    let other = p.create(&CreateOptions::default()).await.unwrap();
    let mut q = ListQuery::default();
    assert_eq!(p.list(&q).await.unwrap().len(), 2);
    q.metadata = BTreeMap::from([("run".to_owned(), "r1".to_owned())]);
    let listed = p.list(&q).await.unwrap();
    assert_eq!(listed.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), vec![sbx.id()]);
    q.metadata.clear();
    q.states = vec![SandboxState::Paused];
    assert!(p.list(&q).await.unwrap().is_empty());

    let again = p.connect(sbx.id()).await.unwrap();
    assert_eq!(again.id(), sbx.id());
    p.set_timeout(sbx.id(), Duration::from_secs(1200)).await.unwrap();
    let end = p.info(sbx.id()).await.unwrap().end_at.unwrap();
    assert!(end > info.end_at.unwrap());
    assert!(matches!(p.pause(sbx.id()).await, Err(SandboxError::Unsupported { .. })));

    assert!(p.kill(sbx.id()).await.unwrap());
    assert!(!root.exists());
    assert!(!p.kill(sbx.id()).await.unwrap());
    assert!(!p.is_running(&sbx).await.unwrap());
    assert!(matches!(p.info(sbx.id()).await, Err(SandboxError::NotFound { resource: Resource::Sandbox(_), .. })));
    assert!(matches!(p.connect("local-nope").await, Err(SandboxError::NotFound { .. })));
    assert!(p.kill(other.id()).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_stream_output_and_exit_status() {
    let (_dir, p) = provider();
    let mut options = CreateOptions::default();
    options.env_vars.insert("SANDBOX_WIDE".into(), "yes".into());
    let sbx = p.create(&options).await.unwrap();
    let root = p.root_of(sbx.id()).unwrap();

    let out = p.run_collect(&sbx, &Command::shell("echo out; echo err >&2; exit 3"), 1024).await.unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!((out.status.code, out.status.exited, out.status.success()), (3, true, false));
    assert_eq!(out.status.status, "exit status 3");

    // An argument vector runs without a shell: nothing in it is interpreted.
    let hostile = ["$(echo pwned)", "`id`", "a'b\"c", "line\nbreak", "ünï ✓", ""];
    let mut argv = vec!["printf", "%s\\0"];
    argv.extend_from_slice(&hostile);
    let out = p.run_collect(&sbx, &Command::argv(argv), 1024).await.unwrap();
    let got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().split('\0').collect();
    assert_eq!(&got[..hostile.len()], &hostile);

    // Environment (sandbox-wide and per command), HOME and the working directory.
    p.write_file(&sbx, "sub/dir/keep", FileSource::Bytes(Bytes::from_static(b""))).await.unwrap();
    let cmd = Command::shell("echo \"$SANDBOX_WIDE $PER_CMD $HOME\"; pwd").env("PER_CMD", "1").cwd("sub/dir");
    let out = p.run_collect(&sbx, &cmd, 4096).await.unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let root_s = root.display().to_string();
    assert_eq!(text, format!("yes 1 {root_s}\n{root_s}/sub/dir\n"));

    assert!(matches!(
        p.run(&sbx, &Command::shell("true").cwd("../..")).await,
        Err(SandboxError::PathOutsideSandbox { .. })
    ));
    assert!(matches!(p.run(&sbx, &Command::shell("true").cwd("missing")).await, Err(SandboxError::NotFound { .. })));
    assert!(matches!(
        p.run(&sbx, &Command::argv(["/no/such/program"])).await,
        Err(SandboxError::InvalidCommand { .. })
    ));

    // Output larger than the cap is read to the end and flagged.
    let out = p.run_collect(&sbx, &Command::shell("head -c 300000 /dev/zero"), 1000).await.unwrap();
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.stdout_truncated && !out.stderr_truncated && out.status.success());
    p.kill(sbx.id()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_output_arrives_complete_and_in_order() {
    let (_dir, p) = provider();
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    let mut proc = p.run(&sbx, &Command::argv(["seq", "1", "500000"])).await.unwrap();
    let mut lines = pcc_sandbox::LineSplitter::new(64);
    let mut next = 1u64;
    let mut exit = None;
    while let Some(ev) = proc.next().await {
        match ev.unwrap() {
            CommandEvent::Stdout(chunk) => {
                for line in lines.push(&chunk) {
                    assert_eq!(std::str::from_utf8(&line).unwrap().parse::<u64>().unwrap(), next);
                    next += 1;
                }
            }
            CommandEvent::Stderr(e) => panic!("stderr: {e:?}"),
            CommandEvent::Exit(s) => exit = Some(s),
        }
    }
    assert_eq!(next, 500_001);
    assert!(exit.unwrap().success());
    p.kill(sbx.id()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_signal_and_timeout() {
    let (_dir, p) = provider();
    let sbx = p.create(&CreateOptions::default()).await.unwrap();

    // Kill while another task reads the stream.
    let mut proc = p.run(&sbx, &Command::shell("echo started; exec sleep 30")).await.unwrap();
    let killer = proc.killer();
    assert_eq!(killer.pid(), proc.pid());
    assert_eq!(proc.next_event().await.unwrap().unwrap(), CommandEvent::Stdout(Bytes::from_static(b"started\n")));
    killer.kill().await.unwrap();
    let status = proc.wait().await.unwrap();
    assert_eq!((status.code, status.exited, status.status.as_str()), (-1, false, "signal: killed"));
    // It is gone: signalling it again is "not found".
    assert!(matches!(
        p.signal(&sbx, killer.pid(), Signal::Kill).await,
        Err(SandboxError::NotFound { resource: Resource::Process(_), .. })
    ));

    // SIGTERM through the provider by pid.
    let proc = p.run(&sbx, &Command::argv(["sleep", "30"])).await.unwrap();
    p.signal(&sbx, proc.pid(), Signal::Term).await.unwrap();
    assert_eq!(proc.wait().await.unwrap().status, "signal: terminated");

    // A command timeout kills the process (and its children) and ends the stream with TimedOut.
    let started = Instant::now();
    let mut proc = p
        .run(&sbx, &Command::shell("sleep 30 & echo $!; sleep 30; echo never").timeout(Duration::from_millis(300)))
        .await
        .unwrap();
    let child = read_pid(&mut proc).await;
    let leader = proc.pid();
    assert!(!process_gone(child));
    let err = proc.collect(1024).await.unwrap_err();
    assert!(matches!(err, SandboxError::TimedOut { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(eventually(|| async { process_gone(child) && process_gone(leader) }).await, "child {child} survived");

    // Killing the sandbox kills what runs in it.
    let mut proc = p.run(&sbx, &Command::shell("echo up; sleep 30")).await.unwrap();
    proc.next_event().await.unwrap().unwrap();
    assert!(p.kill(sbx.id()).await.unwrap());
    let status = tokio::time::timeout(Duration::from_secs(10), proc.wait()).await.unwrap().unwrap();
    assert!(!status.exited);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_expires_at_its_timeout() {
    let (_dir, p) = provider();
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    let root = p.root_of(sbx.id()).unwrap();
    p.set_timeout(sbx.id(), Duration::from_millis(100)).await.unwrap();
    assert!(eventually(|| async { !p.is_running(&sbx).await.unwrap() }).await);
    assert!(!root.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_round_trip_and_stay_inside() {
    let (dir, p) = provider();
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    let root = p.root_of(sbx.id()).unwrap();

    assert_eq!(p.write_file(&sbx, "a/b/c.txt", FileSource::Bytes(Bytes::from_static(b"hello"))).await.unwrap(), 5);
    assert_eq!(std::fs::read(root.join("a/b/c.txt")).unwrap(), b"hello");

    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let local = dir.path().join("big.bin");
    std::fs::write(&local, &big).unwrap();
    assert_eq!(p.write_file(&sbx, "big.bin", FileSource::Path(local.clone())).await.unwrap(), big.len() as u64);
    let reader = tokio::fs::File::open(&local).await.unwrap();
    let n = p.write_file(&sbx, "~/copy.bin", FileSource::Reader { reader: Box::new(reader), len: None }).await.unwrap();
    assert_eq!(n, big.len() as u64);

    let mut stream = p.read_file(&sbx, "copy.bin").await.unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got, big);

    let out_path = dir.path().join("download.bin");
    let mut out = tokio::fs::File::create(&out_path).await.unwrap();
    let abs = format!("{}/big.bin", root.display());
    assert_eq!(p.read_file_to(&sbx, &abs, &mut out).await.unwrap(), big.len() as u64);
    assert_eq!(std::fs::read(&out_path).unwrap(), big);

    // A command sees what was uploaded, and what it writes can be downloaded.
    let out = p.run_collect(&sbx, &Command::shell("cat a/b/c.txt > d.txt; echo ' world' >> d.txt"), 10).await.unwrap();
    assert!(out.status.success());
    let mut s = p.read_file(&sbx, "d.txt").await.unwrap();
    assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from_static(b"hello world\n"));

    let missing = p.read_file(&sbx, "nope.txt").await.err().unwrap();
    assert!(matches!(missing, SandboxError::NotFound { resource: Resource::File(_), .. }), "{missing:?}");
    for bad in ["../escape.txt", "a/../../escape.txt", "/etc/passwd"] {
        let err = p.write_file(&sbx, bad, FileSource::Bytes(Bytes::from_static(b"x"))).await.unwrap_err();
        assert!(matches!(err, SandboxError::PathOutsideSandbox { .. }), "{bad}: {err:?}");
        assert!(matches!(p.read_file(&sbx, bad).await, Err(SandboxError::PathOutsideSandbox { .. })), "{bad}");
    }
    assert!(!dir.path().join("sandboxes/escape.txt").exists());

    // A symlink made inside the sandbox cannot be used to reach outside it.
    let secret = dir.path().join("outside.txt");
    std::fs::write(&secret, b"outside").unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("link")).unwrap();
    std::os::unix::fs::symlink(&secret, root.join("file-link")).unwrap();
    assert!(matches!(p.read_file(&sbx, "link/outside.txt").await, Err(SandboxError::PathOutsideSandbox { .. })));
    assert!(matches!(p.read_file(&sbx, "file-link").await, Err(SandboxError::PathOutsideSandbox { .. })));
    let err = p.write_file(&sbx, "link/outside.txt", FileSource::Bytes(Bytes::from_static(b"x"))).await.unwrap_err();
    assert!(matches!(err, SandboxError::PathOutsideSandbox { .. }), "{err:?}");
    let err = p.write_file(&sbx, "file-link", FileSource::Bytes(Bytes::from_static(b"x"))).await.unwrap_err();
    assert!(matches!(err, SandboxError::PathOutsideSandbox { .. }), "{err:?}");
    assert_eq!(std::fs::read(&secret).unwrap(), b"outside");

    // Directories are not made beyond a symlink that leads out, nor through a dangling one.
    let outside_dir = dir.path().join("outside-dir");
    std::fs::create_dir(&outside_dir).unwrap();
    std::os::unix::fs::symlink(&outside_dir, root.join("dir-link")).unwrap();
    let err = p.write_file(&sbx, "dir-link/new/dir/f", FileSource::Bytes(Bytes::from_static(b"x"))).await.unwrap_err();
    assert!(matches!(err, SandboxError::PathOutsideSandbox { .. }), "{err:?}");
    assert_eq!(std::fs::read_dir(&outside_dir).unwrap().count(), 0, "something was made outside the sandbox");
    let absent = dir.path().join("absent");
    std::os::unix::fs::symlink(&absent, root.join("dangling")).unwrap();
    assert!(p.write_file(&sbx, "dangling/new/f", FileSource::Bytes(Bytes::from_static(b"x"))).await.is_err());
    assert!(!absent.exists());
    p.kill(sbx.id()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_provider_kills_its_processes_and_removes_its_sandboxes() {
    let (_dir, p) = provider();
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    let root = p.root_of(sbx.id()).unwrap();
    let mut proc = p.run(&sbx, &Command::shell("sleep 30 & echo $!; wait")).await.unwrap();
    let child = read_pid(&mut proc).await;
    let leader = proc.pid();
    assert!(!process_gone(child) && !process_gone(leader));
    // The process handle must not keep the provider's sandboxes alive.
    drop(p);
    assert!(eventually(|| async { process_gone(child) && process_gone(leader) }).await, "processes survived");
    assert!(eventually(|| async { !root.exists() }).await, "the sandbox directory survived");
    let status = tokio::time::timeout(Duration::from_secs(10), proc.wait()).await.unwrap().unwrap();
    assert!(!status.exited);
}
