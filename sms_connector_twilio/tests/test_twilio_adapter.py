"""The Twilio adapter without a database: callbacks, signatures, error mapping."""
from twilio.base.exceptions import TwilioRestException

from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.providers import FAILED, RETRY, GatewayConfig, MalformedCallback
from odoo.addons.sms_connector.tests.common import ProviderContractCase
from odoo.addons.sms_connector_twilio.providers.twilio import TwilioProvider

SID = 'SM' + '0123456789abcdef' * 2


def provider(token='12345'):
    return TwilioProvider(GatewayConfig(provider='twilio', base_url='http://127.0.0.1:9', account='AC' + 'a' * 32, secret=token))


@tagged('post_install', '-at_install')
class TestTwilioContract(ProviderContractCase, BaseCase):
    provider_code = 'twilio'
    config_values = {'account': 'AC' + 'a' * 32, 'secret': 'token', 'sender': '+15005550006'}


@tagged('post_install', '-at_install')
class TestTwilioAdapter(BaseCase):

    def test_signature_matches_twilio_library_vector(self):
        params = {'CallSid': 'CA1234567890ABCDE', 'Caller': '+12349013030', 'Digits': '1234',
                  'From': '+12349013030', 'To': '+18005551212'}
        url = 'https://mycompany.com/myapp.php?foo=1&bar=2'
        good = {'X-Twilio-Signature': '0/KCTR6DLpKmkAf8muzZqo1nDgQ='}
        self.assertTrue(provider().verify_signature(url, params, good))
        self.assertFalse(provider('other').verify_signature(url, params, good))
        self.assertFalse(provider().verify_signature(url, {**params, 'Digits': '1235'}, good))
        self.assertFalse(provider().verify_signature(url, params, {}))

    def test_parse_status(self):
        (report,) = provider().parse_status({'MessageSid': SID, 'MessageStatus': 'undelivered', 'ErrorCode': '30005'})
        self.assertEqual((report.provider_message_id, report.status, report.error_code), (SID, 'failed', '30005'))
        self.assertEqual(report.error_message, 'Unknown destination handset.')
        (report,) = provider().parse_status({'SmsSid': SID, 'SmsStatus': 'read'})
        self.assertEqual(report.status, 'delivered')
        for bad in ({}, {'MessageSid': SID}, {'MessageSid': 'SM12', 'MessageStatus': 'sent'},
                    {'MessageSid': SID, 'MessageStatus': '<script>'}):
            with self.assertRaises(MalformedCallback):
                provider().parse_status(bad)

    def test_error_message_without_the_sdk_prefix(self):
        exc = TwilioRestException(400, 'uri', msg="Unable to create record: The 'To' number +1500 is not valid", code=21211)
        self.assertEqual(provider()._error_result('k', exc).error_message, "The 'To' number +1500 is not valid")

    def test_error_mapping(self):
        cases = {
            (400, 21211): (FAILED, 'number_format'), (400, 21610): (FAILED, 'opted_out'),
            (429, 20429): (RETRY, 'rate_limited'), (503, 503): (RETRY, 'server'),
            (401, 20003): (FAILED, 'auth'), (400, 21999): (FAILED, 'rejected'),
        }
        for (status, code), expected in cases.items():
            result = provider()._error_result('k', TwilioRestException(status, 'uri', msg='boom', code=code))
            self.assertEqual((result.state, result.failure), expected, (status, code))
