#!/usr/bin/env bash
# Tenants (issue 6's benchmark), in one run:
#   one-tenant       one tenant with its own transform takes the whole load
#   hundred-tenants  100 tenants, each with its own transform, share the same total load
# (X-Scope-OrgID identifies the tenant; each transform sets one span attribute to the tenant's
# own value), spans per server CPU-second and peak RSS for each; then the memory of idle
# tenants: RSS of a Sluice with IDLE tenants configured vs none, without traffic ("configured")
# and after each tenant sent one request ("warmed": its guest instance exists).
#   cargo build --release -p sluice -p sluice-bench && bash .ci/build-guests && bash bench/tenants.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-15} WARMUP=${WARMUP:-3} CONCURRENCY=${CONCURRENCY:-4} IDLE=${IDLE:-500}
SLUICE=$ROOT/target/release/sluice
LOADGEN=$ROOT/target/release/sluice-loadgen
OUT=$ROOT/bench/results/tenants-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
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
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# config TENANTS PORT: tenancy by header, TENANTS tenants each with its own transform.
config() {
    echo "extensions: {tenancy: {sources: [{header: X-Scope-OrgID}]}}"
    echo "receivers: {otlp: {tenancy: tenancy, protocols: {http: {endpoint: \"127.0.0.1:$2\"}}}}"
    echo "exporters: {nop: }"
    echo "processors:"
    for ((k = 0; k < $1; k++)); do
        echo "  transform/t$k: {trace_statements: [\"set(span.attributes[\\\"tenant.edit\\\"], \\\"t$k\\\")\"]}"
    done
    echo "  tenant_processors:"
    if (($1 == 0)); then
        echo "    tenants: {}"
    else
        echo "    tenants:"
        for ((k = 0; k < $1; k++)); do
            echo "      tenant-$k: {processors: [transform/t$k]}"
        done
    fi
    echo "service: {extensions: [tenancy], telemetry: {metrics: {level: none}}, pipelines: {traces: {receivers: [otlp], processors: [tenant_processors], exporters: [nop]}}}"
}

start() { # start NAME TENANTS PORT
    config "$2" "$3" >"$OUT/$1.yaml"
    "$SLUICE" --config "$OUT/$1.yaml" >"$OUT/$1.log" 2>&1 &
    PID=$!
    wait_port "$3" || { echo "$1: Sluice did not start (see $OUT/$1.log)" >&2; exit 1; }
}
stop() { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; }

for case in one-tenant:1 hundred-tenants:100; do
    name=${case%%:*} tenants=${case##*:}
    port=$(free_port)
    start "$name" "$tenants" "$port"
    "$LOADGEN" --protocol http --endpoint "http://127.0.0.1:$port" --spans 1000 --attributes 10 \
        --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" --server-pid "$PID" \
        --tenants "$tenants" --label "$name" --json >"$OUT/$name.json" 2>"$OUT/$name.err" ||
        echo "$name: loadgen failed (see $OUT/$name.err)" >&2
    stop
done

# Idle tenants: RSS after start-up settles, then after every tenant sent one small request.
for case in idle-0:0 "idle-$IDLE:$IDLE"; do
    name=${case%%:*} tenants=${case##*:}
    port=$(free_port)
    start "$name" "$tenants" "$port"
    sleep 2
    configured=$(rss_kib "$PID")
    if ((tenants > 0)); then
        "$LOADGEN" --protocol http --endpoint "http://127.0.0.1:$port" --spans 10 --attributes 2 \
            --concurrency 1 --duration 60 --requests "$tenants" --tenants "$tenants" --json \
            >"$OUT/$name-warm.json" 2>"$OUT/$name-warm.err" || true
        sleep 2
    fi
    warmed=$(rss_kib "$PID")
    echo "{\"case\": \"$name\", \"tenants\": $tenants, \"configured_kib\": $configured, \"warmed_kib\": $warmed}" >"$OUT/$name.idle"
    stop
done

python3 - "$OUT" "$IDLE" <<'PY' | tee "$OUT/table.md"
import json, pathlib, sys
out, idle = pathlib.Path(sys.argv[1]), int(sys.argv[2])
rows = {n: json.loads((out / f"{n}.json").read_text().strip().splitlines()[-1])
        for n in ("one-tenant", "hundred-tenants") if (out / f"{n}.json").exists()}
per_cpu = {n: r["server"]["spans_per_cpu_s"] or 0 for n, r in rows.items()}
print("| case | spans/s | spans per CPU-s | vs one tenant | peak RSS MiB | failed req |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for n, r in rows.items():
    base = per_cpu.get("one-tenant") or 0
    ratio = f"{per_cpu[n] / base:.0%}" if base else "-"
    print(f"| {n} | {r['spans_per_s']:,.0f} | {per_cpu[n]:,.0f} | {ratio} | {r['server']['peak_rss_mib']:.1f} | {r['requests_failed']} |")
zero = json.loads((out / "idle-0.idle").read_text())
many = json.loads((out / f"idle-{idle}.idle").read_text())
for key, what in (("configured_kib", "configured, no traffic yet"), ("warmed_kib", "after one request each")):
    per = (many[key] - zero[key]) / idle / 1024
    print(f"\nidle tenants, {what}: {zero[key] / 1024:.1f} MiB with none, {many[key] / 1024:.1f} MiB with {idle}: {per:.3f} MiB per tenant")
PY
echo "raw results: $OUT" >&2
