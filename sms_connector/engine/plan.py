"""What one engine batch sends, built inside a transaction and run outside of it. No ORM.

The plan only talks to providers; what their answers mean for each SMS (sent, retry, to
check) is decided afterwards by the engine model, in the transaction that records it.
"""
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..providers.base import RETRY, UNKNOWN, LookupFailed


@dataclass
class SendGroup:
    gateway_id: int
    provider: object  # SmsProvider
    chunks: list  # list[list[OutboundSms]], one provider request each


@dataclass
class SendPlan:
    groups: list = field(default_factory=list)
    claimed_at: datetime | None = None
    skipped_ids: set = field(default_factory=set)  # claimed but not ours (Odoo's own path)
    count: int = 0

    def since(self):
        # claimed_at is naive UTC (Odoo); providers compare with aware datetimes
        return self.claimed_at.replace(tzinfo=UTC) - timedelta(minutes=1) if self.claimed_at else None

    def run(self, slots=None):
        """Call the providers, then look up what may have been accepted.

        :param slots: callable(group) -> context manager yielding (max_workers, rate) for the
            group's gateway: the share of its limits this process holds (all of them when None)
        :return: dict sms uuid -> (SendGroup, SendResult)
        """
        results = {}
        for group in self.groups:
            if slots is None:
                answers = group.provider.send_chunks(group.chunks)
            else:
                with slots(group) as (workers, rate):
                    answers = group.provider.send_chunks(group.chunks, max_workers=workers, rate=rate)
            results.update((result.key, (group, result)) for result in answers)
        resolve_unknown(results, self.groups, self.since())
        return results


def resolve_unknown(results, groups, since):
    """Prepare UNKNOWN outcomes for the engine's decision, never resending blindly.

    An idempotent provider drops a repeated request: it is retried, flagged ``maybe_accepted``
    (same gateway, same request key). Otherwise the provider is asked what it accepted; the
    candidates (or the lookup's failure) go to the engine, which excludes messages already
    recorded for other SMS.
    """
    outbound = {sms.key: sms for group in groups for chunk in group.chunks for sms in chunk}
    for _key, (group, result) in results.items():
        if result.state != UNKNOWN:
            continue
        capabilities = group.provider.capabilities
        if capabilities.idempotent_requests:
            result.state, result.maybe_accepted, result.retry_after = RETRY, True, 0
        elif capabilities.lookup:
            try:
                result.candidates = group.provider.lookup(outbound[result.key], since)
            except LookupFailed as exc:
                result.lookup_error = group.provider.redact(str(exc))  # shown on the SMS log
