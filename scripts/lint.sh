#!/usr/bin/env bash
# The quality gates, shared by `make lint` and the pre-commit hooks (.pre-commit-config.yaml) so
# both always check the same thing: ruff, pylint-odoo (.pylintrc), scripts/check_addons.py.
# Usage: bash scripts/lint.sh [ruff] [pylint] [addons]   (default: all three)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$here/.venv}"
cd "$here"
mapfile -t addons < <(bash scripts/addons.sh)

# The project's virtualenv when there is one, else the tool on PATH (a contributor's own env).
tool() { if [ -x "$VENV/bin/$1" ]; then echo "$VENV/bin/$1"; else command -v "$1" || echo "$1"; fi; }

gates=("$@")
[ ${#gates[@]} -gt 0 ] || gates=(ruff pylint addons)
for gate in "${gates[@]}"; do
  case "$gate" in
    ruff) "$(tool ruff)" check "${addons[@]}" tests scripts ;;
    pylint) "$(tool pylint)" --rcfile=.pylintrc "${addons[@]}" ;;
    addons) "$(tool python)" scripts/check_addons.py ;;
    *) echo "lint.sh: unknown gate '$gate' (expected ruff, pylint or addons)" >&2; exit 2 ;;
  esac
done
