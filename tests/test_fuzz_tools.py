"""Property-based tests of the plain-Python tools and provider parsers (no database).

Thousands of generated inputs per run: segment counting, E.164 normalisation, the Twilio and
Octopush callback parsers, Twilio's signature check and the concurrent request dispatcher must
never raise anything but their documented errors, and keep their invariants.
"""
import base64
import re
import threading
import time
from datetime import datetime

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from odoo.addons.sms_connector.engine.dispatcher import run_requests
from odoo.addons.sms_connector.providers import (
    STATUS_RANK,
    UNKNOWN,
    GatewayConfig,
    MalformedCallback,
    OutboundSms,
    SendResult,
    SmsProvider,
    StatusReport,
)
from odoo.addons.sms_connector.tools.phone import NormalizedNumber, normalize_number
from odoo.addons.sms_connector.tools.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments
from odoo.addons.sms_connector_octopush.providers.octopush import STATUS_MAP as OCTOPUSH_STATUS_MAP
from odoo.addons.sms_connector_octopush.providers.octopush import OctopushProvider
from odoo.addons.sms_connector_twilio.providers.twilio import STATUS_MAP as TWILIO_STATUS_MAP
from odoo.addons.sms_connector_twilio.providers.twilio import TwilioProvider

from .fake_providers import sms_segments
from .stats import record

# database=None: no .hypothesis/ directory in the work tree; a failure prints its example.
FUZZ = settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_SMALL = settings(FUZZ, max_examples=200)

E164_RE = re.compile(r'^\+[1-9]\d{6,14}$')


# ---------------------------------------------------------------------------
# segment counting
# ---------------------------------------------------------------------------
GSM_BASIC_CHARS = st.sampled_from(sorted(GSM7_BASIC))
GSM_EXT_CHARS = st.sampled_from(sorted(GSM7_EXTENSION))
OTHER_CHARS = st.one_of(
    st.characters(min_codepoint=0x0400, max_codepoint=0x04FF),  # Cyrillic
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji, outside the BMP (surrogate pairs)
    st.characters(categories=['Cc']),  # control characters
    st.characters(),  # anything
    st.sampled_from(['\ud800', '\udfff', '\ud83d']),  # lone surrogates: what json.loads('"\\ud800"') gives
)
MOSTLY_GSM_CHARS = st.one_of(GSM_BASIC_CHARS, GSM_BASIC_CHARS, GSM_EXT_CHARS, OTHER_CHARS)


@st.composite
def near_boundaries(draw):
    """Texts whose length sits around the single/multi-part limits, with escapes or astral chars."""
    filler = draw(st.sampled_from(['a', 'é', '€', 'Ж', '😀', ' ']))
    count = draw(st.sampled_from([34, 35, 66, 67, 68, 69, 70, 71, 76, 77, 79, 80, 81, 134, 135, 152, 153,
                                  154, 159, 160, 161, 201, 305, 306, 307, 459, 460]))
    count += draw(st.integers(-2, 2))
    text = filler * max(count, 0)
    position = draw(st.integers(0, len(text)))
    insert = draw(st.text(MOSTLY_GSM_CHARS, max_size=4))
    return text[:position] + insert + text[position:]


TEXTS = st.one_of(
    st.text(st.one_of(GSM_BASIC_CHARS, GSM_EXT_CHARS), max_size=500),  # pure GSM-7
    st.text(MOSTLY_GSM_CHARS, max_size=400),
    st.text(max_size=200),
    near_boundaries(),
)

_ESCAPE = object()  # the ESC septet that precedes an extension character
_HIGH_SURROGATE = object()


def _greedy_parts(units, part_limit, glue):
    """Split ``units`` into parts of at most ``part_limit``, never ending a part on ``glue``."""
    parts, start = 0, 0
    while start < len(units):
        end = min(start + part_limit, len(units))
        if end < len(units) and units[end - 1] is glue:
            end -= 1  # the pair goes whole into the next part
        parts, start = parts + 1, end
    return parts


