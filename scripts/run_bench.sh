#!/usr/bin/env bash
# `make bench`: throughput figures, ours vs Odoo's native path, on the loopback fake providers.
set -euo pipefail
conf="$1"
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${VENV:-$here/.venv}/bin/python"
export PGPASSWORD="${PGPASSWORD:-odoo}" PYTHONPATH="${ODOO_SRC:-/opt/odoo}${PYTHONPATH:+:$PYTHONPATH}"
cd "$here"
"$py" tests/bench/bench_send.py --conf "$conf" ${BENCH_ARGS:-}
