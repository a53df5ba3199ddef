#!/usr/bin/env bash
# Checks a Sluice binary the way the container runs it, without a container runtime: as uid/gid
# 65532 (when run as root), from an empty working directory, config and certificates in a
# read-only directory, guests from SLUICE_GUEST_DIR, JSON logs on stdout, `sluice health`, data
# accepted over TLS + BasicAuth + mTLS (the prod bundle), and SIGTERM draining to exit 0.
#   bash deploy/container/verify-binary.sh BINARY GUEST_DIR
set -euo pipefail
BIN=$(realpath "$1")
GUESTS=$(realpath "$2")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill -KILL "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Who Sluice runs as: the image's 65532 when we can switch to it.
AS=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  AS=("$(command -v setpriv)" --reuid=65532 --regid=65532 --clear-groups --)
  echo "running as uid/gid 65532 (setpriv)"
else
  echo "running as $(id -un) (not root: cannot switch to 65532)"
fi

# /etc/sluice of the image: the shipped bundles, certificates and an htpasswd file, read-only.
ETC="$WORK/etc-sluice"
mkdir -p "$ETC/certs" "$WORK/empty"
cp "$ROOT"/config/*.yaml "$ETC/"
"$BIN" certs --out "$ETC/certs" --hosts localhost,127.0.0.1 --client-cn verify-client >/dev/null
cp "$ETC/certs/server.crt" "$ETC/certs/otlp_server.crt"
cp "$ETC/certs/server.key" "$ETC/certs/otlp_server.key"
cp "$ETC/certs/ca.crt" "$ETC/certs/otlp_client_ca.crt"
printf 'verify:%s\n' "$(openssl passwd -apr1 verify-password)" >"$ETC/htpasswd"
mkdir -p "$ETC/secrets" && echo verify-token >"$ETC/secrets/tempo-token"
chmod -R a+rX "$ETC"
chmod a-w -R "$ETC"
chmod 755 "$WORK" "$WORK/empty"
chmod a-w "$WORK/empty"

run() { # env-name log-file extra-env...
  local env=$1 log=$2
  LOG=$log
  shift 2
  (cd "$WORK/empty" && exec env -i PATH=/nonexistent "$@" \
    SLUICE_CONFIG_DIR="$ETC" SLUICE_GUEST_DIR="$GUESTS" SLUICE_ENV="$env" \
    SLUICE_LOG_FORMAT=json SLUICE_LOG_OUTPUT=stdout \
    SLUICE_GRPC_ENDPOINT=127.0.0.1:24317 SLUICE_HTTP_ENDPOINT=127.0.0.1:24318 \
    SLUICE_METRICS_ENDPOINT=127.0.0.1:28888 SLUICE_PROMETHEUS_ENDPOINT=127.0.0.1:28889 \
    SLUICE_HEALTH_ENDPOINT=127.0.0.1:33133 \
    "${AS[@]}" "$BIN") >"$log" 2>"$log.stderr" &
  PID=$!
}

wait_healthy() {
  for _ in $(seq 1 60); do
    if "$BIN" health --endpoint http://127.0.0.1:33133/ >/dev/null 2>&1; then
      "$BIN" health --endpoint http://127.0.0.1:33133/
      return 0
    fi
    if ! kill -0 "$PID" 2>/dev/null; then
      echo "error: Sluice exited during start-up:" >&2
      tail -n 5 "$LOG" "$LOG.stderr" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "error: not healthy after 30 s:" >&2
  tail -n 5 "$LOG" "$LOG.stderr" >&2
  return 1
}

stop() { # log
  kill -TERM "$PID"
  local code=0
  wait "$PID" || code=$?
  PID=""
  echo "exit code after SIGTERM: $code"
  if [ "$code" != 0 ]; then return 1; fi
  grep -q '"Sluice stopped"' "$1" || {
    echo "error: no 'Sluice stopped' line" >&2
    return 1
  }
  if [ -s "$1.stderr" ]; then
    echo "error: unexpected output on stderr:" >&2
    cat "$1.stderr" >&2
    return 1
  fi
}

check_json() { # log
  python3 - "$1" <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
for l in lines:
    json.loads(l)
print(f"ok: {len(lines)} log lines on stdout, every one a JSON object")
EOF
}

span='{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"verify"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"verify-span","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000"}]}]}]}'

echo "-- dev bundle (plaintext, debug exporter)"
run dev "$WORK/dev.log"
wait_healthy
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:24318/v1/traces \
  -H 'Content-Type: application/json' -d "$span")
echo "POST /v1/traces: $code"
if [ "$code" != 200 ]; then exit 1; fi
stop "$WORK/dev.log"
check_json "$WORK/dev.log"
# The span went through the tail-sampling buffer and reached the debug exporter at shutdown.
grep -q 'verify-span\|"spans":1\|spans=1' "$WORK/dev.log" && echo "ok: the span reached the debug exporter" \
  || { echo "error: the span is not in the debug output" >&2; tail -5 "$WORK/dev.log" >&2; exit 1; }

echo "-- prod bundle (TLS + BasicAuth + mTLS, backends unreachable)"
run prod "$WORK/prod.log" SLUICE_CLIENT_CA="$ETC/certs/otlp_client_ca.crt" \
  SLUICE_TLS_CERT="$ETC/certs/otlp_server.crt" SLUICE_TLS_KEY="$ETC/certs/otlp_server.key" \
  OTLP_BASICAUTH_HTPASSWD="$ETC/htpasswd" TEMPO_BEARER_TOKEN_FILE="$ETC/secrets/tempo-token" \
  TEMPO_ENDPOINT=http://127.0.0.1:9 \
  LOKI_ENDPOINT=http://127.0.0.1:9/loki/api/v1/push
wait_healthy
post() { curl -sS --http1.1 -o /dev/null -w '%{http_code}' --cacert "$ETC/certs/ca.crt" "$@" \
  -X POST https://127.0.0.1:24318/v1/traces -H 'Content-Type: application/json' -d "$span" || true; }
ok=$(post --cert "$ETC/certs/client.crt" --key "$ETC/certs/client.key" -u verify:verify-password)
bad=$(post --cert "$ETC/certs/client.crt" --key "$ETC/certs/client.key" -u verify:wrong)
nocert=$(post -u verify:verify-password)
echo "mTLS + right password: $ok; wrong password: $bad; no client certificate: ${nocert:-handshake refused}"
if [ "$ok" != 200 ] || [ "$bad" != 401 ] || [ "$nocert" = 200 ]; then
  echo "error: expected 200, 401 and a refusal" >&2
  exit 1
fi
# The same refusal over HTTP/2 (informational: curl has reported a stream error instead).
h2=""
for _ in 1 2 3 4 5; do
  h2+="$(post --http2 --cert "$ETC/certs/client.crt" --key "$ETC/certs/client.key" -u verify:wrong 2>/dev/null) "
done
echo "HTTP/2, wrong password, 5 tries: $h2"
stop "$WORK/prod.log"
check_json "$WORK/prod.log"
echo "ok: the static binary verified"
