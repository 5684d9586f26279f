//! Proof that the fake speaks real E2B: the official Python SDK (`conformance/e2b_sdk.py`) runs
//! its whole recipe against a `FakeE2b` and must pass.
//!
//! Tested with PyPI `e2b==2.63.0`. Needs `PCC_E2B_SDK_PYTHON` pointing at a Python interpreter
//! that has that SDK installed (`.ci/run` creates the venv and runs this with `--ignored`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use pcc_testkit::e2b::FakeE2b;

#[test]
#[ignore = "needs the official e2b Python SDK; .ci/run runs it with --ignored"]
fn official_python_sdk_passes_against_the_fake() {
    let python = match std::env::var_os("PCC_E2B_SDK_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "PCC_E2B_SDK_PYTHON is not set: point it at a Python with the e2b SDK, e.g.\n  \
             python3 -m venv /tmp/venv-e2b && /tmp/venv-e2b/bin/pip install e2b==2.63.0\n  \
             PCC_E2B_SDK_PYTHON=/tmp/venv-e2b/bin/python cargo test -p pcc-testkit --features fake-e2b \
             --test e2b_sdk_conformance -- --ignored"
        ),
    };
    assert!(python.exists(), "PCC_E2B_SDK_PYTHON={} does not exist", python.display());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance/e2b_sdk.py");

    let fake = FakeE2b::start().unwrap();
    let out = Command::new(&python)
        .arg(&script)
        .env("E2B_API_KEY", fake.api_key())
        .env("E2B_API_URL", fake.api_url())
        .env("E2B_SANDBOX_URL", fake.sandbox_url())
        .env_remove("E2B_DOMAIN")
        .env_remove("E2B_DEBUG")
        .env_remove("E2B_ACCESS_TOKEN")
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", python.display(), script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the official SDK failed against the fake ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    assert!(stdout.contains("steps passed"), "unexpected script output:\n{stdout}\n{stderr}");

    // The SDK spoke both planes with the headers the protocol documents.
    let reqs = fake.requests();
    let create = reqs.iter().find(|r| r.method == "POST" && r.path == "/v2/sandboxes").expect("a v2 create");
    assert_eq!(create.header("x-api-key"), Some(fake.api_key()));
    let start = reqs.iter().find(|r| r.path == "/process.Process/Start").expect("a process Start");
    assert_eq!(start.header("content-type"), Some("application/connect+json"));
    assert_eq!(start.header("connect-protocol-version"), Some("1"));
    assert!(start.header("x-access-token").is_some());
    assert_eq!(start.header("e2b-sandbox-port"), Some("49983"));
    assert_eq!(fake.alive(), 0, "the script kills every sandbox it creates");
    assert!(fake.created() >= 2);
}
