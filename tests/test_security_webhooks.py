"""Security of the gateway secrets and the webhooks, tried the way an attacker would.

A non-admin SMS manager and a loopback server playing the attacker, real signed webhooks,
the server's own request log, a neutralized copy and a flood of keyword SMS.
"""
import json
import logging
import secrets
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

from werkzeug.formparser import FormDataParser

from odoo.exceptions import AccessError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import new_test_user, tagged

from odoo.addons.sms_connector.controllers.webhooks import MAX_WEBHOOK_BYTES
from odoo.addons.sms_connector.engine.plan import SendGroup, resolve_unknown
from odoo.addons.sms_connector.providers import (
    UNKNOWN,
    Capabilities,
    GatewayConfig,
    LookupFailed,
    OutboundSms,
    SendResult,
    SmsProvider,
)
from odoo.addons.sms_connector.tools.redact import REDACTED, redact

from .common import OCTOPUSH_KEY, OCTOPUSH_LOGIN, TWILIO_SID, TWILIO_TOKEN, FakeProviderCase

SMS_ADDONS = ('sms_connector', 'sms_connector_twilio', 'sms_connector_octopush')


def new_sid():
    return 'SM' + secrets.token_hex(16)


class AttackerServer:
    """A loopback HTTP server recording what it is sent (path and headers), answering 401."""

    def __init__(self):
        self.received = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                length = int(self.headers.get('Content-Length') or 0)
                received.append({'path': self.path, 'headers': dict(self.headers),
                                 'body': self.rfile.read(length).decode('latin-1') if length else ''})
                body = b'{"code": 401, "message": "nope"}'
                self.send_response(401)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _record

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def leaked(self, *values):
        """Values found in anything the attacker received."""
        seen = json.dumps(self.received)
        return [value for value in values if value in seen]


class TestRedact(unittest.TestCase):
    """The one redaction helper every user-facing provider text goes through."""

    def test_account_ids_urls_headers_and_tokens(self):
        sid = 'AC' + 'f' * 32
        connection_error = (
            f"HTTPSConnectionPool(host='api.twilio.com', port=443): Max retries exceeded with url: "
            f"/2010-04-01/Accounts/{sid}/Messages.json (Caused by NewConnectionError('refused'))")
        self.assertEqual(redact(connection_error), connection_error.replace(sid, REDACTED))
        self.assertNotIn('SKabc', redact('key SK' + 'a' * 32))
        self.assertEqual(redact('https://user:pa55@host/x'), f'https://{REDACTED}@host/x')
        self.assertEqual(redact("headers {'api-login': 'me@shop.fr', 'api-key': 'k3y'}"),
                         f"headers {{'api-login': '{REDACTED}', 'api-key': '{REDACTED}'}}")
        self.assertEqual(redact('GET /x?api_key=abc&to=1'), f'GET /x?api_key={REDACTED}&to=1')
        self.assertEqual(redact('Authorization: Basic QUM6dG9r'), f'Authorization: {REDACTED}')
        self.assertEqual(redact('POST /sms_connector/status/12/s3cr3t-T0ken HTTP/1.1'),
                         f'POST /sms_connector/status/12/{REDACTED} HTTP/1.1')

    def test_exact_secrets_and_what_stays(self):
        self.assertEqual(redact('login me@shop.fr refused key zzz-123', secrets=('me@shop.fr', 'zzz-123', '', 'a')),
                         f'login {REDACTED} refused key {REDACTED}')
        # message ids, numbers and ordinary explanations are what users need to see
        text = "Invalid 'To' number +15005550001 for SM" + '0' * 32 + " (HTTP 400, code 21211)"
        self.assertEqual(redact(text), text)
        self.assertIsNone(redact(None))
        self.assertEqual(redact(''), '')


