//! The fake E2B server, driven over raw HTTP/1.1: control plane, envd Connect framing, files,
//! auth, faults, timeouts and expiry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Client, b64, collect, pid_alive, request, unb64, wait_for};
use pcc_testkit::e2b::{FakeE2b, Fault, Plane};
use serde_json::{Value, json};

#[test]
fn control_plane_requires_the_api_key() {
    let fake = FakeE2b::start().unwrap();
    assert!(fake.api_key().starts_with("e2b_") && fake.api_key()[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    let url = fake.api_url();
    let body = br#"{"templateID":"base"}"#;

    let r = request(&url, "POST", "/v2/sandboxes", &[("Content-Type", "application/json")], body).unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["code"], 401);

    let h = [("X-API-Key", "e2b_deadbeef"), ("Content-Type", "application/json")];
    let r = request(&url, "POST", "/v2/sandboxes", &h, body).unwrap();
    assert_eq!((r.status, r.json()["code"].clone()), (401, json!(401)));
    assert_eq!(fake.created(), 0);

    // The header name is case-insensitive.
    let key = fake.api_key().to_string();
    let r = request(&url, "POST", "/v2/sandboxes", &[("x-api-key", &key), ("Content-Type", "application/json")], body)
        .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(request(&url, "GET", "/health", &[], b"").unwrap().status, 200);
}

#[test]
fn sandbox_lifecycle_over_the_control_plane() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };

    let r = c.api(
        "POST",
        "/v2/sandboxes",
        Some(&json!({"templateID": "base", "metadata": {"run": "1"}, "envVars": {"A": "b"}})),
    );
    assert_eq!(r.status, 201);
    let created = r.json();
    let id = created["sandboxID"].as_str().unwrap().to_string();
    assert!(id.starts_with('i') && id.len() == 21, "{id}");
    assert_eq!(created["templateID"], "rki5dems9wqfm4r03t7g");
    assert_eq!(created["alias"], "base");
    assert_eq!(created["clientID"], "6532622b");
    assert_eq!(created["envdVersion"], "0.6.13");
    assert!(created["envdAccessToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(fake.access_token(&id).as_deref(), created["envdAccessToken"].as_str());
    let root = fake.sandbox_root(&id).unwrap();
    assert!(root.join("home/user").is_dir());

    let info = c.api("GET", &format!("/sandboxes/{id}"), None).json();
    for field in [
        "templateID",
        "sandboxID",
        "clientID",
        "startedAt",
        "endAt",
        "cpuCount",
        "memoryMB",
        "diskSizeMB",
        "state",
        "envdVersion",
    ] {
        assert!(info.get(field).is_some(), "SandboxDetail lacks {field}: {info}");
    }
    assert_eq!(info["state"], "running");
    assert_eq!(info["metadata"], json!({"run": "1"}));

    // Timeout: 204, and endAt moves.
    let r = c.api("POST", &format!("/sandboxes/{id}/timeout"), Some(&json!({"timeout": 3600})));
    assert_eq!(r.status, 204);
    let later = c.api("GET", &format!("/sandboxes/{id}"), None).json();
    assert!(later["endAt"].as_str().unwrap() > info["endAt"].as_str().unwrap());
    let r = c.api("POST", &format!("/sandboxes/{id}/timeout"), Some(&json!({"timeout": 100_000})));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "Timeout cannot be greater than 24 hours");

    // Connect to a running sandbox: 200.
    let r = c.api("POST", &format!("/v2/sandboxes/{id}/connect"), Some(&json!({})));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["sandboxID"], id.as_str());

    // Pause: 204 then 409; envd answers 502 while paused; connect resumes with 201.
    assert_eq!(c.api("POST", &format!("/sandboxes/{id}/pause"), Some(&json!({}))).status, 204);
    assert_eq!(c.api("POST", &format!("/sandboxes/{id}/pause"), Some(&json!({}))).status, 409);
    assert_eq!(c.api("GET", &format!("/sandboxes/{id}"), None).json()["state"], "paused");
    let sbx = common::Sbx { id: id.clone(), token: fake.access_token(&id).unwrap() };
    assert_eq!(c.envd(&sbx, "GET", "/health", &[], b"").status, 502);
    assert_eq!(c.api("POST", &format!("/v2/sandboxes/{id}/connect"), Some(&json!({"timeout": 60}))).status, 201);
    assert_eq!(c.envd(&sbx, "GET", "/health", &[], b"").status, 204);

    // Metrics.
    let m = c.api("GET", &format!("/sandboxes/{id}/metrics"), None);
    assert_eq!(m.status, 200);
    assert!(m.json()[0]["memTotal"].as_u64().is_some());

    // Kill: 204, then 404 everywhere; the directory is gone.
    assert_eq!(fake.alive(), 1);
    assert_eq!(c.api("DELETE", &format!("/sandboxes/{id}"), None).status, 204);
    let r = c.api("DELETE", &format!("/sandboxes/{id}"), None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], 404);
    assert_eq!(c.api("GET", &format!("/sandboxes/{id}"), None).status, 404);
    assert_eq!(c.api("POST", &format!("/v2/sandboxes/{id}/connect"), Some(&json!({}))).status, 404);
    assert_eq!(fake.alive(), 0);
    assert_eq!(fake.created(), 1);
    assert!(fake.sandbox_root(&id).is_none());
    assert!(wait_for(5, || !root.exists()));

    // Validation.
    assert_eq!(c.api("POST", "/v2/sandboxes", Some(&json!({"timeout": 5}))).status, 400);
    assert_eq!(c.api("GET", "/nope", None).status, 404);
}

