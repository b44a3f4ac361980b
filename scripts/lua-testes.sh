#!/usr/bin/env bash
# Runs files of Lua 5.4's own test suite (its testes/) through llmspell's
# Lua, with only the lines that need what the sandbox removes taken out
# (see `blank` below). The suite comes from PyPI: the lupa sdist carries
# Lua 5.4's sources with testes/; it is cached in ~/.cache/llmspell/.
#
#   scripts/lua-testes.sh [LLMSPELL_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/llmspell}
cache=${LLMSPELL_CACHE:-$HOME/.cache/llmspell}/lua-testes
url=https://files.pythonhosted.org/packages/c3/a6/0f869fbb07c393f15473b1eefefb7b5bec162fb7481803d040ed4dc46002/lupa-2.8.tar.gz
sha=d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08
# The files run, each with the lines blanked (kept as empty lines, so line
# numbers stay the file's) that need what the sandbox removes: debug, io,
# os, require of a file, string.dump and bytecode, __gc finalizers, and
# what only those lines make true (a count, a userdata key). calls.lua's
# last line returns a function, which is not data a spell's result can be
# (see docs/values.md). bitwise.lua's `require "bwcoercion"` is given
# that module through package.preload. Line numbers are of the pinned
# sources (sha256 below). Left out: the files that test only what the
# sandbox removes (attrib, db, files, gc, gengc, main, tracegc), need
# Lua's C test library (api, code), or run only inside all.lua (big).
declare -A blank=(
  [pm]="" [sort]="" [tpack]="" [vararg]="" [math]="" [utf8]="" [cstack]="5 26 28 182 184 191 193"
  [strings]="171-172 421-450"
  [nextvar]="354-372"
  [errors]="6 227 235-241 245 248 250 253 274 276-290 340 490 511-532 587"
  [coroutine]="6 230 238 339-356 360-361 964-971"
  [closure]="239-278"
  [goto]="157 186-218"
  [calls]="6 314 330-343 345-352 363-372 389-392 395-412 414-435 453-494 497"
  [constructs]="6 306"
  [literals]="6 33-48 235-255 297-320"
  [locals]="6 8 73-77 80 82 165 262 429 435 444 452 480 483-484 491-493 500 606 608 784-808 1053"
  [events]="6 196 451-479"
  [bitwise]=""
  [verybig]="141-150"
)
files=(pm sort tpack vararg math utf8 strings nextvar errors coroutine closure goto calls
  constructs literals locals events bitwise cstack verybig)

if [ ! -f "$cache/bwcoercion.lua" ]; then
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
  # os.clock() reads 0: a few files time themselves with it.
  awk -v spec="${blank[$f]}" '
    BEGIN {
      n = split(spec, ranges, " ")
      for (i = 1; i <= n; i++) {
        split(ranges[i], ab, "-")
        last = ab[2] == "" ? ab[1] : ab[2]
        for (j = ab[1]; j <= last; j++) gone[j] = 1
      }
    }
    gone[NR] { print ""; next }
    { gsub(/os\.clock\(\)/, "0"); print }
  ' "$cache/$f.lua" > "$work/$f.lua"
  if [ "$f" = bitwise ]; then
    # The module as one escaped Lua string, before the file's first line
    # on that same line, so line numbers stay the file's.
    { printf 'package.preload.bwcoercion = load(%s, "@bwcoercion.lua") ' \
        "$(python3 -c 'import sys; s=open(sys.argv[1], encoding="latin-1").read(); print("\"" + "".join(c if c.isalnum() or c in " _.,()[]{}=+-*/<>:;~^&|#%!?@" else "\\%03d" % ord(c) for c in s) + "\"")' "$cache/bwcoercion.lua")"
      cat "$work/$f.lua"; } > "$work/$f.tmp" && mv "$work/$f.tmp" "$work/$f.lua"
  fi
  if out=$("$bin" run "$work/$f.lua" --timeout 300 2>&1); then
    echo "testes/$f.lua: ok"
  else
    echo "testes/$f.lua: FAILED"
    echo "$out" | tail -5
    failed=1
  fi
done
exit $failed
