#!/usr/bin/env bash
# Regenerate docs/cli.md from the binary's --help output.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p pcc-cli
B=target/debug/parallel-cc
{
  echo "# Command line"; echo
  echo "Generated from \`--help\` (\`bash docs/gen-cli.sh\`). Every command also takes the global flags \`--json\`, \`-q/--quiet\`, \`-v/--verbose\`, \`--log-file\`."; echo
  echo "The original tool's flat names (\`sandbox-run\`, \`merge-status\`, \`watch-merges\`, \`mcp-serve\`, …) are accepted as hidden aliases of the grouped commands once those exist, with a deprecation note on stderr. \`claude-parallel ARGS…\` is exactly \`parallel-cc run -- claude ARGS…\`."; echo
  for c in "" run register release heartbeat status cleanup "snapshot list" restore doctor migrate "config get" "config set" "config unset" "config list" completions; do
    echo "## parallel-cc $c"; echo; echo '```'
    # shellcheck disable=SC2086
    NO_COLOR=1 COLUMNS=100 $B $c --help
    echo '```'; echo
  done
} > docs/cli.md
