#!/usr/bin/env bash
# `make run`: demo database with our addons and demo data, the bundled fake provider, Odoo on :8069.
set -euo pipefail
conf="$1"; db="$2"; addons="$3"; fake_port="$4"
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${VENV:-$here/.venv}/bin/python"
ODOO_SRC="${ODOO_SRC:-/opt/odoo}"
export PGPASSWORD="${PGPASSWORD:-odoo}"
psql_db() { psql -h 127.0.0.1 -U "${PGUSER:-odoo}" -d "$db" -tAc "$1"; }

if ! psql_db 'select 1' >/dev/null 2>&1; then
  echo "== creating demo database $db (admin / admin)"
  "$py" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$db" -i "$addons" --with-demo --stop-after-init --log-level=warn
else
  "$py" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$db" -u "$addons" --stop-after-init --log-level=warn
fi
# Delivery reports of the demo gateways come back to this local Odoo.
psql_db "UPDATE ir_config_parameter SET value = 'http://127.0.0.1:8069' WHERE key = 'web.base.url'" >/dev/null
octopush_id="$(psql_db "SELECT id FROM sms_gateway WHERE webhook_token = 'demo-octopush-webhook-token' LIMIT 1")"
twilio_id="$(psql_db "SELECT id FROM sms_gateway WHERE webhook_token = 'demo-twilio-webhook-token' LIMIT 1")"

echo "== fake providers on http://127.0.0.1:$fake_port (phone simulator: received SMS, reply as the phone)"
cd "$here"
"$py" -m tests.fake_providers --port "$fake_port" \
  --twilio-account "AC00000000000000000000000000000001:demo-twilio-auth-token" \
  --octopush-account "demo@example.com:demo-octopush-api-key" \
  ${octopush_id:+--octopush-callback-url "http://127.0.0.1:8069/sms_connector/status/$octopush_id/demo-octopush-webhook-token"} \
  ${octopush_id:+--octopush-inbound-url "http://127.0.0.1:8069/sms_connector/inbound/$octopush_id/demo-octopush-webhook-token"} \
  ${twilio_id:+--twilio-inbound-url "http://127.0.0.1:8069/sms_connector/inbound/$twilio_id/demo-twilio-webhook-token"} \
  --callback-delay 1 &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null || true' EXIT INT TERM

echo "== Odoo on http://127.0.0.1:8069 (admin / admin), Ctrl-C to stop"
"$py" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$db" --db-filter="^$db\$"
