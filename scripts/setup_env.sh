#!/usr/bin/env bash
# Prepare everything `make run` and `make test` need, on a fresh machine too: the Odoo 19.0 source
# (shallow-cloned into ODOO_SRC when missing), PostgreSQL (installed on Debian/Ubuntu when we may
# be root, started, with a role Odoo connects as), and a virtualenv with Odoo's and our Python
# requirements. Idempotent; each step stops with one message saying what to do when it cannot.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-/opt/odoo}"
VENV="${VENV:-$here/.venv}"
PGUSER_NAME="${PGUSER:-odoo}"
PGPASSWORD_VALUE="${PGPASSWORD:-odoo}"
ODOO_BRANCH=19.0
ODOO_REPO=https://github.com/odoo/odoo
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"

# 1. Odoo 19.0 source ---------------------------------------------------------
odoo_found() { [ -f "$ODOO_SRC/odoo-bin" ] && [ -d "$ODOO_SRC/addons/sms" ]; }
odoo_failed() {
  cat >&2 <<MSG
ERROR: $1
The Odoo $ODOO_BRANCH source is expected in ODOO_SRC=$ODOO_SRC. Get it with
  git clone --depth 1 -b $ODOO_BRANCH $ODOO_REPO "$ODOO_SRC"
or point ODOO_SRC at an Odoo $ODOO_BRANCH checkout:  make test ODOO_SRC=/path/to/odoo
MSG
  exit 2
}
if ! odoo_found; then
  if [ -n "$(ls -A "$ODOO_SRC" 2>/dev/null)" ]; then
    odoo_failed "$ODOO_SRC is not empty but holds no Odoo (odoo-bin, addons/sms); not cloning into it."
  fi
  command -v git >/dev/null 2>&1 || odoo_failed "git is not installed, so the Odoo source cannot be fetched."
  parent="$(dirname "$ODOO_SRC")"
  mkdir -p "$parent" 2>/dev/null || true
  [ -w "$parent" ] || odoo_failed "$parent is not writable by $(id -un); choose another ODOO_SRC, e.g. ODOO_SRC=\$HOME/odoo-$ODOO_BRANCH."
  echo "== fetching Odoo $ODOO_BRANCH into ODOO_SRC=$ODOO_SRC (shallow clone of $ODOO_REPO, a few minutes)"
  git clone --progress --depth 1 -b "$ODOO_BRANCH" "$ODOO_REPO" "$ODOO_SRC" ||
    odoo_failed "git clone of $ODOO_REPO failed (no network?)."
  odoo_found || odoo_failed "the clone in $ODOO_SRC holds no odoo-bin or addons/sms."
fi
if ! grep -q "^version_info = (${ODOO_BRANCH%%.*}, ${ODOO_BRANCH#*.}," "$ODOO_SRC/odoo/release.py" 2>/dev/null; then
  odoo_failed "$ODOO_SRC holds Odoo $(sed -n 's/^version_info = (\([0-9]*\), \([0-9]*\),.*/\1.\2/p' "$ODOO_SRC/odoo/release.py" 2>/dev/null || true), not $ODOO_BRANCH."
fi

# 2. PostgreSQL ---------------------------------------------------------------
pg_clients() { command -v psql && command -v pg_isready && command -v createdb && command -v dropdb; } >/dev/null 2>&1
port_open() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
server_installed() { ls /etc/postgresql/*/main >/dev/null 2>&1; }
# A server already answering (a container, another install) only needs the client tools.
package=
pg_clients || package=postgresql-client
port_open || server_installed || package=postgresql
if [ -n "$package" ]; then
  echo "== PostgreSQL is not installed: installing $package"
  if ! apt_install "$package" || ! pg_clients; then
    cat >&2 <<MSG
ERROR: PostgreSQL is not installed, and this script can only install it as root (or with sudo) on
Debian/Ubuntu. Install it yourself, e.g.:  sudo apt-get install -y postgresql
(any PostgreSQL >= 13 listening on 127.0.0.1:5432 will do, with psql, createdb and dropdb on PATH),
then run the same make command again.
MSG
    exit 3
  fi
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "== starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    ver="$(ls /etc/postgresql | sort -n | tail -1)"
    as_root pg_ctlcluster "$ver" main start || true
  else
    as_root service postgresql start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "ERROR: PostgreSQL did not start on 127.0.0.1:5432; start it (sudo service postgresql start) and run the same make command again." >&2; exit 3; }
fi
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
if ! PGPASSWORD="$PGPASSWORD_VALUE" psql -h 127.0.0.1 -U "$PGUSER_NAME" -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  echo "== creating PostgreSQL role $PGUSER_NAME"
  as_postgres "psql -v ON_ERROR_STOP=1 -qc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$PGUSER_NAME') THEN CREATE ROLE $PGUSER_NAME LOGIN CREATEDB PASSWORD '$PGPASSWORD_VALUE'; ELSE ALTER ROLE $PGUSER_NAME LOGIN CREATEDB PASSWORD '$PGPASSWORD_VALUE'; END IF; END\\\$\\\$;\""
fi

# 3. virtualenv -----------------------------------------------------------------
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
echo "== environment ready (venv: $VENV, odoo: $ODOO_SRC)"