#[test]
fn list_paginates_and_filters() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let a = c.create(json!({"templateID": "base", "metadata": {"job": "x"}}));
    let b = c.create(json!({"templateID": "base", "metadata": {"job": "x"}}));
    let other = c.create(json!({"templateID": "claude", "metadata": {"job": "y"}}));
    assert_eq!((fake.alive(), fake.max_alive(), fake.created()), (3, 3, 3));

    let first = c.api("GET", "/v2/sandboxes?limit=2", None);
    assert_eq!(first.status, 200);
    let token = first.header("x-next-token").unwrap().to_string();
    let page1: Vec<String> =
        first.json().as_array().unwrap().iter().map(|s| s["sandboxID"].as_str().unwrap().to_string()).collect();
    let second = c.api("GET", &format!("/v2/sandboxes?limit=2&nextToken={token}"), None);
    assert!(second.header("x-next-token").is_none());
    let page2: Vec<String> =
        second.json().as_array().unwrap().iter().map(|s| s["sandboxID"].as_str().unwrap().to_string()).collect();
    assert_eq!([page1, page2].concat(), vec![a.id.clone(), b.id.clone(), other.id.clone()]);

    // metadata is one parameter holding an urlencoded, SDK-quoted query.
    let hits = c.api("GET", "/v2/sandboxes?metadata=job%3Dx", None).json();
    assert_eq!(hits.as_array().unwrap().len(), 2);
    let desc = c.api("GET", "/v2/sandboxes?order=desc&template=claude", None).json();
    assert_eq!(desc.as_array().unwrap().len(), 1);
    assert_eq!(desc[0]["sandboxID"], other.id.as_str());
    assert_eq!(desc[0]["alias"], "claude");

    assert_eq!(c.api("POST", &format!("/sandboxes/{}/pause", a.id), Some(&json!({}))).status, 204);
    let running = c.api("GET", "/v2/sandboxes?state=running", None).json();
    assert_eq!(running.as_array().unwrap().len(), 2);
    let paused = c.api("GET", "/v2/sandboxes?state=paused", None).json();
    assert_eq!(paused[0]["state"], "paused");
    assert_eq!(c.api("GET", "/v2/sandboxes?limit=0", None).status, 400);

    assert_eq!(c.api("DELETE", &format!("/sandboxes/{}", b.id), None).status, 204);
    assert_eq!((fake.alive(), fake.max_alive()), (2, 3));
}

