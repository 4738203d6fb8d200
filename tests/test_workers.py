"""Never twice, never lost — with real Odoo processes, real commits and a real crash.

Each scenario drives ``tests/workers/sms_worker.py`` in subprocesses against a scratch copy of
the test database; the fake provider runs here and counts what it received.
"""
import collections
import configparser
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
import requests

from .addons import addon_names
from .fake_providers import FakeProviderServer
from .fake_providers.twilio import twilio_signature
from .workers.sms_worker import CRASH_EXIT_CODE

try:
    from . import stats
except ImportError:  # pragma: no cover - the counters are optional
    stats = None

ROOT = Path(__file__).resolve().parent.parent
ODOO_SRC = os.environ.get('ODOO_SRC', '/opt/odoo')
ADDONS = ','.join(addon_names())
SID, TOKEN = 'AC' + 'c' * 32, 'workers-token'
LOGIN, KEY = 'workers@example.com', 'workers-key'


@pytest.fixture(scope='module')
def odoo_conf(request):
    conf = request.config.getoption('--odoo-config', default=None) or os.environ.get('SMS_CONNECTOR_ODOO_CONF')
    assert conf, "run with pytest-odoo's --odoo-config (make test does)"
    return str(Path(conf).resolve())


@pytest.fixture(scope='module')
def worker_db(request, odoo_conf):
    """A database of its own: workers commit for real, the test database must stay clean."""
    base = request.config.getoption('--odoo-database', default=None) or 'sms_connector_test'
    name = f'{base}_workers'
    parser = configparser.ConfigParser()
    parser.read(odoo_conf)
    opts = parser['options']
    conn = psycopg2.connect(dbname='postgres', host=opts.get('db_host'), port=opts.get('db_port'),
                            user=opts.get('db_user'), password=opts.get('db_password'))
    with conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = bool(cr.fetchone())
    conn.close()
    if not exists:  # make test creates it from the test database; install it when run alone
        subprocess.run([sys.executable, f'{ODOO_SRC}/odoo-bin', '-c', odoo_conf, '-d', name, '-i', ADDONS,
                        '--stop-after-init', '--log-level=warn'], check=True, cwd=ROOT)
    return name


@pytest.fixture
def fake():
    server = FakeProviderServer(twilio_accounts={SID: TOKEN}, octopush_accounts={LOGIN: KEY}, auto_callbacks=False)
    server.expected_numbers = ()  # set by assert_each_once: what had to reach the provider
    with server:
        yield server
        if stats:  # counted at the provider, failed scenarios included; the faults it applied
            stats.record_delivery(delivered_numbers(server), server.expected_numbers)
            stats.record('faults_injected', sum(1 for request in server.requests_log if request['fault']))


def worker(odoo_conf, db, *args, check=True):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ODOO_SRC, str(ROOT), os.environ.get('PYTHONPATH')])),
               NO_PROXY='127.0.0.1,localhost')
    cmd = [sys.executable, '-m', 'tests.workers.sms_worker', '--conf', odoo_conf, '--db', db, *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) \
        if not check else subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=600)


def run(odoo_conf, db, *args, expect=0):
    result = worker(odoo_conf, db, *args)
    assert result.returncode == expect, f"{args}: rc={result.returncode}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None


def setup_queue(odoo_conf, db, fake, **counts):
    args = ['setup', '--fake-url', fake.url, '--twilio-sid', SID, '--twilio-token', TOKEN,
            '--octopush-login', LOGIN, '--octopush-key', KEY]
    for key, value in counts.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    run(odoo_conf, db, *args)


def delivered_numbers(fake):
    twilio = [m['to'] for m in fake.twilio_messages]
    octopush = [r['phone_number'] for req in fake.octopush_requests if not req['simulation']
                for r in req['payload']['recipients']]
    return twilio + octopush


def assert_each_once(fake, report, expected_count):
    fake.expected_numbers = {sms['number'] for sms in report['sms']}
    received = collections.Counter(delivered_numbers(fake))
    twice = {number: n for number, n in received.items() if n > 1}
    assert not twice, f"sent more than once: {twice}"
    states = collections.Counter(sms['state'] for sms in report['sms'])
    assert len(received) == expected_count, (len(received), states)
    assert states == {'pending': expected_count}, states


def test_crash_between_twilio_acceptance_and_commit(odoo_conf, worker_db, fake):
    setup_queue(odoo_conf, worker_db, fake, twilio=20)
    run(odoo_conf, worker_db, 'process', '--crash-after-send', expect=CRASH_EXIT_CODE)
    assert len(fake.twilio_messages) == 20
    report = run(odoo_conf, worker_db, 'report')
    assert collections.Counter(s['state'] for s in report['sms']) == {'process': 20}, "left 'sending', not queued again"
    run(odoo_conf, worker_db, 'process')  # a restarted worker does not touch them
    assert len(fake.twilio_messages) == 20
    assert run(odoo_conf, worker_db, 'reconcile') == {'reconciled': 20}
    report = run(odoo_conf, worker_db, 'report')
    assert_each_once(fake, report, 20)
    assert {log['provider_message_id'] for log in report['logs']} == {m['sid'] for m in fake.twilio_messages}


