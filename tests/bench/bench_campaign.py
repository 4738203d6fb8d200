"""A 100,000-recipient SMS mailing, from "Send" to every message accepted by the fake Octopush.

Prints figures, asserts nothing but completeness. Run with:
    python tests/bench/bench_campaign.py --conf .odoo.conf --recipients 100000 --latency-ms 50

Contacts are inserted with SQL (set-up, not measured); sending windows are removed from the
benchmark database so that it measures throughput whatever the hour. Measured: Odoo's mailing "Send"
(composer, rendering, sms.sms + traces + our log rows) committed, then the queue cron until
nothing is left, through an Octopush gateway on the loopback fake (500 recipients a request).
Then Odoo's own queueing per recipient, on a database with only mass_mailing_sms installed (our
addons override queueing wherever they are installed). ``--profile PREFIX`` writes cProfile files.
"""
import argparse
import contextlib
import cProfile
import os
import pstats
import resource
import subprocess
import sys
import time

from bench_send import ROOT, drop_database, ensure_db, queue_cron_runs, settle  # first: puts Odoo and the repository on sys.path

import odoo
from odoo import SUPERUSER_ID, api, sql_db
from odoo.modules.registry import Registry

from tests.fake_providers import FakeProviderServer

LOGIN, KEY = 'bench@example.com', 'bench-key'


def create_mailing(env, recipients):
    """An SMS mailing to a list of ``recipients`` French mobile contacts (inserted with SQL)."""
    cr = env.cr
    mailing_list = env['mailing.list'].create({'name': f'Bench {recipients}'})
    fr = env.ref('base.fr').id
    cr.execute("""
        WITH contact AS (
            INSERT INTO mailing_contact (name, mobile, phone_sanitized, country_id, create_date, write_date, create_uid, write_uid)
            SELECT 'Contact ' || i, '+336' || lpad(i::text, 8, '0'), '+336' || lpad(i::text, 8, '0'), %s,
                   now(), now(), 1, 1
              FROM generate_series(1, %s) i RETURNING id)
        INSERT INTO mailing_subscription (contact_id, list_id, opt_out, create_date, write_date, create_uid, write_uid)
        SELECT id, %s, false, now(), now(), 1, 1 FROM contact
    """, [fr, recipients, mailing_list.id])
    mailing = env['mailing.mailing'].create({
        'subject': 'Bench campaign', 'mailing_type': 'sms', 'body_plaintext': 'Soldes -20% ce week-end. STOP au 30101',
        'mailing_model_id': env['ir.model']._get_id('mailing.list'), 'contact_list_ids': [(6, 0, mailing_list.ids)],
        'sms_force_send': False, 'keep_archives': False,
    })
    return mailing.id


def native_queueing(conf, db, recipients):
    """Seconds Odoo alone (mass_mailing_sms, none of our addons) takes to queue an SMS mailing.

    Our addons override the queueing path in any database they are installed in: Odoo's own is
    measured on a database of its own, with only ``mass_mailing_sms`` installed (kept between runs).
    """
    pg = ['psql', '-h', '127.0.0.1', '-U', os.environ.get('PGUSER', 'odoo')]
    probe = subprocess.run([*pg, '-d', db, '-tAc', "SELECT state FROM ir_module_module WHERE name = 'mass_mailing_sms'"],
                           capture_output=True, text=True, check=False)
    if probe.stdout.strip() != 'installed':
        drop_database(db)
        subprocess.run([sys.executable, os.path.join(os.environ.get('ODOO_SRC', '/opt/odoo'), 'odoo-bin'), '-c', conf,
                        '-d', db, '-i', 'mass_mailing_sms', '--stop-after-init', '--log-level=warn'], check=True)
    registry = Registry(db)
    with registry.cursor() as cr:
        cr.execute("DELETE FROM sms_sms; DELETE FROM sms_tracker; DELETE FROM mailing_trace; DELETE FROM mailing_subscription;"
                   "DELETE FROM mailing_contact; DELETE FROM mailing_mailing")
        mailing_id = create_mailing(api.Environment(cr, SUPERUSER_ID, {}), recipients)
    start = time.perf_counter()
    with registry.cursor() as cr:
        api.Environment(cr, SUPERUSER_ID, {})['mailing.mailing'].browse(mailing_id).action_send_sms()
    elapsed = time.perf_counter() - start
    with registry.cursor() as cr:
        cr.execute("SELECT count(*) FROM sms_sms WHERE mailing_id = %s", [mailing_id])
        assert cr.fetchone()[0] == recipients, "Odoo's own queueing did not queue every recipient"
    return elapsed


def drain(fake):
    """(recipients, requests) the fake Octopush accepted since the last call, then forgotten: it runs in
    this process, and keeping a 1,000,000-recipient campaign's payloads would count in its peak RSS."""
    octopush = fake.providers['octopush']
    with fake.lock:
        sent = [request for request in octopush.requests if not request['simulation']]
        octopush.requests.clear()
    return sum(len(request['payload']['recipients']) for request in sent), len(sent)