#[test]
fn envd_routes_by_header_and_checks_the_token() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base"}));
    let url = fake.sandbox_url();
    let stat = json!({"path": "/home/user"}).to_string();

    // No token, wrong token: 401 JSON, even for an RPC.
    for token in [None, Some("wrong")] {
        let mut h = vec![("E2b-Sandbox-Id", sbx.id.as_str()), ("Content-Type", "application/json")];
        if let Some(t) = token {
            h.push(("X-Access-Token", t));
        }
        let r = request(&url, "POST", "/filesystem.Filesystem/Stat", &h, stat.as_bytes()).unwrap();
        assert_eq!(r.status, 401);
        let v = r.json();
        assert_eq!(v["code"], 401);
        assert!(v["message"].as_str().unwrap().contains("access token"));
        let r = request(&url, "GET", "/files?path=%2Fhome%2Fuser%2F.profile", &h, b"").unwrap();
        assert_eq!(r.status, 401);
    }
    // Health needs no token.
    let r = request(&url, "GET", "/health", &[("E2b-Sandbox-Id", sbx.id.as_str())], b"").unwrap();
    assert_eq!(r.status, 204);
    // Unknown sandbox: the proxy's 502.
    let r = request(&url, "GET", "/health", &[("E2b-Sandbox-Id", "inosuchsandbox")], b"").unwrap();
    assert_eq!(r.status, 502);
    let v = r.json();
    assert_eq!((v["code"].clone(), v["message"].clone()), (json!(502), json!("The sandbox was not found")));
    assert_eq!(v["sandboxId"], "inosuchsandbox");
    // No routing header.
    assert_eq!(request(&url, "GET", "/health", &[], b"").unwrap().status, 400);
    // Another port is not envd.
    let r = request(&url, "GET", "/health", &[("E2b-Sandbox-Id", sbx.id.as_str()), ("E2b-Sandbox-Port", "3000")], b"")
        .unwrap();
    assert_eq!(r.status, 502);

    // The right token works; an unknown RPC is unimplemented.
    let (status, v) = c.unary(&sbx, "filesystem.Filesystem/Stat", &json!({"path": "/home/user"}));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["entry"]["type"], "FILE_TYPE_DIRECTORY");
    let (status, v) = c.unary(&sbx, "filesystem.Filesystem/WatchDirX", &json!({}));
    assert_eq!((status, v["code"].clone()), (404, json!("unimplemented")));

    // Recorded for header assertions.
    let reqs = fake.requests();
    let last_stat = reqs.iter().rev().find(|r| r.path == "/filesystem.Filesystem/Stat").unwrap();
    assert_eq!(last_stat.plane, Plane::Envd);
    assert_eq!(last_stat.header("X-ACCESS-TOKEN"), Some(sbx.token.as_str()));
    assert_eq!(last_stat.header("connect-protocol-version"), Some("1"));
}

#[test]
fn start_streams_enveloped_events_and_ends_cleanly() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base", "envVars": {"SBX": "wide"}}));

    let mut r = c.start(&sbx, "echo hello; echo err >&2; echo $SBX; exit 3", false, &[("Connect-Timeout-Ms", "60000")]);
    let out = collect(&mut r);
    assert!(out.pid > 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\nwide\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert_eq!(
        out.end.unwrap(),
        json!({"exitCode": 3, "exited": true, "status": "exit status 3", "error": "exit status 3"})
    );
    assert_eq!(out.trailer, json!({}));

    // Exit code 0 is omitted (protojson), and there is no error.
    let mut r = c.start(&sbx, "true", false, &[]);
    let out = collect(&mut r);
    assert_eq!(out.end.unwrap(), json!({"exited": true, "status": "exit status 0"}));

    // Exact bytes of the framing: 5-byte header, JSON payload, end-of-stream `02 00 00 00 02 {}`.
    let r = c.start(&sbx, "printf x", false, &[]);
    let raw = r.bytes().unwrap();
    assert_eq!(raw[0], 0);
    let first_len = u32::from_be_bytes([raw[1], raw[2], raw[3], raw[4]]) as usize;
    let first: Value = serde_json::from_slice(&raw[5..5 + first_len]).unwrap();
    assert!(first["event"]["start"]["pid"].as_u64().is_some());
    assert!(raw.ends_with(b"\x02\x00\x00\x00\x02{}"));
    assert!(raw.windows(b64("x").len()).any(|w| w == b64("x").as_bytes()));

    // envs and cwd from the request; cwd maps into the sandbox root; HOME is the sandbox home.
    let (status, _) = c.unary(&sbx, "filesystem.Filesystem/MakeDir", &json!({"path": "/home/user/work"}));
    assert_eq!(status, 200);
    let msg = json!({"process": {"cmd": "/bin/bash", "args": ["-l", "-c", "pwd; echo $HOME $A"], "envs": {"A": "1"}, "cwd": "/home/user/work"}, "stdin": false});
    let mut r = c.stream(&sbx, "process.Process/Start", &msg, &[]);
    let out = collect(&mut r);
    let root = fake.sandbox_root(&sbx.id).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n{} 1\n", root.join("home/user/work").display(), root.join("home/user").display())
    );
    // cmd and args are honoured without a shell around them.
    let msg = json!({"process": {"cmd": "/bin/echo", "args": ["a b", "$HOME"]}});
    let out = collect(&mut c.stream(&sbx, "process.Process/Start", &msg, &[]));
    assert_eq!(out.stdout, b"a b $HOME\n");

    // Start errors come in the end-of-stream frame under HTTP 200.
    let msg = json!({"process": {"cmd": "/bin/bash", "args": ["-c", "true"], "cwd": "/nope"}});
    let mut r = c.stream(&sbx, "process.Process/Start", &msg, &[]);
    let (flags, v) = r.envelope().unwrap().unwrap();
    assert_eq!(flags, 2);
    assert_eq!(v["error"]["code"], "invalid_argument");
    assert_eq!(v["error"]["message"], "cwd '/nope' does not exist");
    let msg = json!({"process": {"cmd": "/no/such/binary"}});
    let (flags, v) = c.stream(&sbx, "process.Process/Start", &msg, &[]).envelope().unwrap().unwrap();
    assert_eq!((flags, v["error"]["code"].clone()), (2, json!("invalid_argument")));
}