def test_crash_between_octopush_acceptance_and_commit(odoo_conf, worker_db, fake):
    setup_queue(odoo_conf, worker_db, fake, octopush=1200, batch_size=1200)
    run(odoo_conf, worker_db, 'process', '--crash-after-send', expect=CRASH_EXIT_CODE)
    assert sorted(len(r['payload']['recipients']) for r in fake.octopush_requests) == [200, 500, 500]
    run(odoo_conf, worker_db, 'reconcile')
    run(odoo_conf, worker_db, 'process')  # resends the very same requests: Octopush drops duplicates
    duplicates = [r for r in fake.requests_log if r['status'] == 409]
    assert len(duplicates) == 3, "the same request_id was presented again, and refused"
    assert_each_once(fake, run(odoo_conf, worker_db, 'report'), 1200)


@pytest.mark.parametrize('workers', [2, 4])
def test_concurrent_workers_never_pick_the_same_sms(odoo_conf, worker_db, fake, workers, tmp_path):
    fake.latency = 0.01
    setup_queue(odoo_conf, worker_db, fake, twilio=600, octopush=600, batch_size=50)
    procs = [worker(odoo_conf, worker_db, 'process', '--barrier', str(tmp_path), '--parties', str(workers), check=False)
             for _ in range(workers)]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    handled = [json.loads(out.strip().splitlines()[-1])['handled'] for out, _err in outputs]
    assert sum(handled) == 1200, handled
    assert sum(1 for h in handled if h) >= 2, f"the workers should share the queue: {handled}"
    assert_each_once(fake, run(odoo_conf, worker_db, 'report'), 1200)


def test_provider_down_then_back(odoo_conf, worker_db, fake):
    """Outage faults of every kind: each SMS ends up sent exactly once, or flagged for checking."""
    setup_queue(odoo_conf, worker_db, fake, twilio=150, octopush=30, batch_size=40, timeout=1)
    faults = {'connection_reset': 25, 'http_500': 15, 'http_502_html': 10, 'http_429': 5, 'drop_after_accept': 5}
    for kind, count in faults.items():
        fake.inject_faults(kind, count=count, retry_after=0)
    fake.inject_faults('stall', count=2, seconds=2.5)
    run(odoo_conf, worker_db, 'process')
    report = run(odoo_conf, worker_db, 'report')
    received = collections.Counter(delivered_numbers(fake))
    assert max(received.values()) == 1, "never twice"
    flagged = {s['number'] for s in report['sms'] if s['state'] == 'error'}
    assert len(flagged) <= 2, "only the stalled requests may need a manual check"
    assert all(s['failure_type'] == 'unknown' for s in report['sms'] if s['state'] == 'error')
    sent = {s['number'] for s in report['sms'] if s['state'] == 'pending'}
    assert sent | flagged == {s['number'] for s in report['sms']}, "none lost"
    assert sent <= set(received), "every SMS marked sent reached the provider"


def test_failed_lookups_after_a_crash_never_resend(odoo_conf, worker_db, fake):
    """10.3: after a crash, look-ups answered 429, 503 or too late mean "could not tell", not "not there"."""
    setup_queue(odoo_conf, worker_db, fake, twilio=20, timeout=1)
    run(odoo_conf, worker_db, 'process', '--crash-after-send', expect=CRASH_EXIT_CODE)
    accepted = {m['to']: m['sid'] for m in fake.twilio_messages}
    assert len(accepted) == 20
    for kind, count in (('http_429', 40), ('http_503', 40), ('stall', 6)):
        fake.inject_faults(kind, count=count, on='lookup', retry_after=0, seconds=1.5)
    states = collections.Counter()
    for _run in range(2):  # the queue cron, twice, while the look-ups fail
        report = run(odoo_conf, worker_db, 'cron')
        log_state = {log['number']: log['state'] for log in report['logs']}
        states.update((sms['state'], log_state[sms['number']]) for sms in report['sms'])
    received = collections.Counter(delivered_numbers(fake))
    assert max(received.values()) == 1, \
        f"resent though the look-up failed: {sum(n > 1 for n in received.values())} of 20 went out twice"
    assert set(states) <= {('process', 'sending'), ('process', 'unknown'), ('error', 'unknown')}, \
        f"settled without a successful look-up: {states}"
    fake.clear_faults()  # the look-ups answer again
    report = run(odoo_conf, worker_db, 'cron')
    assert_each_once(fake, report, 20)
    assert {log['number']: log['provider_message_id'] for log in report['logs']} == accepted, "the sid found"


def test_gateway_limit_holds_across_processes(odoo_conf, worker_db, fake, tmp_path):
    """10.8: 4 workers on a gateway limited to 8 requests in flight: at most 8 at the provider."""
    fake.latency = 0.1
    setup_queue(odoo_conf, worker_db, fake, twilio=200, batch_size=25)
    procs = [worker(odoo_conf, worker_db, 'process', '--barrier', str(tmp_path), '--parties', '4', check=False)
             for _ in range(4)]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    handled = [json.loads(out.strip().splitlines()[-1])['handled'] for out, _err in outputs]
    assert sum(1 for h in handled if h) >= 2, f"the workers should share the queue: {handled}"
    assert_each_once(fake, run(odoo_conf, worker_db, 'report'), 200)
    assert fake.max_in_flight <= 8, f"{fake.max_in_flight} requests in flight, the gateway allows 8"


