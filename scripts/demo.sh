#!/usr/bin/env bash
# First run: installs what is missing, builds leapfrog, serves the small trained Gemma 4 pair in
# models/ (target + its MTP assistant head, q8_0) with speculation on and two slots, sends two chat
# requests at the same time, prints each reply with its draft acceptance and speed, and stops the
# server.
#
# Usage: scripts/demo.sh
# Environment:
#   BUILD_DIR     build directory (default: build); an already-built tree is reused
#   LEAPFROG_BIN  use this leapfrog binary and skip installing and building
#   THREADS       compute threads for the server (default: all CPUs)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
TARGET=models/tiny-gemma4-target-q8_0.gguf
HEAD=models/tiny-gemma4-assistant-q8_0.gguf

if [ -n "${LEAPFROG_BIN:-}" ]; then
  BIN=$LEAPFROG_BIN
  [ -x "$BIN" ] || { echo "demo: LEAPFROG_BIN=$BIN is not an executable" >&2; exit 1; }
else
  need_pkgs=()
  for p in cmake g++ libgtest-dev nlohmann-json3-dev libcpp-httplib-dev libcli11-dev libfmt-dev python3; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
  done
  if ((${#need_pkgs[@]})); then
    echo "installing: ${need_pkgs[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"
  fi
  echo "building leapfrog in $BUILD_DIR ..."
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target leapfrog -j"$(nproc)" >/dev/null
  BIN=$BUILD_DIR/leapfrog
fi
for f in "$TARGET" "$HEAD"; do
  [ -f "$f" ] || { echo "demo: $f is missing (it is part of the repository)" >&2; exit 1; }
done

LOG=$(mktemp -t leapfrog-demo.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -f "$LOG"
}
trap cleanup EXIT

# Port 0: the server takes a free port and prints it.
"$BIN" serve -m "$TARGET" --mtp "$HEAD" -np 2 -c 4096 --port 0 ${THREADS:+-t "$THREADS"} >"$LOG" 2>&1 &
SERVER_PID=$!
URL=""
for _ in $(seq 1 300); do
  URL=$(grep -o 'http://[0-9.]*:[0-9]*' "$LOG" | head -n 1 || true)
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "demo: the server exited:" >&2; cat "$LOG" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "demo: the server did not start:" >&2; cat "$LOG" >&2; exit 1; }
echo "$(head -n 1 "$LOG")"

python3 - "$URL" <<'EOF'
# Waits for /health, then sends the two chat requests concurrently (Python standard library only).
import json, sys, threading, time, urllib.request

url = sys.argv[1]
for _ in range(300):
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as r:
            if r.status == 200:
                break
    except OSError:
        pass
    time.sleep(0.1)
else:
    sys.exit("demo: /health never answered")

questions = [
    "Tell me about the old city by the river.",
    "What did the committee decide about the new school?",
]
results = [None] * len(questions)

def ask(i):
    body = json.dumps({"messages": [{"role": "user", "content": questions[i]}],
                       "max_tokens": 96, "temperature": 0}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=300) as r:
        results[i] = (json.load(r), time.monotonic() - t0)

threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
t0 = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.monotonic() - t0
if any(r is None for r in results):
    sys.exit("demo: a request failed")

total = 0
for q, (resp, secs) in zip(questions, results):
    tm = resp.get("timings", {})
    n = resp["usage"]["completion_tokens"]
    total += n
    drafted, accepted = tm.get("draft_n", 0), tm.get("draft_n_accepted", 0)
    rate = f"{accepted / drafted:.2f}" if drafted else "n/a"
    print(f"\n> {q}")
    print(resp["choices"][0]["message"]["content"].strip())
    print(f"  [{n} tokens, acceptance {rate} ({accepted}/{drafted} drafts), "
          f"{tm.get('predicted_per_second', 0):.0f} tok/s decode, {secs:.2f} s]")
print(f"\nboth requests: {total} tokens in {wall:.2f} s = {total / wall:.0f} tok/s together")
EOF
