"""Turn the JSON lines of one bench/run.sh run into a markdown report.

Usage: python3 bench/table.py results.jsonl  (run.sh sets the environment variables it prints)
"""

import datetime
import json
import os
import sys


def load_rows(path):
    rows, loads = {}, []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            load, server = row["label"].split("|", 1)
            rows[(load, server)] = row
            if load not in loads:
                loads.append(load)
    return rows, loads


def server_usage(row):
    server = row.get("server") or {}
    return None if "error" in server or not server else server


def spans_per_cpu(row):
    usage = server_usage(row) if row else None
    return usage.get("spans_per_cpu_s") if usage else None


def cpu_us_per_span(row):
    usage = server_usage(row) if row else None
    if not usage or not row.get("spans_accepted"):
        return None
    return usage["cpu_s"] / row["spans_accepted"] * 1e6


def failure_notes(load, server, row):
    return [
        f"- {load} on {server}: {failure['count']} × {kind} (e.g. {failure['example']!r})"
        for kind, failure in row.get("failures", {}).items()
    ]


def num(value, fmt="{:,.0f}"):
    return "—" if value is None else fmt.format(value)


def main():
    rows, loads = load_rows(sys.argv[1])
    env = os.environ.get
    out = []
    out.append("# Sluice vs Rotel: OTLP traces\n")
    out.append(
        f"{datetime.date.today()} · commit `{env('COMMIT', '?')}` · {env('CORES', '?')} cores "
        f"({env('CPU_MODEL', '?')}) · {env('SPANS')} spans × {env('ATTRIBUTES')} attributes per request, "
        f"{env('CONCURRENCY')} clients flat out, {env('WARMUP')} s warm-up + {env('DURATION')} s measured "
        f"per load, a fresh server per load · Sluice exporter `{env('SINK_EXPORTER')}` · "
        f"Rotel `{env('ROTEL_VERSION')}` with `--exporter blackhole` · "
        f"1-minute load average before the run: {env('LOAD_BEFORE', '?')}\n"
    )
    out.append(
        "| load | server | spans/s | spans per CPU-s | peak RSS MiB | p50 ms | p99 ms "
        "| failed req | loadgen CPU | Sluice/Rotel |"
    )
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    notes = []
    for load in loads:
        for server in ("sluice", "rotel"):
            row = rows.get((load, server))
            if row is None:
                continue
            if "error" in row:
                out.append(f"| {load} | {server} | — | — | — | — | — | — | — | — |")
                notes.append(f"- {load} on {server}: {row['error']}")
                continue
            usage = server_usage(row)
            if row.get("server") and not usage:
                notes.append(f"- {load} on {server}: server not measured: {row['server'].get('error')}")
            if not row["requests_ok"]:
                out.append(
                    f"| {load} | {server} | 0 | — | {num(usage and usage.get('peak_rss_mib'), '{:.1f}')} "
                    f"| — | — | {row['requests_failed']} | — | — |"
                )
                notes.extend(failure_notes(load, server, row))
                continue
            ratio = ""
            if server == "sluice":
                s, r = spans_per_cpu(row), spans_per_cpu(rows.get((load, "rotel")))
                ratio = f"{s / r:.2f}" if s and r else "—"
            loadgen = row.get("loadgen") or {}
            latency = row["latency_ms"]
            out.append(
                f"| {load} | {server} | {num(row['spans_per_s'])} | {num(spans_per_cpu(row))} "
                f"| {num(usage and usage.get('peak_rss_mib'), '{:.1f}')} "
                f"| {latency['p50']:.2f} | {latency['p99']:.2f} | {row['requests_failed']} "
                f"| {num(loadgen.get('cpu_cores') and loadgen['cpu_cores'] * 100, '{:.0f}%')} | {ratio} |"
            )
            notes.extend(failure_notes(load, server, row))

    overhead = []
    for protocol in ("http", "grpc"):
        plain = cpu_us_per_span(rows.get((protocol, "sluice")))
        secure = cpu_us_per_span(rows.get((f"{protocol}+tls+mtls+auth", "sluice")))
        if plain and secure:
            overhead.append(
                f"| {protocol} | {plain:.2f} | {secure:.2f} | {100 * (secure / plain - 1):+.1f}% |"
            )
    if overhead:
        out.append("\n## Sluice: TLS + mTLS + BasicAuth vs plaintext (server CPU per span)\n")
        out.append("| protocol | plaintext µs/span | TLS+mTLS+auth µs/span | overhead |")
        out.append("| --- | ---: | ---: | ---: |")
        out.extend(overhead)
    if notes:
        out.append("\n## Notes\n")
        out.extend(notes)
    out.append(f"\nRaw results: `{env('RUN_DIR', '?')}`")
    print("\n".join(out))


if __name__ == "__main__":
    main()
