"""Numbers that replied STOP: marketing never, manual SMS on confirmation, transactional per gateway."""
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import FakeProviderCase


@tagged('post_install', '-at_install')
class TestOptOutPolicy(FakeProviderCase):

    def setUp(self):
        super().setUp()
        self.customer = self.partner('Stopped', '+14155550180')
        self.env['phone.blacklist'].sudo()._add(['+14155550180'])

    def composer(self):
        return self.env['sms.composer'].with_context(
            active_model='res.partner', active_id=self.customer.id, default_composition_mode='comment',
        ).create({'body': 'Your order shipped'})

    def test_manual_send_needs_confirmation(self):
        composer = self.composer()
        self.assertEqual(composer.sms_connector_opted_out_numbers, '+14155550180')
        with self.assertRaisesRegex(UserError, 'opted out'):
            composer.action_send_sms()
        self.run_postcommit()
        self.assertEqual(self.fake.twilio_messages, [])
        composer.sms_connector_confirm_opted_out = True
        composer.action_send_sms()
        self.run_postcommit()
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], ['+14155550180'])
        self.assertEqual(self.log_of(self.customer).state, 'sent')

    def test_confirmed_manual_send_goes_even_when_gateway_skips(self):
        self.twilio.opt_out_policy = 'skip'
        composer = self.composer()
        composer.sms_connector_confirm_opted_out = True
        composer.action_send_sms()
        self.run_postcommit()
        self.assertEqual(len(self.fake.twilio_messages), 1)

    def test_transactional_follows_gateway_policy(self):
        for policy, expected_sent in (('send', 1), ('skip', 0)):
            self.fake.reset()
            self.twilio.opt_out_policy = policy
            sms = self.send_now(self.env['sms.sms'].create({'number': '+14155550180', 'body': f'invoice {policy}'}))
            self.assertEqual(len(self.fake.twilio_messages), expected_sent, policy)
            log = self.env['sms.message'].search([('sms_uuid', '=', sms.uuid)])
            self.assertEqual(log.state, 'sent' if expected_sent else 'opted_out', policy)

    def test_marketing_never_goes_to_opted_out_numbers(self):
        mailing = self.env['mailing.mailing'].create({
            'subject': 'Promo', 'mailing_type': 'sms', 'body_plaintext': 'Promo',
            'mailing_model_id': self.env['ir.model']._get_id('res.partner'),
        })
        sms = self.env['sms.sms'].create({'number': '+14155550180', 'body': 'Promo', 'mailing_id': mailing.id})
        self.send_now(sms)
        self.assertEqual(self.fake.requests_log, [], "no provider call, no cost")
        log = self.env['sms.message'].search([('sms_uuid', '=', sms.uuid)])
        self.assertEqual((log.state, log.purpose), ('opted_out', 'marketing'))
        self.assertEqual(sms.failure_type, 'sms_blacklist')
