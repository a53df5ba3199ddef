#!/usr/bin/env bash
# Compare Sluice and Rotel on the same OTLP trace loads, one server at a time, on 127.0.0.1 only.
#
#   bench/run.sh                 # 20 s per load
#   DURATION=5 bench/run.sh      # quicker
#
# Writes a markdown table to stdout and bench/results/latest.md; raw JSON lines, server logs and
# generated configs go to bench/results/run-<timestamp>/. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench

DURATION=${DURATION:-20}       # measured seconds per load
WARMUP=${WARMUP:-2}            # seconds of load before measuring
SPANS=${SPANS:-1000}           # spans per request
ATTRIBUTES=${ATTRIBUTES:-10}   # string attributes per span
CONCURRENCY=${CONCURRENCY:-4}  # clients, one connection and one request in flight each
# The Sluice exporter that discards everything. This is the only place naming it.
SINK_EXPORTER=${SINK_EXPORTER:-nop}

SLUICE=${SLUICE:-$ROOT/target/release/sluice}
LOADGEN=${LOADGEN:-$ROOT/target/release/sluice-loadgen}
VENV=$BENCH/.venv
RESULTS=$BENCH/results
RUN_DIR=$RESULTS/run-$(date +%Y%m%d-%H%M%S)
JSONL=$RUN_DIR/results.jsonl
AUTH_USER=bench
AUTH_PASS=bench-$RANDOM-$RANDOM

mkdir -p "$RUN_DIR"
: >"$JSONL"
say() { echo "bench: $*" >&2; }

# --- servers: exactly one runs at a time; always stopped on exit -------------------------------

SERVER_PID=""
LOADGEN_PID=""

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
# The loadgen runs in the background so that a signal to this script is handled at once.
stop_all() {
    if [[ -n $LOADGEN_PID ]]; then
        kill -TERM "$LOADGEN_PID" 2>/dev/null || true
        wait "$LOADGEN_PID" 2>/dev/null || true
        LOADGEN_PID=""
    fi
    stop_server
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server LOG PORT1 PORT2 CMD...: runs CMD in the background and waits until both ports listen.
start_server() {
    local log=$1 p1=$2 p2=$3
    shift 3
    "$@" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=""
            return 1
        fi
        if port_open "$p1" && port_open "$p2"; then
            return 0
        fi
        sleep 0.1
    done
    stop_server
    return 1
}

# --- what is needed: binaries, Rotel, certificates, htpasswd -----------------------------------

if [[ ! -x $SLUICE || ! -x $LOADGEN ]]; then
    say "building target/release/sluice and sluice-loadgen (cargo build --release)"
    (cd "$ROOT" && cargo build --release -p sluice -p sluice-bench)
fi

ROTEL=""
if { [[ -x $VENV/bin/pip ]] || python3 -m venv "$VENV"; } >>"$RUN_DIR/pip.log" 2>&1 &&
    "$VENV/bin/pip" install -q rotel >>"$RUN_DIR/pip.log" 2>&1; then
    ROTEL=$(find "$VENV" -name rotel-agent -type f | head -n 1)
fi
if [[ -n $ROTEL ]]; then
    ROTEL_VERSION="$("$ROTEL" --version 2>/dev/null | head -n 1), PyPI rotel $("$VENV/bin/pip" show rotel 2>/dev/null |
        sed -n 's/^Version: //p')"
else
    ROTEL_VERSION="not run"
    say "SKIPPING ROTEL: pip could not install the 'rotel' package into bench/.venv (see $RUN_DIR/pip.log)"
fi

SECURE=1
CERTS=$RUN_DIR/certs
if ! "$SLUICE" certs --out "$CERTS" --hosts localhost,127.0.0.1 >"$RUN_DIR/certs.log" 2>&1; then
    say "skipping the TLS+mTLS+auth loads: 'sluice certs' failed (see $RUN_DIR/certs.log)"
    SECURE=0
fi
if ((SECURE)); then
    HTPASSWD_LINE=""
    if [[ -x $VENV/bin/pip ]] && "$VENV/bin/pip" install -q bcrypt >>"$RUN_DIR/pip.log" 2>&1; then
        HTPASSWD_LINE=$("$VENV/bin/python" -c 'import bcrypt, sys
print(sys.argv[1] + ":" + bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt(10)).decode())' \
            "$AUTH_USER" "$AUTH_PASS")
    elif command -v htpasswd >/dev/null; then
        HTPASSWD_LINE=$(htpasswd -nbB -C 10 "$AUTH_USER" "$AUTH_PASS" | head -n 1)
    fi
    if [[ -n $HTPASSWD_LINE ]]; then
        echo "$HTPASSWD_LINE" >"$RUN_DIR/htpasswd"
    else
        say "skipping the TLS+mTLS+auth loads: no python bcrypt and no htpasswd to make a bcrypt entry"
        SECURE=0
    fi
fi

# --- Sluice config -------------------------------------------------------------------------------

