"""A successful Retry clears the failure where Odoo shows it: chatter bubble and "SMS Failure" counter."""
from odoo.tests import new_test_user, tagged

from .common import FakeProviderCase


@tagged('post_install', '-at_install')
class TestRetryClearsFailure(FakeProviderCase):

    def test_retry_as_sms_user_clears_the_red_bubble(self):
        user = new_test_user(self.env, login='retry_sms_user', groups='sms_connector.group_sms_user,sales_team.group_sale_salesman')
        self.env['ir.config_parameter'].sudo().set_param('sms_connector.max_attempts', 1)
        customer = self.partner('Retry Bubble', '+14155550390')
        self.fake.inject_faults('http_500')  # certainly not accepted; no attempt left: failed
        composer = self.env['sms.composer'].with_user(user).with_context(
            active_model='res.partner', active_id=customer.id, default_composition_mode='comment',
        ).create({'body': "Your order"})
        composer.action_send_sms()
        self.run_postcommit()
        (log,) = self.log_of(customer)
        self.assertEqual(log.state, 'failed')
        notification = self.env['mail.notification'].search(
            [('res_partner_id', '=', customer.id), ('notification_type', '=', 'sms')])
        self.assertEqual(notification.notification_status, 'exception', "red bubble before the retry")
        self.assertTrue(notification.mail_message_id.has_error)

        log.with_user(user).action_retry()
        self.run_postcommit()
        self.assertEqual(len(self.fake.twilio_messages), 1)
        self.assertEqual(log.retry_id.state, 'sent')
        notification.invalidate_recordset()
        self.assertEqual(notification.notification_status, 'pending', "the bubble follows the retry")
        self.assertFalse(notification.failure_type)
        self.assertFalse(notification.mail_message_id.has_error, "no longer counted as an SMS failure")