def reference_segments(text):
    """(encoding, length, parts) computed on the actual septet / UTF-16 unit sequence."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        septets = []
        for ch in text:
            septets += [_ESCAPE, ch] if ch in GSM7_EXTENSION else [ch]
        if not septets:
            return 'gsm7', 0, 0
        if len(septets) <= 160:
            return 'gsm7', len(septets), 1
        return 'gsm7', len(septets), _greedy_parts(septets, 153, _ESCAPE)
    units = []
    for ch in text:
        units += [_HIGH_SURROGATE, ch] if ord(ch) > 0xFFFF else [ch]
    if len(units) <= 70:
        return 'ucs2', len(units), 1
    return 'ucs2', len(units), _greedy_parts(units, 67, _HIGH_SURROGATE)


@FUZZ
@given(text=TEXTS)
@example(text='\ud800')  # a lone surrogate, e.g. from a JSON webhook body: one UTF-16 unit, not a crash
def test_count_segments_matches_reference(text):
    record('fuzz_inputs')
    info = count_segments(text)
    assert info.encoding in ('gsm7', 'ucs2')
    assert (info.segments == 0) == (text == '')
    assert (info.encoding, info.length, info.segments) == reference_segments(text)
    if info.encoding == 'gsm7':
        assert all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)
        assert info.length == len(text) + sum(ch in GSM7_EXTENSION for ch in text)
        assert (info.segments == 1) == (0 < info.length <= 160)
        if info.segments > 1:  # 153 septets per part, at most one lost to an escape pair
            assert -(-info.length // 153) <= info.segments <= -(-info.length // 152)
    else:
        assert any(ch not in GSM7_BASIC and ch not in GSM7_EXTENSION for ch in text)
        assert info.length == len(text.encode('utf-16-le', 'surrogatepass')) // 2
        assert (info.segments == 1) == (info.length <= 70)
        if info.segments > 1:
            assert -(-info.length // 67) <= info.segments <= -(-info.length // 66)
    if text:  # the fake provider bills with its own implementation
        assert info.segments == sms_segments(text)


@FUZZ
@given(text=TEXTS, extra=st.one_of(GSM_BASIC_CHARS, GSM_EXT_CHARS, OTHER_CHARS), suffix=st.text(MOSTLY_GSM_CHARS, max_size=40))
def test_count_segments_never_decreases_when_text_grows(text, extra, suffix):
    record('fuzz_inputs')
    before = count_segments(text).segments
    assert count_segments(text + extra).segments >= before
    assert count_segments(text + suffix).segments >= before
    assert count_segments(suffix + text).segments >= before
    assert count_segments(text + extra + suffix).segments >= count_segments(text + extra).segments


def test_count_segments_of_nothing():
    for empty in ('', None):
        assert count_segments(empty).segments == 0
        assert count_segments(empty).encoding == 'gsm7'


# ---------------------------------------------------------------------------
# phone normalisation
# ---------------------------------------------------------------------------
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
CALLING_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)

COUNTRIES = st.one_of(
    st.none(), st.just(''), st.sampled_from(REGIONS), st.sampled_from(REGIONS).map(str.lower),
    st.sampled_from(['001', 'ZZ', 'XX', 'UK', 'fr ', 'EU']), st.text(max_size=4),
)
PHONE_LIKE = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(['', '+', '00', '0', ' +', '(+', '+0', '011', 'tel:+', '\uff0b']),
    st.text('0123456789 -.()/+x#*٠١٢٣٤٥٦٧٨٩０１２３', max_size=25),
)
INTERNATIONAL_ISH = st.builds(
    lambda cc, separator, digits: f"+{cc}{separator}{digits}",
    st.sampled_from(CALLING_CODES), st.sampled_from(['', ' ', '-', ' (0) ']), st.text('0123456789', min_size=3, max_size=13),
)
RAW_NUMBERS = st.one_of(st.none(), st.text(max_size=40), PHONE_LIKE, INTERNATIONAL_ISH, st.text(min_size=240, max_size=400))


def _check_normalized(result, default_country):
    assert isinstance(result, NormalizedNumber)
    if result.e164:
        assert E164_RE.match(result.e164), result
        assert isinstance(result.country_code, str) and result.country_code, result
        assert result.error is None
        # E.164 is a fixed point, whatever the default country
        assert normalize_number(result.e164) == result
        assert normalize_number(result.e164, default_country) == result
    else:
        assert result.e164 is None and result.country_code is None
        assert isinstance(result.error, str) and result.error.strip(), result


@FUZZ
@given(raw=RAW_NUMBERS, country=COUNTRIES)
def test_normalize_number_never_raises(raw, country):
    record('fuzz_inputs')
    _check_normalized(normalize_number(raw, country), country)


NUMBER_TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST, phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER, phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN, phonenumbers.PhoneNumberType.VOICEMAIL,
]
_examples = []
_examples_lock = threading.Lock()


def example_numbers():
    """Every valid (region, example number) pair of phonenumbers' metadata, computed once.

    Short service numbers (under 7 digits) are left out: they are not SMS destinations and
    normalize_number refuses them on purpose (see test_short_numbers_are_refused).
    """
    with _examples_lock:
        if not _examples:
            for region in REGIONS:
                for number_type in NUMBER_TYPES:
                    example = phonenumbers.example_number_for_type(region, number_type)
                    if example is not None and phonenumbers.is_valid_number(example) and E164_RE.match(
                            phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)):
                        _examples.append((region, example))
    return _examples


def test_short_numbers_are_refused():
    for raw, country in (('+431110', None), ('09601', 'IR'), ('112', 'FR')):
        result = normalize_number(raw, country)
        assert result.e164 is None and result.error, (raw, result)


@FUZZ
@given(data=st.data(), layout=st.sampled_from(['national', 'international', 'e164', '00', 'spaced']))
def test_normalize_number_reads_real_formats(data, layout):
    record('fuzz_inputs')
    region, example = data.draw(st.sampled_from(example_numbers()), label='example')
    expected = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    if layout == 'national':
        raw, default = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL), region
    else:
        default = data.draw(st.one_of(st.none(), st.sampled_from(REGIONS)), label='default country')
        raw = {
            'international': phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
            'e164': expected,
            '00': '00' + expected[1:],
            'spaced': f"  {phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)}\t",
        }[layout]
    result = normalize_number(raw, default)
    assert result == NormalizedNumber(expected, phonenumbers.region_code_for_number(example), None), (raw, default)
    _check_normalized(result, default)


# ---------------------------------------------------------------------------
# provider callback parsers
# ---------------------------------------------------------------------------
TWILIO = TwilioProvider(GatewayConfig('twilio', 'http://127.0.0.1:9', account='AC' + '1' * 32, secret='s3cr3t'))
OCTOPUSH = OctopushProvider(GatewayConfig('octopush', 'http://127.0.0.1:9', account='me@example.com', secret='k'))

HEX = '0123456789abcdefABCDEF'
HUGE = st.builds(lambda unit, n: unit * n, st.sampled_from(['a', '0', 'é', '😀', '\x00', 'SM']), st.integers(10_000, 100_000))
TWILIO_SIDS = st.one_of(
    st.builds(lambda prefix, digits: prefix + digits, st.sampled_from(['SM', 'MM']), st.text(HEX, min_size=32, max_size=32)),
    st.builds(lambda prefix, digits, noise: prefix + digits + noise,
              st.sampled_from(['SM', 'MM', 'sm', 'AC', 'SM ', ' SM', '\uff33\uff2d']), st.text(HEX, min_size=30, max_size=34),
              st.sampled_from(['', '\n', ' ', '\x00', 'g'])),
)


def _case_variants(words):
    return st.builds(lambda word, upper: ''.join(c.upper() if u else c for c, u in zip(word, upper, strict=False)),
                     st.sampled_from(sorted(words)), st.lists(st.booleans(), min_size=20, max_size=20))


TWILIO_STATUSES = st.one_of(_case_variants(TWILIO_STATUS_MAP), st.sampled_from(sorted(TWILIO_STATUS_MAP)))
OCTOPUSH_STATUSES = st.one_of(_case_variants(OCTOPUSH_STATUS_MAP.keys() | {'ack '}), st.sampled_from(sorted(OCTOPUSH_STATUS_MAP)))
TEXT_VALUES = st.one_of(st.text(max_size=60), st.text('0123456789+ ', max_size=20), HUGE)

TWILIO_KEYS = ['MessageSid', 'SmsSid', 'MessageStatus', 'SmsStatus', 'ErrorCode', 'ErrorMessage', 'NumSegments',
               'AccountSid', 'From', 'To', 'ApiVersion', 'SmsMessageSid', 'Body']
OCTOPUSH_KEYS = ['message_id', 'number', 'status', 'delivery_date', 'channel', 'type', 'text', 'sender']


def _str_payloads(keys, special):
    """Random str -> str dicts: known keys with random or plausible values, random keys, missing keys."""
    value = st.one_of(TEXT_VALUES, *special)
    return st.one_of(
        st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=20)), value, max_size=12),
        st.fixed_dictionaries({}, optional={key: value for key in keys}),
    )


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=10)


def _json_payloads(keys, special):
    """What a JSON body decodes to: any JSON value under the known keys."""
    value = st.one_of(JSON_VALUES, *special)
    return st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=10)), value, max_size=8)


TWILIO_PAYLOADS = _str_payloads(TWILIO_KEYS, [TWILIO_SIDS, TWILIO_STATUSES, st.sampled_from(['30003', '21610', ' 30008 ', '2'])])
OCTOPUSH_PAYLOADS = _str_payloads(OCTOPUSH_KEYS, [OCTOPUSH_STATUSES, st.text(HEX + '-', min_size=1, max_size=40)])


def _parse(provider, payload):
    """The parser's reports, or None for a MalformedCallback; anything else propagates (= bug)."""
    try:
        reports = provider.parse_status(payload)
    except MalformedCallback:
        return None
    assert isinstance(reports, list) and reports, reports
    for report in reports:
        assert isinstance(report, StatusReport)
        assert report.status in STATUS_RANK, report
        assert isinstance(report.provider_message_id, str) and report.provider_message_id.strip(), report
        if report.status == 'failed':
            assert isinstance(report.error_message, str) and report.error_message, report
        assert report.segments is None or isinstance(report.segments, int)
    return reports


