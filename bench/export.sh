#!/usr/bin/env bash
# Export cost in one run (the exporters issue's benchmark): OTLP/gRPC load into a front Sluice
# whose traces go receiver → sending queue → OTLP/gRPC exporter → a backend Sluice (nop), with
#   a-memory       the in-memory sending queue
#   b-persistent   the persistent queue (file_storage, fsync off: survives kill -9)
#   c-fsync        the persistent queue with fsync on (survives power loss)
# and spans per front CPU-second for each. Bounded: DURATION seconds per case.
#   cargo build --release -p sluice -p sluice-bench && bash bench/export.sh
#   COMPRESSION=none bash bench/export.sh     # without the exporter's gzip
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-15} WARMUP=${WARMUP:-2} CONCURRENCY=${CONCURRENCY:-4}
COMPRESSION=${COMPRESSION:-gzip}   # the exporter's compression: gzip (the default) | zstd | none
SLUICE=$ROOT/target/release/sluice
LOADGEN=$ROOT/target/release/sluice-loadgen
OUT=$ROOT/bench/results/export-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
FRONT="" BACK=""
cleanup() { for p in $FRONT $BACK; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

back_port=$(free_port)
cat >"$OUT/backend.yaml" <<YAML
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:$back_port"}}}}
exporters: {nop: }
service: {telemetry: {metrics: {level: none}}, pipelines: {traces: {receivers: [otlp], exporters: [nop]}}}
YAML
"$SLUICE" --config "$OUT/backend.yaml" >"$OUT/backend.log" 2>&1 &
BACK=$!
wait_port "$back_port" || { echo "backend did not start (see $OUT/backend.log)" >&2; exit 1; }

for case in a-memory b-persistent c-fsync; do
    port=$(free_port)
    storage="" queue="{}"
    case $case in
    b-persistent | c-fsync)
        rm -rf "$OUT/queue-$case" && mkdir -p "$OUT/queue-$case"
        fsync=false
        [[ $case == c-fsync ]] && fsync=true
        storage="extensions: {file_storage: {directory: \"$OUT/queue-$case\", fsync: $fsync}}"
        queue="{storage: file_storage}"
        ;;
    esac
    {
        echo "receivers: {otlp: {protocols: {grpc: {endpoint: \"127.0.0.1:$port\"}}}}"
        echo "exporters: {otlp: {endpoint: \"127.0.0.1:$back_port\", tls: {insecure: true}, compression: $COMPRESSION, sending_queue: $queue}}"
        [[ -z $storage ]] || echo "$storage"
        echo "service:"
        [[ -z $storage ]] || echo "  extensions: [file_storage]"
        echo "  telemetry: {metrics: {level: none}}"
        echo "  pipelines: {traces: {receivers: [otlp], exporters: [otlp]}}"
    } >"$OUT/$case.yaml"
    "$SLUICE" --config "$OUT/$case.yaml" >"$OUT/$case.log" 2>&1 &
    FRONT=$!
    if wait_port "$port"; then
        "$LOADGEN" --protocol grpc --endpoint "http://127.0.0.1:$port" --spans 1000 --attributes 10 \
            --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" --server-pid "$FRONT" \
            --label "$case" --json >"$OUT/$case.json" 2>"$OUT/$case.err" || echo "$case: loadgen failed (see $OUT/$case.err)" >&2
    else
        echo "$case: front did not start (see $OUT/$case.log)" >&2
    fi
    kill -TERM "$FRONT" 2>/dev/null || true
    wait "$FRONT" 2>/dev/null || true
    FRONT=""
done

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
base = per_cpu(rows["a-memory"]) if "a-memory" in rows else 0
print("| case | spans/s | front spans per CPU-s | vs a-memory | front peak RSS MiB | failed req |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name, r in rows.items():
    pc = per_cpu(r)
    ratio = f"{pc / base:.0%}" if pc and base else "-"
    print(f"| {name} | {r['spans_per_s']:,.0f} | {pc:,.0f} | {ratio} | {r['server']['peak_rss_mib']:.1f} | {r['requests_failed']} |")
PY
echo "raw results: $OUT" >&2
