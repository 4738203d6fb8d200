"""Octopush API v1 adapter (``requests``), no ORM.

One request carries up to 500 recipients of the same text; ``request_id`` is derived from the
messages so that a retried request is refused by Octopush instead of being sent twice.
"""
import hashlib
import json
import re
import threading
from datetime import datetime

import requests

from odoo.addons.sms_connector.providers import (
    FAILED,
    SENT,
    UNKNOWN,
    Balance,
    Capabilities,
    Failure,
    InboundSms,
    MalformedCallback,
    ProviderError,
    SendResult,
    SmsProvider,
    StatusReport,
    register_provider,
)
from odoo.addons.sms_connector.providers.http import classify_http, transport_error

MAX_RECIPIENTS = 500
SENDER_RE = re.compile(r'^[A-Za-z0-9]{3,11}$')

# Octopush error code -> (outcome, failure category)
ERROR_CODES = {
    101: (FAILED, Failure.AUTH),  # bad login / api key
    104: (FAILED, Failure.CREDIT),  # not enough credit
    106: (FAILED, Failure.CONFIG),  # bad sender
    110: (FAILED, Failure.REJECTED),  # bad text
    111: (FAILED, Failure.CONFIG),  # bad type
    116: (FAILED, Failure.REJECTED),  # too many recipients
    117: (FAILED, Failure.NUMBER_FORMAT),  # no valid number
    121: (FAILED, Failure.REJECTED),  # "STOP au XXXXX" missing in a marketing SMS
}
DUPLICATE_REQUEST = 120  # this request_id was accepted before: the SMS left, its ticket is unknown
OPT_OUT_STATUS = 'BLACKLISTED_NUMBER'
# Longest campaign text Octopush recommends (its "Test campaign" rule).
CAMPAIGN_MAX_LENGTH = 489

STATUS_MAP = {
    'ACK': 'sent',
    'DELIVERED': 'delivered',
    'NOT_DELIVERED': 'failed',
    'NOT_ALLOWED': 'failed',
    'BAD_DESTINATION': 'failed',
    'BLACKLISTED_NUMBER': 'failed',
    'UNKNOWN_DELIVERY': 'failed',
    'UNDEFINED': 'failed',
}
STATUS_MESSAGES = {
    'NOT_DELIVERED': "Not delivered by the carrier.",
    'NOT_ALLOWED': "The destination does not allow this message.",
    'BAD_DESTINATION': "Invalid destination number.",
    'BLACKLISTED_NUMBER': "The recipient is on Octopush's blacklist (replied STOP).",
    'UNKNOWN_DELIVERY': "The carrier could not confirm delivery.",
    'UNDEFINED': "Undefined delivery status.",
}


def request_id_for(chunk):
    """Stable id of a request: the same messages always give the same id."""
    return hashlib.sha256(','.join(sorted(sms.key for sms in chunk)).encode()).hexdigest()[:40]


