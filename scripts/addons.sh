#!/usr/bin/env bash
# The addons of this repository, found rather than listed: every sms_connector*/ directory at the
# root that holds a __manifest__.py. A new provider addon is picked up by make, the lint gates,
# the tests and the wheels without an edit here (tests/addons.py is the same rule for Python).
# Usage: bash scripts/addons.sh [SEPARATOR]   (default: one name per line; "," for odoo-bin -i)
set -euo pipefail
cd "$(dirname "$0")/.."
sep="${1-$'\n'}"
first=1
for manifest in sms_connector*/__manifest__.py; do
  [ -f "$manifest" ] || continue
  if [ "$first" = 1 ]; then first=0; else printf '%s' "$sep"; fi
  printf '%s' "${manifest%%/*}"
done
printf '\n'