#[test]
fn output_is_streamed_while_the_process_runs_and_stdin_works() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base"}));

    // The first line arrives while the process still blocks on stdin: nothing is buffered to the end.
    let mut r = c.start(&sbx, "echo first; read line; echo got:$line", true, &[]);
    let pid = r.message()["event"]["start"]["pid"].as_u64().unwrap();
    let data = r.message();
    assert_eq!(unb64(data["event"]["data"]["stdout"].as_str().unwrap()), b"first\n");

    // List shows it, with its config.
    let (_, list) = c.unary(&sbx, "process.Process/List", &json!({}));
    let listed = list["processes"].as_array().unwrap().iter().find(|p| p["pid"] == pid).cloned().unwrap();
    assert_eq!(listed["config"]["cmd"], "/bin/bash");

    let (status, _) =
        c.unary(&sbx, "process.Process/SendInput", &json!({"process": {"pid": pid}, "input": {"stdin": b64("hi\n")}}));
    assert_eq!(status, 200);
    let rest = r.message();
    assert_eq!(unb64(rest["event"]["data"]["stdout"].as_str().unwrap()), b"got:hi\n");
    let end = r.message();
    assert_eq!(end["event"]["end"]["exited"], true);
    assert_eq!(r.envelope().unwrap().unwrap().0, 2);

    // Unknown pid: not_found.
    let (status, v) =
        c.unary(&sbx, "process.Process/SendSignal", &json!({"process": {"pid": 999_999}, "signal": "SIGNAL_SIGKILL"}));
    assert_eq!((status, v["code"].clone()), (404, json!("not_found")));
    assert_eq!(v["message"], "process with pid 999999 not found");

    // CloseStdin ends `cat`.
    let mut r = c.start(&sbx, "cat; echo done", true, &[]);
    let pid = r.message()["event"]["start"]["pid"].as_u64().unwrap();
    assert_eq!(c.unary(&sbx, "process.Process/CloseStdin", &json!({"process": {"pid": pid}})).0, 200);
    let mut seen = Vec::new();
    loop {
        let (flags, v) = r.envelope().unwrap().unwrap();
        if flags == 2 {
            break;
        }
        if let Some(s) = v["event"]["data"]["stdout"].as_str() {
            seen.extend(unb64(s));
        }
    }
    assert_eq!(seen, b"done\n");
}

