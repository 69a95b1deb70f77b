#!/usr/bin/env bash
# Run every benchmark against a private local stack: bench/run.sh [--quick] [--only pipeline,api,e2e,scale]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=".venv/bin/python"; [ -x "$PY" ] || PY=python3
exec env PYTHONPATH="$PWD" "$PY" -m bench.run "$@"