def _check_twilio_reports(payload, reports):
    if reports is None:
        return
    (report,) = reports
    sid = payload.get('MessageSid') or payload.get('SmsSid')
    assert report.provider_message_id == sid
    assert re.fullmatch(r'(SM|MM)[0-9a-fA-F]{32}', sid), f"accepted a malformed MessageSid {sid!r}"
    assert report.status == TWILIO_STATUS_MAP[report.raw_status]


def _check_octopush_reports(payload, reports):
    if reports is None:
        return
    (report,) = reports
    assert report.status == OCTOPUSH_STATUS_MAP[report.raw_status]
    assert report.provider_message_id == str(payload.get('message_id')).strip()
    assert isinstance(report.number, str) and report.number


BAD_SID_NEWLINE = 'SM' + 'a' * 32 + '\n'  # SID_RE ends with '$', which also matches before a final newline


@FUZZ
@given(payload=TWILIO_PAYLOADS)
@example(payload={'MessageSid': BAD_SID_NEWLINE, 'MessageStatus': 'delivered'})
def test_twilio_parse_status(payload):
    record('fuzz_inputs')
    _check_twilio_reports(payload, _parse(TWILIO, payload))


@FUZZ
@given(sid=TWILIO_SIDS.filter(lambda s: re.fullmatch(r'(SM|MM)[0-9a-fA-F]{32}', s)), status=TWILIO_STATUSES,
       extra=_str_payloads(TWILIO_KEYS[4:], [st.sampled_from(['30003', '21610', '', ' '])]))
