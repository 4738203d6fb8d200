"""Throughput: our gateway engine vs Odoo 19's native ``sms_twilio`` path, same run, same fake.

Prints figures, asserts nothing. Run with ``make bench`` or:
    python tests/bench/bench_send.py --conf .odoo.conf --count 2000 --latency-ms 100 0

Both paths send queued ``sms.sms`` through the loopback fake Twilio (tests/fake_providers) with
the same latency. Odoo's ``sms_twilio`` posts to a hard-coded https://api.twilio.com: for the
benchmark only, its requests session rewrites that host to the fake server (same loopback HTTP
cost as ours); nothing else of the native path is changed.

CPU is the benchmark process's (``time.process_time``: every thread of it, the senders too). The
fake Twilio runs in a process of its own, as Twilio does: its CPU is not Odoo's, and its threads do
not compete with Odoo's for the GIL (``--fake-in-process`` measures the older way, both together).
"""
import argparse
import multiprocessing
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [os.environ.get('ODOO_SRC', '/opt/odoo'), str(ROOT)]

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402

from tests.addons import addon_names  # noqa: E402
from tests.fake_providers import FakeProviderServer  # noqa: E402

SID, TOKEN, FROM = 'AC' + 'e' * 32, 'bench-token', '+15005550006'
ADDONS = ','.join([*addon_names(), 'sms_twilio'])  # ours and Odoo's native Twilio path


def ensure_db(conf, db):
    probe = subprocess.run(['psql', '-h', '127.0.0.1', '-U', os.environ.get('PGUSER', 'odoo'), '-d', db, '-tAc',
                            "SELECT state FROM ir_module_module WHERE name = 'sms_twilio'"],
                           capture_output=True, text=True, check=False)
    installed = probe.stdout.strip() == 'installed'
    if not installed:
        drop_database(db)
    # an existing benchmark database is updated: its schema follows the code being measured
    subprocess.run([sys.executable, os.path.join(os.environ.get('ODOO_SRC', '/opt/odoo'), 'odoo-bin'), '-c', conf,
                    '-d', db, '-u' if installed else '-i', ADDONS, '--stop-after-init', '--log-level=warn'], check=True)


def pg_params(dbname):
    return {
        'host': os.environ.get('PGHOST', '127.0.0.1'), 'port': int(os.environ.get('PGPORT', '5432')),
        'user': os.environ.get('PGUSER', 'odoo'), 'password': os.environ.get('PGPASSWORD', 'odoo'), 'dbname': dbname,
    }


def run_autocommit(db, statement):
    """Run ``statement`` outside a transaction (VACUUM, DROP DATABASE cannot run in one)."""
    conn = psycopg2.connect(**pg_params(db))
    try:
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(statement)
    finally:
        conn.close()


def drop_database(db):
    """FORCE ends the sessions left; it may not end an autovacuum worker, which a plain DROP waits out."""
    try:
        run_autocommit('postgres', f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    except psycopg2.errors.InsufficientPrivilege:
        run_autocommit('postgres', f'DROP DATABASE IF EXISTS "{db}"')


def settle(db, tables):
    """VACUUM ANALYZE the tables a set-up emptied and refilled (not measured).

    Else autovacuum works through the set-up's dead rows during the measure, and may truncate a
    table under an exclusive lock that stalls the next statement on it; the planner would also
    see the statistics of the previous run.
    """
    run_autocommit(db, f"VACUUM ANALYZE {', '.join(tables)}")


def _serve_fake(conn):
    """Child process: the fake Twilio, driven by (command, value) messages on ``conn``."""
    with FakeProviderServer(twilio_accounts={SID: TOKEN}, auto_callbacks=False) as fake:
        conn.send(fake.url)
        while True:
            command, value = conn.recv()
            if command == 'stop':
                break
            if command == 'latency':
                fake.latency = value
            elif command == 'reset':
                fake.reset()
            conn.send(len(fake.twilio_messages))


class FakeProcess:
    """The fake Twilio in a process of its own, with the attributes the benchmark uses."""

    def __init__(self):
        self._conn, child = multiprocessing.get_context('spawn').Pipe()
        self._process = multiprocessing.get_context('spawn').Process(target=_serve_fake, args=(child,), daemon=True)

    def __enter__(self):
        self._process.start()
        self.url = self._conn.recv()
        return self

    def __exit__(self, *exc):
        self._conn.send(('stop', None))
        self._process.join(10)

    def _ask(self, command, value=None):
        self._conn.send((command, value))
        return self._conn.recv()

    @property
    def latency(self):
        raise AttributeError("write-only")

    @latency.setter
    def latency(self, value):
        self._ask('latency', value)

    def reset(self):
        self._ask('reset')

    def accepted(self):
        return self._ask('count')


class FakeInProcess(FakeProviderServer):
    def accepted(self):
        return len(self.twilio_messages)


def redirect_native_twilio(fake_url):
    """Point sms_twilio's hard-coded API host at the fake server (benchmark only)."""
    from odoo.addons.sms_twilio.tools import sms_api

    class LoopbackSession(requests.Session):
        def request(self, method, url, *args, **kwargs):
            return super().request(method, url.replace('https://api.twilio.com', fake_url), *args, **kwargs)

    sms_api.requests = types.SimpleNamespace(Session=LoopbackSession, exceptions=requests.exceptions)


def reset_queue(env, count, native):
    env.cr.execute("DELETE FROM sms_sms; DELETE FROM sms_message; DELETE FROM sms_tracker")
    company = env.ref('base.main_company')
    gateways = env['sms.gateway'].with_context(active_test=False).search([])
    gateways.unlink()
    company.write({'sms_provider': 'twilio' if native else 'iap', 'sms_twilio_account_sid': SID,
                   'sms_twilio_auth_token': TOKEN})
    if not company.sms_twilio_number_ids:
        env['sms.twilio.number'].create({'number': FROM, 'country_id': env.ref('base.us').id, 'company_id': company.id})
    if not native:
        limits = {'max_concurrency': env.context['concurrency']} if env.context['concurrency'] else {}
        env['sms.gateway'].create({'name': 'Bench Twilio', 'provider': 'twilio', 'base_url': env.context['fake_url'],
                                   'account': SID, 'secret': TOKEN, 'sender': FROM, 'company_id': company.id,
                                   **limits})
    env['sms.sms'].create([{'number': f'+1415555{i:04d}', 'body': f'Bench {i}', 'record_company_id': company.id}
                           for i in range(count)])


def queue_cron_runs(registry, pending_states):
    """Run the SMS queue cron, each run in its own transaction, until no SMS is left in
    ``pending_states``; yields after each run (the caller may count what the fake accepted)."""
    while True:
        with registry.cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})['sms.sms']._process_queue()
            cr.execute("SELECT count(*) FROM sms_sms WHERE state = ANY(%s)", [list(pending_states)])
            left = cr.fetchone()[0]
        yield
        if not left:
            return


