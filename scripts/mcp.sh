#!/usr/bin/env bash
# The real MCP peers the tests use, pinned, installed once per machine in
# ~/.cache/llmspell/ (nothing of the user's Node or Python changes):
#
#   scripts/mcp.sh server   the reference server @modelcontextprotocol/server-everything
#                           (npm); prints its entry script, run with node
#   scripts/mcp.sh python   a venv with the official Python SDK `mcp` (PyPI), whose
#                           client drives `llmspell mcp serve`; prints its python
#
# tests/mcp.rs reads LLMSPELL_MCP_SERVER and LLMSPELL_MCP_PYTHON, which .ci/run
# sets from these.
set -euo pipefail
cache=${LLMSPELL_CACHE:-$HOME/.cache/llmspell}
case "${1:-}" in
server)
  version=2026.8.31
  dir=$cache/mcp-server-everything-$version
  entry=$dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js
  if [ ! -f "$entry" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent \
      "@modelcontextprotocol/server-everything@$version" >&2
  fi
  echo "$entry"
  ;;
python)
  version=1.30.0
  dir=$cache/mcp-python-$version
  if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c 'import mcp' 2>/dev/null; then
    python3 -m venv "$dir" >&2
    "$dir/bin/pip" install -q "mcp==$version" >&2
  fi
  echo "$dir/bin/python"
  ;;
*)
  echo "usage: scripts/mcp.sh server|python" >&2
  exit 2
  ;;
esac
