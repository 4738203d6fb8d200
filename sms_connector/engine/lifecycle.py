"""Every state of an outbound SMS, its legal transitions, and how Odoo's models show it. No ORM.

Why one table: Odoo keeps an SMS in three places besides our log (``sms.sms``, the chatter's
``mail.notification`` and the mailing's ``mailing.trace``), each with its own vocabulary and
its own list of failure types. A value one of them cannot store raises and rolls back a whole
batch, so each state and each failure is mapped here, once, for every target; nothing is
passed through unmapped.
"""
from dataclasses import dataclass
from enum import StrEnum

from ..providers.base import Failure


class State(StrEnum):
    """States of ``sms.message`` (outbound, plus ``received`` for inbound SMS)."""

    QUEUED = 'queued'  # waiting to be sent (also while deferred or between retries)
    SENDING = 'sending'  # claimed by a worker, marked in a committed transaction before the provider call
    SENT = 'sent'  # accepted by the provider
    DELIVERED = 'delivered'  # delivery report: reached the handset
    FAILED = 'failed'  # refused by the provider, or not delivered
    UNKNOWN = 'unknown'  # "To check": the provider may have accepted it
    CANCELED = 'canceled'  # not sent on purpose (unroutable, canceled by a user)
    OPTED_OUT = 'opted_out'  # not sent, or refused, because the recipient replied STOP
    RECEIVED = 'received'  # inbound SMS


FINAL_STATES = frozenset({State.DELIVERED, State.FAILED, State.CANCELED, State.OPTED_OUT, State.RECEIVED})

# Progress of each state: a delivery report never moves a message backwards.
RANK = {
    State.QUEUED: 0, State.SENDING: 0, State.UNKNOWN: 0, State.SENT: 1,
    State.DELIVERED: 2, State.FAILED: 2, State.CANCELED: 2, State.OPTED_OUT: 2, State.RECEIVED: 2,
}

# Legal transitions. QUEUED -> QUEUED is a deferral or a new retry date.
TRANSITIONS = {
    State.QUEUED: {State.QUEUED, State.SENDING, State.FAILED, State.CANCELED, State.OPTED_OUT},
    # SENDING -> SENDING: a crashed worker's claim taken over by the reconciliation
    State.SENDING: {State.SENDING, State.SENT, State.QUEUED, State.FAILED, State.OPTED_OUT, State.UNKNOWN},
    # UNKNOWN -> SENDING: looked up again; -> QUEUED: a manager's "Send again"
    State.UNKNOWN: {State.SENDING, State.SENT, State.QUEUED, State.FAILED, State.UNKNOWN},
    State.SENT: {State.SENT, State.DELIVERED, State.FAILED, State.CANCELED},
    State.DELIVERED: set(),
    State.FAILED: set(),
    State.CANCELED: set(),
    State.OPTED_OUT: set(),
    State.RECEIVED: set(),
}


class IllegalTransition(ValueError):
    """A state change the lifecycle does not allow (a bug, or a stale caller)."""


def can_move(current, target):
    return State(target) in TRANSITIONS[State(current)]


def check_move(current, target):
    if not can_move(current, target):
        raise IllegalTransition(f"SMS state {current!r} cannot become {target!r}")


@dataclass(frozen=True)
class OdooView:
    """How one of our states looks in Odoo's own models.

    ``sms_state``: ``sms.sms.state`` (Odoo calls an accepted SMS 'pending' and a delivered one 'sent');
    ``tracker_state``: the ``sms.sms`` state given to ``sms.tracker._action_update_from_sms_state``,
    which updates the chatter notification and the mailing trace; None leaves them as they are.
    """

    sms_state: str
    tracker_state: str | None


ODOO_VIEW = {
    State.QUEUED: OdooView('outgoing', None),
    State.SENDING: OdooView('process', None),
    State.SENT: OdooView('pending', 'pending'),
    State.DELIVERED: OdooView('sent', 'sent'),
    State.FAILED: OdooView('error', 'error'),
    State.UNKNOWN: OdooView('error', 'error'),
    State.CANCELED: OdooView('canceled', 'canceled'),
    State.OPTED_OUT: OdooView('canceled', 'canceled'),
}

# ``sms.sms`` state -> our state, for SMS Odoo's own path (IAP, sms_twilio) changes.
FROM_ODOO_SMS_STATE = {
    'outgoing': State.QUEUED, 'process': State.SENDING, 'pending': State.SENT, 'sent': State.DELIVERED,
    'error': State.FAILED, 'canceled': State.CANCELED,
}


@dataclass(frozen=True)
class Reason:
    """Why an SMS did not leave (or failed), as each target model can store it.

    ``sms_failure``: ``sms.sms.failure_type``; ``notification_failure``: ``mail.notification``
    (which has no blacklist nor opt-out type); ``trace_failure``: ``mailing.trace``.
    """

    state: State
    sms_failure: str
    notification_failure: str | bool
    trace_failure: str


def _failed(sms, notification=None, trace=None):
    return Reason(State.FAILED, sms, notification or sms, trace or sms)


# Failures reported by providers, and the engine's own reasons for not sending.
REASONS = {
    Failure.NUMBER_FORMAT: _failed('sms_number_format'),
    Failure.OPTED_OUT: Reason(State.OPTED_OUT, 'sms_optout', 'sms_not_allowed', 'sms_optout'),
    Failure.CREDIT: _failed('sms_credit'),
    Failure.AUTH: _failed('sms_acc'),
    Failure.CONFIG: _failed('sms_acc'),
    Failure.COUNTRY: _failed('sms_country_not_supported'),
    Failure.SERVER: _failed('sms_server'),
    Failure.RATE_LIMITED: _failed('sms_server'),
    Failure.REJECTED: _failed('unknown', 'sms_rejected', 'sms_rejected'),
    Failure.UNKNOWN: _failed('unknown'),
    # engine-side reasons
    'blacklisted': Reason(State.OPTED_OUT, 'sms_blacklist', False, 'sms_blacklist'),
    'unroutable': _failed('sms_country_not_supported'),
    'to_check': Reason(State.UNKNOWN, 'unknown', 'unknown', 'unknown'),
    'canceled': Reason(State.CANCELED, False, False, False),
}


def reason_for(failure):
    """The Reason of a provider failure or engine reason; an unmapped value is a bug, not 'unknown'."""
    try:
        return REASONS[failure]
    except KeyError:
        raise KeyError(f"No lifecycle mapping for failure {failure!r}") from None


# Normalised delivery report statuses (providers' StatusReport.status) -> our state.
REPORT_STATUS = {
    'queued': State.SENT, 'sent': State.SENT, 'delivered': State.DELIVERED,
    'failed': State.FAILED, 'canceled': State.CANCELED,
}
