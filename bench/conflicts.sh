#!/usr/bin/env bash
# Conflict-prediction benchmarks (PRODUCT.md §11, §4.4) on a 20 000-file repository:
# `conflicts check` for a branch 50 files apart from main, and `conflicts matrix` for 8 live
# sessions with uncommitted work. Prints medians in ms.
#
#   bash bench/conflicts.sh                 # builds the release binary if needed
#   PCC_BIN=/path/to/parallel-cc BENCH_FILES=20000 BENCH_RUNS=20 bash bench/conflicts.sh
set -euo pipefail

files="${BENCH_FILES:-20000}"
runs="${BENCH_RUNS:-20}"
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

repo="$work/repo"
git init -q "$repo"
python3 - "$repo" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"src/m{i // 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.rs"), "w") as f:
        f.write(f"// file {i}\n" + "".join(f"pub fn f{i}_{j}() -> u32 {{ {j} }}\n" for j in range(10)))
PY
git -C "$repo" add -A && git -C "$repo" commit -q -m initial
edit() { # dir index tag: change line 3 of file N
  python3 - "$1" "$2" "$3" <<'PY'
import sys
root, i, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p = f"{root}/src/m{i // 100:03d}/f{i:05d}.rs"
lines = open(p).read().splitlines(True)
lines[2] = f"pub fn changed_{tag}() -> u32 {{ 0 }}\n"
open(p, "w").write("".join(lines))
PY
}
# feature: 25 files changed (2 of them also changed on main: a content conflict each);
# main: 25 other files changed after the fork. 50 files apart.
git -C "$repo" checkout -q -b feature
for i in $(seq 0 24); do edit "$repo" $((i * 7)) feature; done
git -C "$repo" commit -q -am feature
git -C "$repo" checkout -q main
for i in $(seq 0 22); do edit "$repo" $((i * 7 + 3)) main; done
edit "$repo" 0 main; edit "$repo" 7 main
git -C "$repo" commit -q -am "main moves"

time_it() { # label target-ms warmups command: hyperfine median (exit 3, "conflicts found", is expected)
  hyperfine -N --runs "$runs" --warmup "$3" -i --export-json "$work/t.json" --style none "$4" >/dev/null 2>&1
  python3 - "$work/t.json" "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{sys.argv[2]} median {r['median']*1000:8.2f} ms (target <= {sys.argv[3]})")
PY
}

echo "parallel-cc: $("$pcc" --version)   $(hyperfine --version)   machine: $(nproc) cores, $(uname -sr)"
out="$work/check.json"
PARALLEL_CC_LOG=off "$pcc" --json conflicts check --repo "$repo" --branch feature >"$out" || [ $? -eq 3 ]
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['conflictingFiles']==['src/m000/f00000.rs','src/m000/f00007.rs'], d['conflictingFiles']" "$out"
time_it "conflicts check, $files files, branch 50 files apart  " 100 2 \
  "$pcc --json conflicts check --repo $repo --branch feature"

# 8 live sessions: the main checkout and 7 worktrees, each with 5 uncommitted edits; sessions
# 1 and 2 both change line 3 of one file.
ids=()
for s in $(seq 0 7); do
  sleep 3600 & pids+=("$!")
  wt=$("$pcc" register --json --repo "$repo" --pid "${pids[-1]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["worktreePath"])')
  for k in $(seq 0 4); do edit "$wt" $((5000 + s * 100 + k)) "s$s"; done
  [ "$s" = 1 ] || [ "$s" = 2 ] && edit "$wt" 9999 "s$s"
done
"$pcc" --json conflicts matrix --repo "$repo" >"$work/matrix.json" || [ $? -eq 3 ]
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['sessions'])==8 and d['conflicting']==1, (len(d['sessions']), d['conflicting'])" "$work/matrix.json"
time_it "conflicts matrix, 8 live sessions, $files files         " 1000 1 "$pcc --json conflicts matrix --repo $repo"