@pytest.fixture
def odoo_http(odoo_conf, worker_db):
    """An Odoo HTTP server on the workers' database: the provider's webhooks reach it while workers send."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ODOO_SRC, os.environ.get('PYTHONPATH')])))
    server = subprocess.Popen(
        [sys.executable, f'{ODOO_SRC}/odoo-bin', '-c', odoo_conf, '-d', worker_db, f'--db-filter=^{worker_db}$',
         f'--http-port={port}', '--max-cron-threads=0', '--log-level=warn'],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    session = requests.Session()
    session.trust_env = False
    url = f'http://127.0.0.1:{port}'
    deadline = time.monotonic() + 120
    while True:
        try:
            if session.get(f'{url}/web/health', timeout=10).ok:
                break
        except requests.exceptions.RequestException:  # not listening yet, or busy starting
            pass
        assert server.poll() is None and time.monotonic() < deadline, "Odoo did not start"
        time.sleep(0.5)
    try:
        yield url, session
    finally:
        server.terminate()
        server.wait(timeout=30)
        session.close()


def test_reports_racing_the_results_commit_are_applied_when_it_commits(odoo_conf, worker_db, fake, odoo_http, tmp_path):
    """10.5: a report that came while the results transaction was open is parked, then applied at its commit."""
    url, session = odoo_http
    setup_queue(odoo_conf, worker_db, fake, twilio=5)
    gateway = run(odoo_conf, worker_db, 'report')['gateways']['twilio']
    path = f"/sms_connector/status/{gateway['id']}/{gateway['token']}"

    def post_report(sid, status):
        params = {'MessageSid': sid, 'MessageStatus': status, 'AccountSid': SID}
        signature = twilio_signature(TOKEN, url + path, params)
        return session.post(url + path, data=params, headers={'X-Twilio-Signature': signature}, timeout=60)

    assert post_report('SM' + '0' * 32, 'sent').status_code == 200  # loads the registry before the race
    sender = worker(odoo_conf, worker_db, 'process', '--hold-results', '6', '--barrier', str(tmp_path), check=False)
    deadline = time.monotonic() + 120
    while not (tmp_path / 'holding').exists():
        assert sender.poll() is None and time.monotonic() < deadline, sender.communicate()[1][-3000:]
        time.sleep(0.05)
    for message in fake.twilio_messages:  # while our results are not committed yet
        assert post_report(message['sid'], 'delivered').status_code == 200
    _out, err = sender.communicate(timeout=120)
    assert sender.returncode == 0, err[-3000:]
    report = run(odoo_conf, worker_db, 'report')  # no cron run in between
    assert_each_once(fake, report, 5)
    states = collections.Counter(log['state'] for log in report['logs'])
    assert states == {'delivered': 5}, f"reports parked and not applied at the commit: {states}"
    assert report['parked_reports'] == 1, "only the report of an SMS that does not exist stays parked"


def test_octopush_crash_recovery_keeps_delivery_reports_and_cost(odoo_conf, worker_db, fake, odoo_http):
    """10.6: SMS recovered through Octopush's duplicate answer (code 120) still get their reports and cost."""
    url, session = odoo_http
    setup_queue(odoo_conf, worker_db, fake, octopush=10)
    run(odoo_conf, worker_db, 'process')  # the gateway's history: what its SMS cost
    run(odoo_conf, worker_db, 'add', '--octopush', '30', '--first', '100')
    run(odoo_conf, worker_db, 'process', '--crash-after-send', expect=CRASH_EXIT_CODE)
    request = fake.octopush_requests[-1]
    for _run in range(2):  # reconciled, then the same request again: answered 409, code 120
        report = run(odoo_conf, worker_db, 'cron')
    assert [r['status'] for r in fake.requests_log] == [201, 201, 409]
    gateway = report['gateways']['octopush']
    path = f"/sms_connector/status/{gateway['id']}/{gateway['token']}"
    for recipient in request['payload']['recipients']:  # what Octopush posts for each recipient
        body = {'message_id': request['sms_ticket'], 'number': recipient['phone_number'], 'status': 'DELIVERED',
                'delivery_date': '2026-11-21 10:00:00', 'channel': 'sms_premium'}
        assert session.post(url + path, json=body, timeout=60).status_code == 200
    report = run(odoo_conf, worker_db, 'report')
    assert_each_once(fake, report, 40)
    recovered = {r['phone_number'] for r in request['payload']['recipients']}
    logs = [log for log in report['logs'] if log['number'] in recovered]
    states = collections.Counter(log['state'] for log in logs)
    assert states == {'delivered': 30}, f"recovered SMS without delivery tracking: {states}"
    assert all(log['cost'] for log in logs), "recovered SMS without a cost"