def setup(registry, fake, recipients, concurrency):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cr.execute("DELETE FROM sms_sms; DELETE FROM sms_message; DELETE FROM sms_tracker; DELETE FROM mailing_trace;"
                   "DELETE FROM mailing_subscription; DELETE FROM mailing_contact; DELETE FROM mailing_mailing")
        env['sms.gateway'].with_context(active_test=False).search([]).unlink()
        # throughput, not legal hours: without this, a run at night is (rightly) deferred to 08:00 Paris
        env['sms.sending.window'].search([]).unlink()
        # the queue cron hands over every 20 s (instead of 300): the loop below counts what the fake accepted
        env['ir.config_parameter'].set_param('sms_connector.cron_time_budget', 20)
        company = env.ref('base.main_company')
        env['sms.gateway'].create({
            'name': 'Bench Octopush', 'provider': 'octopush', 'base_url': fake.url + '/v1/public',
            'account': LOGIN, 'secret': KEY, 'sender': 'Bench', 'company_id': company.id,
            **({'max_concurrency': concurrency} if concurrency else {}),
        })
        return create_mailing(env, recipients)


@contextlib.contextmanager
def profiled(path):
    """cProfile the block into ``path`` (.prof) and ``path``.txt (top costs, cumulative and own time)."""
    if not path:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)
        with open(f'{path}.txt', 'w', encoding='utf-8') as out:
            stats = pstats.Stats(profile, stream=out).strip_dirs()
            stats.sort_stats('cumulative').print_stats(60)
            stats.sort_stats('tottime').print_stats(40)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--conf', default=str(ROOT / '.odoo.conf'))
    parser.add_argument('--db', default='sms_connector_bench')
    parser.add_argument('--recipients', type=int, default=100_000)
    parser.add_argument('--latency-ms', type=float, default=50.0)
    parser.add_argument('--concurrency', type=int, default=0, help="gateway's max concurrent requests; 0 = its default")
    parser.add_argument('--native-recipients', type=int, default=5000,
                        help="recipients of the mailing Odoo queues alone (its composer refuses ~15,000 and more); 0 = skip")
    parser.add_argument('--profile', metavar='PREFIX',
                        help="cProfile each phase into PREFIX-queue.prof and PREFIX-send.prof (+ .txt summaries)")
    args = parser.parse_args(argv)
    ensure_db(args.conf, args.db)
    odoo.tools.config.parse_config(['-c', args.conf, '-d', args.db, '--log-level=warn'])
    registry = Registry(args.db)
    with FakeProviderServer(octopush_accounts={LOGIN: KEY}, auto_callbacks=False, latency=args.latency_ms / 1000) as fake:
        mailing_id = setup(registry, fake, args.recipients, args.concurrency)
        settle(args.db, ['sms_sms', 'sms_message', 'sms_tracker', 'mailing_trace', 'mailing_contact',
                         'mailing_subscription', 'mailing_mailing'])
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sql_start, start = sql_db.sql_counter, time.perf_counter()
        with profiled(args.profile and f'{args.profile}-queue.prof'), registry.cursor() as cr:  # the marketer clicks "Send"
            api.Environment(cr, SUPERUSER_ID, {})['mailing.mailing'].browse(mailing_id).action_send_sms()
        sql_queued, queued = sql_db.sql_counter, time.perf_counter()
        rss_queued = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        accepted = requests = 0
        with profiled(args.profile and f'{args.profile}-send.prof'):
            for _run in queue_cron_runs(registry, ['outgoing', 'process']):
                counted = drain(fake)
                accepted, requests = accepted + counted[0], requests + counted[1]
        sql_done, done = sql_db.sql_counter, time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{args.recipients} recipients, Octopush latency {args.latency_ms:.0f} ms, concurrency {args.concurrency or 'gateway default'}: "
          f"queued in {queued - start:.1f} s, sent in {done - queued:.1f} s ({args.recipients / (done - queued):.0f} msg/s), "
          f"total {done - start:.1f} s ({args.recipients / (done - start):.0f} msg/s end to end); {requests} requests, "
          f"{accepted} recipients accepted; peak RSS {peak / 1024:.0f} MiB (set-up {rss_before / 1024:.0f} MiB, "
          f"queued {rss_queued / 1024:.0f} MiB); SQL queries: {sql_queued - sql_start} to queue, {sql_done - sql_queued} to send",
          flush=True)
    if args.native_recipients:
        native = native_queueing(args.conf, f'{args.db}_native', args.native_recipients)
        ours = (queued - start) / args.recipients
        print(f"queueing per recipient: ours {ours * 1000:.3f} ms ({args.recipients} recipients), Odoo alone "
              f"{native / args.native_recipients * 1000:.3f} ms ({args.native_recipients} recipients in {native:.1f} s, "
              f"database {args.db}_native with only mass_mailing_sms installed): "
              f"{native / args.native_recipients / ours:.2f}x faster per recipient", flush=True)
    assert accepted == args.recipients, f"only {accepted} of {args.recipients} accepted"


if __name__ == '__main__':
    main(sys.argv[1:])
