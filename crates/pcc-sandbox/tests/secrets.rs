//! No secret in any log line, error message or `Debug` output: the API key and the envd access
//! token are planted, every error class is provoked (several with the secrets echoed back by the
//! server), and everything printable is searched for them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use pcc_sandbox::{
    Command, CommandEvent, CommandLine, ConnectCode, CreateOptions, E2bConfig, E2bProvider, ExitStatus, FileSource,
    LineSplitter, ListQuery, LocalProvider, Resource, SandboxError, SandboxProvider, SandboxState, Secret, Service,
    Signal,
};
use pcc_testkit::e2b::{FakeE2b, Fault};

mod support;
use support::{canned_envd, frame};

/// Log output of this test binary, at trace level for pcc-sandbox.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything a user could see of an error: message, causes, hint, Debug.
fn all_text(e: &SandboxError) -> String {
    let mut text = format!("{e}\n{e:?}\n{:?}", e.hint());
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!("\n{s}\n{s:?}"));
        source = s.source();
    }
    text
}

fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "{what} leaks a secret: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_errors_logs_or_debug() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("pcc_sandbox=trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = FakeE2b::start().unwrap();
    let key = fake.api_key().to_owned();
    let planted_key = "e2b_planted_wrong_key_0123456789";
    let config = E2bConfig::from_lookup(|name| match name {
        "E2B_API_KEY" => Some(key.clone()),
        "E2B_API_URL" => Some(fake.api_url()),
        "E2B_SANDBOX_URL" => Some(fake.sandbox_url()),
        _ => None,
    })
    .unwrap();
    let p = E2bProvider::new(config.clone()).unwrap();
    let mut options = CreateOptions::default();
    options.env_vars.insert("ANTHROPIC_API_KEY".into(), "sk-ant-planted-env".into());
    let sbx = p.create(&options).await.unwrap();
    let token = fake.access_token(sbx.id()).unwrap();
    let secrets = [key.as_str(), token.as_str(), planted_key, "sk-ant-planted-env"];

    let mut errors: Vec<SandboxError> = Vec::new();
    // Configuration.
    errors.push(E2bConfig::from_lookup(|_| None).unwrap_err());
    errors.push(
        E2bConfig::new(Secret::new(key.clone())).with_api_url(&format!("http://user:{key}@127.0.0.1:1")).unwrap_err(),
    );
    // A refused key.
    let bad =
        E2bProvider::new(E2bConfig::new(Secret::new(planted_key)).with_api_url(&fake.api_url()).unwrap()).unwrap();
    errors.push(bad.create(&CreateOptions::default()).await.unwrap_err());
    // Transport: nothing listens there.
    let closed = E2bProvider::new(
        E2bConfig::new(Secret::new(key.clone())).with_api_url("http://127.0.0.1:1").unwrap().with_max_retries(0),
    )
    .unwrap();
    errors.push(closed.list(&ListQuery::default()).await.unwrap_err());
    // Server messages that echo the secrets back.
    let echo = format!("token {token} key {key}");
    for code in ["internal", "unauthenticated", "not_found", "deadline_exceeded", "resource_exhausted"] {
        fake.inject(Fault::EndStreamError { code: code.into(), message: echo.clone() });
        errors.push(p.run_collect(&sbx, &Command::shell("echo hi"), 10).await.unwrap_err());
    }
    // Rate limited, API error, timeouts, a cut stream, a missing file, a missing process.
    fake.inject(Fault::Status {
        path_prefix: "/v2".into(),
        status: 429,
        retry_after: Some(9),
        should_retry: Some(false),
        times: 1,
    });
    errors.push(p.create(&CreateOptions::default()).await.unwrap_err());
    fake.inject(Fault::Status {
        path_prefix: "/sandboxes".into(),
        status: 500,
        retry_after: None,
        should_retry: None,
        times: 1,
    });
    errors.push(p.info(sbx.id()).await.unwrap_err());
    errors.push(
        p.run_collect(&sbx, &Command::shell("sleep 5").timeout(Duration::from_millis(100)), 10).await.unwrap_err(),
    );
    fake.inject(Fault::DropStream { after_bytes: 10 });
    errors.push(p.run_collect(&sbx, &Command::shell("echo hi; sleep 1"), 10).await.unwrap_err());
    errors.push(p.read_file(&sbx, "missing").await.err().unwrap());
    errors.push(p.signal(&sbx, 999_999, Signal::Term).await.unwrap_err());
    errors.push(p.run(&sbx, &Command::argv(["echo", "a\0b"])).await.unwrap_err());
    // A daemon that breaks the protocol, quoting the secrets where a parser would echo them.
    let canned = canned_envd(vec![
        (format!("text/{token}"), b"{}".to_vec()),
        (
            "application/connect+json".to_owned(),
            [
                frame(0, r#"{"event":{"start":{"pid":7}}}"#),
                frame(0, &format!(r#"{{"event":{{"end":{{"exited":"{token}"}}}}}}"#)),
            ]
            .concat(),
        ),
    ]);
    let broken = E2bProvider::new(config.clone().with_sandbox_url(&canned).unwrap()).unwrap();
    let via_broken = broken.connect(sbx.id()).await.unwrap();
    errors.push(broken.run(&via_broken, &Command::shell("x")).await.unwrap_err());
    errors.push(broken.run(&via_broken, &Command::shell("x")).await.unwrap().collect(10).await.unwrap_err());
    // Gone.
    let proc = p.run(&sbx, &Command::argv(["sleep", "30"])).await.unwrap();
    let killer = proc.killer();
    let mut log_of_debug = format!("{sbx:?} {proc:?} {killer:?} {p:?} {config:?} {options:?}");
    drop(proc);
    p.kill(sbx.id()).await.unwrap();
    errors.push(p.run(&sbx, &Command::argv(["true"])).await.unwrap_err());
    errors.push(p.info(sbx.id()).await.unwrap_err());
    // The local provider's own errors.
    let dir = tempfile::tempdir().unwrap();
    let local = LocalProvider::new(dir.path());
    let lsbx = local.create(&CreateOptions::default()).await.unwrap();
    errors.push(local.write_file(&lsbx, "x", FileSource::Path(dir.path().join("missing"))).await.unwrap_err());
    errors.push(local.read_file(&lsbx, "../x").await.err().unwrap());
    errors.push(local.pause(lsbx.id()).await.unwrap_err());
    errors.push(local.run(&lsbx, &Command::argv(Vec::<String>::new())).await.unwrap_err());
    errors.push(p.run(&lsbx, &Command::argv(["true"])).await.unwrap_err());
    log_of_debug.push_str(&format!("{local:?} {lsbx:?}"));

    let codes: std::collections::BTreeSet<&str> = errors.iter().map(SandboxError::code).collect();
    for expected in [
        "missing_api_key",
        "config",
        "auth",
        "not_found",
        "rate_limited",
        "sandbox_gone",
        "timed_out",
        "protocol",
        "api",
        "rpc",
        "transport",
        "io",
        "path_outside_sandbox",
        "invalid_command",
        "unsupported",
        "wrong_provider",
    ] {
        assert!(codes.contains(expected), "no {expected} error provoked: {codes:?}");
    }
    for e in &errors {
        assert_clean(e.code(), &all_text(e), &secrets);
    }
    // The echoed messages did arrive, scrubbed.
    assert!(errors.iter().any(|e| e.to_string().contains("token [redacted] key [redacted]")));
    let protocol: Vec<String> =
        errors.iter().filter(|e| matches!(e, SandboxError::Protocol { .. })).map(ToString::to_string).collect();
    assert_eq!(protocol.iter().filter(|m| m.contains("[redacted]")).count(), 2, "{protocol:#?}");

    // Debug of every public type.
    let values = format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        Secret::new(key.clone()),
        Some(Secret::new(token.clone())),
        Command::argv(["claude"]).env("ANTHROPIC_API_KEY", key.clone()).env("TOKEN", token.clone()),
        CommandLine::Argv(vec!["x".into()]),
        CommandEvent::Stdout(Bytes::from_static(b"x")),
        ExitStatus { code: 0, exited: true, status: "exit status 0".into() },
        LineSplitter::new(10),
        ListQuery::default(),
        FileSource::Bytes(Bytes::from(key.clone().into_bytes())),
        SandboxState::Running,
        Resource::Process(1),
        ConnectCode::Internal,
        Service::Envd,
        {
            let mut o = CreateOptions::default();
            o.env_vars.insert("K".into(), key.clone());
            o
        },
    );
    assert_eq!(format!("{}", Secret::new(key.clone())), "[redacted]");
    assert_clean("Debug output", &format!("{log_of_debug} {values}"), &secrets);

    // The logs: something was logged (this test can fail), and nothing secret.
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("created sandbox") && text.contains(sbx.id()), "no logs captured: {text}");
    assert_clean("the logs", &text, &secrets);

    // A download streams the bytes it is asked for; only the wrappers are redacted.
    let lsbx2 = local.create(&CreateOptions::default()).await.unwrap();
    local.write_file(&lsbx2, "k", FileSource::Bytes(Bytes::from_static(b"data"))).await.unwrap();
    let mut s = local.read_file(&lsbx2, "k").await.unwrap();
    assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from_static(b"data"));
}
