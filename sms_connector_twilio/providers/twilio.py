"""Twilio Programmable Messaging adapter (official ``twilio`` SDK), no ORM."""
import logging
import os
import re
import threading
from urllib.parse import urlencode, urlsplit
from xml.sax.saxutils import escape as xml_escape

import requests
import urllib3
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from odoo.addons.sms_connector.providers import (
    FAILED,
    RETRY,
    SENT,
    UNKNOWN,
    Balance,
    Capabilities,
    Failure,
    InboundSms,
    LookupFailed,
    MalformedCallback,
    ProviderError,
    SendResult,
    SmsProvider,
    StatusReport,
    register_provider,
)
from odoo.addons.sms_connector.providers.http import classify_http, transport_error

SID_RE = re.compile(r'(SM|MM)[0-9a-fA-F]{32}')
XML_INVALID_RE = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f]')  # not allowed in XML 1.0
SDK_PREFIX_RE = re.compile(r'^Unable to \w+ record: ')  # the SDK's prefix on Twilio's error message
OBJECT_REPR_RE = re.compile(r'<[\w.]+ object at 0x[0-9a-fA-F]+>: ')  # urllib3 names its connection objects

# The SDK logs every request and response (headers included) at INFO: keep it out of Odoo's
# logs, for the credentials' sake and because it costs more than the request itself.
_sdk_logger = logging.getLogger(__name__ + '.sdk')
_sdk_logger.setLevel(logging.WARNING)
OPT_OUT_TYPES = ('stop', 'start', 'help')  # Advanced Opt-Out's OptOutType, lower-cased

OPT_OUT_CODE = 21610  # the recipient replied STOP: refused at sending, or reported as undelivered
# Twilio error code -> (outcome, failure category). See https://www.twilio.com/docs/api/errors
ERROR_CODES = {
    20003: (FAILED, Failure.AUTH),  # authentication failed
    20429: (RETRY, Failure.RATE_LIMITED),  # too many concurrent requests: never processed
    21211: (FAILED, Failure.NUMBER_FORMAT),  # invalid 'To' number
    21408: (FAILED, Failure.COUNTRY),  # region not enabled
    21602: (FAILED, Failure.REJECTED),  # body required
    21603: (FAILED, Failure.CONFIG),  # 'From' required
    21604: (FAILED, Failure.NUMBER_FORMAT),  # 'To' required
    21606: (FAILED, Failure.CONFIG),  # 'From' not a valid, SMS-capable number
    OPT_OUT_CODE: (FAILED, Failure.OPTED_OUT),  # recipient replied STOP
    21611: (RETRY, Failure.RATE_LIMITED),  # sender queue full
    21612: (FAILED, Failure.REJECTED),  # cannot route to this number
    21614: (FAILED, Failure.NUMBER_FORMAT),  # not a mobile number
    21617: (FAILED, Failure.REJECTED),  # body too long
}

# Delivery failure codes reported in status callbacks.
DELIVERY_ERRORS = {
    '30001': "Queue overflow at Twilio.",
    '30002': "Twilio account suspended.",
    '30003': "Unreachable destination handset.",
    '30004': "Message blocked by the recipient or carrier.",
    '30005': "Unknown destination handset.",
    '30006': "Landline or unreachable carrier.",
    '30007': "Filtered by the carrier (spam or content rules).",
    '30008': "Unknown delivery error.",
    '21610': "The recipient replied STOP.",
}

STATUS_MAP = {
    'accepted': 'queued', 'scheduled': 'queued', 'queued': 'queued', 'sending': 'queued',
    'sent': 'sent', 'delivered': 'delivered', 'read': 'delivered',
    'undelivered': 'failed', 'failed': 'failed', 'canceled': 'canceled',
}


class _HeaderKeepingHttpClient(TwilioHttpClient):
    """Keeps the last response's headers: the SDK's exceptions drop them (Retry-After)."""

    last_headers = None

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        self.last_headers = response.headers
        return response


class _PooledHttpClient(HttpClient):
    """The SDK's transport on a keep-alive urllib3 connection pool (what ``requests`` runs on).

    Why: ``requests`` prepares, merges settings and cookies, and parses the URL five times per
    call; that cost more CPU than the rest of sending an SMS. Same semantics as the SDK's own
    client for what the engine relies on: no retry, no redirect, the same timeout, TLS verified
    against the same CA bundle, and transport errors raised as the ``requests`` exceptions that
    ``providers.http.transport_error`` classifies. Used when no proxy applies (else the SDK's
    ``requests`` client, which honours the proxy settings of the environment).
    """

    last_headers = None

    def __init__(self, timeout):
        super().__init__(_sdk_logger, False, timeout)
        ca_bundle = os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE') or requests.certs.where()
        tls = {'ca_cert_dir' if os.path.isdir(ca_bundle) else 'ca_certs': ca_bundle}
        self._manager = urllib3.PoolManager(num_pools=4, maxsize=1, cert_reqs='CERT_REQUIRED', **tls)
        self._pools = {}
        self._auth = {}

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        parts = urlsplit(url)
        pool = self._pools.get((parts.scheme, parts.netloc))
        if pool is None:
            pool = self._pools[parts.scheme, parts.netloc] = self._manager.connection_from_url(url)
        headers = dict(headers or {})
        if auth:
            if auth not in self._auth:
                self._auth[auth] = urllib3.make_headers(basic_auth=f'{auth[0]}:{auth[1]}')['authorization']
            headers['Authorization'] = self._auth[auth]
        body = None
        if data:
            body = urlencode(data, doseq=True).encode()
            headers.setdefault('Content-Type', 'application/x-www-form-urlencoded')
        target = parts.path + (f'?{parts.query}' if parts.query else '')
        if params:
            target += ('&' if parts.query else '?') + urlencode(params, doseq=True)
        try:
            response = pool.urlopen(method.upper(), target, body=body, headers=headers, retries=False,
                                    redirect=allow_redirects, assert_same_host=False, timeout=timeout or self.timeout)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _requests_error(exc, f"{method.upper()} {parts.scheme}://{parts.netloc}{parts.path}") from exc
        self.last_headers = response.headers
        return Response(response.status, response.data.decode('utf-8', 'replace'), response.headers)


