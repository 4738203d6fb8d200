#!/usr/bin/env bash
# Build one wheel per addon (odoo-addon-<addon>, version = manifest version) with whool into $1 (default dist/).
# Offline-friendly: whool comes from requirements.txt, so no build isolation is needed.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${VENV:-$here/.venv}/bin/python"
out="${1:-$here/dist}"
mkdir -p "$out"
cd "$here"
mapfile -t addons < <(bash scripts/addons.sh)
# whool packs the files git tracks in each addon directory.
"$py" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$out" "${addons[@]/#/./}"
ls -1 "$out"/odoo_addon_sms_connector*.whl
