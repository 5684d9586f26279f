"""Conformance check: run the official E2B Python SDK against the fake E2B server.

Tested with PyPI e2b==2.63.0 (connectrpc 0.12.1, pyqwest 0.12.0, protobuf-py 0.6.0, httpx 0.28.1).

Reads E2B_API_KEY, E2B_API_URL and E2B_SANDBOX_URL from the environment (the Rust test
`tests/e2b_sdk_conformance.rs` points them at a `FakeE2b`). Runs the recipe of
E2B-PROTOCOL.md section 5 and asserts every result; exits non-zero on the first mismatch,
after printing what was expected and what came back.
"""

import os
import sys
import time
import traceback

import e2b
from e2b import (
    AuthenticationException,
    CommandExitException,
    Sandbox,
    SandboxNotFoundException,
    SandboxQuery,
)

STEPS = []


def step(name):
    def wrap(fn):
        STEPS.append((name, fn))
        return fn

    return wrap


def check(what, got, want):
    if got != want:
        raise AssertionError(f"{what}: expected {want!r}, got {got!r}")
    print(f"  ok  {what} == {want!r}")


def check_true(what, cond):
    if not cond:
        raise AssertionError(f"{what}: expected true")
    print(f"  ok  {what}")


CTX = {}


@step("create a sandbox with metadata and env vars")
def create():
    sbx = Sandbox.create(metadata={"suite": "conformance", "k": "v w"}, envs={"FOO": "bar"}, timeout=120)
    CTX["sbx"] = sbx
    check_true("sandbox id has the API shape", sbx.sandbox_id.startswith("i") and sbx.sandbox_id.isalnum())
    check("envd version", str(sbx._envd_version), "0.6.13")


@step("commands.run: success, stdout/stderr, env, cwd")
def run_ok():
    sbx = CTX["sbx"]
    out, err = [], []
    res = sbx.commands.run(
        "echo hello; echo err >&2; echo $FOO-$BAR; pwd",
        envs={"BAR": "baz"},
        on_stdout=out.append,
        on_stderr=err.append,
    )
    lines = res.stdout.splitlines()
    check("exit code", res.exit_code, 0)
    check("first stdout line", lines[0], "hello")
    check("sandbox env + request env", lines[1], "bar-baz")
    check_true("default cwd is the sandbox home", lines[2].endswith("/home/user"))
    check("stderr", res.stderr, "err\n")
    check("error field", res.error, None)
    check("on_stdout saw all of stdout", "".join(out), res.stdout)
    check("on_stderr saw all of stderr", "".join(err), "err\n")

    res = sbx.commands.run("mkdir -p sub && cd sub && pwd", cwd="/home/user")
    check_true("cwd honoured", res.stdout.strip().endswith("/home/user/sub"))
    res = sbx.commands.run("pwd", cwd="/home/user/sub")
    check_true("cwd maps into the sandbox", res.stdout.strip().endswith("/home/user/sub"))


@step("commands.run: callbacks fire while the command runs")
def run_streaming():
    sbx = CTX["sbx"]
    seen = []
    t0 = time.monotonic()
    res = sbx.commands.run(
        "echo first; sleep 1; echo second",
        on_stdout=lambda s: seen.append((time.monotonic() - t0, s)),
    )
    check("exit code", res.exit_code, 0)
    check("chunks", [s for _, s in seen], ["first\n", "second\n"])
    check_true("first chunk arrived before the command ended", seen[0][0] < seen[1][0] - 0.5)


@step("commands.run: non-zero exit raises CommandExitException")
def run_fail():
    sbx = CTX["sbx"]
    try:
        sbx.commands.run("echo out; echo bad >&2; exit 3")
    except CommandExitException as e:
        check("exit code", e.exit_code, 3)
        check("stdout", e.stdout, "out\n")
        check("stderr", e.stderr, "bad\n")
        check("error", e.error, "exit status 3")
    else:
        raise AssertionError("expected CommandExitException")