def test_twilio_parse_status_of_plausible_reports(sid, status, extra):
    record('fuzz_inputs')
    payload = {**extra, 'MessageSid': sid, 'MessageStatus': status}
    reports = _parse(TWILIO, payload)
    assert reports is not None, payload  # every well-formed report is understood
    _check_twilio_reports(payload, reports)


@FUZZ
@given(payload=OCTOPUSH_PAYLOADS)
def test_octopush_parse_status(payload):
    record('fuzz_inputs')
    _check_octopush_reports(payload, _parse(OCTOPUSH, payload))


@FUZZ
@given(payload=_json_payloads(OCTOPUSH_KEYS, [OCTOPUSH_STATUSES, st.integers(0, 10**12).map(str)]))
def test_octopush_parse_status_of_json_bodies(payload):
    """Octopush posts JSON: values may be numbers, lists, objects or null."""
    record('fuzz_inputs')
    _parse(OCTOPUSH, payload)


@FUZZ_SMALL
@given(payload=_json_payloads(TWILIO_KEYS, [TWILIO_SIDS, TWILIO_STATUSES]))
@example(payload={'MessageSid': None, 'MessageStatus': 'delivered'})
@example(payload={'MessageSid': 'SM' + 'a' * 32, 'MessageStatus': 1})
def test_twilio_parse_status_of_json_bodies(payload):
    """The endpoint decodes JSON bodies for every gateway: a Twilio parser may see non-string values."""
    record('fuzz_inputs')
    _check_twilio_reports(payload, _parse(TWILIO, payload))


