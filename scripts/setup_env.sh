#!/usr/bin/env bash
# Prepare everything `make run` and `make test` need: a virtualenv with Odoo's and our
# requirements, a running PostgreSQL and a role Odoo may connect as. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-/opt/odoo}"
VENV="${VENV:-$here/.venv}"
PGUSER_NAME="${PGUSER:-odoo}"
PGPASSWORD_VALUE="${PGPASSWORD:-odoo}"

if [ ! -f "$ODOO_SRC/odoo-bin" ] || [ ! -d "$ODOO_SRC/addons/sms" ]; then
  cat >&2 <<MSG
ERROR: Odoo 19.0 source not found at ODOO_SRC=$ODOO_SRC (need odoo-bin and addons/sms).
Get it with:  git clone --depth 1 -b 19.0 https://github.com/odoo/odoo "$ODOO_SRC"
or point ODOO_SRC at an existing Odoo 19.0 checkout.
MSG
  exit 2
fi

# 1. virtualenv -------------------------------------------------------------
stamp="$VENV/.sms_connector_requirements"
want="$(cat "$ODOO_SRC/requirements.txt" "$here/requirements.txt" | sha1sum | cut -c1-40)"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== installing Odoo's and our Python requirements into $VENV"
  tmpreq="$(mktemp)"
  # psycopg2 builds from source; its binary wheel is the same module. LDAP is not needed.
  sed -e 's/^psycopg2==/psycopg2-binary==/' -e '/^python-ldap/d' "$ODOO_SRC/requirements.txt" > "$tmpreq"
  "$VENV/bin/pip" install -q --upgrade pip wheel 'setuptools<81'
  "$VENV/bin/pip" install -q -r "$tmpreq" -r "$here/requirements.txt"
  rm -f "$tmpreq"
  echo "$want" > "$stamp"
fi

# 2. PostgreSQL -------------------------------------------------------------
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "== starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    ver="$(ls /etc/postgresql | sort -n | tail -1)"
    pg_ctlcluster "$ver" main start || true
  else
    service postgresql start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "ERROR: PostgreSQL did not start" >&2; exit 3; }
fi
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
if ! PGPASSWORD="$PGPASSWORD_VALUE" psql -h 127.0.0.1 -U "$PGUSER_NAME" -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  echo "== creating PostgreSQL role $PGUSER_NAME"
  as_postgres "psql -v ON_ERROR_STOP=1 -qc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$PGUSER_NAME') THEN CREATE ROLE $PGUSER_NAME LOGIN CREATEDB PASSWORD '$PGPASSWORD_VALUE'; ELSE ALTER ROLE $PGUSER_NAME LOGIN CREATEDB PASSWORD '$PGPASSWORD_VALUE'; END IF; END\\\$\\\$;\""
fi
echo "== environment ready (venv: $VENV, odoo: $ODOO_SRC)"
