#!/usr/bin/env bash
# Processor cost in one run (the WebAssembly issue's benchmark): the same OTLP/HTTP load through
#   a-none           no processor
#   b-transform      the transform guest setting one span attribute
#   c-redact         the redact example guest redacting one attribute of every span
#   d-rotel-python   Rotel with its Python processor doing b's edit
# and spans per server CPU-second for each. Bounded: DURATION seconds per case.
#   cargo build --release -p sluice -p sluice-bench && bash .ci/build-guests && bash bench/processors.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-15} WARMUP=${WARMUP:-2} CONCURRENCY=${CONCURRENCY:-4}
SLUICE=$ROOT/target/release/sluice
LOADGEN=$ROOT/target/release/sluice-loadgen
GUESTS=$ROOT/target/wasm32-wasip2/release
OUT=$ROOT/bench/results/processors-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
ROTEL=$(find "$ROOT/bench/.venv" -name rotel-agent -type f 2>/dev/null | head -1 || true)
PID=""
trap '[[ -z $PID ]] || kill "$PID" 2>/dev/null || true' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# sluice_config CASE PORT: the config of one Sluice case.
sluice_config() {
    local processor="" list=""
    case $1 in
    b-transform)
        processor='  transform/bench: {trace_statements: ["set(span.attributes[\"bench\"], \"x\")"]}'
        list="processors: [transform/bench], "
        ;;
    c-redact)
        processor="  wasm/redact: {component: \"$GUESTS/sluice_guest_redact.wasm\", config: {patterns: [\"^url[.]path\$\"]}}"
        list="processors: [wasm/redact], "
        ;;
    esac
    echo "receivers: {otlp: {protocols: {http: {endpoint: \"127.0.0.1:$2\"}}}}"
    echo "exporters: {nop: }"
    [[ -z $processor ]] || printf 'processors:\n%s\n' "$processor"
    echo "service: {telemetry: {metrics: {level: none}}, pipelines: {traces: {receivers: [otlp], ${list}exporters: [nop]}}}"
}

# measure CASE PORT: load the server $PID listening on PORT.
measure() {
    if ! wait_port "$2"; then
        echo "$1: server did not start (see $OUT/$1.log)" >&2
        return 0
    fi
    "$LOADGEN" --protocol http --endpoint "http://127.0.0.1:$2" --spans 1000 --attributes 10 \
        --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" --server-pid "$PID" \
        --label "$1" --json >"$OUT/$1.json" 2>"$OUT/$1.err" || echo "$1: loadgen failed (see $OUT/$1.err)" >&2
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
}

for case in a-none b-transform c-redact; do
    port=$(free_port)
    sluice_config "$case" "$port" >"$OUT/$case.yaml"
    "$SLUICE" --config "$OUT/$case.yaml" >"$OUT/$case.log" 2>&1 &
    PID=$!
    measure "$case" "$port"
done

if [[ -n $ROTEL ]]; then
    cat >"$OUT/set_attribute.py" <<'PY'
from rotel_sdk.open_telemetry.common.v1 import AnyValue, KeyValue
from rotel_sdk.open_telemetry.trace.v1 import ResourceSpans


def process_spans(resource_spans: ResourceSpans):
    for scope_spans in resource_spans.scope_spans:
        for span in scope_spans.spans:
            span.attributes.append(KeyValue("bench", AnyValue("x")))
PY
    port=$(free_port)
    grpc=$(free_port)
    "$ROTEL" start --otlp-grpc-endpoint "127.0.0.1:$grpc" --otlp-http-endpoint "127.0.0.1:$port" \
        --exporter blackhole --otlp-with-trace-processor "$OUT/set_attribute.py" >"$OUT/d-rotel-python.log" 2>&1 &
    PID=$!
    measure d-rotel-python "$port"
else
    echo "rotel-agent is not in bench/.venv (bench/run.sh installs it): case d skipped" >&2
fi

python3 - "$OUT" <<'PY' | tee "$OUT/table.md"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
rows = {}
for f in sorted(out.glob("*.json")):
    text = f.read_text().strip()
    if text:
        rows[f.stem] = json.loads(text.splitlines()[-1])
def per_cpu(r):
    return r["server"]["spans_per_cpu_s"] or 0
base = per_cpu(rows["a-none"]) if "a-none" in rows else 0
print("| case | spans/s | spans per CPU-s | CPU per span vs a-none | peak RSS MiB | failed req |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name, r in rows.items():
    pc = per_cpu(r)
    ratio = f"{base / pc:.2f}x" if pc and base else "-"
    print(f"| {name} | {r['spans_per_s']:,.0f} | {pc:,.0f} | {ratio} | {r['server']['peak_rss_mib']:.1f} | {r['requests_failed']} |")
if "b-transform" in rows and "d-rotel-python" in rows and per_cpu(rows["d-rotel-python"]):
    print(f"\nb-transform / d-rotel-python, spans per CPU-second: {per_cpu(rows['b-transform']) / per_cpu(rows['d-rotel-python']):.1f}x")
PY
echo "raw results: $OUT" >&2