def _inbound_parser(provider):
    """The adapter's own parse_inbound, or None while the inbound SMS work has not added it."""
    own = getattr(type(provider), 'parse_inbound', None)
    if own is None or own is getattr(SmsProvider, 'parse_inbound', None):
        return None
    return provider.parse_inbound


def _parse_inbound(provider, payload):
    """The parser's InboundSms list, or None for a MalformedCallback; anything else propagates (= bug)."""
    parse_inbound = _inbound_parser(provider)
    if parse_inbound is None:
        pytest.skip(f"{provider.name} has no parse_inbound yet")
    try:
        inbounds = parse_inbound(payload)
    except MalformedCallback:
        return None
    assert isinstance(inbounds, list) and inbounds, inbounds
    for inbound in inbounds:
        assert isinstance(inbound.provider_message_id, str) and inbound.provider_message_id.strip(), inbound
        assert isinstance(inbound.sender, str) and inbound.sender.strip(), inbound
        assert isinstance(inbound.recipient, str), inbound
        assert isinstance(inbound.body, str), inbound
        assert inbound.segments is None or isinstance(inbound.segments, int), inbound
        assert inbound.received_at is None or isinstance(inbound.received_at, datetime), inbound
        assert inbound.keyword in (None, 'stop', 'start', 'help'), inbound
    return inbounds


TWILIO_INBOUND_KEYS = ['MessageSid', 'SmsSid', 'From', 'To', 'Body', 'NumSegments', 'NumMedia', 'OptOutType', 'AccountSid']
OCTOPUSH_INBOUND_KEYS = ['message_id', 'number', 'text', 'reception_date', 'stop_date', 'sim_card_number']
OCTOPUSH_DATES = st.one_of(
    st.datetimes().map(str), st.datetimes().map(lambda d: d.isoformat()), st.text('0123456789-: T', max_size=25),
    st.sampled_from(['2026-11-21 10:00:00', '2026-02-30 10:00:00', '0000-00-00 00:00:00', '2026-11-21T10:00:00+01:00']))
TWILIO_INBOUND_PAYLOADS = _str_payloads(TWILIO_INBOUND_KEYS, [
    TWILIO_SIDS, st.text('+0123456789', max_size=16), st.sampled_from(['STOP', 'start', 'Help', 'other', ''])])
OCTOPUSH_INBOUND_PAYLOADS = _str_payloads(OCTOPUSH_INBOUND_KEYS, [st.text('+0123456789', max_size=16), OCTOPUSH_DATES])


@FUZZ
@given(payload=TWILIO_INBOUND_PAYLOADS)
def test_twilio_parse_inbound(payload):
    record('fuzz_inputs')
    inbounds = _parse_inbound(TWILIO, payload)
    if inbounds:
        (inbound,) = inbounds
        assert re.fullmatch(r'(SM|MM)[0-9a-fA-F]{32}', inbound.provider_message_id), inbound
        assert inbound.body == payload['Body']


@FUZZ_SMALL
@given(payload=_json_payloads(TWILIO_INBOUND_KEYS, [TWILIO_SIDS, st.text('+0123456789', max_size=16)]))
@example(payload={'MessageSid': 1})
@example(payload={'MessageSid': 'SM' + 'a' * 32, 'From': '+14155550100', 'To': '+15005550006', 'Body': 5})
def test_twilio_parse_inbound_of_json_bodies(payload):
    """The endpoint decodes JSON bodies for every gateway: a Twilio parser may see non-string values."""
    record('fuzz_inputs')
    _parse_inbound(TWILIO, payload)


