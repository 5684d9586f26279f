#!/usr/bin/env bash
# Session-lifecycle benchmarks (PRODUCT.md §11). Prints the figures recorded in
# docs/performance.md. Needs a release build, git, hyperfine, python3 and GNU time.
#
#   bash bench/run.sh            # build release if needed, run everything
#   PCC_BIN=/path/to/parallel-cc bash bench/run.sh
#   BENCH_FILES=20000 BENCH_SESSIONS=100 BENCH_RUNS=30 BENCH_WT_RUNS=10 bash bench/run.sh
#
# Everything happens in a temporary directory with its own HOME, git config and data dir; nothing
# of the user's is read or written.
set -euo pipefail

sessions="${BENCH_SESSIONS:-100}"
files="${BENCH_FILES:-20000}"
runs="${BENCH_RUNS:-30}"

[ -x /usr/bin/time ] || { echo "bench: GNU time is required (apt-get install time)" >&2; exit 2; }
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# A process that stays alive for the whole benchmark: sessions registered for it are live.
keeper() { sleep 3600 & pids+=("$!"); }

# median and mean (ms) from a hyperfine JSON export
summarize() {
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{r['median']*1000:.2f} {r['mean']*1000:.2f} {r['stddev']*1000:.2f}")
PY
}
bench() { # label json-out prepare command...
  local label="$1" out="$2" prep="$3"; shift 3
  local args=(--runs "$runs" --warmup 3 --export-json "$out" --style none)
  [ -n "$prep" ] && args+=(--prepare "$prep")
  hyperfine "${args[@]}" "$*" >/dev/null 2>"$out.err" || { cat "$out.err" >&2; exit 1; }
  read -r median mean sd < <(summarize "$out")
  printf '%-48s median %8.2f ms   mean %8.2f ms ± %.2f\n' "$label" "$median" "$mean" "$sd"
}
peak_rss() { # label command...  (GNU time's largest resident set, printed in MB)
  local label="$1"; shift
  local kb
  kb=$(/usr/bin/time -f 'RSS %M' "$@" 2>&1 >/dev/null | sed -n 's/^RSS //p' | tail -n1)
  printf '%-48s peak RSS %6.1f MB\n' "$label" "$(python3 -c "print($kb/1024)")"
}
make_repo() { # dir nfiles
  local dir="$1" n="$2"
  git init -q "$dir"
  python3 - "$dir" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"src/m{i // 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.rs"), "w") as f:
        f.write(f"// file {i}\npub fn f{i}() -> u32 {{ {i} }}\n")
PY
  git -C "$dir" add -A
  git -C "$dir" commit -q -m initial
}

echo "parallel-cc: $("$pcc" --version)   git: $(git --version | cut -d' ' -f3)   $(hyperfine --version)"
echo "machine: $(nproc) cores, $(uname -sr)"
echo

# 1. status --json with N live sessions ------------------------------------------------------
small="$work/small"
make_repo "$small" 50
for _ in $(seq "$sessions"); do
  keeper
  "$pcc" register --json --repo "$small" --pid "${pids[-1]}" >/dev/null
done
count=$("$pcc" status --json --repo "$small" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totalSessions"])')
[ "$count" = "$sessions" ] || { echo "bench: expected $sessions sessions, status shows $count" >&2; exit 1; }
bench "status --json, $sessions sessions" "$work/status.json" "" "$pcc" status --json --repo "$small"
bench "status --json --no-git, $sessions sessions" "$work/status-nogit.json" "" "$pcc" status --json --no-git --repo "$small"
peak_rss "status --json, $sessions sessions" "$pcc" status --json --repo "$small"

# 2. register into the main checkout ------------------------------------------------------------
solo="$work/solo"
make_repo "$solo" 50
keeper
p="${pids[-1]}"
bench "register (main checkout)" "$work/register.json" "$pcc release --pid $p" \
  "$pcc" register --json --repo "$solo" --pid "$p"
"$pcc" release --pid "$p" >/dev/null
peak_rss "register (main checkout)" "$pcc" register --json --repo "$solo" --pid "$p"
"$pcc" release --pid "$p" >/dev/null

# 3. worktree creation on a big repo, against git worktree add ---------------------------------
big="$work/big"
echo "bench: creating a $files-file repository..." >&2
echo "(files: $files)"
make_repo "$big" "$files"
keeper
p="${pids[-1]}"
wt_git="$work/git-wt"
# Interleaved (git, parallel-cc, git, parallel-cc, ...) so that file-system background work such
# as writeback and discard after each removal hits both sides alike; hyperfine would run all of one
# side first. Removal between runs is not timed.
python3 - "$pcc" "$big" "$wt_git" "$p" "${BENCH_WT_RUNS:-10}" <<'PY'
import statistics, subprocess, sys, time
pcc, big, wt_git, pid, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000
def quiet(cmd):
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
g, p = [], []
for _ in range(runs):
    g.append(timed(["git", "-C", big, "worktree", "add", "-q", "-b", "bench-git", wt_git]))
    quiet(["git", "-C", big, "worktree", "remove", "--force", wt_git])
    quiet(["git", "-C", big, "branch", "-q", "-D", "bench-git"])
    p.append(timed([pcc, "register", "--json", "--worktree", "--name", "bench-pcc", "--repo", big, "--pid", pid]))
    quiet([pcc, "release", "--pid", pid])
gm, pm = statistics.median(g), statistics.median(p)
label = lambda s: f"{s:<48}"
print(f"{label('git worktree add')} median {gm:8.2f} ms   (n={len(g)})")
print(f"{label('register --worktree')} median {pm:8.2f} ms   (n={len(p)})")
print(f"{label('worktree creation ratio')} {pm / gm:.2f} x git worktree add (target <= 1.10)")
PY
peak_rss "register --worktree, $files files" "$pcc" register --json --worktree --name bench-pcc --repo "$big" --pid "$p"
"$pcc" release --pid "$p" >/dev/null

# 4. 16 simultaneous registers ----------------------------------------------------------------
race="$work/race"
make_repo "$race" 50
rp=()
for _ in $(seq 16); do keeper; rp+=("${pids[-1]}"); done
# Write back what the worktree benchmark above left dirty (20 000-file checkouts and their
# removal), so the race measures registering rather than the disk catching up.
sync
start=$(python3 -c 'import time; print(time.monotonic())')
for i in "${!rp[@]}"; do
  "$pcc" register --json --repo "$race" --pid "${rp[$i]}" >"$work/race.$i" 2>"$work/err.$i" &
done
wait_fail=0
for job in $(jobs -p); do
  case " ${pids[*]} " in *" $job "*) continue ;; esac
  wait "$job" || wait_fail=$((wait_fail + 1))
done
elapsed=$(python3 -c "import time; print(f'{(time.monotonic()-$start)*1000:.0f}')")
mains=$(python3 - "$work" <<'PY'
import glob, json, sys
print(sum(1 for f in glob.glob(sys.argv[1] + "/race.*") if json.load(open(f)).get("isMainRepo")))
PY
)
printf '%-48s %s ms, %s in main checkout, %s errors\n' "16 simultaneous register" "$elapsed" "$mains" "$wait_fail"