@step("commands.run: timeout kills the command")
def run_timeout():
    sbx = CTX["sbx"]
    t0 = time.monotonic()
    try:
        sbx.commands.run("sleep 30", timeout=1)
    except e2b.TimeoutException:
        # The client enforces the same deadline, so either side may end the stream first.
        check_true("the command was cut at its timeout", time.monotonic() - t0 < 10)
    else:
        raise AssertionError("expected TimeoutException")
    # envd kills the process at the deadline (Connect-Timeout-Ms is a kill timer).
    deadline = time.monotonic() + 10
    while sbx.commands.list() and time.monotonic() < deadline:
        time.sleep(0.05)
    check("no process left running", [p.pid for p in sbx.commands.list()], [])


@step("commands: background, list, connect, kill")
def background():
    sbx = CTX["sbx"]
    handle = sbx.commands.run("echo started; sleep 60", background=True)
    pids = [p.pid for p in sbx.commands.list()]
    check_true("background process is listed", handle.pid in pids)
    handle.disconnect()
    again = sbx.commands.connect(handle.pid)
    check("kill", sbx.commands.kill(handle.pid), True)
    try:
        again.wait()
    except CommandExitException as e:
        check("killed exit code", e.exit_code, -1)
        check("killed error", e.error, "signal: killed")
    else:
        raise AssertionError("expected CommandExitException for a killed command")
    check("kill of a gone pid", sbx.commands.kill(handle.pid), False)


@step("commands: stdin")
def stdin():
    sbx = CTX["sbx"]
    handle = sbx.commands.run("read line; echo got:$line", background=True, stdin=True)
    sbx.commands.send_stdin(handle.pid, "hello\n")
    res = handle.wait()
    check("stdin reached the process", res.stdout, "got:hello\n")


@step("files: write, read, exists, get_info, list, make_dir, rename, remove")
def files():
    sbx = CTX["sbx"]
    info = sbx.files.write("/home/user/dir/a.txt", "content-1")
    check("write path", info.path, "/home/user/dir/a.txt")
    check("read", sbx.files.read("/home/user/dir/a.txt"), "content-1")
    check("read bytes", bytes(sbx.files.read("/home/user/dir/a.txt", format="bytes")), b"content-1")
    check("exists (true)", sbx.files.exists("/home/user/dir/a.txt"), True)
    check("exists (false)", sbx.files.exists("/home/user/nope.txt"), False)
    st = sbx.files.get_info("/home/user/dir/a.txt")
    check("stat size", st.size, 9)
    check("stat type", st.type.value, "file")
    check("stat name", st.name, "a.txt")
    names = sorted(e.name for e in sbx.files.list("/home/user/dir"))
    check("list", names, ["a.txt"])
    check("make_dir (new)", sbx.files.make_dir("/home/user/dir/sub"), True)
    check("make_dir (exists)", sbx.files.make_dir("/home/user/dir/sub"), False)
    moved = sbx.files.rename("/home/user/dir/a.txt", "/home/user/dir/sub/b.txt")
    check("rename", moved.path, "/home/user/dir/sub/b.txt")
    res = sbx.commands.run("cat dir/sub/b.txt")
    check("a command sees the uploaded file", res.stdout, "content-1")
    sbx.files.remove("/home/user/dir")
    check("removed", sbx.files.exists("/home/user/dir"), False)
    try:
        sbx.files.read("/home/user/nope.txt")
    except e2b.FileNotFoundException:
        print("  ok  read of a missing file raises FileNotFoundException")
    else:
        raise AssertionError("expected FileNotFoundException")
    sbx.files.write_files([{"path": "/home/user/m1", "data": "one"}, {"path": "/home/user/m2", "data": b"two"}])
    check("multi-file write", sbx.commands.run("cat m1 m2").stdout, "onetwo")