class TestRedactedLookupErrors(unittest.TestCase):
    """A failed look-up's text is shown on the SMS log too."""

    def test_lookup_failure_text_is_redacted(self):
        class Provider(SmsProvider):
            capabilities = Capabilities(lookup=True)

            def lookup(self, sms, since):
                raise LookupFailed(f"HTTPSConnectionPool: Max retries exceeded with url: "
                                   f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json?To=%2B1 ({TWILIO_TOKEN})")

        provider = Provider(GatewayConfig(provider='x', base_url='', account=TWILIO_SID, secret=TWILIO_TOKEN))
        sms = OutboundSms(key='k1', number='+14155550100', body='hi')
        results = {'k1': (SendGroup(1, provider, [[sms]]), SendResult('k1', UNKNOWN, error_message='lost'))}
        resolve_unknown(results, [results['k1'][0]], None)
        error = results['k1'][1].lookup_error
        self.assertIn(REDACTED, error)
        self.assertNotIn(TWILIO_SID, error)
        self.assertNotIn(TWILIO_TOKEN, error)


@tagged('post_install', '-at_install')
class TestGatewaySecrets(FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, login='sms_manager_seca', groups='sms_connector.group_sms_manager')
        cls.attacker = AttackerServer()
        cls.addClassCleanup(cls.attacker.stop)

    def setUp(self):
        super().setUp()
        self.attacker.received.clear()

    def rpc(self, route, model, method, args, kwargs=None):
        """A JSON-RPC call as the web client makes it; the decoded answer (result or error)."""
        response = self.url_open(route, json={'jsonrpc': '2.0', 'method': 'call', 'id': 1, 'params': {
            'model': model, 'method': method, 'args': args, 'kwargs': kwargs or {}}})
        return response.json()

    def test_manager_cannot_send_the_secret_to_his_server(self):
        self.authenticate('sms_manager_seca', 'sms_manager_seca')
        for gateway, path in ((self.twilio, ''), (self.octopush, '/v1/public')):
            answer = self.rpc('/web/dataset/call_kw', 'sms.gateway', 'web_save', [[gateway.id], {
                'base_url': self.attacker.url + path}], {'specification': {'base_url': {}}})
            self.assertIn('error', answer, "a manager may not choose where the credentials go")
            for button in ('action_test_connection', 'action_check_balance'):
                self.rpc('/web/dataset/call_button', 'sms.gateway', button, [[gateway.id]])
        self.assertFalse(self.attacker.received)
        self.assertFalse(self.attacker.leaked(TWILIO_TOKEN, OCTOPUSH_KEY, TWILIO_SID, OCTOPUSH_LOGIN))
        self.twilio.invalidate_recordset()
        self.assertEqual(self.twilio.base_url, self.fake.url)
        # nor create a gateway pointing there for an admin to fill in the credentials
        Gateway = self.env['sms.gateway'].with_user(self.manager)
        with self.assertRaises(AccessError):
            Gateway.create({'name': 'Trap', 'provider': 'twilio', 'base_url': self.attacker.url})
        # what a manager may still do: configure routing, create a gateway on the provider's API
        self.twilio.with_user(self.manager).write({'max_concurrency': 4, 'base_url': self.fake.url})
        created = Gateway.create({'name': 'New', 'provider': 'twilio'})
        self.assertEqual(created.base_url, 'https://api.twilio.com')
        # the administrator, who may read the secret, may point it anywhere (sandboxes, tests)
        self.twilio.base_url = self.attacker.url
        self.assertEqual(self.twilio.base_url, self.attacker.url)

    def test_gateway_form_shows_the_url_read_only_to_managers(self):
        arch = self.env['sms.gateway'].with_user(self.manager).get_views([(False, 'form')])['views']['form']['arch']
        self.assertIn('name="base_url"', arch)
        self.assertRegex(arch, r'<field name="base_url"[^>]*readonly="(True|1)"')

    def test_errors_never_show_account_ids_or_secrets(self):
        """A connection error quotes Twilio's URL, which carries the Account SID."""
        self.env['ir.config_parameter'].set_param('sms_connector.max_attempts', 1)
        dead = AttackerServer()
        dead.stop()  # nothing listens there any more: connection refused
        self.twilio.base_url = dead.url
        self.octopush.base_url = dead.url
        partner = self.partner('Sid', '+14155550190')
        log = self.send_single(partner, "hello")
        self.assertTrue(log.error_message)
        texts = [log.error_message, *partner.message_ids.mapped('body'),
                 *self.env['mail.notification'].search([('res_partner_id', '=', partner.id)]).mapped('failure_reason')]
        self.authenticate('sms_manager_seca', 'sms_manager_seca')
        for gateway in (self.twilio, self.octopush):
            for button in ('action_test_connection', 'action_check_balance'):
                answer = self.rpc('/web/dataset/call_button', 'sms.gateway', button, [[gateway.id]])
                texts.append(answer['error']['data']['message'])
        self.assertIn(REDACTED, texts[-4])
        for secret in (TWILIO_SID, TWILIO_TOKEN, OCTOPUSH_KEY, OCTOPUSH_LOGIN):
            self.assertFalse([text for text in texts if text and secret in str(text)], secret)


@tagged('post_install', '-at_install')
class TestWebhookHardening(FakeProviderCase):

    def setUp(self):
        super().setUp()
        self.octopush_status = f"/sms_connector/status/{self.octopush.id}/{self.octopush.webhook_token}"
        self.twilio_inbound = f"/sms_connector/inbound/{self.twilio.id}/{self.twilio.webhook_token}"

    def post_json(self, path, data):
        return self.url_open(path, data=json.dumps(data), headers={'Content-Type': 'application/json'})

    def post_twilio(self, number, body, path=None):
        path = path or self.twilio_inbound
        params = {'MessageSid': new_sid(), 'AccountSid': TWILIO_SID, 'From': number, 'To': '+15005550006',
                  'Body': body, 'NumSegments': '1'}
        signature = self.twilio_signature(self.base_url() + path, params)
        return self.url_open(path, data=params, headers={'X-Twilio-Signature': signature})

    def test_octopush_reports_with_non_scalar_fields_are_refused(self):
        good = {'message_id': 'sms_5fec89fe97109', 'number': '+33612345678', 'status': 'DELIVERED'}
        for field, value in (('message_id', {'$ne': ''}), ('message_id', ['sms_1', 'sms_2']),
                             ('number', ['+33612345678']), ('number', {'a': 1}), ('status', ['DELIVERED'])):
            response = self.post_json(self.octopush_status, {**good, field: value})
            self.assertEqual(response.status_code, 400, (field, value))
        self.assertFalse(self.env['sms.delivery.report'].search([('gateway_id', '=', self.octopush.id)]))
        self.assertEqual(self.post_json(self.octopush_status, good).status_code, 200)

    def test_size_limit_applies_before_the_form_is_parsed(self):
        parsed = []
        original = FormDataParser.parse_functions['application/x-www-form-urlencoded']

        def spy(parser, stream, mimetype, content_length, options):
            parsed.append(content_length)
            return original(parser, stream, mimetype, content_length, options)

        params = {'MessageSid': new_sid(), 'Body': 'x' * (MAX_WEBHOOK_BYTES + 1000)}
        with patch.dict(FormDataParser.parse_functions, {'application/x-www-form-urlencoded': spy}):
            response = self.url_open(self.twilio_inbound, data=params)
        self.assertEqual(response.status_code, 413)
        self.assertFalse([length for length in parsed if length and length > MAX_WEBHOOK_BYTES],
                         "the oversized body was parsed before being refused")

    def test_webhook_token_stays_out_of_the_request_log(self):
        tokens = (self.octopush.webhook_token, self.twilio.webhook_token)
        with self.assertLogs('werkzeug', level=logging.INFO) as logs:
            self.post_json(self.octopush_status, {'message_id': 'sms_x', 'number': '+33612345678', 'status': 'ACK'})
            self.post_twilio('+14155550191', 'hello')
            self.post_json(self.octopush_status, {'message_id': ['bad']})
        self.assertTrue([line for line in logs.output if f'/sms_connector/status/{self.octopush.id}/' in line],
                        "the callback is still logged")
        self.assertFalse([line for line in logs.output if any(token in line for token in tokens)])

    def test_automatic_answers_are_rate_limited(self):
        icp = self.env['ir.config_parameter']
        icp.set_param('sms_connector.auto_reply_max_per_number', 2)
        icp.set_param('sms_connector.auto_reply_max_per_gateway', 3)
        answered = [b'<Message>' in self.post_twilio('+14155550192', 'HELP').content for _i in range(3)]
        self.assertEqual(answered, [True, True, False], "at most 2 answers per number and hour")
        answered = [b'<Message>' in self.post_twilio(number, 'HELP').content
                    for number in ('+14155550193', '+14155550194')]
        self.assertEqual(answered, [True, False], "at most 3 answers per gateway and hour")
        # STOP still opts out once no answer may be sent any more
        self.post_twilio('+14155550194', 'STOP')
        self.assertTrue(self.env['phone.blacklist'].search([('number', '=', '+14155550194')]))
        # the Octopush gateway has its own budget; its answers are queued, not sent in the webhook
        self.post_json(f"/sms_connector/inbound/{self.octopush.id}/{self.octopush.webhook_token}", {
            'message_id': 'sms_1', 'number': '+33612345601', 'text': 'aide', 'sim_card_number': '+33700000001',
            'reception_date': '2026-11-21 10:00:00'})
        self.assertTrue(self.env['sms.sms'].search([('number', '=', '+33612345601')]))


@tagged('post_install', '-at_install')
class TestNeutralize(FakeProviderCase):
    """A copy of the database for testing (odoo-bin neutralize) must not text customers."""

    def test_neutralized_copy_sends_nothing_and_refuses_production_callbacks(self):
        queries = list(get_neutralization_queries(SMS_ADDONS))
        self.assertEqual(len(queries), len(SMS_ADDONS), "each addon ships data/neutralize.sql")
        gateways = self.twilio | self.octopush
        before = {gateway.id: gateway.webhook_token for gateway in gateways}
        paths = [f"/sms_connector/status/{gw.id}/{gw.webhook_token}" for gw in gateways]
        self.env.flush_all()
        for query in queries:
            self.env.cr.execute(query)
        self.env.invalidate_all()
        gateways = gateways.with_context(active_test=False)
        self.assertFalse(any(gateways.mapped('active')))
        for gateway in gateways:
            self.assertTrue(gateway.webhook_token)
            self.assertNotEqual(gateway.webhook_token, before[gateway.id])
        self.assertNotIn(TWILIO_TOKEN, gateways.mapped('secret'))
        self.assertNotIn(OCTOPUSH_KEY, gateways.mapped('secret'))
        # even once an admin reactivates them, the production provider's callbacks are refused
        gateways.action_unarchive()
        for path in paths:
            self.assertEqual(self.url_open(path, data={'MessageSid': new_sid()}).status_code, 403, path)
        # and the provider refuses to send with the neutralized credentials
        partner = self.partner('Staging', '+14155550195')
        self.assertEqual(self.send_single(partner, "from staging").state, 'failed')
