#!/usr/bin/env bash
# Fresh test database, install the addons, run every test suite with pytest-odoo.
# Usage: run_tests.sh CONF DB ADDONS   (ADDONS comma-separated, as `bash scripts/addons.sh ,` prints)
set -euo pipefail
conf="$1"; db="$2"; addons="$3"
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${VENV:-$here/.venv}/bin/python"
ODOO_SRC="${ODOO_SRC:-/opt/odoo}"
export PGPASSWORD="${PGPASSWORD:-odoo}"

# The browser test (tests/test_browser_tour.py) needs a Chrome or Chromium that Odoo finds on PATH.
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"
browser_found() {
  local bin
  for bin in google-chrome chromium chromium-browser google-chrome-stable; do  # Odoo's search order
    command -v "$bin" >/dev/null 2>&1 && return 0
  done
  return 1
}
if ! browser_found; then
  echo "== installing chromium for the browser test"
  if ! apt_install chromium || ! browser_found; then
    echo "ERROR: Chromium is missing; the browser test needs it: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi

echo "== dropping and creating test database $db"
dropdb -h 127.0.0.1 -U "${PGUSER:-odoo}" --if-exists "${db}_workers"
dropdb -h 127.0.0.1 -U "${PGUSER:-odoo}" --if-exists "$db"
start=$(date +%s)
"$py" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$db" -i "$addons" --stop-after-init --log-level=warn
echo "== addons installed in $(( $(date +%s) - start ))s"
# Crash and concurrency tests commit for real: they get their own copy of the database.
dropdb -h 127.0.0.1 -U "${PGUSER:-odoo}" --if-exists "${db}_workers"
createdb -h 127.0.0.1 -U "${PGUSER:-odoo}" -T "$db" "${db}_workers"

cd "$here"
# Each addon's own tests/, then the cross-addon suites in tests/.
suites=()
for addon in ${addons//,/ }; do
  [ -d "$addon/tests" ] && suites+=("$addon/tests")
done
PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}" "$py" -m pytest \
  --odoo-config="$conf" --odoo-database="$db" --odoo-http \
  -o addopts="" -q -ra \
  "${suites[@]}" tests