#[test]
fn connect_timeout_kills_the_process_with_deadline_exceeded() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base"}));

    let t0 = Instant::now();
    // The child of bash must die too: the whole process group is killed.
    let mut r = c.start(&sbx, "sleep 30 & echo $!; wait", false, &[("Connect-Timeout-Ms", "400")]);
    let pid = r.message()["event"]["start"]["pid"].as_u64().unwrap();
    let child: u64 = String::from_utf8(unb64(r.message()["event"]["data"]["stdout"].as_str().unwrap()))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (flags, v) = r.envelope().unwrap().unwrap();
    assert_eq!(flags, 2);
    assert_eq!(v, json!({"error": {"code": "deadline_exceeded", "message": "context deadline exceeded"}}));
    assert!(r.envelope().unwrap().is_none());
    assert!(t0.elapsed() >= Duration::from_millis(400));
    assert!(wait_for(10, || !pid_alive(pid) && !pid_alive(child)), "the timed-out processes still run");
    assert!(wait_for(10, || fake.running_pids(&sbx.id).is_empty()));
}

#[test]
fn keepalives_signals_and_reconnect() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base"}));

    // A quiet process gets keepalives at the requested interval.
    let mut r = c.start(&sbx, "echo up; sleep 60", false, &[("Keepalive-Ping-Interval", "0.1")]);
    let pid = r.message()["event"]["start"]["pid"].as_u64().unwrap();
    assert!(r.message()["event"]["data"]["stdout"].is_string());
    assert_eq!(r.message(), json!({"event": {"keepalive": {}}}));
    assert_eq!(r.message(), json!({"event": {"keepalive": {}}}));

    // Dropping the stream does not kill the process; Connect re-attaches without replay.
    drop(r);
    assert!(fake.running_pids(&sbx.id).contains(&(pid as u32)));
    let mut again = c.stream(&sbx, "process.Process/Connect", &json!({"process": {"pid": pid}}), &[]);
    assert_eq!(again.message(), json!({"event": {"start": {"pid": pid}}}));

    // SIGTERM through SendSignal ends it; the attached stream sees the signal exit.
    let (status, _) =
        c.unary(&sbx, "process.Process/SendSignal", &json!({"process": {"pid": pid}, "signal": "SIGNAL_SIGTERM"}));
    assert_eq!(status, 200);
    let end = again.message();
    assert_eq!(
        end,
        json!({"event": {"end": {"exitCode": -1, "status": "signal: terminated", "error": "signal: terminated"}}})
    );
    assert_eq!(again.envelope().unwrap().unwrap(), (2, json!({})));

    // Connect after exit answers from the retention cache: start, end, {}.
    let mut late = c.stream(&sbx, "process.Process/Connect", &json!({"process": {"pid": pid}}), &[]);
    let out = collect(&mut late);
    assert_eq!(out.end.unwrap()["status"], "signal: terminated");
    // A Connect to an unknown pid is not_found in the end-of-stream frame.
    let (flags, v) = c
        .stream(&sbx, "process.Process/Connect", &json!({"process": {"pid": 999_999}}), &[])
        .envelope()
        .unwrap()
        .unwrap();
    assert_eq!((flags, v["error"]["code"].clone()), (2, json!("not_found")));

    // Tags select processes too; SIGKILL by tag.
    let msg = json!({"process": {"cmd": "/bin/bash", "args": ["-l", "-c", "sleep 60"]}, "tag": "svc", "stdin": false});
    let mut r = c.stream(&sbx, "process.Process/Start", &msg, &[]);
    r.message();
    assert_eq!(
        c.unary(&sbx, "process.Process/SendSignal", &json!({"process": {"tag": "svc"}, "signal": "SIGNAL_SIGKILL"})).0,
        200
    );
    let out = collect_rest(&mut r);
    assert_eq!(out["status"], "signal: killed");
}

fn collect_rest(r: &mut common::Resp) -> Value {
    let mut end = Value::Null;
    while let Some((flags, v)) = r.envelope().unwrap() {
        if flags == 2 {
            break;
        }
        if let Some(e) = v["event"].get("end") {
            end = e.clone();
        }
    }
    end
}