@register_provider
class OctopushProvider(SmsProvider):
    code = 'octopush'
    name = 'Octopush'
    default_base_url = 'https://api.octopush.com/v1/public'
    # Octopush refuses a request_id it already accepted (24 h): a repeated request never sends twice
    capabilities = Capabilities(
        idempotent_requests=True, simulation=True, max_text_length=1224, campaign_max_length=CAMPAIGN_MAX_LENGTH,
        max_recipients_per_request=MAX_RECIPIENTS, safe_concurrency=4)

    def __init__(self, config):
        super().__init__(config)
        self._local = threading.local()

    def _session(self):
        session = getattr(self._local, 'session', None)
        if session is None:
            session = requests.Session()
            session.headers.update({
                'api-login': self.config.account, 'api-key': self.config.secret,
                'Content-Type': 'application/json', 'Accept': 'application/json',
            })
            self._local.session = session
        return session

    def _url(self, path):
        return f"{(self.config.base_url or self.default_base_url).rstrip('/')}/{path.lstrip('/')}"

    # sending ---------------------------------------------------------------
    def request_key(self, chunk):
        return request_id_for(chunk)

    def build_payload(self, chunk):
        first = chunk[0]
        payload = {
            'recipients': [{'phone_number': sms.number} for sms in chunk],
            'text': first.body,
            'type': self.config.options.get('sms_type') or 'sms_premium',
            'purpose': 'wholesale' if first.purpose == 'marketing' else 'alert',
            'request_id': first.request_key or request_id_for(chunk),
            'with_replies': bool(self.config.options.get('with_replies')),
        }
        sender = _sender(first.sender) or _sender(self.config.sender)
        if sender:
            payload['sender'] = sender
        if self.config.options.get('simulation_mode'):
            payload['simulation_mode'] = True
        return payload

    def send_request(self, chunk):
        def all_(state, **values):
            return [SendResult(sms.key, state, **values) for sms in chunk]

        try:
            response = self._session().post(
                self._url('sms-campaign/send'), json=self.build_payload(chunk), timeout=self.config.timeout)
        except requests.exceptions.RequestException as exc:
            fields = transport_error(exc, self.name) or {
                'state': UNKNOWN, 'failure': Failure.SERVER, 'error_message': f"Octopush request failed: {exc}"}
            return all_(fields.pop('state'), **fields)

        data = _json(response)
        if response.status_code in (200, 201) and data.get('sms_ticket'):
            count = max(int(data.get('number_of_contacts') or len(chunk)), 1)
            total_cost = data.get('total_cost')
            needed = data.get('number_of_sms_needed')
            return all_(
                SENT, provider_message_id=data['sms_ticket'],
                cost=round(float(total_cost) / count, 6) if total_cost is not None else None,
                currency='EUR' if total_cost is not None else None,
                segments=max(int(needed) // count, 1) if needed else None,
            )
        if response.status_code in (200, 201):
            return all_(UNKNOWN, error_message="Octopush accepted the request without a ticket.", failure=Failure.SERVER)
        code = _int(data.get('code') or data.get('error_code'))
        message = data.get('message') or data.get('error') or f"Octopush answered HTTP {response.status_code}"
        if code == DUPLICATE_REQUEST:
            # no ticket: the engine learns it from the first delivery report of the request
            return all_(SENT, error_message="Octopush had already accepted this request (duplicate request_id).")
        if code in ERROR_CODES:
            state, failure = ERROR_CODES[code]
        else:
            state, failure = classify_http(response.status_code)
        retry_after = _float(response.headers.get('Retry-After'))
        return all_(state, error_code=str(code or response.status_code), error_message=message, failure=failure,
                    retry_after=retry_after)

    # callbacks ---------------------------------------------------------------
    def parse_status(self, data):
        if any(isinstance(data.get(key), (dict, list)) for key in ('message_id', 'number', 'status')):
            raise MalformedCallback("message_id, number and status must be plain values")
        ticket = str(data.get('message_id') or '').strip()
        number = str(data.get('number') or '').strip()
        raw = str(data.get('status') or '').strip().upper()
        if not ticket or not number:
            raise MalformedCallback("message_id and number are required")
        if raw not in STATUS_MAP:
            raise MalformedCallback(f"Unknown status {raw!r}")
        if not number.startswith('+') and number.isdigit():
            number = '+' + number
        failed = STATUS_MAP[raw] == 'failed'
        return [StatusReport(
            provider_message_id=ticket, number=number, status=STATUS_MAP[raw], raw_status=raw,
            error_code=raw if failed else None, error_message=STATUS_MESSAGES.get(raw) if failed else None,
            opted_out=raw == OPT_OUT_STATUS,
        )]

    def parse_inbound(self, data):
        """A reply (``reception_date``) or a STOP notification (``stop_date``).

        Octopush gives no id of its own: ``message_id`` is the ticket of the SMS answered and
        dates have one-second precision, so the id is ticket, number, date and a digest of every
        field: a replay keeps it, another reply or a STOP in the same second does not.
        """
        if any(isinstance(data.get(key), (dict, list)) for key in ('message_id', 'number', 'text', 'sim_card_number')):
            raise MalformedCallback("message_id, number, text and sim_card_number must be plain values")
        ticket = str(data.get('message_id') or '').strip()
        number = str(data.get('number') or '').strip()
        text = data.get('text')
        reception_date = str(data.get('reception_date') or '').strip()
        stop_date = str(data.get('stop_date') or '').strip()
        if not ticket or not number:
            raise MalformedCallback("message_id and number are required")
        if not isinstance(text, str) and not stop_date:
            raise MalformedCallback("text is required")
        if not reception_date and not stop_date:
            raise MalformedCallback("reception_date or stop_date is required")
        if not number.startswith('+') and number.isdigit():
            number = '+' + number
        date = reception_date or stop_date
        received_at = _datetime(date)
        if received_at is None:
            raise MalformedCallback(f"Unreadable date {date!r}")
        return [InboundSms(
            provider_message_id=f"{ticket}:{number}:{date}:{_digest(data)}", sender=number,
            recipient=str(data.get('sim_card_number') or '').strip(), body=text if isinstance(text, str) else '',
            received_at=received_at, keyword=None if reception_date else 'stop',
        )]

    # account -------------------------------------------------------------------
    def balance(self):
        try:
            response = self._session().get(self._url('wallet/check-balance'), timeout=self.config.timeout)
        except requests.exceptions.RequestException as exc:
            raise ProviderError(f"Octopush unreachable: {exc}") from exc
        data = _json(response)
        if response.status_code != 200 or 'amount' not in data:
            raise ProviderError(
                data.get('message') or f"Octopush answered HTTP {response.status_code}", code=data.get('code'),
                status=response.status_code)
        unit = str(data.get('unit') or '').lower()
        return Balance(amount=float(data['amount']), currency='EUR' if unit in ('euros', 'euro', 'eur') else unit.upper())

    def check(self):
        if not self.config.account or not self.config.secret:
            raise ProviderError("The api-login and api-key are required.")
        balance = self.balance()
        return f"Octopush answered; balance {balance.amount} {balance.currency}."


def _sender(value):
    """``value`` as an Octopush sender (3-11 alphanumerics: a number without its '+'), or ''."""
    value = (value or '').strip().removeprefix('+')
    return value if SENDER_RE.match(value) else ''


def _digest(data):
    """Short digest of a callback's fields, whatever their order."""
    raw = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _json(response):
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


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


def _datetime(value):
    """Octopush dates (``Y-m-d H:i:s``, ISO 8601 tolerated), or None."""
    for fmt in ('%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S'):
        try:
            return datetime.strptime(value[:19], fmt)
        except ValueError:
            continue
    return None
