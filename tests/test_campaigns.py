"""SMS campaigns: legal sending windows, "Test campaign", preview and cost, statistics from the log."""
import base64
import csv
import io
from datetime import datetime

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.sms_connector.providers import InboundSms, StatusReport

from .common import FakeProviderCase

STOP = "STOP au 30101"


@tagged('post_install', '-at_install')
class TestCampaigns(FakeProviderCase):

    def mailing(self, partners, body, **vals):
        return self.env['mailing.mailing'].create({
            'subject': 'Promo', 'mailing_type': 'sms', 'body_plaintext': body,
            'mailing_model_id': self.env['ir.model']._get_id('res.partner'),
            'mailing_domain': repr([('id', 'in', partners.ids)]), 'sms_allow_unsubscribe': False, **vals,
        })

    def marketer(self, login='marketer'):
        """A marketer: SMS marketing user with the SMS / User right, not an administrator."""
        return self.env['res.users'].search([('login', '=', login)]) or new_test_user(
            self.env, login, groups='base.group_user,mass_mailing.group_mass_mailing_user,sms_connector.group_sms_user')

    def queue(self, mailing):
        """What the mass mailing cron does: render the SMS into the queue."""
        mailing.action_send_sms()
        return self.env['sms.sms'].search([('mailing_id', '=', mailing.id)])

    def cron(self):
        """The SMS queue cron: the engine sends what is due."""
        self.env.flush_all()
        self.env['sms.send.engine']._process()
        self.env.invalidate_all()

    def log(self, sms):
        return self.env['sms.message'].search([('sms_uuid', 'in', sms.mapped('uuid'))], order='id')

    def report_rows(self, mailing):
        attachment = mailing.message_ids[:1].attachment_ids
        self.assertEqual(len(attachment), 1)
        return list(csv.reader(io.StringIO(base64.b64decode(attachment.datas).decode()), delimiter=';'))

    # 1. legal sending windows ----------------------------------------------------------
    def test_marketing_sms_at_night_in_france_is_deferred_then_sent(self):
        zoe = self.partner('Zoé', '06 12 34 56 78', country='base.fr')
        mailing = self.mailing(zoe, f"Soldes ! {STOP}")
        with freeze_time('2026-03-04 21:00:00', tick=True):  # Wednesday 22:00 in Paris
            sms = self.queue(mailing)
            self.cron()
            self.assertEqual(self.fake.octopush_requests, [], "no marketing SMS at 22:00 in France")
            self.assertEqual((sms.state, sms.sms_connector_next_attempt), ('outgoing', datetime(2026, 3, 5, 7, 0)))
            self.assertEqual(sms.sms_connector_attempts, 0)
            log = self.log(sms)
            self.assertEqual((log.state, log.purpose), ('queued', 'marketing'))
            self.assertIn("Deferred to 2026-03-05 08:00 (Europe/Paris) (sending window)", log.error_message)

        with freeze_time('2026-03-05 07:00:05', tick=True):  # Thursday 08:00 in Paris: due
            self.cron()
        self.assertEqual(len(self.fake.octopush_requests), 1)
        payload = self.fake.octopush_requests[0]['payload']
        self.assertEqual(([r['phone_number'] for r in payload['recipients']], payload['purpose']),
                         (['+33612345678'], 'wholesale'))
        self.assertEqual(self.log(sms).state, 'sent')

    def test_transactional_and_other_countries_are_not_deferred(self):
        zoe = self.partner('Zoé', '06 12 34 56 79', country='base.fr')
        ann = self.partner('Ann', '+14155550301')
        with freeze_time('2026-03-08 12:00:00', tick=True):  # Sunday noon in Paris
            self.send_single(zoe, "Votre commande est prête")  # transactional
            self.queue(self.mailing(ann, "Sale today"))  # marketing to the US: no window
            self.cron()
        self.assertEqual(len(self.fake.octopush_requests), 1)
        self.assertEqual(len(self.fake.twilio_messages), 1)

    def test_holiday_defers_to_next_open_day(self):
        zoe = self.partner('Zoé', '06 12 34 56 80', country='base.fr')
        with freeze_time('2026-07-14 09:00:00', tick=True):  # Bastille Day (Tuesday), 11:00 in Paris
            sms = self.queue(self.mailing(zoe, f"Feu d'artifice {STOP}"))
            self.cron()
        self.assertEqual(self.fake.octopush_requests, [])
        self.assertEqual(sms.sms_connector_next_attempt, datetime(2026, 7, 15, 6, 0), "08:00 CEST the next day")

    # 2. test campaign -----------------------------------------------------------------
    def test_campaign_test_counts_errors_and_blocks_sending(self):
        good_fr = self.partner('Good FR', '06 12 34 56 81', country='base.fr')
        good_us = self.partner('Good US', '+14155550302')
        no_phone = self.partner('No phone', False)
        bad_phone = self.partner('Bad phone', '12', country='base.fr')
        opted_out = self.partner('Opted out', '+14155550303')
        self.env['phone.blacklist'].sudo().add('+14155550303')
        partners = good_fr | good_us | no_phone | bad_phone | opted_out
        mailing = self.mailing(partners, f"Hello {{{{ object.name }}}} {STOP}", sms_connector_invalid_numbers='block')
        marketer = self.marketer()
        with freeze_time('2026-03-04 10:00:00', tick=True):  # Wednesday 11:00 in Paris
            mailing.with_user(marketer).action_sms_connector_test_campaign()
        self.assertRecordValues(mailing, [{
            'sms_connector_test_recipients': 4, 'sms_connector_test_errors': 2,
            'sms_connector_test_summary': "4 recipients, 2 errors"}])
        rows = self.report_rows(mailing)
        self.assertEqual(rows[0], ['status', 'detail', 'number', 'name', 'record', 'sms'])
        by_name = {row[3]: row for row in rows[1:]}
        self.assertEqual(by_name['Good FR'], ['ok', '', "'+33612345681", 'Good FR', f'res.partner,{good_fr.id}',
                                              f"Hello Good FR {STOP}"])
        self.assertEqual(by_name['Good US'][:3], ['ok', '', "'+14155550302"])
        self.assertEqual(by_name['No phone'][:2], ['error', 'No phone number'])
        self.assertEqual(by_name['Bad phone'][:5], ['error', 'Invalid phone number', '12', 'Bad phone',
                                                    f'res.partner,{bad_phone.id}'])
        self.assertEqual(by_name['Opted out'][:3], ['skipped', 'Skipped (opted out)', "'+14155550303"])
        body = mailing.message_ids[:1].body
        self.assertIn("Test campaign: 4 recipients, 2 errors. Skipped recipients: 1 opted out.", body)
        # Octopush checked the French recipient in simulation mode: nothing sent, nothing charged
        self.assertEqual([r['simulation'] for r in self.fake.octopush_requests], [True])
        self.assertIn("simulation: 1 SMS accepted", body)

        for action in ('action_put_in_queue', 'action_launch', 'action_send_sms'):
            with self.assertRaisesRegex(UserError, "found 2 errors"):
                getattr(mailing.with_user(marketer), action)()
        self.assertEqual(self.env['sms.sms'].search_count([('mailing_id', '=', mailing.id)]), 0)
        # a manager allows sending anyway
        mailing.sms_connector_test_override = True
        mailing.with_user(marketer).action_put_in_queue()
        self.assertEqual(mailing.state, 'in_queue')

    def test_campaign_test_length_stop_mention_and_window(self):
        fr = self.partner('Zoé', '06 12 34 56 82', country='base.fr')
        us = self.partner('Ann', '+14155550304')
        mailing = self.mailing(fr | us, "x" * 490)
        with freeze_time('2026-03-04 10:00:00', tick=True):
            mailing.with_user(self.marketer()).action_sms_connector_test_campaign()
        self.assertEqual(mailing.sms_connector_test_errors, 1)
        rows = {row[3]: row for row in self.report_rows(mailing)[1:]}
        # each gateway's provider declares its campaign length: Octopush 489 (France), Twilio 1,600
        self.assertEqual(rows['Ann'][0], 'ok')
        self.assertIn("Text too long: 490 characters, at most 489", rows['Zoé'][1])
        self.assertIn('"STOP au 30101" missing', rows['Zoé'][1])
        # fixed text, scheduled on a Sunday: a warning only (the SMS would wait), no error
        mailing.write({'body_plaintext': f"Promo {STOP}", 'schedule_type': 'scheduled',
                       'schedule_date': datetime(2026, 3, 8, 11, 0)})
        with freeze_time('2026-03-04 10:00:00', tick=True):
            mailing.action_sms_connector_test_campaign()
        self.assertEqual(mailing.sms_connector_test_summary, "2 recipients, 0 errors")
        rows = {row[3]: row for row in self.report_rows(mailing)[1:]}
        self.assertEqual(rows['Zoé'][0], 'warning')
        self.assertIn("deferred to 2026-03-09 08:00 (Europe/Paris)", rows['Zoé'][1])
        self.assertEqual(rows['Ann'][0], 'ok')
        mailing.action_put_in_queue()  # no error left: not blocked

    # 3. preview and cost ------------------------------------------------------------
    def test_preview_and_cost_estimate(self):
        self.twilio.price_per_segment = 0.05
        self.octopush.write({'price_per_segment': 0.04, 'price_ids': [(0, 0, {
            'country_id': self.env.ref('base.fr').id, 'price': 0.045})]})
        ann = self.partner('Ann', '+14155550305')
        bob = self.partner('Bob', '+14155550306')
        body = "Hi {{ object.name }}, " + "a" * 150  # 158 characters: 1 part... with the name, 2 parts
        mailing = self.mailing(ann | bob, body)
        self.assertEqual(mailing.sms_connector_recipient_count, 2)
        self.assertEqual(mailing.sms_connector_preview_body, "Hi Ann, " + "a" * 150)
        self.assertEqual((mailing.sms_connector_preview_length, mailing.sms_connector_preview_segments), (158, 1))
        self.assertEqual(mailing.sms_connector_preview_encoding, 'GSM-7')
        self.assertAlmostEqual(mailing.sms_connector_estimated_cost, 1 * 2 * 0.05)
        as_marketer = mailing.with_user(self.marketer())
        as_marketer.invalidate_recordset()
        self.assertAlmostEqual(as_marketer.sms_connector_estimated_cost, 0.1, msg="marketers see the estimate")
        self.assertEqual(as_marketer.sms_connector_stat_sent, 0)
        as_marketer.sms_connector_preview_res_id = bob.id
        as_marketer.body_plaintext = "Bonjour {{ object.name }} ç" + "a" * 70  # UCS-2: 2 parts
        self.assertEqual(as_marketer.sms_connector_preview_body[:11], "Bonjour Bob")
        self.assertEqual((as_marketer.sms_connector_preview_encoding, as_marketer.sms_connector_preview_segments),
                         ('UCS-2 (Unicode)', 2))
        self.assertAlmostEqual(as_marketer.sms_connector_estimated_cost, 2 * 2 * 0.05)
        self.assertEqual(self.octopush._price_for_country('FR'), 0.045)
        self.assertEqual(self.octopush._price_for_country('BE'), 0.04)

    # 4 and 5. statistics, message type and sender -----------------------------------------
    def test_statistics_and_actual_cost_after_sending_and_reports(self):
        partners = self.env['res.partner'].browse([
            self.partner(f'US {i}', f'+1415555031{i}').id for i in range(4)])
        mailing = self.mailing(partners, "Sale today", sms_connector_sender='+15005550006')
        sms = self.queue(mailing)
        self.cron()
        logs = self.log(sms)
        self.assertEqual(set(logs.mapped('state')), {'sent'})
        self.assertEqual({m['from'] for m in self.fake.twilio_messages}, {'+15005550006'})
        Message = self.env['sms.message'].sudo()
        self.env['sms.send.engine'].sudo()._apply_reports(self.twilio, [
            StatusReport(logs[0].provider_message_id, 'delivered', cost=0.0075, currency='USD'),
            StatusReport(logs[1].provider_message_id, 'delivered', cost=0.0075, currency='USD'),
            StatusReport(logs[2].provider_message_id, 'failed', error_code='30003', raw_status='undelivered'),
        ])
        Message._receive_inbound(self.twilio, [InboundSms('SMreply1', logs[0].number, '+15005550006', "Interested!")])
        mailing.invalidate_recordset()
        self.assertRecordValues(mailing, [{
            'sms_connector_stat_sent': 4, 'sms_connector_stat_delivered': 2, 'sms_connector_stat_failed': 1,
            'sms_connector_stat_opted_out': 0, 'sms_connector_stat_replied': 1}])
        # the same figures as Odoo's own banner and statistics (mailing traces)
        self.assertEqual((mailing.sent, mailing.delivered, mailing.failed), (4, 2, 1))
        self.assertAlmostEqual(mailing.sms_connector_actual_cost, 0.015)
        self.assertEqual(mailing.sms_connector_actual_currency_id.name, 'USD')

    def test_transactional_mailing_is_not_deferred(self):
        zoe = self.partner('Zoé', '06 12 34 56 83', country='base.fr')
        mailing = self.mailing(zoe, "Votre rendez-vous demain", sms_connector_purpose='transactional')
        with freeze_time('2026-03-08 12:00:00', tick=True):  # Sunday
            sms = self.queue(mailing)
            self.cron()
        self.assertEqual(self.log(sms).purpose, 'transactional')
        self.assertEqual(len(self.fake.octopush_requests), 1)
        self.assertEqual(self.fake.octopush_requests[0]['payload']['purpose'], 'alert')
