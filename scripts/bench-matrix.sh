#!/usr/bin/env bash
# The three serving configurations measured on the same GGUF files, for leapfrog and optionally
# another OpenAI-compatible server, with `leapfrog bench --url`:
#   plain np2   no head, 2 slots, 2 concurrent requests
#   mtp np1     MTP head, 1 slot, 1 request
#   mtp np2     MTP head, 2 slots, 2 concurrent requests
# Each server is started fresh for each configuration on a free port, measured, and stopped. The
# JSON of every run goes to the output directory; the tables are printed per server and side by
# side, with leapfrog/other ratios of aggregate throughput when another server is given.
#
# Usage: scripts/bench-matrix.sh -m TARGET.gguf --mtp HEAD.gguf [options]
#   -P, --prompt-tokens N   prompt length (default 1150)
#   -G, --max-tokens N      tokens generated per request, EOS ignored (default 2000)
#   -R, --requests N        requests per configuration (default: its concurrency)
#   --small                 -P 256 -G 256 (small machines)
#   -t, --threads N         compute threads for the servers (default: all CPUs)
#   --draft-max N           tokens drafted per round (default 3)
#   --other "COMMAND"       another server; placeholders {model} {draft} {np} {ctx} {port} {threads}
#                           e.g. "/path/llama-server -m {model} {draft} -np {np} -c {ctx} --port {port} -t {threads} --metrics"
#   --other-draft "ARGS"    how it takes the head ({mtp} {draft_max}); empty for the plain run
#                           (default: "-md {mtp} --spec-type draft-mtp --spec-draft-n-max {draft_max}")
#   --other-name NAME       its label (default: the command's file name)
#   --only CONFIGS          comma-separated configurations plain-npN / mtp-npN (N slots, N requests
#                           in flight); default plain-np2,mtp-np1,mtp-np2
#   --out DIR               where the JSON and the plot go (default bench/matrix-YYYYmmdd-HHMMSS)
#   --bin PATH              leapfrog binary (default $LEAPFROG_BIN, else ${BUILD_DIR:-build}/leapfrog)
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL="" HEAD="" P=1150 G=2000 R="" THREADS="" DRAFT_MAX=3 OTHER="" OTHER_NAME="" ONLY="plain-np2,mtp-np1,mtp-np2"
OTHER_DRAFT="-md {mtp} --spec-type draft-mtp --spec-draft-n-max {draft_max}"
OUT="bench/matrix-$(date +%Y%m%d-%H%M%S)"
BIN=${LEAPFROG_BIN:-${BUILD_DIR:-build}/leapfrog}
die() { echo "bench-matrix: $*" >&2; exit 1; }
while (($#)); do
  case "$1" in
    -m|--model) MODEL=$2; shift 2 ;;
    --mtp) HEAD=$2; shift 2 ;;
    -P|--prompt-tokens) P=$2; shift 2 ;;
    -G|--max-tokens) G=$2; shift 2 ;;
    -R|--requests) R=$2; shift 2 ;;
    --small) P=256; G=256; shift ;;
    -t|--threads) THREADS=$2; shift 2 ;;
    --draft-max) DRAFT_MAX=$2; shift 2 ;;
    --other) OTHER=$2; shift 2 ;;
    --other-draft) OTHER_DRAFT=$2; shift 2 ;;
    --other-name) OTHER_NAME=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$MODEL" ] && [ -f "$MODEL" ] || die "give the target with -m TARGET.gguf (an existing file)"
[ -n "$HEAD" ] && [ -f "$HEAD" ] || die "give the head with --mtp HEAD.gguf (an existing file)"
[ -x "$BIN" ] || die "no leapfrog binary at $BIN (build it, or pass --bin / LEAPFROG_BIN)"
for n in "$P" "$G" "$DRAFT_MAX" ${R:+"$R"} ${THREADS:+"$THREADS"}; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "'$n' is not a number"
done
if [ -n "$OTHER" ] && [ -z "$OTHER_NAME" ]; then OTHER_NAME=$(basename "${OTHER%% *}"); fi
mkdir -p "$OUT"
THREADS_ARG=${THREADS:-$(nproc)}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_health() {  # url pid log
  python3 - "$1" <<'EOF' || { echo "bench-matrix: server did not become healthy:" >&2; tail -n 20 "$3" >&2; return 1; }
import sys, time, urllib.request
for _ in range(1200):
    try:
        with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.25)