#[test]
fn files_upload_download_and_filesystem_rpcs() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base"}));
    let root = fake.sandbox_root(&sbx.id).unwrap();

    // Multipart upload: the part's filename is the path; parents are created.
    let boundary = "XyZbOuNdArY";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/home/user/a/b/c.txt\"\r\nContent-Type: text/plain\r\n\r\ncontent-1\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rel.txt\"\r\n\r\nrelative\r\n--{boundary}--\r\n"
    );
    let ct = format!("multipart/form-data; boundary={boundary}");
    let r = c.envd(&sbx, "POST", "/files", &[("Content-Type", &ct)], body.as_bytes());
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!([{"path": "/home/user/a/b/c.txt", "name": "c.txt", "type": "file"}, {"path": "/home/user/rel.txt", "name": "rel.txt", "type": "file"}])
    );
    assert_eq!(std::fs::read(root.join("home/user/a/b/c.txt")).unwrap(), b"content-1");
    assert_eq!(std::fs::read(root.join("home/user/rel.txt")).unwrap(), b"relative");

    // Octet-stream upload with ?path=.
    let r = c.envd(
        &sbx,
        "POST",
        "/files?path=%2Ftmp%2Fo.bin&username=user",
        &[("Content-Type", "application/octet-stream")],
        b"\x00\x01\x02",
    );
    assert_eq!(r.status, 200);
    assert_eq!(std::fs::read(root.join("tmp/o.bin")).unwrap(), b"\x00\x01\x02");

    // Download.
    let r = c.envd(&sbx, "GET", "/files?path=%2Fhome%2Fuser%2Fa%2Fb%2Fc.txt", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("9"));
    assert_eq!(r.bytes().unwrap(), b"content-1");
    let r = c.envd(&sbx, "GET", "/files?path=%2Fhome%2Fuser%2Fmissing", &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"code": 404, "message": "path '/home/user/missing' does not exist"}));
    assert_eq!(c.envd(&sbx, "GET", "/files?path=%2Fhome%2Fuser", &[], b"").status, 400);
    // Escapes above `/` are refused.
    assert_eq!(c.envd(&sbx, "GET", "/files?path=%2F..%2F..%2Fetc%2Fpasswd", &[], b"").status, 400);
    let r = c.envd(&sbx, "POST", "/files?path=..%2F..%2F..%2Fx", &[("Content-Type", "application/octet-stream")], b"x");
    assert_eq!(r.status, 400);
    assert_eq!(c.envd(&sbx, "GET", "/files?path=x&username=nobody", &[], b"").status, 401);

    // Filesystem RPCs.
    let (s, v) = c.unary(&sbx, "filesystem.Filesystem/Stat", &json!({"path": "/home/user/a/b/c.txt"}));
    assert_eq!(s, 200);
    let e = &v["entry"];
    assert_eq!(
        (e["name"].clone(), e["type"].clone(), e["path"].clone()),
        (json!("c.txt"), json!("FILE_TYPE_FILE"), json!("/home/user/a/b/c.txt"))
    );
    assert_eq!(e["size"], "9");
    assert!(e["permissions"].as_str().unwrap().starts_with("-rw"));
    assert!(e["modifiedTime"].as_str().unwrap().ends_with('Z'));
    let (s, v) = c.unary(&sbx, "filesystem.Filesystem/Stat", &json!({"path": "/home/user/nope"}));
    assert_eq!((s, v["code"].clone()), (404, json!("not_found")));

    let (s, v) = c.unary(&sbx, "filesystem.Filesystem/MakeDir", &json!({"path": "/home/user/new/deep"}));
    assert_eq!((s, v["entry"]["type"].clone()), (200, json!("FILE_TYPE_DIRECTORY")));
    let (s, v) = c.unary(&sbx, "filesystem.Filesystem/MakeDir", &json!({"path": "/home/user/new/deep"}));
    assert_eq!((s, v["code"].clone()), (409, json!("already_exists")));

    let (s, v) = c.unary(&sbx, "filesystem.Filesystem/ListDir", &json!({"path": "/home/user/a", "depth": 2}));
    assert_eq!(s, 200);
    let paths: Vec<&str> = v["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/home/user/a/b", "/home/user/a/b/c.txt"]);
    let (s, v) = c.unary(&sbx, "filesystem.Filesystem/ListDir", &json!({"path": "/home/user/a"}));
    assert_eq!((s, v["entries"].as_array().unwrap().len()), (200, 1));

    let (s, v) = c.unary(
        &sbx,
        "filesystem.Filesystem/Move",
        &json!({"source": "/home/user/rel.txt", "destination": "/home/user/new/moved.txt"}),
    );
    assert_eq!((s, v["entry"]["path"].clone()), (200, json!("/home/user/new/moved.txt")));
    assert!(root.join("home/user/new/moved.txt").is_file());

    assert_eq!(c.unary(&sbx, "filesystem.Filesystem/Remove", &json!({"path": "/home/user/a"})).0, 200);
    assert!(!root.join("home/user/a").exists());
    // Removing what is not there is not an error.
    assert_eq!(c.unary(&sbx, "filesystem.Filesystem/Remove", &json!({"path": "/home/user/a"})).0, 200);
    let (s, v) = c.unary(&sbx, "filesystem.Filesystem/Stat", &json!({"path": "/../x"}));
    assert_eq!((s, v["code"].clone()), (400, json!("invalid_argument")));

    // A command sees uploaded files at their sandbox paths relative to its cwd.
    let out = collect(&mut c.start(&sbx, "cat new/moved.txt", false, &[]));
    assert_eq!(out.stdout, b"relative");
}

