#!/usr/bin/env bash
# Write the Odoo configuration used by `make run` / `make test` to stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-/opt/odoo}"
cat <<CONF
[options]
addons_path = $ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$here
db_host = 127.0.0.1
db_port = 5432
db_user = ${PGUSER:-odoo}
db_password = ${PGPASSWORD:-odoo}
admin_passwd = admin
http_interface = 127.0.0.1
http_port = ${HTTP_PORT:-8069}
data_dir = $here/.odoo-data
list_db = True
log_level = ${ODOO_LOG_LEVEL:-info}
CONF
