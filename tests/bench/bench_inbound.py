"""Inbound SMS webhook benchmark: latency and throughput with many contacts to match against.

Not a test (pytest does not collect bench_*.py). It builds a scratch database with the addons,
inserts N contacts, an outbound SMS history and leads (3 per 10 contacts, a third of them linked to
a contact) by SQL, starts Odoo on a free port, posts signed Twilio inbound webhooks concurrently
(signed before the clock starts, on keep-alive connections; 80 % from contacts, 10 % from leads, 10 %
from unknown numbers) and prints p50/p95/p99 latency, throughput and the CPU each SMS cost Odoo,
PostgreSQL and the load generator, plus the plan of the matching query.

    .venv/bin/python tests/bench/bench_inbound.py --contacts 1000000
    .venv/bin/python tests/bench/bench_inbound.py --contacts 200000 --requests 2000 --concurrency 8 --keep

Environment: ODOO_SRC (/opt/odoo), PGHOST/PGPORT/PGUSER/PGPASSWORD (127.0.0.1/5432/odoo/odoo).
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import psycopg2
import requests
from bench_send import drop_database, pg_params, run_autocommit

HERE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(HERE))
from tests.addons import addon_names  # noqa: E402

ODOO_SRC = Path(os.environ.get('ODOO_SRC', '/opt/odoo'))
ADDONS = ','.join(addon_names())
TWILIO_SID = 'AC' + 'e' * 32
TWILIO_TOKEN = 'bench-twilio-token'
OUR_NUMBER = '+15005550006'


def contact_number(index):
    return f'+3361{index:07d}'  # valid French mobile numbers, one per contact


def lead_number(index):
    return f'+3362{index:07d}'  # a lead's own number, no contact has it


def twilio_signature(url, params):
    payload = url + ''.join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def odoo_cmd(conf, db, *args):
    return [sys.executable, str(ODOO_SRC / 'odoo-bin'), '-c', str(conf), '-d', db, *args]


def create_database(conf, db):
    drop_database(db)
    started = time.monotonic()
    subprocess.run(odoo_cmd(conf, db, '-i', ADDONS, '--stop-after-init', '--log-level=warn'),
                   check=True, cwd=HERE)
    print(f"database {db}: addons installed in {time.monotonic() - started:.0f} s")


def create_gateway(conf, db):
    """The Twilio gateway the webhooks are signed for, created with the ORM (its defaults and rules apply)."""
    code = f"""
env['sms.gateway'].search([]).write({{'active': False}})
gateway = env['sms.gateway'].create({{
    'name': 'Twilio bench', 'provider': 'twilio', 'base_url': 'http://127.0.0.1:9', 'account': {TWILIO_SID!r},
    'secret': {TWILIO_TOKEN!r}, 'sender': {OUR_NUMBER!r}, 'company_id': env.ref('base.main_company').id}})
