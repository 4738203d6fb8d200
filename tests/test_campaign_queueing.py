"""Queueing a large SMS mailing: by chunks, with one INSERT per table, and the very rows Odoo's own path writes.

The mailing "Send" queues the recipients by chunks (``sms_connector.mailing_chunk_size``) and writes
the SMS, their traces, trackers and log rows in bulk. Each test compares with what Odoo's own
composer and ORM write when all recipients are queued at once (our fast paths switched off).
"""
import contextlib
import re
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.sms_connector.models import mailing_mailing
from odoo.addons.sms_connector.models.mailing_list import MailingList
from odoo.addons.sms_connector.models.models import Base
from odoo.addons.sms_connector.wizard.sms_composer import SmsComposer

from .common import FakeProviderCase

BODY = "Promo {{ object.name }}: https://www.example.com/promo STOP au 30101"
IGNORED = {'id', 'uuid', 'sms_uuid', 'mailing_id', 'mass_mailing_id', 'sms_id_int', 'sms_code', 'mailing_trace_id',
           'create_date', 'write_date'}


def passthrough(cls, name):
    """``cls.name`` replaced by a plain call of the next implementation (Odoo's)."""
    def method(self, *args, **kwargs):
        return getattr(super(cls, self), name)(*args, **kwargs)
    return patch.object(cls, name, method)


@contextlib.contextmanager
def odoo_alone():
    """Our queueing shortcuts off: Odoo's composer and ORM create the SMS, traces, trackers and skipped rows."""
    with contextlib.ExitStack() as stack:
        for name in ('_prepare_recipient_values', '_get_blacklist_record_ids', '_get_optout_record_ids',
                     '_get_done_record_ids', '_prepare_mass_sms'):
            stack.enter_context(passthrough(SmsComposer, name))
        stack.enter_context(passthrough(MailingList, '_mailing_get_opt_out_list_sms'))
        stack.enter_context(patch.object(Base, '_sms_connector_can_bulk_insert', lambda *args, **kwargs: False))
        yield


