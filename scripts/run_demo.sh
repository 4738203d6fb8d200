#!/usr/bin/env bash
# `make run`: demo database with our addons and demo data, the bundled fake provider, Odoo on
# the configuration's http_port (8069); once Odoo answers, prints where to go and what to try first.
set -euo pipefail
conf="$1"; db="$2"; addons="$3"; fake_port="$4"
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${VENV:-$here/.venv}/bin/python"
ODOO_SRC="${ODOO_SRC:-/opt/odoo}"
export PGPASSWORD="${PGPASSWORD:-odoo}"
odoo_url="http://127.0.0.1:$(sed -n 's/^http_port *= *//p' "$conf" | tail -1)"
fake_url="http://127.0.0.1:$fake_port"
psql_db() { psql -h 127.0.0.1 -U "${PGUSER:-odoo}" -d "$db" -tAc "$1"; }

if ! psql_db 'select 1' >/dev/null 2>&1; then
  echo "== creating demo database $db (admin / admin)"
  "$py" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$db" -i "$addons" --with-demo --stop-after-init --log-level=warn
else
  "$py" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$db" -u "$addons" --stop-after-init --log-level=warn
fi
# Delivery reports of the demo gateways come back to this local Odoo.
psql_db "UPDATE ir_config_parameter SET value = '$odoo_url' WHERE key = 'web.base.url'" >/dev/null

# The demo gateways are the ones whose API is the bundled fake: it accepts their credentials and
# sends their delivery reports and the phone simulator's replies to their webhook URLs.
fake_args=()
while IFS='|' read -r provider gateway_id token account secret; do
  [ -n "$provider" ] || continue
  fake_args+=("--$provider-account" "$account:$secret"
              "--$provider-callback-url" "$odoo_url/sms_connector/status/$gateway_id/$token"
              "--$provider-inbound-url" "$odoo_url/sms_connector/inbound/$gateway_id/$token")
done < <(psql_db "SELECT provider, id, webhook_token, account, secret FROM sms_gateway
                  WHERE base_url = '$fake_url' OR base_url LIKE '$fake_url/%' ORDER BY sequence, id")

echo "== fake providers on $fake_url (phone simulator: received SMS, reply as the phone)"
cd "$here"
"$py" -m tests.fake_providers --port "$fake_port" --callback-delay 1 "${fake_args[@]}" &
fake_pid=$!
odoo_pid=
trap 'kill $fake_pid $odoo_pid 2>/dev/null || true' EXIT INT TERM

echo "== starting Odoo on $odoo_url"
"$py" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$db" --db-filter="^$db\$" &
odoo_pid=$!
for _ in $(seq 1 120); do
  kill -0 "$odoo_pid" 2>/dev/null || break
  "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$odoo_url/web/login" \
    >/dev/null 2>&1 && break
  sleep 1
done
kill -0 "$odoo_pid" 2>/dev/null || { wait "$odoo_pid"; exit $?; }
cat <<BANNER

==========================================================================================
 SMS Connector demo ready
   Odoo             $odoo_url   login: admin   password: admin
   Phone simulator  $fake_url   (the SMS each number received; reply as that phone)
   Try first: Contacts > Camille Laurent > SMS, send it, see it arrive in the phone simulator,
              reply from there and find the reply in her chatter (and in SMS > SMS Activity).
 Ctrl-C stops Odoo and the fake providers.
==========================================================================================

BANNER
wait "$odoo_pid"