sys.exit(1)
EOF
}
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT

# Starts server $1 (leapfrog|other) for config $2; sets URL.
start_server() {
  local who=$1 cfg=$2 np mtp port log
  np=${cfg##*-np}; mtp=0; [[ $cfg == mtp-* ]] && mtp=1
  local ctx=$(( np * (P + G + DRAFT_MAX + 64) ))
  port=$(free_port)
  log="$OUT/$who-$cfg.log"
  if [ "$who" = leapfrog ]; then
    local extra=()
    ((mtp)) && extra=(--mtp "$HEAD" --draft-max "$DRAFT_MAX")
    "$BIN" serve -m "$MODEL" "${extra[@]}" -np "$np" -c "$ctx" --port "$port" -t "$THREADS_ARG" >"$log" 2>&1 &
  else
    local draft="" cmd=$OTHER
    if ((mtp)); then draft=${OTHER_DRAFT//\{mtp\}/$HEAD}; draft=${draft//\{draft_max\}/$DRAFT_MAX}; fi
    cmd=${cmd//\{model\}/$MODEL}; cmd=${cmd//\{draft\}/$draft}; cmd=${cmd//\{np\}/$np}
    cmd=${cmd//\{ctx\}/$ctx}; cmd=${cmd//\{port\}/$port}; cmd=${cmd//\{threads\}/$THREADS_ARG}
    echo "$cmd" >"$log"
    bash -c "exec $cmd" >>"$log" 2>&1 &
  fi
  SERVER_PID=$!
  URL="http://127.0.0.1:$port"
  wait_health "$URL" "$SERVER_PID" "$log"
}

servers=(leapfrog)
[ -n "$OTHER" ] && servers+=(other)
IFS=, read -r -a configs <<<"$ONLY"
for cfg in "${configs[@]}"; do
  [[ $cfg =~ ^(plain|mtp)-np[1-9][0-9]*$ ]] || die "unknown configuration '$cfg' (plain-npN or mtp-npN)"
done
echo "workload: prompt $P tokens, $G generated tokens, draft-max $DRAFT_MAX, $THREADS_ARG threads; results in $OUT"
# Servers alternate within each configuration, so a ratio compares runs made minutes apart at most.
for cfg in "${configs[@]}"; do
  for who in "${servers[@]}"; do
    name=leapfrog; [ "$who" = other ] && name=$OTHER_NAME
    np=${cfg##*-np}
    echo "== $name ${cfg/-/ }" >&2
    start_server "$who" "$cfg"
    "$BIN" bench --url "$URL" -C "$np" -R "${R:-$np}" -P "$P" -G "$G" --label "$name ${cfg/-/ }" \
      --json-out "$OUT/$who-$cfg.json" -q >/dev/null
    stop_server
  done
done

for who in "${servers[@]}"; do
  name=leapfrog; [ "$who" = other ] && name=$OTHER_NAME
  files=(); for cfg in "${configs[@]}"; do files+=("$OUT/$who-$cfg.json"); done
  echo; echo "### $name"; "$BIN" bench --report "${files[@]}"
done
if [ -n "$OTHER" ]; then
  files=(); for cfg in "${configs[@]}"; do files+=("$OUT/leapfrog-$cfg.json" "$OUT/other-$cfg.json"); done
  echo; echo "### side by side"; "$BIN" bench --report "${files[@]}" --plot "$OUT/matrix.png"
  echo
  python3 - "$OUT" "$OTHER_NAME" "${configs[@]}" <<'EOF'
import json, sys
out, other, configs = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"| ratio leapfrog / {other} | " + " | ".join(c.replace("-", " ") for c in configs) + " |")
print("|---|" + "---:|" * len(configs))
for key, what in (("aggregate_tok_s", "aggregate tok/s"), ("single_stream_decode_tok_s", "single-stream decode")):
    cells = []
    for c in configs:
        a = json.load(open(f"{out}/leapfrog-{c}.json"))["runs"][0][key]
        b = json.load(open(f"{out}/other-{c}.json"))["runs"][0][key]
        cells.append(f"{a / b:.2f}" if b else "-")
    print(f"| {what} | " + " | ".join(cells) + " |")
EOF
else
  files=(); for cfg in "${configs[@]}"; do files+=("$OUT/leapfrog-$cfg.json"); done
  "$BIN" bench --report "${files[@]}" --plot "$OUT/matrix.png" >/dev/null
fi
