#!/usr/bin/env bash
# MCP server benchmarks (PRODUCT.md §11, issue 6): a client speaking newline-delimited JSON-RPC
# over the server's stdio, on a repository with 20 live sessions. Prints:
#   - spawn + initialize + tools/list + one get_parallel_status call (whole round trip), p50/p90;
#   - 1 000 sequential tool calls on one connection (list_file_claims, then get_parallel_status);
#   - the server's resident memory when idle after those calls (VmRSS) and at its peak (VmHWM).
# Both `parallel-cc-mcp` and `parallel-cc mcp serve` (what `install --mcp` registers) are measured.
#
#   bash bench/mcp.sh                       # builds the release binaries if needed
#   PCC_BIN=… PCC_MCP_BIN=… bash bench/mcp.sh
set -euo pipefail

sessions="${BENCH_MCP_SESSIONS:-20}"
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if [ -z "${PCC_MCP_BIN:-}" ]; then
  (cd "$root" && cargo build --release --locked -q -p pcc-mcp)
  PCC_MCP_BIN="$root/target/release/parallel-cc-mcp"
fi

repo="$work/repo"
git init -q "$repo"
python3 - "$repo" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(500):
    d = os.path.join(root, f"src/m{i // 50:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:04d}.rs"), "w") as f:
        f.write("".join(f"pub fn f{i}_{j}() -> u32 {{ {j} }}\n" for j in range(40)))
PY
git -C "$repo" add -A && git -C "$repo" commit -q -m initial
paths=()
for _ in $(seq "$sessions"); do
  sleep 3600 & pids+=("$!")
  out=$("$pcc" register --json --repo "$repo" --pid "${pids[-1]}")
  paths+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["worktreePath"])' "$out")")
done
mine="${paths[-1]}"

echo "parallel-cc: $("$pcc" --version)   machine: $(nproc) cores, $(uname -sr)"
echo "$sessions live sessions; the server runs in the last one's worktree (session found from its directory)"
for server in "$PCC_MCP_BIN" "$pcc mcp serve"; do
  python3 - "$mine" $server <<'PY'
import json, os, subprocess, sys, time

cwd, cmd = sys.argv[1], sys.argv[2:]

def start():
    return subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

class Conn:
    def __init__(self, p):
        self.p, self.id = p, 0
    def req(self, method, params=None):
        self.id += 1
        msg = {"jsonrpc": "2.0", "id": self.id, "method": method}
        if params is not None:
            msg["params"] = params
        self.p.stdin.write((json.dumps(msg) + "\n").encode()); self.p.stdin.flush()
        while True:
            r = json.loads(self.p.stdout.readline())
            if r.get("id") == self.id:
                if "error" in r or r.get("result", {}).get("isError"):
                    sys.exit(f"bench: {method} failed: {r}")
                return r
    def init(self):
        self.req("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
        self.p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'); self.p.stdin.flush()
    def call(self, name, args):
        return self.req("tools/call", {"name": name, "arguments": args})
    def close(self):
        self.p.stdin.close(); self.p.wait()

def pct(t, q):
    t = sorted(t); return t[min(len(t) - 1, int(round(q * (len(t) - 1))))] * 1000

cold = []
for i in range(33):
    t0 = time.perf_counter()
    c = Conn(start()); c.init(); c.req("tools/list")
    r = c.call("get_parallel_status", {})
    t1 = time.perf_counter()
    c.close()
    if i >= 3:
        cold.append(t1 - t0)
assert r["result"]["structuredContent"]["totalSessions"] >= 20, r
name = os.path.basename(cmd[0]) + (" " + " ".join(cmd[1:]) if len(cmd) > 1 else "")
print(f"{name}: spawn+initialize+tools/list+get_parallel_status  p50 {pct(cold, .5):6.2f} ms   p90 {pct(cold, .9):6.2f} ms   ({len(cold)} runs)")

def rss(pid):
    status = open(f"/proc/{pid}/status").read()
    return {l.split(":")[0]: l.split(":")[1].strip() for l in status.splitlines() if l.startswith(("VmRSS", "VmHWM"))}

c = Conn(start()); c.init(); c.req("tools/list"); c.call("get_my_session", {})
print(f"{name}: RSS after initialize and one call {rss(c.p.pid)['VmRSS']}")
for tool in ["list_file_claims", "get_parallel_status"]:
    c.call(tool, {})
    t0 = time.perf_counter()
    for _ in range(1000):
        c.call(tool, {})
    dt = time.perf_counter() - t0
    print(f"{name}: 1000 sequential {tool:<20} {dt:6.3f} s  ({dt:.3f} ms per call)")
mem = rss(c.p.pid)
print(f"{name}: idle RSS after those 2 000 calls {mem['VmRSS']}, peak {mem['VmHWM']}")
c.close()
PY
done
