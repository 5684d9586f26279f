# Shared by the bench scripts (sourced): tools check, release binary, and a hermetic world — a
# temporary directory with its own HOME, git config and data dir, removed on exit with any
# `sleep` keepers started into `pids`. Sets `root`, `pcc`, `work`, `pids`.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

for tool in git hyperfine python3; do
  command -v "$tool" >/dev/null || { echo "bench: '$tool' is required (apt-get install $tool)" >&2; exit 2; }
done

if [ -z "${PCC_BIN:-}" ]; then
  echo "bench: building release binary..." >&2
  # From the repository root, so its .cargo/config.toml (SQLite build flags) applies.
  (cd "$root" && cargo build --release --locked -q -p pcc-cli)
  PCC_BIN="$root/target/release/parallel-cc"
fi
pcc="$PCC_BIN"

work="$(mktemp -d "${TMPDIR:-/tmp}/pcc-bench.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

unset PARALLEL_CC_SESSION_ID CLAUDE_PROJECT_DIR CLAUDE_PID
export HOME="$work/home" PARALLEL_CC_DATA_DIR="$work/data" GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL="$work/home/.gitconfig" NO_COLOR=1
mkdir -p "$HOME"
git config --global user.name bench
git config --global user.email bench@example.invalid
git config --global init.defaultBranch main
