"""Sending happens after the commit, once: 429s back off, test SMS are not sent twice."""
from odoo.tests import tagged

from .common import FakeProviderCase


@tagged('post_install', '-at_install')
class TestSendSafety(FakeProviderCase):

    def test_no_provider_call_inside_the_users_transaction(self):
        partner = self.partner('Eve', '+14155550160')
        composer = self.env['sms.composer'].with_context(
            active_model='res.partner', active_id=partner.id, default_composition_mode='comment',
        ).create({'body': 'after commit'})
        composer.action_send_sms()
        self.assertEqual(self.fake.requests_log, [], "nothing may reach the provider before the commit")
        self.run_postcommit()
        self.assertEqual(len(self.fake.twilio_messages), 1)

    def test_rolled_back_transaction_sends_nothing(self):
        partner = self.partner('Fay', '+14155550161')
        with self.assertRaises(ZeroDivisionError), self.env.cr.savepoint():
            self.env['sms.sms'].create({'number': partner.phone, 'body': 'ghost'}).send()
            1 / 0  # noqa: B018 - the user's request fails after queueing the SMS
        self.env.cr.postcommit.clear()  # what a rollback does
        self.env['sms.send.engine']._process()
        self.assertEqual(self.fake.twilio_messages, [])
        self.assertFalse(self.env['sms.sms'].search([('body', '=', 'ghost')]))

    def test_429_backs_off_and_lowers_concurrency(self):
        self.fake.inject_faults('http_429', count=1, retry_after=120)
        sms = self.send_now(self.env['sms.sms'].create({'number': '+14155550162', 'body': 'busy'}))
        self.assertEqual(sms.state, 'outgoing')
        self.assertEqual(self.fake.twilio_messages, [])
        self.assertTrue(sms.sms_connector_next_attempt)
        delay = (sms.sms_connector_next_attempt - sms.sms_connector_claimed_at).total_seconds()
        self.assertGreaterEqual(delay, 119, "Retry-After is honoured")
        self.assertTrue(self.twilio.throttled_until)
        self.assertEqual(self.twilio._get_provider().config.max_concurrency, 2, "8 // 4 while throttled")
        self.env['sms.send.engine']._process()  # not due yet: nothing is sent
        self.assertEqual(self.fake.twilio_messages, [])

    def test_hard_errors_fail_at_once_without_retry(self):
        sms = self.send_now(self.env['sms.sms'].create({'number': '+15005550004', 'body': 'stop'}))
        self.assertEqual((sms.state, sms.failure_type, sms.sms_connector_attempts), ('canceled', 'sms_optout', 1))
        self.assertFalse(sms.sms_connector_next_attempt)

    def test_attempts_are_bounded(self):
        self.env['ir.config_parameter'].set_param('sms_connector.max_attempts', 2)
        self.env['ir.config_parameter'].set_param('sms_connector.retry_base_seconds', 0)
        self.fake.inject_faults('http_500', count=5)
        sms = self.send_now(self.env['sms.sms'].create({'number': '+14155550163', 'body': 'down'}))
        self.env.flush_all()
        self.env['sms.send.engine']._process()
        self.env.invalidate_all()
        self.assertEqual((sms.state, sms.failure_type, sms.sms_connector_attempts), ('error', 'sms_server', 2))
        self.assertEqual(len([r for r in self.fake.requests_log if r['method'] == 'POST']), 2)

    def test_mailing_test_sms_is_sent_exactly_once(self):
        mailing = self.env['mailing.mailing'].create({
            'subject': 'Promo', 'mailing_type': 'sms', 'body_plaintext': 'Promo today',
            'mailing_model_id': self.env['ir.model']._get_id('res.partner'),
        })
        wizard = self.env['mailing.sms.test'].create({'mailing_id': mailing.id, 'numbers': '+14155550164'})
        wizard.action_send_sms()
        self.run_postcommit()
        self.assertEqual(len(self.fake.twilio_messages), 1)
        self.env['sms.send.engine']._process()  # the queue cron runs later
        self.assertEqual(len(self.fake.twilio_messages), 1, "Odoo 19 leaves test SMS queued and sends them again")
        self.assertIn('successfully sent', mailing.message_ids[:1].body)
