//! The E2B client against the fake E2B service (pcc-testkit, feature fake-e2b): every trait
//! method, the headers on the wire, retries, and each failure the protocol can deliver.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use pcc_sandbox::{
    Command, CommandEvent, ConnectCode, CreateOptions, E2bConfig, E2bProvider, FileSource, ListQuery, Resource,
    SandboxError, SandboxProvider, SandboxState, Secret, Service, Signal,
};
use pcc_testkit::e2b::{FakeE2b, Fault, Plane};

mod support;
use support::{canned_envd, frame};

fn client(fake: &FakeE2b) -> E2bProvider {
    let config = E2bConfig::from_lookup(|name| match name {
        "E2B_API_KEY" => Some(fake.api_key().to_owned()),
        "E2B_API_URL" => Some(fake.api_url()),
        "E2B_SANDBOX_URL" => Some(fake.sandbox_url()),
        _ => None,
    })
    .unwrap();
    E2bProvider::new(config).unwrap()
}

fn count(fake: &FakeE2b, method: &str, path: &str) -> usize {
    fake.requests().iter().filter(|r| r.plane == Plane::Control && r.method == method && r.path == path).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    assert_eq!(p.name(), "e2b");

    let mut options = CreateOptions::new("base");
    options.metadata.insert("run".into(), "r1".into());
    options.timeout = Some(Duration::from_secs(600));
    let sbx = p.create(&options).await.unwrap();
    assert_eq!(fake.alive(), 1);
    assert_eq!(sbx.provider(), "e2b");
    assert_eq!(sbx.envd_version(), Some("0.6.13"));
    assert!(fake.sandbox_ids().contains(&sbx.id().to_owned()));
    assert!(p.is_running(&sbx).await.unwrap());

    let info = p.info(sbx.id()).await.unwrap();
    assert_eq!(info.id, sbx.id());
    assert_eq!(info.template_id, sbx.template_id());
    assert_eq!(info.state, SandboxState::Running);
    assert_eq!(info.metadata.get("run").map(String::as_str), Some("r1"));
    assert!(info.cpu_count.is_some() && info.memory_mb.is_some() && info.end_at.is_some());

    p.set_timeout(sbx.id(), Duration::from_secs(900)).await.unwrap();
    let later = p.info(sbx.id()).await.unwrap();
    assert!(later.end_at > info.end_at, "{:?} then {:?}", info.end_at, later.end_at);

    // Pause: envd is unreachable while paused; connect resumes.
    assert!(p.pause(sbx.id()).await.unwrap());
    assert!(!p.pause(sbx.id()).await.unwrap(), "a second pause reports false");
    assert_eq!(p.info(sbx.id()).await.unwrap().state, SandboxState::Paused);
    assert!(!p.is_running(&sbx).await.unwrap());
    let resumed = p.connect(sbx.id()).await.unwrap();
    assert_eq!(resumed.id(), sbx.id());
    assert!(p.is_running(&resumed).await.unwrap());
    let out = p.run_collect(&resumed, &Command::argv(["echo", "back"]), 100).await.unwrap();
    assert_eq!(out.stdout, b"back\n");

    assert!(p.kill(sbx.id()).await.unwrap());
    assert!(!p.kill(sbx.id()).await.unwrap(), "killing twice reports false");
    assert_eq!(fake.alive(), 0);
    let err = p.info(sbx.id()).await.unwrap_err();
    assert!(
        matches!(err, SandboxError::NotFound { resource: Resource::Sandbox(ref id), .. } if id == sbx.id()),
        "{err:?}"
    );
    assert!(matches!(p.connect(sbx.id()).await, Err(SandboxError::NotFound { .. })));
    assert!(matches!(p.connect("../../etc").await, Err(SandboxError::NotFound { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_follows_every_page_and_filters() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut o = CreateOptions::default();
        o.metadata.insert("batch".into(), "a b&c=d".into());
        o.metadata.insert("n".into(), i.to_string());
        ids.push(p.create(&o).await.unwrap().id().to_owned());
    }
    p.create(&CreateOptions::default()).await.unwrap();

    let mut q = ListQuery { page_size: Some(1), ..ListQuery::default() };
    assert_eq!(p.list(&q).await.unwrap().len(), 4);
    let pages = fake.requests().iter().filter(|r| r.path == "/v2/sandboxes" && r.method == "GET").count();
    assert_eq!(pages, 4, "one request per page");
    assert!(fake.requests().iter().any(|r| r.query.as_deref().is_some_and(|q| q.contains("nextToken="))));

    q.metadata.insert("batch".into(), "a b&c=d".into());
    let mut got: Vec<String> = p.list(&q).await.unwrap().into_iter().map(|i| i.id).collect();
    got.sort();
    ids.sort();
    assert_eq!(got, ids);

    // Characters each encoding layer treats specially must survive all three of them.
    let tricky = "50% + a b&c=d/é";
    let mut o = CreateOptions::default();
    o.metadata.insert("k+%& =".into(), tricky.into());
    let special = p.create(&o).await.unwrap().id().to_owned();
    let q = ListQuery { metadata: o.metadata.clone(), ..ListQuery::default() };
    let got: Vec<String> = p.list(&q).await.unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(got, vec![special.clone()]);
    let mut q = q;
    q.metadata.insert("k+%& =".into(), "50%25 + a b&c=d/é".into());
    assert!(p.list(&q).await.unwrap().is_empty());
    p.kill(&special).await.unwrap();

    p.pause(&ids[0]).await.unwrap();
    let q = ListQuery { states: vec![SandboxState::Paused], ..ListQuery::default() };
    let paused = p.list(&q).await.unwrap();
    assert_eq!(paused.len(), 1);
    assert_eq!(paused[0].state, SandboxState::Paused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_stream_and_report_status() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    let mut options = CreateOptions::default();
    options.env_vars.insert("FOO".into(), "bar".into());
    let sbx = p.create(&options).await.unwrap();

    let out = p.run_collect(&sbx, &Command::shell("echo hello; echo err >&2; echo $FOO"), 1024).await.unwrap();
    assert_eq!(out.stdout, b"hello\nbar\n");
    assert_eq!(out.stderr, b"err\n");
    assert!(out.status.success());

    // A non-zero exit is a status, not an error.
    let out = p.run_collect(&sbx, &Command::shell("exit 3"), 10).await.unwrap();
    assert_eq!((out.status.code, out.status.exited, out.status.status.as_str()), (3, true, "exit status 3"));

    // An argument vector arrives verbatim through envd's `bash -l -c`.
    let hostile = ["$(echo pwned)", "`echo pwned`", "it's \"quoted\"", "two\nlines", "ünïcödé ✓", "", "*", "$HOME;ls"];
    let mut argv = vec!["printf", "%s\\0"];
    argv.extend_from_slice(&hostile);
    let out = p.run_collect(&sbx, &Command::argv(argv), 4096).await.unwrap();
    let got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().split('\0').collect();
    assert_eq!(&got[..hostile.len()], &hostile);

    // Per-command environment, working directory and user.
    p.write_file(&sbx, "sub/keep", FileSource::Bytes(Bytes::from_static(b""))).await.unwrap();
    let out =
        p.run_collect(&sbx, &Command::shell("pwd; echo $X").env("X", "1").cwd("/home/user/sub"), 4096).await.unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with('/') && text.ends_with("/home/user/sub\n1\n"), "{text:?}");
    let out = p.run_collect(&sbx, &Command::shell("echo $USER").user("root"), 100).await.unwrap();
    assert_eq!(out.stdout, b"root\n");

    // A missing working directory fails the start with envd's invalid_argument.
    let err = p.run(&sbx, &Command::shell("true").cwd("/nope/nowhere")).await.unwrap_err();
    assert!(matches!(err, SandboxError::Rpc { code: ConnectCode::InvalidArgument, .. }), "{err:?}");
    // An unknown user is refused by envd.
    let err = p.run(&sbx, &Command::shell("true").user("mallory")).await.unwrap_err();
    assert!(matches!(err, SandboxError::Auth { service: Service::Envd, .. }), "{err:?}");

    // Events come in order, stdout and stderr apart, the exit last.
    // Two pipes feed the stream, so only the order within each stream is promised.
    let mut proc = p.run(&sbx, &Command::shell("echo a; echo b >&2; echo c; echo d >&2; exit 4")).await.unwrap();
    assert!(proc.pid() > 0);
    let mut events = Vec::new();
    while let Some(ev) = proc.next().await {
        events.push(ev.unwrap());
    }
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let Some((CommandEvent::Exit(status), output)) = events.split_last() else { panic!("no exit last: {events:?}") };
    assert_eq!(status.code, 4);
    for ev in output {
        match ev {
            CommandEvent::Stdout(b) => stdout.extend_from_slice(b),
            CommandEvent::Stderr(b) => stderr.extend_from_slice(b),
            CommandEvent::Exit(_) => panic!("two exits: {events:?}"),
        }
    }
    assert_eq!(stdout, b"a\nc\n");
    assert_eq!(stderr, b"b\nd\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_signal_running_processes() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    let sbx = p.create(&CreateOptions::default()).await.unwrap();

    let mut proc = p.run(&sbx, &Command::shell("echo started; sleep 30")).await.unwrap();
    assert_eq!(proc.next_event().await.unwrap().unwrap(), CommandEvent::Stdout(Bytes::from_static(b"started\n")));
    assert!(fake.running_pids(sbx.id()).contains(&proc.pid()));
    let killer = proc.killer();
    let reader = tokio::spawn(async move { proc.wait().await });
    killer.kill().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), reader).await.unwrap().unwrap().unwrap();
    assert_eq!((status.code, status.exited, status.status.as_str()), (-1, false, "signal: killed"));

    let proc = p.run(&sbx, &Command::argv(["sleep", "30"])).await.unwrap();
    p.signal(&sbx, proc.pid(), Signal::Term).await.unwrap();
    assert_eq!(proc.wait().await.unwrap().status, "signal: terminated");

    let err = p.signal(&sbx, 999_999, Signal::Kill).await.unwrap_err();
    assert!(matches!(err, SandboxError::NotFound { resource: Resource::Process(999_999), .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_timeout_kills_and_is_typed() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    let started = Instant::now();
    let proc = p.run(&sbx, &Command::shell("sleep 30").timeout(Duration::from_millis(500))).await.unwrap();
    let pid = proc.pid();
    let err = proc.collect(100).await.unwrap_err();
    assert!(matches!(err, SandboxError::TimedOut { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The fake forgets the process as it reaps it, which may trail the stream's end a little.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.running_pids(sbx.id()).contains(&pid) {
        assert!(Instant::now() < deadline, "the timed-out process still runs");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let start = fake.requests().into_iter().rev().find(|r| r.path == "/process.Process/Start").unwrap();
    assert_eq!(start.header("connect-timeout-ms"), Some("500"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_round_trip() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    let root = fake.sandbox_root(sbx.id()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    assert_eq!(p.write_file(&sbx, "a/b.txt", FileSource::Bytes(Bytes::from_static(b"content-1"))).await.unwrap(), 9);
    assert_eq!(std::fs::read(root.join("home/user/a/b.txt")).unwrap(), b"content-1");

    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let local = dir.path().join("big.bin");
    std::fs::write(&local, &big).unwrap();
    let n = p.write_file(&sbx, "/home/user/big.bin", FileSource::Path(local.clone())).await.unwrap();
    assert_eq!(n, big.len() as u64);
    assert_eq!(std::fs::read(root.join("home/user/big.bin")).unwrap(), big);

    let reader = tokio::fs::File::open(&local).await.unwrap();
    let n = p
        .write_file(&sbx, "odd name 'q'.bin", FileSource::Reader { reader: Box::new(reader), len: None })
        .await
        .unwrap();
    assert_eq!(n, big.len() as u64);

    let mut stream = p.read_file(&sbx, "odd name 'q'.bin").await.unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got, big);

    let out_path = dir.path().join("down.bin");
    let mut out = tokio::fs::File::create(&out_path).await.unwrap();
    assert_eq!(p.read_file_to(&sbx, "/home/user/big.bin", &mut out).await.unwrap(), big.len() as u64);
    assert_eq!(std::fs::read(&out_path).unwrap(), big);

    // What a command writes can be downloaded.
    let out = p.run_collect(&sbx, &Command::shell("printf 'patch' > result.patch"), 10).await.unwrap();
    assert!(out.status.success());
    let mut s = p.read_file(&sbx, "result.patch").await.unwrap();
    assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from_static(b"patch"));

    let err = p.read_file(&sbx, "missing.txt").await.err().unwrap();
    assert!(
        matches!(err, SandboxError::NotFound { resource: Resource::File(ref f), .. } if f == "missing.txt"),
        "{err:?}"
    );
    let err = p.read_file(&sbx, "a").await.err().unwrap();
    assert!(matches!(err, SandboxError::Rpc { .. }), "a directory is not a file: {err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_of_stream_errors_become_typed_errors() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    let sbx = p.create(&CreateOptions::default()).await.unwrap();

    fake.inject(Fault::EndStreamError {
        code: "deadline_exceeded".into(),
        message: "context deadline exceeded".into(),
    });
    let err = p.run_collect(&sbx, &Command::shell("echo hi"), 100).await.unwrap_err();
    assert!(matches!(err, SandboxError::TimedOut { .. }), "{err:?}");

    fake.inject(Fault::EndStreamError { code: "internal".into(), message: "boom".into() });
    let err = p.run_collect(&sbx, &Command::shell("echo hi"), 100).await.unwrap_err();
    assert!(
        matches!(err, SandboxError::Rpc { code: ConnectCode::Internal, ref message, .. } if message == "boom"),
        "{err:?}"
    );

    fake.inject(Fault::EndStreamError { code: "unauthenticated".into(), message: "no".into() });
    let err = p.run_collect(&sbx, &Command::shell("echo hi"), 100).await.unwrap_err();
    assert!(matches!(err, SandboxError::Auth { service: Service::Envd, .. }), "{err:?}");

    // Output before the error still arrives first.
    fake.inject(Fault::EndStreamError { code: "unavailable".into(), message: "gone".into() });
    let mut proc = p.run(&sbx, &Command::shell("echo first")).await.unwrap();
    assert_eq!(proc.next_event().await.unwrap().unwrap(), CommandEvent::Stdout(Bytes::from_static(b"first\n")));
    let err = proc.next_event().await.unwrap().unwrap_err();
    assert!(matches!(err, SandboxError::Rpc { code: ConnectCode::Unavailable, .. }), "{err:?}");
    assert!(proc.next_event().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_mid_message_is_an_error_not_a_hang() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    for after_bytes in [3, 40, 5000] {
        fake.inject(Fault::DropStream { after_bytes });
        let outcome = tokio::time::timeout(Duration::from_secs(20), async {
            let proc = p.run(&sbx, &Command::shell("head -c 200000 /dev/zero; sleep 5")).await?;
            proc.collect(1 << 20).await
        })
        .await
        .expect("a cut stream must not hang");
        let err = outcome.unwrap_err();
        assert!(
            matches!(err, SandboxError::Protocol { .. } | SandboxError::Transport { .. }),
            "cut after {after_bytes}: {err:?}"
        );
    }
    // The connection pool recovers: the next command works.
    let out = p.run_collect(&sbx, &Command::argv(["echo", "ok"]), 10).await.unwrap();
    assert_eq!(out.stdout, b"ok\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_with_retry_after_is_retried() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    fake.inject(Fault::Status {
        path_prefix: "/v2/sandboxes".into(),
        status: 429,
        retry_after: Some(1),
        should_retry: None,
        times: 1,
    });
    let started = Instant::now();
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950), "Retry-After: 1 was not honoured");
    assert_eq!(count(&fake, "POST", "/v2/sandboxes"), 2);
    assert_eq!(fake.alive(), 1);
    assert!(p.kill(sbx.id()).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_rules() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);

    // Should-Retry: false stops the retry; the error keeps the server's Retry-After.
    fake.inject(Fault::Status {
        path_prefix: "/v2/sandboxes".into(),
        status: 429,
        retry_after: Some(7),
        should_retry: Some(false),
        times: 1,
    });
    let err = p.create(&CreateOptions::default()).await.unwrap_err();
    assert!(
        matches!(err, SandboxError::RateLimited { service: Service::Api, retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    assert_eq!(count(&fake, "POST", "/v2/sandboxes"), 1);

    // A gateway error on create is not retried (a sandbox may have been made)...
    fake.inject(Fault::Status {
        path_prefix: "/v2/sandboxes".into(),
        status: 502,
        retry_after: Some(0),
        should_retry: None,
        times: 1,
    });
    let err = p.create(&CreateOptions::default()).await.unwrap_err();
    assert!(matches!(err, SandboxError::Api { status: 502, .. }), "{err:?}");
    assert_eq!(count(&fake, "POST", "/v2/sandboxes"), 2);
    // ...unless the create carries an idempotency key, or the server says Should-Retry: true.
    fake.inject(Fault::Status {
        path_prefix: "/v2/sandboxes".into(),
        status: 502,
        retry_after: Some(0),
        should_retry: None,
        times: 1,
    });
    let keyed = CreateOptions { idempotency_key: Some("run-1".into()), ..CreateOptions::default() };
    let sbx = p.create(&keyed).await.unwrap();
    assert_eq!(count(&fake, "POST", "/v2/sandboxes"), 4);
    let sent = fake.requests().into_iter().rev().find(|r| r.path == "/v2/sandboxes").unwrap();
    assert_eq!(sent.header("idempotency-key"), Some("run-1"));
    fake.inject(Fault::Status {
        path_prefix: "/v2/sandboxes".into(),
        status: 504,
        retry_after: Some(0),
        should_retry: Some(true),
        times: 1,
    });
    p.create(&CreateOptions::default()).await.unwrap();
    assert_eq!(count(&fake, "POST", "/v2/sandboxes"), 6);

    // Reads are retried on any of 429/502/503/504, at most three times.
    let info_path = format!("/sandboxes/{}", sbx.id());
    fake.inject(Fault::Status {
        path_prefix: info_path.clone(),
        status: 503,
        retry_after: Some(0),
        should_retry: None,
        times: 3,
    });
    p.info(sbx.id()).await.unwrap();
    assert_eq!(count(&fake, "GET", &info_path), 4);
    fake.inject(Fault::Status {
        path_prefix: info_path.clone(),
        status: 504,
        retry_after: Some(0),
        should_retry: None,
        times: 4,
    });
    let err = p.info(sbx.id()).await.unwrap_err();
    assert!(matches!(err, SandboxError::TimedOut { .. }), "{err:?}");
    assert_eq!(count(&fake, "GET", &info_path), 8);
    // Other statuses are not retried.
    fake.inject(Fault::Status {
        path_prefix: info_path.clone(),
        status: 500,
        retry_after: Some(0),
        should_retry: None,
        times: 1,
    });
    assert!(matches!(p.info(sbx.id()).await, Err(SandboxError::Api { status: 500, .. })));
    assert_eq!(count(&fake, "GET", &info_path), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_api_key_is_an_auth_error() {
    let fake = FakeE2b::start().unwrap();
    let planted = "e2b_planted0123456789abcdef";
    let config = E2bConfig::new(Secret::new(planted)).with_api_url(&fake.api_url()).unwrap();
    let p = E2bProvider::new(config).unwrap();
    for err in [
        p.create(&CreateOptions::default()).await.unwrap_err(),
        p.list(&ListQuery::default()).await.unwrap_err(),
        p.kill("i0000").await.unwrap_err(),
    ] {
        assert!(matches!(err, SandboxError::Auth { service: Service::Api, .. }), "{err:?}");
        assert!(err.hint().unwrap().contains("E2B_API_KEY"));
        assert!(!format!("{err} {err:?}").contains(planted));
    }
    assert_eq!(fake.created(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sandbox_is_gone() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    assert!(p.kill(sbx.id()).await.unwrap());
    let err = p.run(&sbx, &Command::argv(["true"])).await.unwrap_err();
    assert!(
        matches!(err, SandboxError::SandboxGone { ref id, ref message } if id == sbx.id() && message.contains("not found")),
        "{err:?}"
    );
    assert!(err.hint().is_some());
    assert!(matches!(p.read_file(&sbx, "x").await, Err(SandboxError::SandboxGone { .. })));
    assert!(matches!(
        p.write_file(&sbx, "x", FileSource::Bytes(Bytes::from_static(b"x"))).await,
        Err(SandboxError::SandboxGone { .. })
    ));
    assert!(matches!(p.signal(&sbx, 1, Signal::Kill).await, Err(SandboxError::SandboxGone { .. })));
    assert!(!p.is_running(&sbx).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_on_the_wire() {
    let fake = FakeE2b::start().unwrap();
    let p = client(&fake);
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    let token = fake.access_token(sbx.id()).unwrap();
    p.run_collect(&sbx, &Command::shell("echo hi"), 10).await.unwrap();
    p.write_file(&sbx, "f.txt", FileSource::Bytes(Bytes::from_static(b"x"))).await.unwrap();
    let _ = p.read_file(&sbx, "f.txt").await.unwrap().next().await;
    let proc = p.run(&sbx, &Command::argv(["sleep", "10"])).await.unwrap();
    proc.kill().await.unwrap();

    let requests = fake.requests();
    for r in requests.iter().filter(|r| r.plane == Plane::Control) {
        assert_eq!(r.header("x-api-key"), Some(fake.api_key()), "{} {}", r.method, r.path);
        assert_eq!(r.header("x-access-token"), None);
        assert!(r.header("user-agent").unwrap().starts_with("parallel-cc/"));
    }
    let create = requests.iter().find(|r| r.path == "/v2/sandboxes").unwrap();
    assert_eq!(create.header("content-type"), Some("application/json"));
    for r in requests.iter().filter(|r| r.plane == Plane::Envd) {
        assert_eq!(r.header("x-access-token"), Some(token.as_str()), "{}", r.path);
        assert_eq!(r.header("e2b-sandbox-id"), Some(sbx.id()));
        assert_eq!(r.header("e2b-sandbox-port"), Some("49983"));
        assert_eq!(r.header("x-api-key"), None, "the API key never goes to envd");
    }
    let start = requests.iter().find(|r| r.path == "/process.Process/Start").unwrap();
    assert_eq!(start.header("content-type"), Some("application/connect+json"));
    assert_eq!(start.header("connect-protocol-version"), Some("1"));
    assert_eq!(start.header("keepalive-ping-interval"), Some("50"));
    assert_eq!(start.header("connect-accept-encoding"), Some("identity"));
    assert_eq!(start.header("connect-timeout-ms"), None, "no timeout asked, no deadline sent");
    let signal = requests.iter().find(|r| r.path == "/process.Process/SendSignal").unwrap();
    assert_eq!(signal.header("content-type"), Some("application/json"));
    assert_eq!(signal.header("connect-protocol-version"), Some("1"));
    let upload = requests.iter().find(|r| r.path == "/files" && r.method == "POST").unwrap();
    assert!(upload.header("content-type").unwrap().starts_with("multipart/form-data; boundary="));
    assert_eq!(upload.query.as_deref(), Some("path=f.txt"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protojson_quirks_and_broken_streams() {
    let fake = FakeE2b::start().unwrap();
    let start = frame(0, r#"{"event":{"start":{"pid":"4242"}}}"#);
    let keepalive = frame(0, r#"{"event":{"keepalive":{}}}"#);
    let data = frame(0, r#"{"event":{"data":{"stdout":"aGVsbG8K"},"unknownField":1}}"#);
    let end = frame(0, r#"{"event":{"end":{"exitCode":"-1","status":"signal: killed","error":"signal: killed"}}}"#);
    let eos = frame(2, r#"{"metadata":{"x-trailer":["v"]}}"#);
    let cat = |parts: &[&Vec<u8>]| parts.iter().flat_map(|p| p.iter().copied()).collect::<Vec<u8>>();
    let json = || "application/connect+json".to_owned();
    let url = canned_envd(vec![
        // Keepalives skipped, int64 as strings, unknown fields and trailers tolerated.
        (json(), cat(&[&start, &keepalive, &data, &keepalive, &end, &eos])),
        // A clean end of the body in the middle of a frame.
        (json(), cat(&[&start, &data[..data.len() - 4].to_vec()])),
        // The `end` event but no end-of-stream frame.
        (json(), cat(&[&start, &data, &end])),
        // An end-of-stream frame with no `end` event.
        (json(), cat(&[&start, &data, &eos])),
        // Not a Connect stream.
        ("application/json".to_owned(), b"{}".to_vec()),
        // A compressed frame, never negotiated.
        (json(), cat(&[&start, &frame(1, "x")])),
        // An error before the process started.
        (json(), frame(2, r#"{"error":{"code":"invalid_argument","message":"cwd '/x' does not exist"}}"#)),
    ]);
    let config = E2bConfig::new(Secret::new(fake.api_key()))
        .with_api_url(&fake.api_url())
        .unwrap()
        .with_sandbox_url(&url)
        .unwrap();
    let p = E2bProvider::new(config).unwrap();
    let sbx = p.create(&CreateOptions::default()).await.unwrap();
    let cmd = Command::shell("x");

    let mut proc = p.run(&sbx, &cmd).await.unwrap();
    assert_eq!(proc.pid(), 4242);
    assert_eq!(proc.next_event().await.unwrap().unwrap(), CommandEvent::Stdout(Bytes::from_static(b"hello\n")));
    let CommandEvent::Exit(status) = proc.next_event().await.unwrap().unwrap() else { panic!("no exit") };
    assert_eq!((status.code, status.exited, status.status.as_str()), (-1, false, "signal: killed"));
    assert!(proc.next_event().await.is_none());

    for case in ["cut mid-frame", "no end-of-stream", "no end event"] {
        let mut proc = p.run(&sbx, &cmd).await.unwrap();
        let mut last = None;
        while let Some(ev) = proc.next_event().await {
            last = Some(ev);
        }
        let err = last.unwrap().unwrap_err();
        assert!(matches!(err, SandboxError::Protocol { service: Service::Envd, .. }), "{case}: {err:?}");
    }
    let err = p.run(&sbx, &cmd).await.unwrap_err();
    assert!(matches!(err, SandboxError::Protocol { .. }), "content type: {err:?}");
    let err = p.run(&sbx, &cmd).await.unwrap().collect(10).await.unwrap_err();
    assert!(matches!(err, SandboxError::Protocol { .. }), "compressed: {err:?}");
    let err = p.run(&sbx, &cmd).await.unwrap_err();
    assert!(matches!(err, SandboxError::Rpc { code: ConnectCode::InvalidArgument, .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_the_key_stays_home() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    // Where a redirect would lead: it must never be contacted.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}/sandboxes/isbx1", elsewhere.local_addr().unwrap());
    let redirector = TcpListener::bind("127.0.0.1:0").unwrap();
    let api_url = format!("http://{}", redirector.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = redirector.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 && !line.ends_with("\r\n\r\n") {}
        let mut stream = reader.into_inner();
        let head =
            format!("HTTP/1.1 302 Found\r\nlocation: {target}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        line
    });

    let config = E2bConfig::new(Secret::new("e2b_redirect_key"))
        .with_api_url(&api_url)
        .unwrap()
        .with_request_timeout(Duration::from_secs(5))
        .with_max_retries(0);
    let p = E2bProvider::new(config).unwrap();
    let err = p.info("isbx1").await.unwrap_err();
    assert!(matches!(err, SandboxError::Api { status: 302, .. }), "{err:?}");
    let request = server.join().unwrap();
    assert!(request.to_ascii_lowercase().contains("x-api-key: e2b_redirect_key"), "{request}");
    elsewhere.set_nonblocking(true).unwrap();
    assert!(elsewhere.accept().is_err(), "the redirect was followed");
}
