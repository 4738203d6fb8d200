"""Provider adapter contract: plain Python, no ORM, testable without a database.

Each provider addon subclasses :class:`SmsProvider` and registers it with
:func:`sms_connector.providers.registry.register_provider`. Models build a
:class:`GatewayConfig` from an ``sms.gateway`` record and only exchange plain data with it.
"""
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ..engine.dispatcher import AdaptiveWindow, run_requests
from ..tools.redact import redact

# Normalised outcome of one send attempt.
SENT = "sent"  # the provider accepted the message
FAILED = "failed"  # the provider refused it; sending it again cannot succeed as is
RETRY = "retry"  # certainly not accepted (timeout before sending, 429, 5xx); safe to retry
UNKNOWN = "unknown"  # the provider may have accepted it (connection lost after sending)


class Failure(StrEnum):
    """Why a provider did not accept an SMS, in words the core understands.

    Adapters translate their own codes (Twilio 21610, Octopush 117, ...) into these; the core
    maps every member explicitly (``engine.lifecycle.REASONS``) and never sees a raw code.
    """

    NUMBER_FORMAT = "number_format"
    OPTED_OUT = "opted_out"  # the recipient replied STOP to the provider
    CREDIT = "credit"
    AUTH = "auth"
    CONFIG = "config"  # bad sender, bad account settings
    COUNTRY = "country"  # destination not enabled
    SERVER = "server"  # outage, 5xx, transport error
    RATE_LIMITED = "rate_limited"
    REJECTED = "rejected"  # refused for its content or destination
    UNKNOWN = "unknown"  # the adapter could not tell


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can do, so that the core asks instead of testing provider names."""

    idempotent_requests: bool = False  # resending a request (same request_key) can never deliver twice
    lookup: bool = False  # messages can be searched after an unknown outcome
    simulation: bool = False  # a campaign can be checked by the provider without sending
    max_text_length: int = 1600  # longest text one SMS request accepts
    campaign_max_length: int = 0  # longest campaign text the provider recommends (0: max_text_length)
    max_recipients_per_request: int = 1
    safe_concurrency: int = 8  # in-flight requests the provider documents as safe

# Normalised delivery states from status callbacks, by progress rank.
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2, "canceled": 2}


@dataclass(frozen=True)
class GatewayConfig:
    """What a provider needs to talk to one account."""

    provider: str
    base_url: str
    account: str = ""  # Twilio Account SID, Octopush api-login
    secret: str = ""  # Twilio auth token, Octopush api-key
    sender: str = ""  # default From number / sender name
    status_url: str = ""  # where the provider should post delivery reports
    max_concurrency: int = 64
    rate_limit: float = 0.0  # messages per second, 0 = unlimited
    timeout: float = 15.0
    options: dict = field(default_factory=dict)  # provider specific settings


@dataclass(frozen=True)
class OutboundSms:
    key: str  # our unique id (sms.sms uuid)
    number: str  # E.164
    body: str
    purpose: str = "transactional"  # or 'marketing'
    sender: str = ""
    request_key: str = ""  # provider request this message belongs to (kept across retries)


@dataclass
class SendResult:
    key: str
    state: str  # SENT, FAILED, RETRY or UNKNOWN
    provider_message_id: str | None = None
    segments: int | None = None
    cost: float | None = None
    currency: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    failure: Failure | None = None
    retry_after: float | None = None
    # UNKNOWN after a timeout: the provider may still be processing the request, so not
    # finding the message there yet does not prove it was not sent
    maybe_in_flight: bool = False
    # set by the engine: a RETRY that is not a certain refusal (an idempotent request repeated
    # after an unknown outcome) must keep its gateway and request key
    maybe_accepted: bool = False
    # set by the engine: what a lookup found for an UNKNOWN outcome (SendResult list), or None
    # when the lookup itself failed; the engine decides in its transaction
    candidates: list | None = None
    lookup_error: str | None = None


@dataclass
class StatusReport:
    provider_message_id: str
    status: str  # a key of STATUS_RANK
    number: str | None = None  # Octopush identifies a recipient by ticket + number
    raw_status: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    segments: int | None = None
    cost: float | None = None
    currency: str | None = None
    opted_out: bool = False  # the provider says the recipient replied STOP (e.g. Twilio 21610)


@dataclass
class InboundSms:
    """One SMS a customer sent to one of our numbers, as the provider reported it."""

    provider_message_id: str  # unique per gateway: replays of the same webhook are ignored
    sender: str  # the customer's number (E.164 when the provider gives it)
    recipient: str  # our number it arrived on
    body: str
    segments: int | None = None
    received_at: datetime | None = None
    keyword: str | None = None  # opt-out handling the provider already detected: 'stop', 'start', 'help'


@dataclass
class Balance:
    amount: float
    currency: str


class ProviderError(Exception):
    """A provider call that failed, with a message fit to show to any user (credentials redacted)."""

    def __init__(self, message, code=None, status=None):
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class MalformedCallback(ValueError):
    """A callback whose body cannot be understood: answered with 400, nothing written."""


class LookupFailed(Exception):
    """The provider could not be asked (429, 5xx, timeout): says nothing about the message."""


class SmsProvider:
    """Base class of the provider adapters."""

    code = ""
    name = ""
    default_base_url = ""
    capabilities = Capabilities()

    def __init__(self, config):
        self.config = config
        # kept with the adapter, which the gateway reuses across batches: connections stay alive
        self.window = AdaptiveWindow(self.capabilities.safe_concurrency, config.max_concurrency)
        self._executor = None
        self._executor_lock = threading.Lock()

    def executor(self):
        """The adapter's long-lived thread pool (its threads keep their keep-alive sessions)."""
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=max(1, self.config.max_concurrency), thread_name_prefix=f"sms-{self.code}")
            return self._executor

    def close(self):
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._executor = None

    # sending ---------------------------------------------------------------
    def send(self, batch):
        """Send ``batch`` (OutboundSms list) concurrently; one SendResult per message, in order."""
        results = self.send_chunks(self.split_requests(batch))
        by_key = {result.key: result for result in results}
        return [by_key[sms.key] for sms in batch]

    def send_chunks(self, chunks, max_workers=None, rate=None):
        """Send already grouped requests; requests run in a bounded pool honouring the gateway's
        concurrency and rate limits (or the share of them the caller holds), and a failing
        request only fails its own messages."""
        results = run_requests(
            self.send_request, chunks,
            max_workers=self.config.max_concurrency if max_workers is None else max_workers,
            rate=self.config.rate_limit if rate is None else rate,
            on_error=self._unexpected_error_results,
            window=self.window,
            executor=self.executor() if len(chunks) > 1 else None,
            is_throttled=lambda results: any(r.failure == Failure.RATE_LIMITED for r in results),
        )
        for result in results:  # error texts reach the SMS log, the chatter and notifications
            result.error_message = self.redact(result.error_message)
        return results

    def split_requests(self, batch):
        """Group messages into provider requests (one per message unless the API batches)."""
        size = self.capabilities.max_recipients_per_request
        if size <= 1:
            return [[sms] for sms in batch]
        groups = {}
        for sms in batch:
            groups.setdefault((sms.body, sms.purpose, sms.sender), []).append(sms)
        return [group[start:start + size] for group in groups.values() for start in range(0, len(group), size)]

    def redact(self, text):
        """``text`` without this account's credentials nor anything that looks like one."""
        return redact(text, (self.config.account, self.config.secret))

    def request_key(self, chunk):
        """Identity of a request, stored before sending so that a retry can repeat it exactly."""
        return chunk[0].key

    def lookup(self, sms, since):
        """Messages at the provider that may be ``sms``, sent since ``since``: SENT SendResults.

        An empty list means "not there"; LookupFailed means "could not ask", which proves
        nothing. Only adapters declaring ``capabilities.lookup`` implement it.
        """
        raise NotImplementedError

    def send_request(self, chunk):
        """Perform one provider request for ``chunk``; return one SendResult per message."""
        raise NotImplementedError

    def _unexpected_error_results(self, chunk, exc):
        # We cannot know whether the provider accepted the request: never resend blindly.
        return [
            SendResult(sms.key, UNKNOWN, error_message=f"Unexpected error while sending: {exc}", failure=Failure.SERVER)
            for sms in chunk
        ]

    # callbacks ---------------------------------------------------------------
    def verify_signature(self, url, params, headers):
        """Whether a callback really comes from the provider (beyond the URL token)."""
        return True

    def parse_status(self, data):
        """Turn a delivery report payload into StatusReport objects; MalformedCallback if unusable."""
        raise NotImplementedError

    # inbound SMS ------------------------------------------------------------------
    inline_replies = False  # whether the webhook answer itself can carry reply SMS (Twilio's TwiML)

    def parse_inbound(self, data):
        """Turn an inbound SMS webhook payload into InboundSms objects; MalformedCallback if unusable."""
        raise NotImplementedError

    def inbound_answer(self, replies):
        """HTTP answer to an inbound webhook, as (body, content type).

        :param replies: texts to send back to the sender in the answer (only if ``inline_replies``)
        """
        return '', None

    # account -------------------------------------------------------------------
    def balance(self):
        """Remaining credit of the account, as a Balance; ProviderError on failure."""
        raise NotImplementedError

    def check(self):
        """Check that the service answers and accepts the credentials; a message, ProviderError otherwise."""
        raise NotImplementedError
