"""What one engine batch sends, built inside a transaction and run outside of it, no ORM."""
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..providers import RETRY, UNKNOWN


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

    def run(self):
        """Call the providers; resolve unknown outcomes without ever resending blindly.

        :return: dict sms uuid -> (SendGroup, SendResult)
        """
        results, outbound = {}, {}
        for group in self.groups:
            for chunk in group.chunks:
                outbound.update((sms.key, sms) for sms in chunk)
            for result in group.provider.send_chunks(group.chunks):
                results[result.key] = (group, result)
        # claimed_at is naive UTC (Odoo); providers compare with aware datetimes
        since = self.claimed_at.replace(tzinfo=UTC) - timedelta(minutes=1) if self.claimed_at else None
        for key, (group, result) in list(results.items()):
            if result.state != UNKNOWN:
                continue
            if group.provider.idempotent_requests:
                # resending the very same request cannot deliver twice: the provider drops it
                result.state = RETRY
            else:
                found = group.provider.lookup(outbound[key], since)
                if found is not None:
                    results[key] = (group, found)
                elif not result.maybe_in_flight:
                    # the provider answers for what it accepted: not there means not sent
                    result.state = RETRY
        return results
