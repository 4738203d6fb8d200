"""A 100,000-recipient SMS mailing, from "Send" to every message accepted by the fake Octopush.

Prints figures, asserts nothing but completeness. Run with:
    python tests/bench/bench_campaign.py --conf .odoo.conf --recipients 100000 --latency-ms 50

Contacts are inserted with SQL (set-up, not measured); sending windows are removed from the
benchmark database so that it measures throughput whatever the hour. Measured: Odoo's mailing "Send"
(composer, rendering, sms.sms + traces + our log rows) committed, then the queue cron until
nothing is left, through an Octopush gateway on the loopback fake (500 recipients a request).
"""
import argparse
import resource
import sys
import time

from bench_send import ROOT, ensure_db  # first: puts Odoo and the repository on sys.path

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

from tests.fake_providers import FakeProviderServer

LOGIN, KEY = 'bench@example.com', 'bench-key'


def setup(registry, fake, recipients, concurrency):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cr.execute("DELETE FROM sms_sms; DELETE FROM sms_message; DELETE FROM sms_tracker; DELETE FROM mailing_trace;"
                   "DELETE FROM mailing_subscription; DELETE FROM mailing_contact; DELETE FROM mailing_mailing")
        env['sms.gateway'].with_context(active_test=False).search([]).unlink()
        # throughput, not legal hours: without this, a run at night is (rightly) deferred to 08:00 Paris
        env['sms.sending.window'].search([]).unlink()
        company = env.ref('base.main_company')
        env['sms.gateway'].create({
            'name': 'Bench Octopush', 'provider': 'octopush', 'base_url': fake.url + '/v1/public',
            'account': LOGIN, 'secret': KEY, 'sender': 'Bench', 'company_id': company.id,
            **({'max_concurrency': concurrency} if concurrency else {}),
        })
        mailing_list = env['mailing.list'].create({'name': f'Bench {recipients}'})
        fr = env.ref('base.fr').id
        cr.execute("""
            INSERT INTO mailing_contact (name, mobile, phone_sanitized, country_id, create_date, write_date, create_uid, write_uid)
            SELECT 'Contact ' || i, '+336' || lpad(i::text, 8, '0'), '+336' || lpad(i::text, 8, '0'), %s,
                   now(), now(), 1, 1
              FROM generate_series(1, %s) i RETURNING id
        """, [fr, recipients])
        ids = [row[0] for row in cr.fetchall()]
        cr.execute("""
            INSERT INTO mailing_subscription (contact_id, list_id, opt_out, create_date, write_date, create_uid, write_uid)
            SELECT UNNEST(%s::int[]), %s, false, now(), now(), 1, 1
        """, [ids, mailing_list.id])
        mailing = env['mailing.mailing'].create({
            'subject': 'Bench campaign', 'mailing_type': 'sms', 'body_plaintext': 'Soldes -20% ce week-end. STOP au 30101',
            'mailing_model_id': env['ir.model']._get_id('mailing.list'), 'contact_list_ids': [(6, 0, mailing_list.ids)],
            'sms_force_send': False, 'keep_archives': False,
        })
        return mailing.id


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--conf', default=str(ROOT / '.odoo.conf'))
    parser.add_argument('--db', default='sms_connector_bench')
    parser.add_argument('--recipients', type=int, default=100_000)
    parser.add_argument('--latency-ms', type=float, default=50.0)
    parser.add_argument('--concurrency', type=int, default=0, help="gateway's max concurrent requests; 0 = its default")
    args = parser.parse_args(argv)
    ensure_db(args.conf, args.db)
    odoo.tools.config.parse_config(['-c', args.conf, '-d', args.db, '--log-level=warn'])
    registry = Registry(args.db)
    with FakeProviderServer(octopush_accounts={LOGIN: KEY}, auto_callbacks=False, latency=args.latency_ms / 1000) as fake:
        mailing_id = setup(registry, fake, args.recipients, args.concurrency)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        with registry.cursor() as cr:  # the marketer clicks "Send"
            api.Environment(cr, SUPERUSER_ID, {})['mailing.mailing'].browse(mailing_id).action_send_sms()
        queued = time.perf_counter()
        while True:
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env['sms.sms']._process_queue()
                cr.execute("SELECT count(*) FROM sms_sms WHERE state IN ('outgoing', 'process')")
                if not cr.fetchone()[0]:
                    break
        done = time.perf_counter()
        accepted = sum(len(r['payload']['recipients']) for r in fake.octopush_requests)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{args.recipients} recipients, Octopush latency {args.latency_ms:.0f} ms, concurrency {args.concurrency or 'gateway default'}: "
          f"queued in {queued - start:.1f} s, sent in {done - queued:.1f} s, total {done - start:.1f} s "
          f"({args.recipients / (done - start):.0f} msg/s end to end); {len(fake.octopush_requests)} requests, "
          f"{accepted} recipients accepted; peak RSS {peak / 1024:.0f} MiB (set-up {rss_before / 1024:.0f} MiB)", flush=True)
    assert accepted == args.recipients, f"only {accepted} of {args.recipients} accepted"


if __name__ == '__main__':
    main(sys.argv[1:])
