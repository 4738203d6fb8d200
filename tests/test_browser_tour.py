"""Browser test: send an SMS from a contact as a user would, then the phone replies.

A real Chromium drives Odoo's web client (tour ``sms_connector_send_sms_tour``): open a contact,
click "SMS" next to its phone number, write and send, see the SMS in the chatter and in
SMS > SMS Activity. The queued SMS then goes over HTTP to the loopback fake Twilio, whose phone
simulator replies as that phone with a real signed inbound webhook; the reply lands on the contact.
"""
from odoo.tests import tagged

from .common import FakeProviderCase

NUMBER = '+14155550142'


@tagged('post_install', '-at_install')
class TestBrowserTour(FakeProviderCase):

    def test_send_sms_from_contact_and_receive_reply(self):
        contact = self.partner('Cleo Tour', '+1 415-555-0142')
        self.start_tour(f'/odoo/action-base.action_partner_form/{contact.id}', 'sms_connector_send_sms_tour',
                        login='admin', timeout=40)

        self.env.invalidate_all()
        log = self.log_of(contact)
        self.assertEqual(log.mapped('body'), ["Hello from the SMS tour"])
        self.assertEqual(log.number, NUMBER)
        # The browser's transaction committed (test cursors skip post-commit hooks): send the queue now.
        sms = self.env['sms.sms'].search([('number', '=', NUMBER), ('body', '=', "Hello from the SMS tour")])
        self.send_now(sms)
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], [NUMBER])
        self.assertEqual(log.state, 'sent')

        # The phone replies through the fake provider's simulator: a real signed Twilio webhook.
        self.fake.twilio_inbound_url = (
            f"{self.base_url()}/sms_connector/inbound/{self.twilio.id}/{self.twilio.webhook_token}")
        self.env.flush_all()  # the webhook is served by another thread on the test cursor
        with self.allow_requests(all_requests=True):  # the fake server carries no test cookie
            status, _body = self.fake.reply_as_phone(NUMBER, "Yes please, call me tomorrow")
        self.http_request_allow_all = False
        self.assertEqual(status, 200)

        self.env.invalidate_all()
        reply = self.env['sms.message'].search([('direction', '=', 'inbound'), ('number', '=', NUMBER)])
        self.assertRecordValues(reply, [{'state': 'received', 'res_model': 'res.partner', 'res_id': contact.id,
                                         'partner_id': contact.id, 'body': "Yes please, call me tomorrow"}])
        self.assertTrue(any("Yes please, call me tomorrow" in str(body) for body in contact.message_ids.mapped('body')))
        self.start_tour(f'/odoo/action-base.action_partner_form/{contact.id}', 'sms_connector_reply_tour',
                        login='admin', timeout=20)
