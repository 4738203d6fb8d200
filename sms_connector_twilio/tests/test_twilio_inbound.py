"""Twilio inbound webhook parsing and TwiML answers, without a database."""
from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.providers import GatewayConfig, MalformedCallback
from odoo.addons.sms_connector_twilio.providers.twilio import TwilioProvider

SID = 'SM' + '0123456789abcdef' * 2


def provider():
    return TwilioProvider(GatewayConfig(provider='twilio', base_url='http://127.0.0.1:9', account='AC' + 'a' * 32, secret='t'))


@tagged('post_install', '-at_install')
class TestTwilioInbound(BaseCase):

    def test_parse_inbound(self):
        (sms,) = provider().parse_inbound({
            'MessageSid': SID, 'AccountSid': 'AC' + 'a' * 32, 'From': '+14155550100', 'To': '+15005550006',
            'Body': 'Yes, tomorrow 10am works', 'NumSegments': '1', 'NumMedia': '0'})
        self.assertEqual((sms.provider_message_id, sms.sender, sms.recipient, sms.body, sms.segments, sms.keyword),
                         (SID, '+14155550100', '+15005550006', 'Yes, tomorrow 10am works', 1, None))

    def test_opt_out_type_becomes_keyword(self):
        base = {'MessageSid': SID, 'From': '+14155550100', 'To': '+15005550006', 'Body': 'Stop'}
        for opt_out, keyword in (('STOP', 'stop'), ('START', 'start'), ('HELP', 'help'), ('', None), ('weird', None)):
            (sms,) = provider().parse_inbound({**base, 'OptOutType': opt_out})
            self.assertEqual(sms.keyword, keyword, opt_out)

    def test_empty_body_is_kept(self):
        (sms,) = provider().parse_inbound({'SmsSid': SID, 'From': '+14155550100', 'To': '+15005550006', 'Body': ''})
        self.assertEqual((sms.body, sms.segments), ('', None))

    def test_malformed_inbound(self):
        good = {'MessageSid': SID, 'From': '+14155550100', 'To': '+15005550006', 'Body': 'hi'}
        for bad in ({}, {**good, 'MessageSid': 'SM123'}, {**good, 'From': ''}, {**good, 'To': ' '},
                    {k: v for k, v in good.items() if k != 'Body'}):
            with self.assertRaises(MalformedCallback, msg=bad):
                provider().parse_inbound(bad)

    def test_twiml_answer(self):
        self.assertTrue(provider().inline_replies)
        body, content_type = provider().inbound_answer([])
        self.assertEqual((body, content_type), ('<?xml version="1.0" encoding="UTF-8"?><Response />', 'text/xml'))
        body, _ = provider().inbound_answer(['Reply STOP <to> unsubscribe & more'])
        self.assertEqual(body, '<?xml version="1.0" encoding="UTF-8"?><Response>'
                               '<Message>Reply STOP &lt;to&gt; unsubscribe &amp; more</Message></Response>')

    def test_json_values_that_are_not_text_are_malformed(self):
        for bad in ({'MessageSid': 1}, {'MessageSid': SID, 'From': '+14155550100', 'To': '+15005550006', 'Body': 5},
                    {'MessageSid': SID, 'From': ['+1'], 'To': '+15005550006', 'Body': 'x'}):
            with self.assertRaises(MalformedCallback, msg=bad):
                provider().parse_inbound(bad)