@FUZZ
@given(payload=st.one_of(OCTOPUSH_INBOUND_PAYLOADS, _json_payloads(OCTOPUSH_INBOUND_KEYS, [OCTOPUSH_DATES])))
def test_octopush_parse_inbound(payload):
    """Octopush posts JSON: any value type may come under any key."""
    record('fuzz_inputs')
    inbounds = _parse_inbound(OCTOPUSH, payload)
    if inbounds:
        (inbound,) = inbounds
        assert isinstance(inbound.received_at, datetime)
        # replays of the same webhook give the same id
        assert _parse_inbound(OCTOPUSH, dict(payload))[0].provider_message_id == inbound.provider_message_id


URLS = st.one_of(
    st.text(max_size=80),
    st.builds(lambda scheme, host, port, path, query: f"{scheme}://{host}{port}/{path}{query}",
              st.sampled_from(['http', 'https', 'ftp', '']), st.sampled_from(['example.com', '127.0.0.1', 'ex.com:', '[::1]', 'Ünï.com']),
              st.sampled_from(['', ':8069', ':443', ':0']), st.text(max_size=30), st.sampled_from(['', '?a=b', '?bodySHA256=abc', '#x'])),
)
URL_PATH_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&()*+,=:@/'  # no ';': urlparse drops it
SIGNATURES = st.one_of(st.text(max_size=40), st.binary(min_size=20, max_size=20).map(lambda b: base64.b64encode(b).decode()))


@FUZZ
@example(url='https://odoo.example.com:abc/sms_connector/status/1/x', params={}, signature='0', header='X-Twilio-Signature')
@given(url=URLS, params=st.dictionaries(st.text(max_size=20), st.one_of(st.text(max_size=40), HUGE), max_size=8),
       signature=SIGNATURES, header=st.sampled_from(['X-Twilio-Signature', 'x-twilio-signature', None]))
def test_twilio_verify_signature_rejects_random_signatures(url, params, signature, header):
    record('fuzz_inputs')
    headers = {header: signature} if header else {}
    assert TWILIO.verify_signature(url, params, headers) is False
    unconfigured = TwilioProvider(GatewayConfig('twilio', '', account='AC' + '1' * 32, secret=''))
    assert unconfigured.verify_signature(url, params, headers) is False


@FUZZ_SMALL
@given(path=st.text(URL_PATH_CHARS, max_size=30), params=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=8))
def test_twilio_verify_signature_accepts_real_signatures(path, params):
    from twilio.request_validator import RequestValidator

    record('fuzz_inputs')
    url = 'https://odoo.example.com/sms_connector/status/1/' + path
    signature = RequestValidator('s3cr3t').compute_signature(url, params)
    assert TWILIO.verify_signature(url, params, {'X-Twilio-Signature': signature}) is True
    assert TWILIO.verify_signature(url, {**params, 'Forged': 'yes'}, {'X-Twilio-Signature': signature}) is False


# ---------------------------------------------------------------------------
# dispatcher
# ---------------------------------------------------------------------------
class InjectedFault(Exception):
    pass


FAULTS = st.sampled_from([InjectedFault, ValueError, KeyError, RuntimeError, ConnectionError, TimeoutError, ZeroDivisionError])


@st.composite
def chunk_plans(draw):
    """Chunks of unique message ids, each with its fault (or None) and a small delay."""
    sizes = draw(st.lists(st.integers(1, 6), max_size=25))
    plans, next_id = [], 0
    for size in sizes:
        ids = list(range(next_id, next_id + size))
        next_id += size
        fault = draw(st.one_of(st.none(), st.none(), FAULTS))
        delay = draw(st.sampled_from([0, 0, 0, 0.0005, 0.002]))
        plans.append((ids, fault, delay))
    return plans


def _plan_runner(plans, faults_seen):
    by_first = {ids[0]: (fault, delay) for ids, fault, delay in plans}

    def send(chunk):
        fault, delay = by_first[chunk[0]]
        if delay:
            time.sleep(delay)
        if fault:
            faults_seen.append(chunk[0])
            raise fault(f"injected for chunk {chunk[0]}")
        return [('ok', message_id, threading.current_thread().name) for message_id in chunk]
    return send