#[test]
fn status_and_slow_faults() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    fake.inject(Fault::Status {
        path_prefix: "/v2/sandboxes".into(),
        status: 429,
        retry_after: Some(2),
        should_retry: Some(false),
        times: 2,
    });

    // A bad key is still a 401: faults apply after authentication.
    let r = request(&fake.api_url(), "GET", "/v2/sandboxes", &[("X-API-Key", "e2b_00")], b"").unwrap();
    assert_eq!(r.status, 401);
    for _ in 0..2 {
        let r = c.api("POST", "/v2/sandboxes", Some(&json!({"templateID": "base"})));
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("2"));
        assert_eq!(r.header("should-retry"), Some("false"));
        assert_eq!(r.json()["code"], 429);
    }
    // Other paths are untouched, and after `times` the real answer comes back.
    assert_eq!(c.api("GET", "/sandboxes/inone", None).status, 404);
    let sbx = c.create(json!({"templateID": "base"}));
    assert_eq!(fake.created(), 1);

    fake.inject(Fault::Status {
        path_prefix: "/sandboxes/".into(),
        status: 503,
        retry_after: None,
        should_retry: Some(true),
        times: 1,
    });
    let r = c.api("GET", &format!("/sandboxes/{}", sbx.id), None);
    assert_eq!(
        (r.status, r.header("should-retry").map(str::to_string), r.header("retry-after").is_none()),
        (503, Some("true".into()), true)
    );
    assert_eq!(c.api("GET", &format!("/sandboxes/{}", sbx.id), None).status, 200);

    let delay = Duration::from_millis(500);
    fake.inject(Fault::Slow { delay, times: 1 });
    let t0 = Instant::now();
    assert_eq!(c.api("GET", &format!("/sandboxes/{}", sbx.id), None).status, 200);
    assert!(t0.elapsed() >= delay);
    let t1 = Instant::now();
    assert_eq!(c.envd(&sbx, "GET", "/health", &[], b"").status, 204);
    assert!(t1.elapsed() < delay, "only `times` responses are slowed");
}

#[test]
fn stream_faults_cut_or_fail_the_stream() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base"}));

    // Cut after 8 bytes: inside the first envelope (5-byte header + 30-odd bytes of JSON).
    fake.inject(Fault::DropStream { after_bytes: 8 });
    let r = c.start(&sbx, "echo hi", false, &[]);
    let mut raw = Vec::new();
    let mut body = r;
    let err = std::io::Read::read_to_end(body.reader(), &mut raw).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    assert_eq!(raw.len(), 8);
    assert_eq!(raw[0], 0);

    // The next stream is whole again.
    let out = collect(&mut c.start(&sbx, "echo ok", false, &[]));
    assert_eq!(out.stdout, b"ok\n");

    // End-of-stream error instead of `{}`; the rest of the stream is unchanged.
    fake.inject(Fault::EndStreamError { code: "unavailable".into(), message: "injected".into() });
    let out = collect(&mut c.start(&sbx, "echo data", false, &[]));
    assert_eq!(out.stdout, b"data\n");
    assert!(out.end.is_some());
    assert_eq!(out.trailer, json!({"error": {"code": "unavailable", "message": "injected"}}));
}

