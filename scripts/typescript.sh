#!/usr/bin/env bash
# Installs the TypeScript compiler from npm (pinned), once per machine, in
# ~/.cache/llmspell/typescript, and prints the path of its `tsc`.
# tests/types.rs checks the shipped JavaScript spells with it against the
# declarations `llmspell api --types ts` writes.
set -euo pipefail
version=5.9.3
dir=${LLMSPELL_CACHE:-$HOME/.cache/llmspell}/typescript-$version
if [ ! -x "$dir/node_modules/.bin/tsc" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --silent "typescript@$version" >&2
fi
echo "$dir/node_modules/.bin/tsc"
