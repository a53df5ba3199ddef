#!/usr/bin/env bash
# Seed 002's production pipeline under load (the sampling issue's benchmark):
#   OTLP/gRPC with TLS + BasicAuth (bcrypt) → traces/all: spanmetrics connector → prometheus (:scrape)
#                                        → traces: tail_sampling (errors, slow, 10 %) → otlp → backend Sluice (nop)
# at RATES spans/s (default 10k, 50k, 100k), reporting spans per CPU-second and peak RSS of the
# Sluice under test. decision_wait is 2 s (not 30 s) so that the load generator's request pool
# does not repeat trace ids inside the wait; num_traces 50000 bounds the buffer.
#   cargo build --release -p sluice -p sluice-bench && bash .ci/build-guests && bash bench/prod_pipeline.sh
# "kept" is the share of the spans sent that reached the backend (errors, slow traces and 10 % of the rest).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-15} WARMUP=${WARMUP:-3} RATES=${RATES:-"10000 50000 100000"}
# GZIP_LEVEL sets the OTLP exporter's compression_params.level (unset: the default, 6).
GZIP_LEVEL=${GZIP_LEVEL:-}
SLUICE=$ROOT/target/release/sluice
LOADGEN=$ROOT/target/release/sluice-loadgen
VENV=$ROOT/bench/.venv
OUT=$ROOT/bench/results/prod-pipeline-$(date +%Y%m%d-%H%M%S)
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

"$SLUICE" certs --out "$OUT/certs" --hosts localhost,127.0.0.1 >"$OUT/certs.log" 2>&1
PASS=bench-$RANDOM-$RANDOM
{ [[ -x $VENV/bin/pip ]] || python3 -m venv "$VENV"; } >>"$OUT/pip.log" 2>&1
"$VENV/bin/pip" install -q bcrypt >>"$OUT/pip.log" 2>&1
"$VENV/bin/python" -c 'import bcrypt, sys
print("bench:" + bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(10)).decode())' "$PASS" >"$OUT/htpasswd"

back_port=$(free_port) back_metrics=$(free_port)
cat >"$OUT/backend.yaml" <<YAML
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:$back_port"}}}}
exporters: {nop: }
service:
  telemetry: {metrics: {address: "127.0.0.1:$back_metrics"}}
  pipelines: {traces: {receivers: [otlp], exporters: [nop]}}
YAML
# Spans the backend has accepted so far: the difference over a run is what the sampler kept.
backend_spans() {
    curl -s "http://127.0.0.1:$back_metrics/metrics" |
        awk '/^otelcol_receiver_accepted_spans_total/ {n += $NF} END {printf "%d\n", n}'
}
"$SLUICE" --config "$OUT/backend.yaml" >"$OUT/backend.log" 2>&1 &
BACK=$!
wait_port "$back_port" || { echo "backend did not start (see $OUT/backend.log)" >&2; exit 1; }

for rate in $RATES; do
    port=$(free_port) scrape=$(free_port)
    cat >"$OUT/front-$rate.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$port
        tls: {cert_file: $OUT/certs/server.crt, key_file: $OUT/certs/server.key}
        auth: {authenticator: basicauth/server}
extensions:
  basicauth/server: {htpasswd: {file: $OUT/htpasswd}}
processors:
  tail_sampling:
    decision_wait: 2s
    num_traces: 50000
    policies:
      - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
      - {name: slow, type: latency, latency: {threshold_ms: 45}}
      - {name: rest, type: probabilistic, probabilistic: {sampling_percentage: 10}}
connectors:
  spanmetrics: {metrics_flush_interval: 15s}
exporters:
  otlp/tempo: {endpoint: "127.0.0.1:$back_port", tls: {insecure: true}${GZIP_LEVEL:+, compression_params: {level: $GZIP_LEVEL\}}}
  prometheus: {endpoint: "127.0.0.1:$scrape"}
service:
  extensions: [basicauth/server]
  telemetry: {metrics: {level: none}}
  pipelines:
    traces/all: {receivers: [otlp], exporters: [spanmetrics]}
    traces: {receivers: [otlp], processors: [tail_sampling], exporters: [otlp/tempo]}
    metrics: {receivers: [spanmetrics], exporters: [prometheus]}
YAML
    "$SLUICE" --config "$OUT/front-$rate.yaml" >"$OUT/front-$rate.log" 2>&1 &
    FRONT=$!
    if wait_port "$port"; then
        before=$(backend_spans)
        "$LOADGEN" --protocol grpc --endpoint "https://127.0.0.1:$port" --tls-ca "$OUT/certs/ca.crt" \
            --basic-auth "bench:$PASS" --spans 1000 --attributes 10 --pool 256 --rate "$rate" \
            --concurrency 4 --duration "$DURATION" --warmup "$WARMUP" --server-pid "$FRONT" \
            --label "$rate" --json >"$OUT/rate-$rate.json" 2>"$OUT/rate-$rate.err" ||
            echo "$rate: loadgen failed (see $OUT/rate-$rate.err)" >&2
        curl -s "http://127.0.0.1:$scrape/metrics" | grep -c '^traces_span_metrics_calls_total' >"$OUT/series-$rate.txt" || true
    else
        echo "$rate: front did not start (see $OUT/front-$rate.log)" >&2
    fi
    kill -TERM "$FRONT" 2>/dev/null || true
    wait "$FRONT" 2>/dev/null || true
    FRONT=""
    # The front drains its sampler on shutdown, so the backend now holds everything it kept.
    echo $(($(backend_spans) - ${before:-0})) >"$OUT/kept-$rate.txt"
done

python3 - "$OUT" <<'PY' | tee "$OUT/table.md"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print("| offered spans/s | achieved spans/s | spans per CPU-s | CPU cores | peak RSS MiB | failed req | p99 ms | kept |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for f in sorted(out.glob("rate-*.json"), key=lambda p: int(p.stem.split("-")[1])):
    text = f.read_text().strip()
    if not text:
        continue
    r = json.loads(text.splitlines()[-1])
    s = r["server"]
    cores = r["spans_per_s"] / s["spans_per_cpu_s"] if s["spans_per_cpu_s"] else 0
    p99 = r.get("latency_ms", {}).get("p99", 0)
    rate = f.stem.split("-")[1]
    # Spans sent in the warm-up and the measured run, against what reached the backend.
    sent = r["spans_accepted"] + r["rate_offered"] * r["warmup_s"]
    kept_file = out / f"kept-{rate}.txt"
    kept = int(kept_file.read_text()) / sent if kept_file.exists() and sent else 0
    print(f"| {rate} | {r['spans_per_s']:,.0f} | {s['spans_per_cpu_s']:,.0f} | {cores:.2f} | {s['peak_rss_mib']:.1f} | {r['requests_failed']} | {p99} | {kept:.0%} |")
PY
echo "raw results: $OUT" >&2