def _requests_error(exc, where):
    """The ``requests`` exception ``requests`` itself raises for this urllib3 (or socket) error."""
    errors = urllib3.exceptions
    text = f"{where}: {OBJECT_REPR_RE.sub('', str(exc))}"
    if isinstance(exc, errors.NewConnectionError):  # refused, unresolvable: the request never left
        if 'Failed to establish' not in text:
            text = f"{where}: Failed to establish a new connection: {OBJECT_REPR_RE.sub('', str(exc))}"
        return requests.exceptions.ConnectionError(text)
    if isinstance(exc, errors.ConnectTimeoutError):
        return requests.exceptions.ConnectTimeout(text)
    if isinstance(exc, errors.ReadTimeoutError):
        return requests.exceptions.ReadTimeout(text)
    if isinstance(exc, errors.SSLError):
        return requests.exceptions.SSLError(text)
    if isinstance(exc, (errors.ProtocolError, errors.ClosedPoolError, OSError)):
        return requests.exceptions.ConnectionError(text)  # lost after the request may have left
    return requests.exceptions.RequestException(text)


@register_provider
class TwilioProvider(SmsProvider):
    code = 'twilio'
    name = 'Twilio'
    default_base_url = 'https://api.twilio.com'
    capabilities = Capabilities(lookup=True, max_text_length=1600, safe_concurrency=8)

    def __init__(self, config):
        super().__init__(config)
        self._local = threading.local()

    def _client(self):
        """One SDK client (and HTTP keep-alive connection) per worker thread, reused across batches."""
        client = getattr(self._local, 'client', None)
        if client is None:
            base_url = self.config.base_url or self.default_base_url
            if requests.utils.select_proxy(base_url, requests.utils.get_environ_proxies(base_url)):
                http_client = _HeaderKeepingHttpClient(
                    pool_connections=True, timeout=self.config.timeout, logger=_sdk_logger)
            else:
                http_client = _PooledHttpClient(self.config.timeout)
            # A non-empty environment: the SDK falls back to os.environ for an empty one, and
            # TWILIO_REGION / TWILIO_EDGE there would rewrite the configured host.
            client = Client(self.config.account, self.config.secret, http_client=http_client,
                            environment={'TWILIO_REGION': '', 'TWILIO_EDGE': ''})
            client.api.base_url = base_url
            self._local.client = client
        return client

    # sending ---------------------------------------------------------------
    def send_request(self, chunk):
        (sms,) = chunk
        params = {'to': sms.number, 'body': sms.body}
        sender = sms.sender or self.config.sender
        service_sid = self.config.options.get('messaging_service_sid')
        if sender:
            params['from_'] = sender
        if service_sid:
            params['messaging_service_sid'] = service_sid
        if self.config.status_url:
            params['status_callback'] = self.config.status_url
        try:
            message = self._client().messages.create(**params)
        except TwilioRestException as exc:
            result = self._error_result(sms.key, exc)
            if result.state == RETRY:
                result.retry_after = _float((self._client().http_client.last_headers or {}).get('Retry-After'))
            return [result]
        except requests.exceptions.RequestException as exc:
            return [SendResult(sms.key, **(transport_error(exc, self.name) or {
                'state': UNKNOWN, 'failure': Failure.SERVER, 'error_message': f"Twilio request failed: {exc}"}))]
        except (TwilioException, ValueError) as exc:
            # e.g. an unparsable 2xx body: Twilio may have accepted the message
            return [SendResult(sms.key, UNKNOWN, error_message=f"Unreadable Twilio answer: {exc}", failure=Failure.SERVER)]
        return [SendResult(
            sms.key, SENT,
            provider_message_id=message.sid,
            segments=_int(message.num_segments),
            cost=abs(float(message.price)) if message.price not in (None, '') else None,
            currency=(message.price_unit or '').upper() or None,
        )]

    def _error_result(self, key, exc):
        # Twilio error codes have 5 digits; on an unparsable body the SDK copies the HTTP status there.
        code = exc.code if isinstance(exc.code, int) and exc.code >= 10000 else None
        message = exc.msg if isinstance(exc.msg, str) else str(exc)
        message = SDK_PREFIX_RE.sub('', message)  # "Unable to create record: " says nothing to a user
        if code in ERROR_CODES:
            state, failure = ERROR_CODES[code]
        else:
            state, failure = classify_http(exc.status or 400)
        if code is None:  # not a Twilio error body (proxy page, outage): the SDK's text says nothing
            message = f"Twilio answered HTTP {exc.status}"
        return SendResult(
            key, state, error_code=str(code or exc.status or ''), error_message=message or f"HTTP {exc.status}",
            failure=failure)

    def lookup(self, sms, since):
        """Twilio creates the message resource when it accepts the request: search it."""
        try:
            messages = self._client().messages.list(to=sms.number, limit=50)
        except (TwilioException, requests.exceptions.RequestException) as exc:
            raise LookupFailed(_describe(exc)) from exc
        return [
            SendResult(sms.key, SENT, provider_message_id=message.sid, segments=_int(message.num_segments))
            for message in messages
            if message.body == sms.body and (message.date_created is None or since is None or message.date_created >= since)
        ]

    # callbacks ---------------------------------------------------------------
    def verify_signature(self, url, params, headers):
        signature = headers.get('X-Twilio-Signature', '')
        if not signature or not self.config.secret:
            return False
        try:
            return RequestValidator(self.config.secret).validate(url, params, signature)
        except (ValueError, TypeError):  # e.g. an unparsable port in the URL: not a valid request
            return False

    def parse_status(self, data):
        sid = _text(data, 'MessageSid') or _text(data, 'SmsSid')
        raw = (_text(data, 'MessageStatus') or _text(data, 'SmsStatus')).lower()
        if not SID_RE.fullmatch(sid):
            raise MalformedCallback("MessageSid missing or malformed")
        if raw not in STATUS_MAP:
            raise MalformedCallback(f"Unknown MessageStatus {raw!r}")
        error_code = _text(data, 'ErrorCode').strip() or None
        error_message = None
        if STATUS_MAP[raw] == 'failed':
            error_message = _text(data, 'ErrorMessage') or DELIVERY_ERRORS.get(error_code or '') or f"Twilio status {raw}"
        return [StatusReport(
            provider_message_id=sid, status=STATUS_MAP[raw], raw_status=raw, error_code=error_code,
            error_message=error_message, segments=_int(_text(data, 'NumSegments')),
            opted_out=error_code == str(OPT_OUT_CODE),
        )]

    inline_replies = True  # TwiML <Message> in the webhook answer

    def parse_inbound(self, data):
        if any(value is not None and not isinstance(value, str) for value in data.values()):
            raise MalformedCallback("Twilio posts text fields only")
        sid = (data.get('MessageSid') or data.get('SmsSid') or '').strip()
        sender = (data.get('From') or '').strip()
        recipient = (data.get('To') or '').strip()
        if not SID_RE.fullmatch(sid):
            raise MalformedCallback("MessageSid missing or malformed")
        if not sender or not recipient:
            raise MalformedCallback("From and To are required")
        body = data.get('Body')
        if body is None:
            raise MalformedCallback("Body is missing")
        opt_out = (data.get('OptOutType') or '').strip().lower()
        return [InboundSms(
            provider_message_id=sid, sender=sender, recipient=recipient, body=body,
            segments=_int(data.get('NumSegments')), keyword=opt_out if opt_out in OPT_OUT_TYPES else None,
        )]

    def inbound_answer(self, replies):
        """Empty TwiML, or one <Message> per reply (Twilio sends them to the sender)."""
        messages = ''.join(f'<Message>{xml_escape(XML_INVALID_RE.sub("", text))}</Message>' for text in replies if text)
        body = f'<Response>{messages}</Response>' if messages else '<Response />'
        return f'<?xml version="1.0" encoding="UTF-8"?>{body}', 'text/xml'

    # account -------------------------------------------------------------------
    def balance(self):
        try:
            result = self._client().api.v2010.account.balance.fetch()
        except (TwilioException, requests.exceptions.RequestException) as exc:
            raise ProviderError(_describe(exc)) from exc
        return Balance(amount=float(result.balance), currency=result.currency)

    def check(self):
        if not self.config.account or not self.config.secret:
            raise ProviderError("Account SID and auth token are required.")
        try:
            account = self._client().api.v2010.accounts(self.config.account).fetch()
        except (TwilioException, requests.exceptions.RequestException) as exc:
            raise ProviderError(_describe(exc)) from exc
        if account.status != 'active':
            raise ProviderError(f"Twilio account {account.friendly_name} is {account.status}.")
        return f"Twilio account {account.friendly_name} is active."


def _text(data, key):
    """A callback field as text; anything else (JSON numbers, lists) is a malformed callback."""
    value = data.get(key)
    if value is None:
        return ''
    if not isinstance(value, str):
        raise MalformedCallback(f"{key} must be a string")
    return value


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _describe(exc):
    if isinstance(exc, TwilioRestException):
        return f"{exc.msg} (HTTP {exc.status}, code {exc.code})"
    return str(exc)