env.cr.commit()
print('GATEWAY', gateway.id, gateway.webhook_token)
"""
    command = [sys.executable, str(ODOO_SRC / 'odoo-bin'), 'shell', '-c', str(conf), '-d', db, '--no-http',
               '--log-level=warn']
    shell = subprocess.run(command, input=code, text=True, capture_output=True, check=True, cwd=HERE)
    line = next(line for line in shell.stdout.splitlines() if line.startswith('GATEWAY '))
    _, gateway_id, token = line.split()
    return int(gateway_id), token


def fill_database(db, contacts, leads):
    """N contacts, an outbound SMS history (half of it recent) and leads, by SQL."""
    started = time.monotonic()
    with psycopg2.connect(**pg_params(db)) as conn, conn.cursor() as cr:
        cr.execute("""
            INSERT INTO res_partner (name, complete_name, phone, phone_sanitized, active, type, is_company,
                                     autopost_bills, lang, create_date, write_date)
            SELECT 'Contact ' || i, 'Contact ' || i, '+33 6 1' || lpad(i::text, 7, '0'), '+3361' || lpad(i::text, 7, '0'),
                   true, 'contact', false, 'ask', 'en_US',
                   now() - (i %% 1000) * interval '1 hour', now() - (i %% 1000) * interval '1 hour'
              FROM generate_series(0, %s - 1) AS i
        """, [contacts])
        cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE commercial_partner_id IS NULL")
        cr.execute("SELECT id FROM res_company ORDER BY id LIMIT 1")
        company_id = cr.fetchone()[0]
        cr.execute("""
            INSERT INTO sms_message (direction, state, number, body, purpose, company_id, res_model, res_id, partner_id,
                                     create_date, write_date)
            SELECT 'outbound', 'delivered', p.phone_sanitized, 'Your order has shipped', 'transactional', %s,
                   'res.partner', p.id, p.id, now() - (p.id %% 60) * interval '1 day', now()
              FROM res_partner p WHERE p.phone_sanitized IS NOT NULL AND p.id %% 5 = 0
        """, [company_id])
        # leads: a number of their own each, a third of them also linked to a contact
        cr.execute("""
            INSERT INTO crm_lead (name, type, active, phone, phone_sanitized, partner_id, company_id, priority,
                                  create_date, write_date)
            SELECT 'Lead ' || i, 'opportunity', true, '+33 6 2' || lpad(i::text, 7, '0'),
                   '+3362' || lpad(i::text, 7, '0'),
                   CASE WHEN i %% 3 = 0 THEN (SELECT id FROM res_partner WHERE phone_sanitized =
                                              '+3361' || lpad((i * 7 %% %(contacts)s)::text, 7, '0')) END,
                   %(company)s, '0', now() - (i %% 1000) * interval '1 hour', now()
              FROM generate_series(0, %(leads)s - 1) AS i
        """, {'contacts': contacts, 'leads': leads, 'company': company_id})
        cr.execute("SELECT count(*) FROM res_partner")
        total = cr.fetchone()[0]
    # Rewritten tables: indexes built at install over updated rows are usable at once, whatever other
    # transactions run in the cluster (else PostgreSQL may hide them from older snapshots for a while).
    run_autocommit(db, "VACUUM FULL ANALYZE res_partner, sms_message, crm_lead")
    print(f"inserted {contacts} contacts ({total} partners in all), their SMS history and {leads} leads in "
          f"{time.monotonic() - started:.0f} s")


def explain_match(db, number):
    with psycopg2.connect(**pg_params(db)) as conn, conn.cursor() as cr:
        cr.execute("""EXPLAIN ANALYZE SELECT id FROM res_partner WHERE phone_sanitized = %s AND active
                      ORDER BY create_date DESC, id DESC LIMIT 1""", [number])
        return '\n'.join(row[0] for row in cr.fetchall())


def start_odoo(conf, db, port, workers):
    args = ['--http-port', str(port), '--max-cron-threads', '0', '--log-level', 'warn', '--workers', str(workers)]
    if workers:
        args += ['--limit-time-real', '600', '--limit-time-cpu', '600']
    env = dict(os.environ, NO_PROXY='127.0.0.1,localhost', no_proxy='127.0.0.1,localhost')
    process = subprocess.Popen(odoo_cmd(conf, db, *args), cwd=HERE, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f'http://127.0.0.1:{port}/web/health', timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        if process.poll() is not None:
            raise RuntimeError("Odoo exited while starting")
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError("Odoo did not start in time")


def prepare_requests(url, args, total, seed):
    """Signed form bodies, built before the clock starts: the load generator shares the 2 cores."""
    rng = random.Random(seed)
    prepared = []
    for _index in range(total):
        draw = rng.random()
        if draw < args.unmatched:
            number = f'+3375{rng.randrange(10 ** 7):07d}'  # nobody has it: every rule looks, then the inbox
        elif draw < args.unmatched + args.from_leads and args.leads:
            number = lead_number(rng.randrange(args.leads))  # found by the lead rule
        else:
            number = contact_number(rng.randrange(args.contacts))
        params = {'MessageSid': 'SM' + secrets.token_hex(16), 'AccountSid': TWILIO_SID, 'From': number,
                  'To': OUR_NUMBER, 'NumSegments': '1', 'NumMedia': '0',
                  'Body': rng.choice(["Thanks!", "Can you call me back?", "OK for Tuesday", "Where is my parcel?"])}
        headers = {'X-Twilio-Signature': twilio_signature(url, params),
                   'Content-Type': 'application/x-www-form-urlencoded'}
        prepared.append((urllib.parse.urlencode(params).encode(), headers))
    return prepared


def run_load(port, path, prepared, concurrency):
    """Post ``prepared`` from ``concurrency`` callers, each on its own keep-alive connection."""
    local = threading.local()

    def post(request):
        body, headers = request
        connection = getattr(local, 'connection', None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
        started = time.perf_counter()
        connection.request('POST', path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latency = time.perf_counter() - started
        if response.getheader('Connection', '').lower() == 'close':
            connection.close()
            local.connection = None
        return latency, response.status

    with ThreadPoolExecutor(concurrency) as pool:
        started = time.perf_counter()
        results = list(pool.map(post, prepared))
        elapsed = time.perf_counter() - started
    return results, elapsed


def cpu_seconds(odoo):
    """CPU time used so far by the Odoo server (and its workers), PostgreSQL, and this load generator."""
    def used(process):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            return 0.0
        return times.user + times.system

    postgres = sum(used(process) for process in psutil.process_iter(['name'])
                   if (process.info['name'] or '').startswith('postgres'))
    server = used(odoo) + sum(used(child) for child in odoo.children(recursive=True))
    return {'odoo': server, 'postgresql': postgres, 'load generator': used(psutil.Process())}


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--contacts', type=int, default=100_000)
    parser.add_argument('--requests', type=int, default=2000)
    parser.add_argument('--concurrency', type=int, default=8)
    parser.add_argument('--workers', type=int, default=4, help="Odoo HTTP worker processes (0: threaded server)")
    parser.add_argument('--leads', type=int, help="leads with a number of their own (default: 3 per 10 contacts)")
    parser.add_argument('--unmatched', type=float, default=0.1, help="share of SMS from unknown numbers")
    parser.add_argument('--from-leads', type=float, default=0.1, help="share of SMS from leads' numbers")
    parser.add_argument('--db', default='sms_inbound_bench')
    parser.add_argument('--conf', default=str(HERE / '.odoo.conf'))
    parser.add_argument('--keep', action='store_true', help="keep the scratch database")
    parser.add_argument('--reuse', action='store_true', help="reuse a database kept by --keep (no install/fill)")
    args = parser.parse_args()

    if args.reuse:
        with psycopg2.connect(**pg_params(args.db)) as conn, conn.cursor() as cr:
            cr.execute("SELECT id, webhook_token FROM sms_gateway WHERE name = 'Twilio bench' AND active")
            gateway_id, token = cr.fetchone()
            cr.execute("SELECT count(*) FROM res_partner WHERE phone_sanitized LIKE '+3361%%'")
            args.contacts = cr.fetchone()[0]
            cr.execute("SELECT count(*) FROM crm_lead WHERE phone_sanitized LIKE '+3362%%'")
            args.leads = cr.fetchone()[0]
    else:
        create_database(args.conf, args.db)
        if args.leads is None:
            args.leads = args.contacts * 3 // 10
        fill_database(args.db, args.contacts, args.leads)
        gateway_id, token = create_gateway(args.conf, args.db)
    plan = explain_match(args.db, contact_number(args.contacts // 2))
    print("matching query plan:\n" + plan)
    if 'phone_sanitized_index' not in plan:
        print("WARNING: the match does not use the phone_sanitized index; a transaction older than the index may "
              "be open elsewhere in the cluster (PostgreSQL then keeps new indexes unusable). Rerun with --reuse.")

    port = free_port()
    process = start_odoo(args.conf, args.db, port, args.workers)
    try:
        path = f'/sms_connector/inbound/{gateway_id}/{token}'
        url = f'http://127.0.0.1:{port}{path}'
        warm_up = prepare_requests(url, args, 100, seed=41)
        prepared = prepare_requests(url, args, args.requests, seed=42)
        run_load(port, path, warm_up, args.concurrency)  # every worker loads its caches
        odoo = psutil.Process(process.pid)
        before = cpu_seconds(odoo)
        results, elapsed = run_load(port, path, prepared, args.concurrency)
        after = cpu_seconds(odoo)
    finally:
        process.terminate()
        process.wait(30)
    latencies = [latency * 1000 for latency, _status in results]
    errors = sum(1 for _latency, status in results if status != 200)
    with psycopg2.connect(**pg_params(args.db)) as conn, conn.cursor() as cr:
        cr.execute("SELECT count(*), count(res_model) FROM sms_message WHERE direction = 'inbound'")
        inbound, linked = cr.fetchone()
    print(f"\ncontacts: {args.contacts}  leads: {args.leads}  requests: {len(results)}  "
          f"concurrency: {args.concurrency}  "
          f"odoo workers: {args.workers}  non-200 answers: {errors}")
    print(f"latency ms: p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}  "
          f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}  mean {statistics.fmean(latencies):.1f}")
    print(f"throughput: {len(results) / elapsed:.1f} inbound SMS/s ({elapsed:.1f} s)")
    print("CPU per SMS ms: " + "  ".join(
        f"{name} {(after[name] - before[name]) / len(results) * 1000:.1f}" for name in after))
    print(f"inbound SMS stored: {inbound} (matched to a record: {linked})")
    if not args.keep:
        drop_database(args.db)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
