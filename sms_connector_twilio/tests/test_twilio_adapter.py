"""The Twilio adapter without a database: callbacks, signatures, error mapping, transport."""
import base64
import json
import os
import threading
import urllib.parse
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from twilio.base.exceptions import TwilioRestException

from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.providers import (
    FAILED,
    RETRY,
    SENT,
    Failure,
    GatewayConfig,
    MalformedCallback,
    OutboundSms,
)
from odoo.addons.sms_connector.tests.common import ProviderContractCase
from odoo.addons.sms_connector_twilio.providers.twilio import (
    TwilioProvider,
    _HeaderKeepingHttpClient,
    _PooledHttpClient,
)

SID = 'SM' + '0123456789abcdef' * 2


@contextmanager
def twilio_like_server():
    """Answers Messages.json like Twilio (429 with Retry-After for +15005550429); records requests
    and the client connections they came on."""
    seen = {'requests': [], 'connections': set()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_POST(self):
            body = self.rfile.read(int(self.headers['Content-Length'] or 0)).decode()
            form = dict(urllib.parse.parse_qsl(body))
            seen['requests'].append((self.path, dict(self.headers), form))
            seen['connections'].add(self.client_address)
            if form.get('To') == '+15005550429':
                status, answer, extra = 429, {'code': 20429, 'message': 'Too Many Requests', 'status': 429}, {
                    'Retry-After': '42'}
            else:
                status, answer, extra = 201, {'sid': SID, 'num_segments': '2', 'price': '-0.0075', 'price_unit': 'USD',
                                              'status': 'queued', 'to': form.get('To'), 'body': form.get('Body')}, {}
            data = json.dumps(answer).encode()
            self.send_response(status)
            for name, value in {'Content-Type': 'application/json', 'Content-Length': str(len(data)), **extra}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}', seen
    finally:
        server.shutdown()
        server.server_close()


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


@tagged('post_install', '-at_install')
class TestTwilioTransport(BaseCase):
    """The SDK's requests go through a keep-alive connection of the adapter's thread."""

    def make(self, url):
        return TwilioProvider(GatewayConfig(provider='twilio', base_url=url, account='AC' + 'b' * 32, secret='tok3n',
                                            sender='+15005550006', status_url='https://odoo.example/status/1/x'))

    def test_requests_reuse_one_connection_and_carry_the_message(self):
        with twilio_like_server() as (url, seen):
            adapter = self.make(url)
            results = [adapter.send_request([OutboundSms(f'k{i}', f'+3361234000{i}', f'Hello é {i}')])[0]
                       for i in range(3)]
        self.assertEqual([r.state for r in results], [SENT] * 3)
        self.assertEqual((results[0].provider_message_id, results[0].segments, results[0].cost, results[0].currency),
                         (SID, 2, 0.0075, 'USD'))
        self.assertEqual(len(seen['connections']), 1, "one keep-alive connection for the thread's requests")
        path, headers, form = seen['requests'][0]
        self.assertEqual(path, f"/2010-04-01/Accounts/{'AC' + 'b' * 32}/Messages.json")
        self.assertEqual(headers['Authorization'],
                         'Basic ' + base64.b64encode(f"{'AC' + 'b' * 32}:tok3n".encode()).decode())
        self.assertEqual(form, {'To': '+33612340000', 'Body': 'Hello é 0', 'From': '+15005550006',
                                'StatusCallback': 'https://odoo.example/status/1/x'})

    def test_throttled_request_keeps_retry_after(self):
        with twilio_like_server() as (url, _seen):
            (result,) = self.make(url).send_request([OutboundSms('k', '+15005550429', 'Hi')])
        self.assertEqual((result.state, result.failure, result.retry_after), (RETRY, Failure.RATE_LIMITED, 42.0))

    def test_proxy_of_the_environment_is_honoured(self):
        """A proxy configured for the host keeps the SDK's ``requests`` client, which uses it."""
        proxy = 'http://proxy.example:3128'
        with mock.patch.dict(os.environ, {'https_proxy': proxy, 'HTTPS_PROXY': proxy, 'no_proxy': '', 'NO_PROXY': ''}):
            self.assertIsInstance(self.make('https://api.twilio.com')._client().http_client, _HeaderKeepingHttpClient)
        with mock.patch.dict(os.environ, {'https_proxy': proxy, 'HTTPS_PROXY': proxy, 'no_proxy': 'api.twilio.com',
                                          'NO_PROXY': 'api.twilio.com'}):
            self.assertIsInstance(self.make('https://api.twilio.com')._client().http_client, _PooledHttpClient)
