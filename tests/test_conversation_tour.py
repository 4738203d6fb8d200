"""Browser test: the conversation with a customer as a thread with a reply box.

A real Chromium opens a contact who answered an SMS, clicks *Conversation*, reads the thread and
answers from the reply box; the answer leaves over HTTP from the number the customer wrote to.
"""
import secrets

from odoo.tests import tagged

from .common import TWILIO_SID, FakeProviderCase

NUMBER = '+14155550142'


@tagged('post_install', '-at_install')
class TestConversationTour(FakeProviderCase):

    def test_answer_from_the_conversation_thread(self):
        contact = self.partner('Cleo Thread', NUMBER)
        self.send_single(contact, "Your order is ready")
        path = f"/sms_connector/inbound/{self.twilio.id}/{self.twilio.webhook_token}"
        params = {'MessageSid': 'SM' + secrets.token_hex(16), 'AccountSid': TWILIO_SID, 'From': NUMBER,
                  'To': '+15005550099', 'Body': "<b>Tomorrow</b> works", 'NumSegments': '1', 'NumMedia': '0'}
        signature = self.twilio_signature(self.base_url() + path, params)
        self.assertEqual(self.url_open(path, data=params, headers={'X-Twilio-Signature': signature}).status_code, 200)

        self.start_tour(f'/odoo/action-base.action_partner_form/{contact.id}', 'sms_connector_conversation_tour',
                        login='admin', timeout=40)

        self.env.invalidate_all()
        sms = self.env['sms.sms'].search([('number', '=', NUMBER), ('body', '=', "See you tomorrow at 10")])
        self.send_now(sms)
        sent = self.fake.twilio_messages[-1]
        self.assertEqual((sent['to'], sent['from'], sent['body']), (NUMBER, '+15005550099', "See you tomorrow at 10"))

    def test_activity_menu_counts_replies_to_triage(self):
        path = f"/sms_connector/inbound/{self.twilio.id}/{self.twilio.webhook_token}"
        params = {'MessageSid': 'SM' + secrets.token_hex(16), 'AccountSid': TWILIO_SID, 'From': '+14155550190',
                  'To': '+15005550006', 'Body': "Who is this?", 'NumSegments': '1', 'NumMedia': '0'}
        signature = self.twilio_signature(self.base_url() + path, params)
        self.assertEqual(self.url_open(path, data=params, headers={'X-Twilio-Signature': signature}).status_code, 200)
        self.start_tour('/odoo', 'sms_connector_inbox_counter_tour', login='admin', timeout=40)
