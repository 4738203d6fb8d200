"""Delivery report webhooks: verified before any write, idempotent, never going backwards."""
import json

from odoo import fields
from odoo.tests import tagged

from odoo.addons.sms_connector.engine.plan import SendGroup
from odoo.addons.sms_connector.providers import SENT, SendResult

from .common import FakeProviderCase


@tagged('post_install', '-at_install')
class TestDeliveryWebhooks(FakeProviderCase):

    def setUp(self):
        super().setUp()
        self.customer = self.partner('Cleo', '+14155550142')
        self.log = self.send_single(self.customer, "Your parcel ships today")
        self.assertEqual(self.log.state, 'sent')
        self.sid = self.log.provider_message_id
        self.status_path = f"/sms_connector/status/{self.twilio.id}/{self.twilio.webhook_token}"

    def post_twilio(self, params, signature=None, path=None):
        path = path or self.status_path
        url = self.base_url() + path
        headers = {'X-Twilio-Signature': signature if signature is not None else self.twilio_signature(url, params)}
        return self.url_open(path, data=params, headers=headers)

    def notification(self):
        return self.env['mail.notification'].search([
            ('mail_message_id.model', '=', 'res.partner'), ('mail_message_id.res_id', '=', self.customer.id)])

    def test_valid_callbacks_update_log_and_chatter(self):
        response = self.post_twilio({'MessageSid': self.sid, 'MessageStatus': 'delivered', 'AccountSid': 'x'})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b'')
        self.log.invalidate_recordset()
        self.assertEqual(self.log.state, 'delivered')
        self.assertTrue(self.log.delivered_date)
        self.assertEqual(self.notification().notification_status, 'sent')

    def test_failed_callback_records_reason(self):
        self.post_twilio({'MessageSid': self.sid, 'MessageStatus': 'undelivered', 'ErrorCode': '30003'})
        self.log.invalidate_recordset()
        self.assertEqual((self.log.state, self.log.error_code), ('failed', '30003'))
        self.assertEqual(self.log.error_message, 'Unreachable destination handset.')
        self.assertEqual(self.notification().notification_status, 'exception')

    def test_forged_signature_changes_nothing(self):
        params = {'MessageSid': self.sid, 'MessageStatus': 'delivered'}
        response = self.post_twilio(params, signature=self.twilio_signature(self.base_url() + self.status_path, params, token='guess'))
        self.assertEqual(response.status_code, 403)
        response = self.post_twilio(params, signature='')
        self.assertEqual(response.status_code, 403)
        self.log.invalidate_recordset()
        self.assertEqual(self.log.state, 'sent')

    def test_wrong_token_or_gateway_is_forbidden(self):
        params = {'MessageSid': self.sid, 'MessageStatus': 'delivered'}
        for path in (f"/sms_connector/status/{self.twilio.id}/not-the-token",
                     f"/sms_connector/status/999999/{self.twilio.webhook_token}"):
            self.assertEqual(self.post_twilio(params, path=path).status_code, 403, path)
        self.log.invalidate_recordset()
        self.assertEqual(self.log.state, 'sent')

    def test_malformed_callback_is_rejected(self):
        for params in ({'MessageStatus': 'delivered'}, {'MessageSid': 'nope', 'MessageStatus': 'delivered'},
                       {'MessageSid': self.sid, 'MessageStatus': 'exploded'}):
            self.assertEqual(self.post_twilio(params).status_code, 400, params)
        self.log.invalidate_recordset()
        self.assertEqual(self.log.state, 'sent')

    def test_out_of_order_and_duplicate_reports_never_go_backwards(self):
        self.post_twilio({'MessageSid': self.sid, 'MessageStatus': 'delivered'})
        self.post_twilio({'MessageSid': self.sid, 'MessageStatus': 'sent'})
        self.post_twilio({'MessageSid': self.sid, 'MessageStatus': 'delivered'})
        self.log.invalidate_recordset()
        self.assertEqual(self.log.state, 'delivered')
        self.assertEqual(self.notification().notification_status, 'sent')

    def test_report_for_unknown_message_is_kept_then_applied(self):
        unknown_sid = 'SM' + 'a' * 32
        response = self.post_twilio({'MessageSid': unknown_sid, 'MessageStatus': 'delivered'})
        self.assertEqual(response.status_code, 200)
        kept = self.env['sms.delivery.report'].search([('provider_message_id', '=', unknown_sid)])
        self.assertEqual(kept.status, 'delivered')
        # the send that produced this sid commits afterwards
        sms = self.env['sms.sms'].create({'number': '+14155550143', 'body': 'late'})
        engine = self.env['sms.send.engine']
        engine._set_sending(sms, {sms.uuid: sms.uuid}, {sms.uuid: self.twilio.id}, fields.Datetime.now())
        engine._set_sent([(sms, SendGroup(self.twilio.id, None, []),
                           SendResult(sms.uuid, SENT, provider_message_id=unknown_sid))])
        self.env['sms.delivery.report']._apply_pending([self.twilio.id])
        log = self.env['sms.message'].search([('sms_uuid', '=', sms.uuid)])
        self.assertEqual(log.state, 'delivered')
        self.assertFalse(kept.exists())

    def test_octopush_delivery_receipt_with_token(self):
        partner = self.partner('Zoé', '06 12 34 56 99', country='base.fr')
        log = self.send_single(partner, "Bonjour")
        self.assertEqual(log.gateway_id, self.octopush)
        path = f"/sms_connector/status/{self.octopush.id}/{self.octopush.webhook_token}"
        body = {'message_id': log.provider_message_id, 'number': '+33612345699', 'status': 'DELIVERED',
                'delivery_date': '2026-11-21 10:00:00', 'channel': 'sms_premium'}
        response = self.url_open(path, data=json.dumps(body), headers={'Content-Type': 'application/json'})
        self.assertEqual(response.status_code, 200)
        log.invalidate_recordset()
        self.assertEqual(log.state, 'delivered')
        bad = self.url_open(path, data='{not json', headers={'Content-Type': 'application/json'})
        self.assertEqual(bad.status_code, 400)
        forged = self.url_open(f"/sms_connector/status/{self.octopush.id}/guess", data=json.dumps(body),
                               headers={'Content-Type': 'application/json'})
        self.assertEqual(forged.status_code, 403)

    def test_fake_provider_callbacks_reach_odoo(self):
        """End to end: the fake Twilio signs and posts its own callbacks to Odoo's URL."""
        self.env['ir.config_parameter'].sudo().set_param('web.base.url', self.base_url())
        self.fake.auto_callbacks = True
        self.fake.callback_delay = 0.5  # let the send finish: HTTP requests share the test cursor
        self.addCleanup(setattr, self.fake, 'auto_callbacks', False)
        self.addCleanup(setattr, self.fake, 'callback_delay', 0.0)
        partner = self.partner('Dan', '+14155550144')
        with self.allow_requests(all_requests=True):  # the fake server carries no test cookie
            log = self.send_single(partner, "Ping")
            self.assertTrue(self.fake.wait_for_callbacks(2, timeout=15))
        self.http_request_allow_all = False
        self.assertEqual([c['status'] for c in self.fake.callbacks_sent], [200, 200], self.fake.callbacks_sent)
        log.invalidate_recordset()
        self.assertEqual(log.state, 'delivered')
