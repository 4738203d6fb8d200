#!/usr/bin/env bash
# Build one wheel per addon (odoo-addon-<addon>, version = manifest version) with whool into $1 (default dist/).
# Offline-friendly: whool comes from requirements.txt, so no build isolation is needed.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${VENV:-$here/.venv}/bin/python"
out="${1:-$here/dist}"
mkdir -p "$out"
cd "$here"
# whool packs the files git tracks in each addon directory.
"$py" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$out" \
  ./sms_connector ./sms_connector_twilio ./sms_connector_octopush
ls -1 "$out"/odoo_addon_sms_connector*.whl