@FUZZ
@given(plans=chunk_plans(), workers=st.integers(1, 16), rate=st.sampled_from([0, 0, 0, 20_000.0]))
def test_run_requests_isolates_failures_and_keeps_order(plans, workers, rate):
    record('fuzz_inputs')
    faults_seen = []
    chunks = [ids for ids, _fault, _delay in plans]
    results = run_requests(_plan_runner(plans, faults_seen), chunks, max_workers=workers, rate=rate,
                           on_error=lambda chunk, exc: [('error', message_id, repr(exc)) for message_id in chunk])
    record('faults_injected', len(faults_seen))
    expected_ids = [message_id for ids in chunks for message_id in ids]
    assert len(results) == len(expected_ids)
    assert [result[1] for result in results] == expected_ids  # order preserved
    failing = {message_id for ids, fault, _delay in plans if fault for message_id in ids}
    for outcome, message_id, detail in results:
        assert (outcome == 'error') == (message_id in failing), (message_id, outcome)
        if outcome == 'error':  # a chunk's error never leaks into another chunk
            first = next(ids[0] for ids in chunks if message_id in ids)
            assert f"injected for chunk {first}" in detail
    assert sorted(faults_seen) == sorted(ids[0] for ids, fault, _delay in plans if fault)


@FUZZ_SMALL
@given(plans=chunk_plans(), workers=st.integers(1, 16))
def test_run_requests_without_on_error_raises_a_chunk_fault(plans, workers):
    record('fuzz_inputs')
    faults_seen = []
    chunks = [ids for ids, _fault, _delay in plans]
    try:
        results = run_requests(_plan_runner(plans, faults_seen), chunks, max_workers=workers)
    except Exception as exc:  # the first failing chunk's own exception, unchanged
        record('faults_injected', len(faults_seen))
        first_failing = next(ids for ids, fault, _delay in plans if fault)
        assert exc.args == (f"injected for chunk {first_failing[0]}",)
        return
    record('faults_injected', len(faults_seen))
    assert not any(fault for _ids, fault, _delay in plans)
    assert [result[1] for result in results] == [message_id for ids in chunks for message_id in ids]


class _FlakyProvider(SmsProvider):
    code = 'fuzz'

    def __init__(self, config, faults):
        super().__init__(config)
        self.faults = faults  # sms key -> exception class raised by the request carrying it

    def split_requests(self, batch):
        chunks, current = [], []
        for sms in batch:  # irregular chunks: a new request after every key ending in 0 or 7
            current.append(sms)
            if sms.key[-1] in '07':
                chunks.append(current)
                current = []
        return [*chunks, current] if current else chunks

    def send_request(self, chunk):
        for sms in chunk:
            if sms.key in self.faults:
                raise self.faults[sms.key]("boom")
        return [SendResult(sms.key, 'sent', provider_message_id=f"id-{sms.key}") for sms in chunk]


@FUZZ_SMALL
@given(faults=st.dictionaries(st.integers(0, 59), FAULTS, max_size=10), count=st.integers(0, 60), workers=st.integers(1, 16))
def test_provider_send_returns_one_result_per_message_in_order(faults, count, workers):
    record('fuzz_inputs')
    batch = [OutboundSms(f"k{index}", '+33612345678', 'hi') for index in range(count)]
    keys = {f"k{index}": fault for index, fault in faults.items()}
    provider = _FlakyProvider(GatewayConfig('fuzz', '', max_concurrency=workers), keys)
    chunks = provider.split_requests(batch)
    failing = {sms.key for chunk in chunks if any(sms.key in keys for sms in chunk) for sms in chunk}
    record('faults_injected', sum(1 for chunk in chunks if any(sms.key in keys for sms in chunk)))
    results = provider.send(batch)
    assert [result.key for result in results] == [sms.key for sms in batch]
    for result in results:
        if result.key in failing:  # never resent blindly: the outcome is unknown
            assert result.state == UNKNOWN and result.failure == 'server' and 'boom' in result.error_message
        else:
            assert (result.state, result.provider_message_id) == ('sent', f"id-{result.key}")


def test_example_numbers_cover_many_regions():
    """The example-number property draws from a wide pool (sanity of the generator itself)."""
    regions = {region for region, _example in example_numbers()}
    assert len(regions) > 200