@tagged('post_install', '-at_install')
class TestCampaignQueueing(FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.list_a = cls.env['mailing.list'].create({'name': 'Newsletter'})
        cls.list_b = cls.env['mailing.list'].create({'name': 'Customers'})
        cls.campaign = cls.env['utm.campaign'].create({'name': 'Spring sale'})
        cls.env['phone.blacklist'].sudo().add('+33612345604')
        # these marketing SMS go to France: without its legal window they send at any hour the suite runs
        # (the windows themselves: tests/test_campaigns.py, under a frozen clock)
        cls.env['sms.sending.window'].search([]).unlink()
        fr = cls.env.ref('base.fr').id
        # (name, mobile, {list: opted out})
        specs = [
            ('c1', '+33612345601', {'a': False}),
            ('c2', '06 12 34 56 02', {'a': False}),  # national: parsed once into phone_sanitized
            ('c3', '06 12 34 56 01', {'a': False}),  # c1's number: a duplicate, in a later chunk
            ('c4', '+33612345604', {'a': False}),  # opted out (STOP): blacklisted
            ('c5', '+33612345605', {'a': True}),  # unsubscribed from the only list
            ('c6', '+33612345606', {'a': True, 'b': False}),  # unsubscribed from one list, not the other
            ('c7', False, {'a': False}),  # no number
            ('c8', '12', {'b': False}),  # invalid number
            ('c9', '+33612345602', {'b': False}),  # c2's number again
            ('c10', '+14155550123', {'b': False}),  # another country
        ]
        lists = {'a': cls.list_a, 'b': cls.list_b}
        cls.contacts = cls.env['mailing.contact'].create([{
            'name': name, 'mobile': mobile, 'country_id': fr,
            'subscription_ids': [(0, 0, {'list_id': lists[key].id, 'opt_out': opt_out}) for key, opt_out in subs.items()],
        } for name, mobile, subs in specs])

    def mailing(self):
        return self.env['mailing.mailing'].create({
            'subject': 'Spring', 'mailing_type': 'sms', 'body_plaintext': BODY, 'campaign_id': self.campaign.id,
            'mailing_model_id': self.env['ir.model']._get_id('mailing.list'),
            'contact_list_ids': [(6, 0, (self.list_a | self.list_b).ids)], 'sms_allow_unsubscribe': False,
        })

    def queue(self, mailing, chunk_size):
        """The mass mailing cron queues the mailing (as the "Send" button's cron does)."""
        self.env['ir.config_parameter'].sudo().set_param('sms_connector.mailing_chunk_size', chunk_size)
        mailing.action_put_in_queue()
        mailing.sudo().action_send_sms()
        self.env.flush_all()
        self.env.invalidate_all()

    def rows(self, mailing):
        """Per contact: its sms.sms, mailing.trace, sms.tracker and sms.message rows, ids left out."""
        cr = self.env.cr

        def select(query, *params):
            cr.execute(query, params)
            names = [desc[0] for desc in cr.description]
            result = {}
            for values in cr.fetchall():
                row = {name: value for name, value in zip(names, values, strict=True) if name not in IGNORED}
                if row.get('body'):  # tracked links differ by mailing and SMS only in their ids
                    row['body'] = re.sub(r'/r/\w+(/s/\d+)?', '/r/CODE', row['body'])
                result.setdefault(values[0], []).append(row)
            return result

        return {
            'sms': select("SELECT sms_connector_res_id AS key, * FROM sms_sms WHERE mailing_id = %s", mailing.id),
            'trace': select("SELECT res_id AS key, * FROM mailing_trace WHERE mass_mailing_id = %s", mailing.id),
            'tracker': select("SELECT t.res_id AS key, k.* FROM sms_tracker k JOIN mailing_trace t ON t.id = k.mailing_trace_id"
                              " WHERE t.mass_mailing_id = %s", mailing.id),
            'log': select("SELECT res_id AS key, * FROM sms_message WHERE mailing_id = %s", mailing.id),
        }

    def test_chunked_bulk_queueing_writes_what_odoo_writes_at_once(self):
        with odoo_alone():
            reference = self.mailing()
            self.queue(reference, 1000)
        mailing = self.mailing()
        self.queue(mailing, 3)  # c3 and c9 are duplicates of numbers queued in earlier chunks
        self.maxDiff = None
        expected, rows = self.rows(reference), self.rows(mailing)
        for table in ('sms', 'trace', 'tracker', 'log'):
            self.assertEqual(rows[table], expected[table], table)
        self.assertEqual(len(rows['sms']), 4)
        self.assertTrue(all('/r/CODE' in row[0]['body'] for row in rows['sms'].values()), "links are tracked")
        for sms in self.env['sms.sms'].search([('mailing_id', '=', mailing.id)]):
            self.assertIn(f"/s/{sms.id}", sms.body, "the short link carries this SMS's id")
            self.assertEqual(sms.mailing_trace_ids.sms_tracker_ids.sms_uuid, sms.uuid)
            # the log keeps the text sent (Odoo adds the SMS id to its links after creating it)
            self.assertEqual(self.env['sms.message'].search([('sms_uuid', '=', sms.uuid)]).body, sms.body)

    def test_each_recipient_once_with_odoo_reasons_across_chunks(self):
        mailing = self.mailing()
        self.queue(mailing, 2)
        traces = self.env['mailing.trace'].search([('mass_mailing_id', '=', mailing.id)])
        by_name = {self.env['mailing.contact'].browse(trace.res_id).name: trace for trace in traces}
        self.assertEqual({name: (trace.trace_status, trace.failure_type or False) for name, trace in by_name.items()}, {
            'c1': ('outgoing', False), 'c2': ('outgoing', False), 'c3': ('cancel', 'sms_duplicate'),
            'c4': ('cancel', 'sms_blacklist'), 'c5': ('cancel', 'sms_optout'), 'c6': ('outgoing', False),
            'c7': ('cancel', 'sms_number_missing'), 'c8': ('cancel', 'sms_number_format'),
            'c9': ('cancel', 'sms_duplicate'), 'c10': ('outgoing', False),
        })
        self.assertEqual(set(traces.campaign_id.ids), set(self.campaign.ids))
        self.assertEqual(set(traces.filtered(lambda t: t.trace_status == 'outgoing').mapped('sms_number')),
                         {'+33612345601', '+33612345602', '+33612345606', '+14155550123'})
        self.env['sms.send.engine'].sudo()._process()
        received = [msg['to'] for msg in self.fake.twilio_messages] + [
            recipient['phone_number'] for request in self.fake.octopush_requests
            for recipient in request['payload']['recipients']]
        self.assertEqual(sorted(received), sorted(['+33612345601', '+33612345602', '+33612345606', '+14155550123']),
                         "every recipient once, none of the skipped ones")
        self.assertEqual(self.env['sms.message'].search_count([('mailing_id', '=', mailing.id), ('state', '=', 'sent')]), 4)

    def test_queueing_queries_do_not_grow_with_the_audience(self):
        counts = []
        for size in (3, 4, 40):  # the first run warms the caches up
            audience = self.env['mailing.list'].create({'name': f'List of {size}'})
            self.env['mailing.contact'].create([{
                'name': f'n{i}', 'mobile': f'+336123{size:02d}{i:03d}', 'list_ids': [(4, audience.id)],
            } for i in range(size)])
            mailing = self.mailing()
            # no link: Odoo's link tracking looks its tracker up once per recipient
            mailing.write({'contact_list_ids': [(6, 0, audience.ids)], 'body_plaintext': "Promo {{ object.name }}"})
            mailing.action_put_in_queue()
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            mailing.sudo().action_send_sms()
            self.env.flush_all()
            counts.append(self.env.cr.sql_log_count - before)
            self.assertEqual(self.env['sms.sms'].search_count([('mailing_id', '=', mailing.id)]), size)
        self.assertEqual(counts[1], counts[2], "one statement per table, whatever the number of recipients")

    def test_large_mailing_refreshes_the_queue_statistics(self):
        """The planner sees the queued rows at once: the send engine's first batches use the indexes."""
        def statistics_and_rows():
            self.env.cr.execute("SELECT reltuples, (SELECT count(*) FROM sms_message) FROM pg_class"
                                " WHERE relname = 'sms_message'")
            return self.env.cr.fetchone()

        with patch.object(mailing_mailing, 'ANALYZE_FROM', 1000):  # fewer recipients: left to autovacuum
            self.queue(self.mailing(), 1000)
        estimated, rows = statistics_and_rows()
        self.assertNotEqual(estimated, rows, "below the threshold the statistics are left as they were")
        with patch.object(mailing_mailing, 'ANALYZE_FROM', 5):
            self.queue(self.mailing(), 1000)
        estimated, rows = statistics_and_rows()
        self.assertEqual(estimated, rows, "the planner counts every log row the mailings queued")

    def test_queue_statistics_failing_loses_no_sms(self):
        mailing = self.mailing()
        with patch.object(mailing_mailing, 'ANALYZE_FROM', 1), \
                patch.object(mailing_mailing, 'QUEUE_TABLES', ('no_such_table',)), \
                self.assertLogs('odoo.addons.sms_connector.models.mailing_mailing', 'WARNING'):
            self.queue(mailing, 1000)
        self.assertEqual(self.env['sms.sms'].search_count([('mailing_id', '=', mailing.id)]), 4)

    def test_mailing_done_after_its_first_batch_sent_without_rescanning_traces(self):
        self.env['ir.config_parameter'].sudo().set_param('sms_connector.batch_size', 2)
        mailing = self.mailing()
        self.queue(mailing, 1000)
        Tracker = type(self.env['sms.tracker'])
        with patch.object(Tracker, '_update_sms_mailings', autospec=True,
                          side_effect=Tracker._update_sms_mailings) as lookup:
            self.env['sms.send.engine'].sudo()._process()
        self.assertEqual(self.env['sms.message'].search_count([('mailing_id', '=', mailing.id), ('state', '=', 'sent')]), 4)
        self.assertEqual(mailing.state, 'done', "as Odoo marks it once no trace is being processed")
        self.assertTrue(mailing.sent_date)
        self.assertEqual(lookup.call_count, 1, "the batches after the first one find the mailing done already")

    def test_costs_recorded_in_bulk_as_the_orm_computes_them(self):
        eur = self.env.ref('base.EUR')
        eur.active = True
        self.env['res.currency.rate'].create({'currency_id': eur.id, 'rate': 0.8, 'name': '2020-01-01'})
        self.octopush.currency_id = eur
        mailing = self.mailing()
        self.queue(mailing, 1000)
        self.env['sms.send.engine'].sudo()._process()
        logs = self.env['sms.message'].search([('mailing_id', '=', mailing.id), ('state', '=', 'sent')])
        self.assertTrue(any(logs.mapped('cost')), "the fake Octopush bills its SMS")
        stored = [(log.currency_id, log.cost_company) for log in logs]
        logs.invalidate_recordset(['currency_id', 'cost_company'])
        logs._compute_currency_id()
        logs._compute_cost_company()
        self.assertEqual([(log.currency_id, log.cost_company) for log in logs], stored)
        self.assertIn(eur, logs.currency_id)

    def test_claims_walk_the_queue_not_the_sms_already_sent(self):
        """Sent SMS stay (marked for deletion) until Odoo's clean-up: a claim must not scan them."""
        self.env['sms.sms'].create([{'number': f'+1415555{i:04d}', 'body': 'x', 'state': 'pending', 'to_delete': True}
                                    for i in range(2000)])
        self.env['sms.sms'].create([{'number': '+14155559999', 'body': 'queued'}])
        self.env.flush_all()
        self.env.cr.execute("ANALYZE sms_sms")
        plan = self.query_plan("""
            SELECT id FROM sms_sms
             WHERE state = 'outgoing' AND to_delete IS NOT TRUE AND sms_connector_next_attempt IS NULL
             ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED
        """)
        self.assertIn('sms_sms_sms_connector_queue_idx', plan)
