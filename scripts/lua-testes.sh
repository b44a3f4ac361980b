#!/usr/bin/env bash
# Runs files of Lua 5.4's own test suite (its testes/) through llmspell's
# Lua, with only the lines that need what the sandbox removes changed
# (os.clock() reads 0). The suite comes from PyPI: the lupa sdist carries
# Lua 5.4's sources with testes/; it is cached in ~/.cache/llmspell/.
#
#   scripts/lua-testes.sh [LLMSPELL_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/llmspell}
cache=${LLMSPELL_CACHE:-$HOME/.cache/llmspell}/lua-testes
url=https://files.pythonhosted.org/packages/c3/a6/0f869fbb07c393f15473b1eefefb7b5bec162fb7481803d040ed4dc46002/lupa-2.8.tar.gz
sha=d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08
# The files llmspell's Lua passes whole; more join as the sandbox allows.
files=(pm sort tpack vararg math utf8)

if [ ! -f "$cache/pm.lua" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d)
  curl -fsSL -o "$tmp/lupa.tar.gz" "$url"
  echo "$sha  $tmp/lupa.tar.gz" | sha256sum -c - >/dev/null
  tar xzf "$tmp/lupa.tar.gz" -C "$tmp" lupa-2.8/third-party/lua54/testes
  cp "$tmp"/lupa-2.8/third-party/lua54/testes/*.lua "$cache/"
  rm -rf "$tmp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for f in "${files[@]}"; do
  sed 's/os\.clock()/0/g' "$cache/$f.lua" > "$work/$f.lua"
  if out=$("$bin" run "$work/$f.lua" --timeout 300 2>&1); then
    echo "testes/$f.lua: ok"
  else
    echo "testes/$f.lua: FAILED"
    echo "$out" | tail -5
    failed=1
  fi
done
exit $failed
