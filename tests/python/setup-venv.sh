#!/bin/sh
# Create (or reuse) the Python virtualenv the interop tests run the OpenTelemetry SDK from.
#
#   tests/python/setup-venv.sh [VENV_DIR]      default: <workspace>/target/py-venv
#
# Idempotent: a venv whose installed requirements match requirements.txt is reused as is.
# Needs python3 with the venv module, and network access to PyPI the first time.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
workspace=$(cd "$here/../.." && pwd)
venv=${1:-${CARGO_TARGET_DIR:-$workspace/target}/py-venv}
requirements=$here/requirements.txt
stamp=$venv/.requirements.txt

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$requirements" "$stamp"; then
    exit 0
fi

python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$requirements"
# Prove the packages import before declaring the venv ready.
"$venv/bin/python" -c 'import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc, opentelemetry.exporter.otlp.proto.http'
cp "$requirements" "$stamp"