def run_path(registry, fake, count, native, concurrency):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {'fake_url': fake.url, 'concurrency': concurrency})
        reset_queue(env, count, native)
    settle(registry.db_name, ['sms_sms', 'sms_message', 'sms_tracker', 'sms_gateway'])
    fake.reset()
    start, cpu = time.perf_counter(), time.process_time()
    for _run in queue_cron_runs(registry, ['outgoing']):
        pass
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    accepted = fake.accepted()
    assert accepted == count, f"{'native' if native else 'ours'}: fake received {accepted} of {count}"
    return elapsed, cpu / count * 1000


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--conf', default=str(ROOT / '.odoo.conf'))
    parser.add_argument('--db', default='sms_connector_bench')
    parser.add_argument('--count', type=int, default=2000)
    parser.add_argument('--native-count', type=int, default=300,
                        help="SMS for Odoo's native path (one request at a time: 2,000 at 100 ms take minutes)")
    parser.add_argument('--latency-ms', type=float, nargs='+', default=[100.0, 0.0])
    parser.add_argument('--concurrency', type=int, nargs='+', default=[0, 64],
                        help="our gateway's max concurrent requests; 0 = the gateway's default")
    parser.add_argument('--fake-in-process', action='store_true',
                        help="run the fake Twilio in this process: its CPU counts as Odoo's")
    args = parser.parse_args(argv)
    ensure_db(args.conf, args.db)
    odoo.tools.config.parse_config(['-c', args.conf, '-d', args.db, '--log-level=warn'])
    registry = Registry(args.db)
    rows = []
    fake_server = FakeInProcess(twilio_accounts={SID: TOKEN}, auto_callbacks=False) if args.fake_in_process \
        else FakeProcess()
    with fake_server as fake:
        redirect_native_twilio(fake.url)
        for latency in args.latency_ms:
            fake.latency = latency / 1000
            native_time, native_cpu = run_path(registry, fake, args.native_count, True, None)
            native = args.native_count / native_time
            print(f"latency {latency:5.0f} ms: native sms_twilio {native:8.1f} msg/s ({args.native_count} SMS), "
                  f"CPU {native_cpu:.2f} s per 1,000 SMS", flush=True)
            for concurrency in args.concurrency:
                elapsed, cpu = run_path(registry, fake, args.count, False, concurrency)
                ours = args.count / elapsed
                label = f"max {concurrency} in flight" if concurrency else "gateway defaults"
                bound = f", {ours / (concurrency / (latency / 1000)):.0%} of the bound C/L" if concurrency and latency else ""
                print(f"latency {latency:5.0f} ms: sms_connector ({label}) {ours:8.1f} msg/s ({args.count} SMS), "
                      f"{ours / native:5.1f}x native{bound}, CPU {cpu:.2f} s per 1,000 SMS ({cpu / native_cpu:.2f}x native)",
                      flush=True)
                rows.append((latency, concurrency, native, ours, cpu, native_cpu))
    return rows


if __name__ == '__main__':
    main(sys.argv[1:])
