"""The retry policy as one value object, built from the system parameters. No ORM.

Why: a provider outage must not turn into a hammering loop, many workers retrying at the same
instant would all hit the provider together (exponential backoff with jitter), and an outcome
that may hide an accepted SMS must never be retried blindly. Every such decision is made here.
"""
import random
from dataclasses import dataclass
from enum import StrEnum

from ..providers.base import FAILED, RETRY, SENT, UNKNOWN, Failure


class Action(StrEnum):
    RECORD_SENT = 'sent'
    RETRY = 'retry'  # queue again after ``delay`` seconds
    FAIL = 'fail'  # final: the provider refused it, or attempts are exhausted
    TO_CHECK = 'to_check'  # may have been accepted: never resent without a lookup or a manager


@dataclass(frozen=True)
class Decision:
    action: Action
    delay: float = 0.0
    failover: bool = False  # a certain refusal by an unavailable provider: try the next gateway


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    jitter: float = 0.5  # up to +50 %
    stale_after_seconds: int = 3600  # a claim older than this belongs to a crashed worker
    recheck_after_seconds: int = 3600  # how often "To check" SMS are looked up again

    PARAMS = {
        'max_attempts': ('sms_connector.max_attempts', int),
        'base_seconds': ('sms_connector.retry_base_seconds', float),
        'stale_after_seconds': ('sms_connector.stale_after_seconds', int),
        'recheck_after_seconds': ('sms_connector.recheck_after_seconds', int),
    }

    @classmethod
    def from_params(cls, get_param):
        """Build from ``ir.config_parameter.get_param``; unreadable values keep the default."""
        values = {}
        for attr, (key, cast) in cls.PARAMS.items():
            raw = get_param(key)
            if raw in (None, False, ''):
                continue
            try:
                values[attr] = max(cast(raw), 0)
            except (TypeError, ValueError):
                continue
        return cls(**values)

    def delay(self, attempts, retry_after=None, rand=random.random):
        """Seconds before the next attempt, ``attempts`` having been made (counts from 1)."""
        delay = min(self.cap_seconds, self.base_seconds * (2 ** max(attempts - 1, 0)))
        delay *= 1 + self.jitter * rand()
        if retry_after:
            delay = max(delay, float(retry_after))
        return delay

    def decide(self, result, attempts, rand=random.random):
        """What to do with one send outcome (a SendResult) after ``attempts`` attempts."""
        if result.state == SENT:
            return Decision(Action.RECORD_SENT)
        if result.state == UNKNOWN:
            return Decision(Action.TO_CHECK)
        if result.state == RETRY:
            if attempts >= self.max_attempts:
                return Decision(Action.FAIL)
            certain = not result.maybe_accepted
            return Decision(Action.RETRY, self.delay(attempts, result.retry_after, rand),
                            failover=certain and result.failure == Failure.SERVER)
        if result.state == FAILED:
            return Decision(Action.FAIL)
        raise ValueError(f"Unknown send outcome {result.state!r}")