@step("set_timeout, get_info, is_running")
def info():
    sbx = CTX["sbx"]
    sbx.set_timeout(600)
    i = sbx.get_info()
    check("info id", i.sandbox_id, sbx.sandbox_id)
    check("info metadata", i.metadata, {"suite": "conformance", "k": "v w"})
    check("info state", i.state.value, "running")
    left = (i.end_at - i.started_at).total_seconds()
    check_true(f"end_at moved to about 600 s from now ({left:.0f} s after start)", 590 <= left <= 700)
    check("is_running", sbx.is_running(), True)


@step("list with a metadata query and pagination")
def listing():
    sbx = CTX["sbx"]
    other = Sandbox.create(metadata={"suite": "conformance", "k": "other"})
    CTX["other"] = other
    found = []
    pages = 0
    paginator = Sandbox.list(query=SandboxQuery(metadata={"suite": "conformance"}), limit=1)
    while paginator.has_next:
        found.extend(s.sandbox_id for s in paginator.next_items())
        pages += 1
    check("listed ids", sorted(found), sorted([sbx.sandbox_id, other.sandbox_id]))
    check("pages of one", pages, 2)
    only = Sandbox.list(query=SandboxQuery(metadata={"k": "v w"})).next_items()
    check("metadata filter with a space", [s.sandbox_id for s in only], [sbx.sandbox_id])


@step("connect to an existing sandbox")
def connect():
    sbx = CTX["sbx"]
    again = Sandbox.connect(sbx.sandbox_id)
    check("connected id", again.sandbox_id, sbx.sandbox_id)
    check("connected sandbox runs commands", again.commands.run("echo via-connect").stdout, "via-connect\n")


@step("pause and resume through connect")
def pause():
    other = CTX["other"]
    other.files.write("/home/user/keep.txt", "kept")
    check("pause", other.pause(), True)
    check("state after pause", Sandbox.get_info(other.sandbox_id).state.value, "paused")
    resumed = Sandbox.connect(other.sandbox_id)
    check("files survive a pause", resumed.files.read("/home/user/keep.txt"), "kept")


@step("kill")
def kill():
    sbx = CTX["sbx"]
    check("kill", sbx.kill(), True)
    check("kill again", Sandbox.kill(sbx.sandbox_id), False)
    check("is_running after kill", sbx.is_running(), False)
    try:
        sbx.commands.run("echo hi")
    except e2b.SandboxException as e:
        check_true(f"a command in a killed sandbox fails ({type(e).__name__})", "not found" in str(e))
    else:
        raise AssertionError("expected an error running a command in a killed sandbox")
    check("kill the other", CTX["other"].kill(), True)


@step("errors: unknown id, bad API key")
def errors():
    try:
        Sandbox.connect("inotthere0000000000000")
    except SandboxNotFoundException:
        print("  ok  connect to an unknown id raises SandboxNotFoundException")
    else:
        raise AssertionError("expected SandboxNotFoundException")
    try:
        Sandbox.get_info("inotthere0000000000000")
    except SandboxNotFoundException:
        print("  ok  get_info of an unknown id raises SandboxNotFoundException")
    else:
        raise AssertionError("expected SandboxNotFoundException")
    try:
        Sandbox.create(api_key="e2b_0000")
    except AuthenticationException:
        print("  ok  a bad API key raises AuthenticationException")
    else:
        raise AssertionError("expected AuthenticationException")


def main():
    for var in ("E2B_API_KEY", "E2B_API_URL", "E2B_SANDBOX_URL"):
        if not os.environ.get(var):
            print(f"error: {var} is not set", file=sys.stderr)
            return 2
    print(f"e2b SDK {getattr(e2b, '__version__', '?')} against {os.environ['E2B_API_URL']}")
    for name, fn in STEPS:
        print(f"step: {name}")
        try:
            fn()
        except Exception:
            print(f"FAILED: {name}", file=sys.stderr)
            traceback.print_exc()
            for key in ("sbx", "other"):
                try:
                    CTX[key].kill()
                except Exception:
                    pass
            return 1
    print(f"all {len(STEPS)} steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
