"""Fuzzing the public webhook endpoints over real HTTP: forged, malformed and oversized callbacks.

Whatever arrives, the answer is 200, 400, 403 or 413 (never a 500), and no SMS already logged
changes state.
"""
import json
import random
from collections import Counter
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from odoo.tests import tagged

from .common import TWILIO_TOKEN, FakeProviderCase
from .stats import record
from .test_fuzz_tools import (
    HUGE,
    JSON_VALUES,
    OCTOPUSH_KEYS,
    OCTOPUSH_STATUSES,
    TWILIO_KEYS,
    TWILIO_SIDS,
    TWILIO_STATUSES,
)

ALLOWED = {200, 400, 403, 413}
EXAMPLES = 150  # per route and test: two routes, two tests -> about 600 requests
HTTP_FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))

WATCHED_FIELDS = ['state', 'provider_message_id', 'number', 'error_code', 'error_message', 'delivered_date',
                  'segments', 'cost', 'gateway_id']

INBOUND_KEYS = ['Body', 'From', 'To', 'NumSegments', 'OptOutType', 'text', 'reception_date', 'stop_date',
                'sim_card_number']
TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'
CONTENT_TYPES = [
    None, 'application/x-www-form-urlencoded', 'application/json', 'application/json; charset=utf-8',
    'APPLICATION/JSON', 'application/json; charset=latin-1', 'text/plain', 'text/xml', 'multipart/form-data',
    'multipart/form-data; boundary=xyz', 'application/octet-stream', 'application/x-www-form-urlencoded; charset=utf-16',
    '', ';;;', 'application/*', 'application/merge-patch+json',
]

# values a database cannot take as is: NUL characters, long incompressible ids (btree index rows)
NUL_TEXT = st.builds(lambda head, tail: f"{head}\x00{tail}", st.text(max_size=10), st.text(max_size=10))
LONG_RANDOM = st.builds(lambda seed, size: random.Random(seed).randbytes(size).hex(), st.integers(0, 2**32), st.integers(2_000, 20_000))
FIELD_VALUES = st.one_of(st.text(max_size=60), NUL_TEXT, LONG_RANDOM, TWILIO_SIDS, TWILIO_STATUSES, OCTOPUSH_STATUSES,
                         st.text('+0123456789', max_size=16), st.sampled_from(['2026-11-21 10:00:00', '2026-13-45 99:99:99']))
FORM_FIELDS = st.dictionaries(
    st.one_of(st.sampled_from(TWILIO_KEYS + OCTOPUSH_KEYS + INBOUND_KEYS), st.text(max_size=15)), FIELD_VALUES, max_size=10)


