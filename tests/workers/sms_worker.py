"""Drive the SMS engine in a real Odoo process with real commits.

Used by tests/test_workers.py to crash a sender at a precise point and to run several
senders at once over one queue. Each sub-command runs in its own process.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

CRASH_EXIT_CODE = 17


def _env(cr):
    return api.Environment(cr, SUPERUSER_ID, {})


def setup(registry, args):
    """Fresh queue: two gateways on the fake provider and ``--twilio``/``--octopush`` SMS."""
    with registry.cursor() as cr:
        env = _env(cr)
        cr.execute("DELETE FROM sms_sms; DELETE FROM sms_message; DELETE FROM sms_delivery_report")
        env['sms.gateway'].search([]).action_archive()
        env['sms.gateway'].search([('active', '=', False)]).unlink()
        company = env.ref('base.main_company')
        env['sms.gateway'].create([{
            'name': 'Twilio workers', 'provider': 'twilio', 'sequence': 20, 'base_url': args.fake_url,
            'account': args.twilio_sid, 'secret': args.twilio_token, 'sender': '+15005550006',
            'max_concurrency': 8, 'timeout': args.timeout, 'company_id': company.id,
        }, {
            'name': 'Octopush workers', 'provider': 'octopush', 'sequence': 10,
            'base_url': args.fake_url + '/v1/public', 'account': args.octopush_login, 'secret': args.octopush_key,
            'country_ids': [(6, 0, env.ref('base.fr').ids)], 'timeout': args.timeout, 'company_id': company.id,
        }])
        icp = env['ir.config_parameter']
        icp.set_param('sms_connector.batch_size', args.batch_size)
        icp.set_param('sms_connector.retry_base_seconds', 0)
        icp.set_param('sms_connector.max_attempts', args.max_attempts)
    add(registry, args)


def add(registry, args):
    """Queue ``--twilio``/``--octopush`` more SMS, numbered from ``--first``."""
    with registry.cursor() as cr:
        env = _env(cr)
        company = env.ref('base.main_company')
        first = args.first
        vals = [{'number': f'+1415555{i:04d}', 'body': f'Hello US {i}', 'record_company_id': company.id}
                for i in range(first, first + args.twilio)]
        vals += [{'number': f'+3361{i:07d}', 'body': 'Bonjour', 'record_company_id': company.id}
                 for i in range(first, first + args.octopush)]
        env['sms.sms'].create(vals)


def _wait_for_peers(barrier_dir, parties):
    """Start sending only when every worker is loaded, so that they really race."""
    if not barrier_dir:
        return
    Path(barrier_dir, f'{os.getpid()}.ready').touch()
    deadline = time.monotonic() + 120
    while len(list(Path(barrier_dir).glob('*.ready'))) < parties and time.monotonic() < deadline:
        time.sleep(0.05)


def process(registry, args):
    """Run the engine until nothing is due; optionally die right after the provider calls."""
    _wait_for_peers(args.barrier, args.parties)
    if args.crash_after_send:
        def crash(self, results):
            os._exit(CRASH_EXIT_CODE)  # the provider accepted, our commit never happens
        registry['sms.send.engine']._record = crash
    if args.hold_results:
        apply_results = registry['sms.send.engine']._apply_results

        def hold(self, results):
            """Keep the results transaction open a while: delivery reports race its commit."""
            outcome = apply_results(self, results)
            Path(args.barrier, 'holding').touch()
            time.sleep(args.hold_results)
            return outcome
        registry['sms.send.engine']._apply_results = hold
    with registry.cursor() as cr:
        handled = _env(cr)['sms.send.engine']._process()
    print(json.dumps({'handled': handled}))


def _make_due(registry):
    """SMS left sending by a crash are stale at once, SMS to check may be looked up again at once."""
    with registry.cursor() as cr:
        env = _env(cr)
        env['ir.config_parameter'].set_param('sms_connector.stale_after_seconds', 0)
        env['ir.config_parameter'].set_param('sms_connector.recheck_after_seconds', 0)
        cr.execute("UPDATE sms_sms SET sms_connector_claimed_at = sms_connector_claimed_at - interval '1 minute'"
                   " WHERE state = 'process'")


def reconcile(registry, args):
    _make_due(registry)
    with registry.cursor() as cr:
        print(json.dumps({'reconciled': _env(cr)['sms.send.engine']._reconcile_stale()}))


def cron(registry, args):
    """One run of the queue cron (it commits as it goes), then the report."""
    _make_due(registry)
    with registry.cursor() as cr:
        _env(cr)['sms.sms']._process_queue()
    report(registry, args)


def report(registry, args):
    with registry.cursor() as cr:
        cr.execute("SELECT number, state, failure_type FROM sms_sms ORDER BY id")
        sms = [dict(zip(('number', 'state', 'failure_type'), row, strict=True)) for row in cr.fetchall()]
        columns = ('number', 'state', 'provider_message_id', 'error_message', 'cost')
        cr.execute("SELECT number, state, provider_message_id, error_message, cost FROM sms_message ORDER BY id")
        logs = [dict(zip(columns, row, strict=True)) for row in cr.fetchall()]
        cr.execute("SELECT provider, id, webhook_token FROM sms_gateway WHERE active")
        gateways = {provider: {'id': gateway_id, 'token': token} for provider, gateway_id, token in cr.fetchall()}
        cr.execute("SELECT count(*) FROM sms_delivery_report")
        parked = cr.fetchone()[0]
    print(json.dumps({'sms': sms, 'logs': logs, 'gateways': gateways, 'parked_reports': parked}))


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('--conf', required=True)
    parser.add_argument('--db', required=True)
    sub = parser.add_subparsers(dest='command', required=True)
    p_setup = sub.add_parser('setup')
    for name in ('fake-url', 'twilio-sid', 'twilio-token', 'octopush-login', 'octopush-key'):
        p_setup.add_argument(f'--{name}', required=True)
    p_add = sub.add_parser('add')
    for p_queue in (p_setup, p_add):
        p_queue.add_argument('--twilio', type=int, default=0)
        p_queue.add_argument('--octopush', type=int, default=0)
        p_queue.add_argument('--first', type=int, default=0)
    p_setup.add_argument('--batch-size', type=int, default=100)
    p_setup.add_argument('--max-attempts', type=int, default=6)
    p_setup.add_argument('--timeout', type=float, default=5.0)
    p_process = sub.add_parser('process')
    p_process.add_argument('--crash-after-send', action='store_true')
    p_process.add_argument('--barrier', help="folder where concurrent workers meet before sending")
    p_process.add_argument('--parties', type=int, default=1)
    p_process.add_argument('--hold-results', type=float, default=0,
                           help="seconds the results transaction stays open (touches BARRIER/holding)")
    sub.add_parser('reconcile')
    sub.add_parser('cron')
    sub.add_parser('report')
    args = parser.parse_args(argv)
    odoo.tools.config.parse_config(['-c', args.conf, '-d', args.db, '--log-level=warn'])
    registry = Registry(args.db)
    commands = {'setup': setup, 'add': add, 'process': process, 'reconcile': reconcile, 'cron': cron,
                'report': report}
    commands[args.command](registry, args)


if __name__ == '__main__':
    main(sys.argv[1:])