#[test]
fn sandboxes_expire_and_their_processes_die() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base", "timeout": 300}));
    let keep = c.create(json!({"templateID": "base", "timeout": 300}));
    let root = fake.sandbox_root(&sbx.id).unwrap();

    // A background process without a deadline; the stream is dropped.
    let mut r = c.start(&sbx, "sleep 60", false, &[]);
    let pid = r.message()["event"]["start"]["pid"].as_u64().unwrap();
    drop(r);
    assert!(pid_alive(pid));
    // The TTL counts from now.
    assert_eq!(c.api("POST", &format!("/sandboxes/{}/timeout", sbx.id), Some(&json!({"timeout": 1}))).status, 204);

    assert!(wait_for(10, || fake.alive() == 1), "the sandbox did not expire");
    assert!(wait_for(10, || !pid_alive(pid)), "the expired sandbox's process still runs");
    assert!(fake.sandbox_root(&sbx.id).is_none());
    assert!(wait_for(5, || !root.exists()));
    assert!(fake.sandbox_root(&keep.id).is_some());

    // Gone on both planes: 404 from the API, the proxy's 502 from envd.
    assert_eq!(c.api("GET", &format!("/sandboxes/{}", sbx.id), None).status, 404);
    let r = c.envd(&sbx, "GET", "/health", &[], b"");
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["message"], "The sandbox was not found");
    let (s, _) = c.unary(&sbx, "process.Process/List", &json!({}));
    assert_eq!(s, 502);

    // set_timeout shortens as well as extends.
    assert_eq!(c.api("POST", &format!("/sandboxes/{}/timeout", keep.id), Some(&json!({"timeout": 0}))).status, 204);
    assert!(wait_for(10, || fake.alive() == 0));
    assert_eq!((fake.created(), fake.max_alive()), (2, 2));
}

#[test]
fn auto_pause_pauses_instead_of_killing() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base", "timeout": 1, "autoPause": true}));
    assert!(wait_for(10, || c.api("GET", &format!("/sandboxes/{}", sbx.id), None).json()["state"] == "paused"));
    assert_eq!(fake.alive(), 1);
    let r = c.api("POST", &format!("/v2/sandboxes/{}/connect", sbx.id), Some(&json!({"timeout": 60})));
    assert_eq!(r.status, 201);
    assert_eq!(c.envd(&sbx, "GET", "/health", &[], b"").status, 204);
}

#[test]
fn dropping_the_fake_kills_its_processes() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base"}));
    let mut r = c.start(&sbx, "sleep 60", false, &[]);
    let pid = r.message()["event"]["start"]["pid"].as_u64().unwrap();
    let api = fake.api_url();
    drop(fake);
    assert!(wait_for(10, || !pid_alive(pid)), "a process outlived the fake");
    assert!(request(&api, "GET", "/health", &[], b"").is_err(), "the control plane still answers");
}

#[test]
fn requests_are_recorded_with_their_headers() {
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    c.api("GET", "/v2/sandboxes?limit=5&state=running", None);
    let reqs = fake.requests();
    let r = reqs.last().unwrap();
    assert_eq!(
        (r.plane, r.method.as_str(), r.path.as_str(), r.query.as_deref()),
        (Plane::Control, "GET", "/v2/sandboxes", Some("limit=5&state=running"))
    );
    assert_eq!(r.header("X-Api-Key"), Some(fake.api_key()));
    assert!(r.headers.iter().all(|(k, _)| k.chars().all(|c| !c.is_ascii_uppercase())));
}

#[test]
fn a_fake_tool_in_local_bin_is_on_the_login_path() {
    use std::os::unix::fs::PermissionsExt as _;
    let fake = FakeE2b::start().unwrap();
    let c = Client { fake: &fake };
    let sbx = c.create(json!({"templateID": "base"}));
    let bin = fake.sandbox_root(&sbx.id).unwrap().join("home/user/.local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("claude"), "#!/bin/sh\necho \"fake claude: $*\"\n").unwrap();
    std::fs::set_permissions(bin.join("claude"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = collect(&mut c.start(&sbx, "claude -p hello", false, &[]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fake claude: -p hello\n");
    assert_eq!(out.end.unwrap()["exited"], true);
}