# sluice_config FILE GRPC_PORT HTTP_PORT SECURE(0|1)
sluice_config() {
    local file=$1 grpc=$2 http=$3 secure=$4 security="" extensions="" enabled="[]"
    if ((secure)); then
        security="
        tls:
          cert_file: $CERTS/server.crt
          key_file: $CERTS/server.key
          client_ca_file: $CERTS/ca.crt
        auth:
          authenticator: basicauth/bench"
        extensions="
extensions:
  basicauth/bench:
    htpasswd:
      file: $RUN_DIR/htpasswd"
        enabled="[basicauth/bench]"
    fi
    cat >"$file" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$grpc$security
      http:
        endpoint: 127.0.0.1:$http$security
exporters:
  $SINK_EXPORTER: {}
$extensions
service:
  extensions: $enabled
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [$SINK_EXPORTER]
EOF
}

# --- one load against one server -----------------------------------------------------------------

record_error() { # LOAD SERVER MESSAGE
    python3 -c 'import json, sys; print(json.dumps({"label": sys.argv[1] + "|" + sys.argv[2], "error": sys.argv[3]}))' \
        "$1" "$2" "$3" >>"$JSONL"
    say "$1 on $2: $3"
}

# run_load LOAD SERVER PROTOCOL SECURE [loadgen flags...]
run_load() {
    local load=$1 server=$2 protocol=$3 secure=$4
    shift 4
    local grpc http name=$load-$server
    grpc=$(free_port)
    http=$(free_port)
    while [[ $http == "$grpc" ]]; do http=$(free_port); done
    local started=0
    case $server in
    sluice)
        sluice_config "$RUN_DIR/$name.yaml" "$grpc" "$http" "$secure"
        start_server "$RUN_DIR/$name.log" "$grpc" "$http" \
            "$SLUICE" --config "$RUN_DIR/$name.yaml" && started=1
        ;;
    rotel)
        start_server "$RUN_DIR/$name.log" "$grpc" "$http" \
            "$ROTEL" start --otlp-grpc-endpoint "127.0.0.1:$grpc" --otlp-http-endpoint "127.0.0.1:$http" \
            --exporter blackhole --pid-file "$RUN_DIR/$name.pid" --log-file "$RUN_DIR/$name.rotel.log" &&
            started=1
        ;;
    esac
    if ((!started)); then
        record_error "$load" "$server" "server did not start (log: $RUN_DIR/$name.log)"
        return 0
    fi
    local port=$http scheme=http flags=()
    [[ $protocol == grpc ]] && port=$grpc
    if ((secure)); then
        scheme=https
        flags=(--tls-ca "$CERTS/ca.crt" --client-cert "$CERTS/client.crt" --client-key "$CERTS/client.key"
            --basic-auth "$AUTH_USER:$AUTH_PASS")
    fi
    say "$load on $server: ${WARMUP}s warm-up + ${DURATION}s"
    "$LOADGEN" --protocol "$protocol" --endpoint "$scheme://127.0.0.1:$port" "${flags[@]}" "$@" \
        --concurrency "$CONCURRENCY" --spans "$SPANS" --attributes "$ATTRIBUTES" \
        --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" \
        --label "$load|$server" --json >"$RUN_DIR/$name.json" 2>"$RUN_DIR/$name.err" &
    LOADGEN_PID=$!
    local status=0
    wait "$LOADGEN_PID" || status=$?
    LOADGEN_PID=""
    if ((status == 0)); then
        cat "$RUN_DIR/$name.json" >>"$JSONL"
    elif [[ -s $RUN_DIR/$name.json ]]; then
        cat "$RUN_DIR/$name.json" >>"$JSONL" # ran, but no request succeeded
        say "$load on $server: no request succeeded (see $RUN_DIR/$name.json)"
    else
        record_error "$load" "$server" "loadgen failed: $(tr '\n' ' ' <"$RUN_DIR/$name.err")"
    fi
    stop_server
}

# Anything else busy on this machine skews every figure: say so in the report.
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD_BEFORE" 'BEGIN { exit !(l > 0.5) }'; then
    say "warning: load average is $LOAD_BEFORE before the first load; other work will skew the results"
fi

servers=(sluice)
[[ -n $ROTEL ]] && servers+=(rotel)

for server in "${servers[@]}"; do run_load http "$server" http 0; done
for server in "${servers[@]}"; do run_load grpc "$server" grpc 0; done
for server in "${servers[@]}"; do run_load http+gzip "$server" http 0 --gzip; done
if ((SECURE)); then
    run_load http+tls+mtls+auth sluice http 1
    run_load grpc+tls+mtls+auth sluice grpc 1
fi

# --- the table -----------------------------------------------------------------------------------

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
CORES=$(nproc)
export DURATION WARMUP SPANS ATTRIBUTES CONCURRENCY SINK_EXPORTER ROTEL_VERSION RUN_DIR COMMIT CPU_MODEL \
    CORES LOAD_BEFORE
python3 "$BENCH/table.py" "$JSONL" | tee "$RESULTS/latest.md"
cp "$RESULTS/latest.md" "$RUN_DIR/summary.md"
say "raw results, configs and logs: $RUN_DIR"
