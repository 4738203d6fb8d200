#!/usr/bin/env bash
# Build the addon wheels (every sms_connector*/ addon, scripts/addons.sh), install them (--no-deps: the odoo requirement is satisfied by
# ODOO_SRC, not by PyPI) into a throwaway target directory and check that Odoo imports the addons
# from there, with the names and versions the manifests give.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${VENV:-$here/.venv}/bin/python"
ODOO_SRC="${ODOO_SRC:-/opt/odoo}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

mapfile -t addons < <(bash "$here/scripts/addons.sh")
bash "$here/scripts/build_wheels.sh" "$tmp/dist"
for addon in "${addons[@]}"; do
  version="$("$py" -c "import ast,sys; print(ast.literal_eval(open(sys.argv[1]).read())['version'])" "$here/$addon/__manifest__.py")"
  whl="$tmp/dist/odoo_addon_${addon}-${version}-py3-none-any.whl"
  [ -f "$whl" ] || { echo "ERROR: expected wheel $(basename "$whl") not built" >&2; exit 1; }
  name="$(unzip -p "$whl" "*.dist-info/METADATA" | sed -n 's/^Name: //p')"
  [ "$name" = "odoo-addon-$addon" ] || { echo "ERROR: $whl is named '$name', expected odoo-addon-$addon" >&2; exit 1; }
done
# whool packs the files git tracks: every file a manifest loads must be in the wheel
# (files not committed yet are only warned about).
"$py" - "$here" "$tmp/dist" "${addons[@]}" <<'PY'
import ast, subprocess, sys, zipfile
from pathlib import Path

here, dist = Path(sys.argv[1]), Path(sys.argv[2])
errors = 0
for addon in sys.argv[3:]:
    manifest = ast.literal_eval((here / addon / '__manifest__.py').read_text())
    (wheel,) = dist.glob(f"odoo_addon_{addon}-{manifest['version']}-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in manifest.get('data', []) + manifest.get('demo', []):
        if f'odoo/addons/{addon}/{name}' in names:
            continue
        tracked = subprocess.run(['git', 'ls-files', '--error-unmatch', f'{addon}/{name}'], cwd=here,
                                 capture_output=True, check=False).returncode == 0
        if tracked:
            print(f'ERROR: {addon}/{name} is listed in the manifest but missing from {wheel.name}', file=sys.stderr)
            errors += 1
        else:
            print(f'warning: {addon}/{name} is not committed yet, so not in {wheel.name}', file=sys.stderr)
sys.exit(1 if errors else 0)
PY
"$py" -m pip install --quiet --no-deps --target "$tmp/site" "$tmp"/dist/*.whl

# Run outside the repository so that nothing resolves to the source checkout.
cd "$tmp"
PYTHONPATH="$tmp/site:$ODOO_SRC" "$py" - "$tmp/site" "$ODOO_SRC" "$tmp/data" "${addons[@]}" <<'PY'
import importlib.util
import os
import sys

site, odoo_src, data_dir = sys.argv[1:4]
site = os.path.realpath(site)
from odoo.tools import config  # noqa: E402

config.parse_config([f'--addons-path={odoo_src}/addons', f'--data-dir={data_dir}', '--http-interface=127.0.0.1'])
for addon in sys.argv[4:]:
    spec = importlib.util.find_spec(f'odoo.addons.{addon}')
    origin = os.path.realpath(spec.origin) if spec and spec.origin else None
    if not origin or not origin.startswith(site + os.sep):
        sys.exit(f'ERROR: odoo.addons.{addon} resolves to {origin}, not to the installed wheel in {site}')
    module = __import__(f'odoo.addons.{addon}', fromlist=['_'])
    print(f'ok: import odoo.addons.{addon} -> {os.path.dirname(module.__file__)}')
PY
echo "== wheels OK"
