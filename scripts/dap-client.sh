#!/usr/bin/env bash
# Installs the Debug Adapter Protocol test client VS Code's own adapters
# are tested with (@vscode/debugadapter-testsupport, pinned, from npm), once
# per machine, in ~/.cache/llmspell/, and prints its node_modules folder.
# tests/dap.rs drives `llmspell dap` with it (tests/dap/session.cjs).
set -euo pipefail
version=1.68.0
dir=${LLMSPELL_CACHE:-$HOME/.cache/llmspell}/dap-testsupport-$version
if [ ! -f "$dir/node_modules/@vscode/debugadapter-testsupport/package.json" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --silent \
    "@vscode/debugadapter-testsupport@$version" >&2
fi
echo "$dir/node_modules"