@st.composite
def bodies(draw):
    """(kind, data, content type, sign): one request body, well-formed or not."""
    kind = draw(st.sampled_from(['form', 'form', 'json_object', 'json_any', 'bytes', 'bad_utf8', 'deep_json',
                                 'huge', 'huge_field', 'multipart']))
    if kind == 'form':
        return kind, draw(FORM_FIELDS), draw(st.sampled_from([None, 'application/x-www-form-urlencoded', 'text/plain'])), True
    if kind == 'json_object':
        keys = st.one_of(st.sampled_from(TWILIO_KEYS + OCTOPUSH_KEYS + INBOUND_KEYS), st.text(max_size=10))
        obj = draw(st.dictionaries(keys, st.one_of(JSON_VALUES, FIELD_VALUES), max_size=8))
        return kind, json.dumps(obj, ensure_ascii=draw(st.booleans())), draw(st.sampled_from(CONTENT_TYPES[2:5])), False
    if kind == 'json_any':
        return kind, json.dumps(draw(JSON_VALUES)), 'application/json', False
    if kind == 'bytes':
        return kind, draw(st.binary(max_size=3000)), draw(st.sampled_from(CONTENT_TYPES)), False
    if kind == 'bad_utf8':
        junk = draw(st.binary(min_size=1, max_size=40).filter(lambda b: not _is_utf8(b)))
        key = draw(st.sampled_from(['MessageSid', 'message_id', 'Body', 'text', 'number', 'From']))
        raw = draw(st.booleans())
        value = junk if raw else quote(junk).encode()
        data = key.encode() + b'=' + value + b'&MessageStatus=delivered&status=DELIVERED'
        content_type = draw(st.sampled_from(['application/x-www-form-urlencoded', 'application/json']))
        return kind, data, content_type, False
    if kind == 'deep_json':
        opener = draw(st.sampled_from(['[', '{"a":', '[{"b":']))
        depth = draw(st.integers(100, 60_000 // len(opener)))
        return kind, (opener * depth).encode(), 'application/json', False
    if kind == 'huge':
        size = draw(st.integers(64 * 1024 + 1, 300_000))
        return kind, b'MessageSid=' + b'A' * size, draw(st.sampled_from(CONTENT_TYPES[:3])), False
    if kind == 'huge_field':
        return kind, {'message_id': draw(HUGE), 'number': '+33612345678', 'status': 'DELIVERED',
                      'MessageSid': draw(HUGE), 'MessageStatus': 'delivered'}, None, True
    fields = draw(FORM_FIELDS)
    return kind, fields, 'multipart', True


def _wire(text):
    return text.encode('utf-8', 'surrogatepass') if isinstance(text, str) else text


def _is_utf8(data):
    try:
        data.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return True


REQUESTS = st.fixed_dictionaries({
    'gateway': st.sampled_from(['twilio', 'twilio', 'octopush', 'octopush', 'missing']),
    'token': st.sampled_from(['right', 'right', 'right', 'wrong', 'other_gateway', 'longer', 'shorter']),
    'wrong_token': st.text(TOKEN_CHARS, min_size=1, max_size=40),
    'body': bodies(),
    'signature': st.sampled_from(['valid', 'valid', 'none', 'random', 'other_token', 'other_params']),
    'random_signature': st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
})


@tagged('post_install', '-at_install')
class TestWebhookFuzz(FakeProviderCase):

    def setUp(self):
        super().setUp()
        self.logs = (self.send_single(self.partner('Fuzz US', '+14155550177'), "Fuzz me")
                     | self.send_single(self.partner('Fuzz FR', '06 12 34 56 77', country='base.fr'), "Fuzz moi"))
        self.assertEqual(sorted(self.logs.mapped('state')), ['sent', 'sent'])
        self.assertEqual(self.logs.gateway_id, self.twilio | self.octopush)

    # helpers -----------------------------------------------------------------
    def snapshot(self):
        self.env.invalidate_all()
        return {row['id']: row for row in self.env['sms.message'].sudo().search_read([], WATCHED_FIELDS)}

    def path_for(self, route, req):
        gateway = {'twilio': self.twilio, 'octopush': self.octopush}.get(req['gateway'])
        gateway_id = gateway.id if gateway else 999_999
        token = (gateway or self.twilio).sudo().webhook_token
        token = {
            'right': token,
            'wrong': req['wrong_token'],
            'other_gateway': (self.octopush if gateway == self.twilio else self.twilio).sudo().webhook_token,
            'longer': token + 'x',
            'shorter': token[:-1],
        }[req['token']]
        return f"/sms_connector/{route}/{gateway_id}/{token}"

    def post(self, path, req):
        _kind, data, content_type, signable = req['body']
        headers, files = {}, None
        if content_type == 'multipart':
            files = {'attachment': ('x.bin', b'\x00\xff' * 10)}
        elif content_type is not None:
            headers['Content-Type'] = content_type
        signature = req['signature']
        url = self.base_url() + path
        if signature == 'random':
            headers['X-Twilio-Signature'] = req['random_signature']
        elif signature != 'none':
            params = data if signable and isinstance(data, dict) else {}
            if signature == 'other_params':
                params = {**params, 'Injected': '1'}
            token = 'not-the-token' if signature == 'other_token' else TWILIO_TOKEN
            headers['X-Twilio-Signature'] = RequestValidator(token).compute_signature(url, params)
        # lone surrogates go on the wire as they are (invalid UTF-8), instead of failing in the client
        if isinstance(data, str):
            data = _wire(data)
        elif isinstance(data, dict):
            data = {_wire(key): _wire(value) for key, value in data.items()}
        return self.url_open(path, data=data, files=files, headers=headers, timeout=60, method='POST')

    def fuzz_route(self, route):
        before = self.snapshot()
        answers, kinds = Counter(), Counter()

        @HTTP_FUZZ
        @given(req=REQUESTS)
        def post_one(req):
            path = self.path_for(route, req)
            response = self.post(path, req)
            record('fuzz_inputs')
            answers[response.status_code] += 1
            kinds[req['body'][0]] += 1
            self.assertIn(response.status_code, ALLOWED, f"{route} {path}: {repr(req)[:500]}")
            if req['token'] != 'right' or req['gateway'] == 'missing':
                # refused: 403, or 413 for a body over 64 KiB, refused before anything is read (token included)
                self.assertIn(response.status_code, (403, 413), req)

        post_one()
        after = self.snapshot()
        self.assertEqual({key: after.get(key) for key in before}, before, "an SMS already logged changed")
        new = [row for key, row in after.items() if key not in before]
        if route == 'status':
            self.assertFalse(new, "a delivery report created an SMS log")
        else:  # only accepted inbound SMS may be logged
            self.assertLessEqual(len(new), answers[200])
            self.assertTrue(all(row['state'] == 'received' for row in new), new)
        self.assertGreater(len(answers), 1, answers)  # the generator reached more than one outcome
        return answers, kinds

    # tests ---------------------------------------------------------------------
    def test_status_webhook_survives_garbage(self):
        self.fuzz_route('status')

    def test_inbound_webhook_survives_garbage(self):
        probe = self.url_open('/sms_connector/inbound/999999/probe', data={'x': '1'}, method='POST')
        if probe.status_code == 404:
            self.skipTest("no inbound SMS webhook route")
        self.assertEqual(probe.status_code, 403)
        self.fuzz_route('inbound')

    def test_inputs_that_crashed_the_endpoints(self):
        """Regression inputs found by the fuzzers above: each once answered 500."""
        long_id = random.Random(1).randbytes(15_000).hex()
        signed = {'MessageSid': 'SM' + 'a' * 32, 'From': '+14155550100', 'To': '+15005550006', 'Body': 'hi\x00'}
        octopush_inbound = {'message_id': 't', 'number': '33612345678', 'text': 'x', 'reception_date': '2026-11-21 10:00:00'}
        cases = [
            # Twilio: a JSON body with a non-string value makes the SDK's signature check raise TypeError
            ('status', self.twilio, b'{"MessageSid": null}', 'application/json', 'x'),
            ('inbound', self.twilio, b'{"MessageSid": 1}', 'application/json', 'x'),
            # any gateway: deeply nested JSON (under 64 KiB) raises RecursionError, not ValueError
            ('status', self.octopush, b'[' * 30_000, 'application/json', None),
            ('status', self.twilio, b'{"a":' * 12_000, 'application/json', None),
            ('inbound', self.octopush, b'[' * 30_000, 'application/json', None),
            # NUL characters reach PostgreSQL (ValueError: A string literal cannot contain NUL)
            ('status', self.octopush, json.dumps({'message_id': 'a\x00', 'number': '1', 'status': 'ACK'}), 'application/json', None),
            ('status', self.octopush, {'message_id': 'a\x00', 'number': '1', 'status': 'ACK'}, None, None),
            ('inbound', self.octopush, json.dumps({**octopush_inbound, 'text': 'a\x00'}), 'application/json', None),
            ('inbound', self.twilio, signed, None, 'sign'),
            # lone surrogates (valid JSON escapes) cannot be encoded to UTF-8 for PostgreSQL or for segment counting
            ('status', self.octopush, b'{"message_id": "\\ud800", "number": "1", "status": "ACK"}', 'application/json', None),
            ('inbound', self.octopush, json.dumps({**octopush_inbound, 'text': '\ud800'}), 'application/json', None),
            # ids longer than a btree index row (ProgramLimitExceeded)
            ('status', self.octopush, json.dumps({'message_id': long_id, 'number': '1', 'status': 'ACK'}), 'application/json', None),
            ('inbound', self.octopush, json.dumps({**octopush_inbound, 'message_id': long_id}), 'application/json', None),
        ]
        failures = []
        for route, gateway, data, content_type, signature in cases:
            path = f"/sms_connector/{route}/{gateway.id}/{gateway.sudo().webhook_token}"
            headers = {'Content-Type': content_type} if content_type else {}
            if signature == 'sign':
                headers['X-Twilio-Signature'] = self.twilio_signature(self.base_url() + path, data)
            elif signature:
                headers['X-Twilio-Signature'] = signature
            response = self.url_open(path, data=data.encode() if isinstance(data, str) else data, headers=headers,
                                     method='POST')
            record('fuzz_inputs')
            if response.status_code not in ALLOWED:
                failures.append(f"{response.status_code} {route} {gateway.provider} {content_type} {str(data)[:80]!r}")
        if failures:
            self.fail("Inputs answered with a 500:\n" + "\n".join(failures))

    def test_oversized_bodies_are_refused(self):
        """Over 64 KiB the answer is 413, whether the client sends a Content-Length or a chunked body."""
        size = 64 * 1024 + 1

        def chunked():  # no Content-Length: Transfer-Encoding: chunked
            yield b'message_id=t&number=1&status=ACK&MessageSid=SM' + b'a' * 32 + b'&MessageStatus=sent&x='
            for _ in range(size // 4096 + 1):
                yield b'x' * 4096

        before = self.snapshot()
        answers = []
        for route in ('status', 'inbound'):
            for gateway in (self.twilio, self.octopush):
                path = f"/sms_connector/{route}/{gateway.id}/{gateway.sudo().webhook_token}"
                for label, data in (('content-length', b'x=' + b'y' * size), ('chunked', chunked())):
                    response = self.url_open(path, data=data, method='POST')
                    record('fuzz_inputs')
                    answers.append((route, gateway.provider, label, response.status_code))
        self.assertEqual([answer for answer in answers if answer[3] != 413], [], answers)
        self.assertEqual(self.snapshot(), before)
