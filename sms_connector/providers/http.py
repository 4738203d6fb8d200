"""What an HTTP status or a transport error means for an SMS request, for every adapter. No ORM.

Why shared: whether a failed request may have been accepted decides between "retry", "look it
up" and "never resend"; two adapters deciding it each in their own way diverged (a timeout was
"maybe in flight" for one provider and not for the other).
"""
import requests

from .base import FAILED, RETRY, UNKNOWN, Failure


def classify_http(status):
    """(outcome, Failure) of an HTTP error status that carries no provider error code we know."""
    if status == 429:
        return RETRY, Failure.RATE_LIMITED
    if status >= 500:
        return RETRY, Failure.SERVER  # the provider did not process the request
    if status in (401, 403):
        return FAILED, Failure.AUTH
    return FAILED, Failure.REJECTED


def never_sent(exc):
    """Whether a connection error happened before the request could reach the provider."""
    text = repr(exc)
    return 'NewConnectionError' in text or 'Failed to establish' in text or 'Connection refused' in text


def transport_error(exc, provider_name):
    """SendResult fields for a ``requests`` exception raised while sending; None if not a transport error.

    - could not connect: certainly not accepted, RETRY;
    - connection lost after the request left: UNKNOWN (the provider may have accepted it);
    - no answer in time: UNKNOWN and maybe still in flight (a lookup finding nothing proves nothing yet).
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout) or (
            isinstance(exc, requests.exceptions.ConnectionError) and never_sent(exc)):
        return {'state': RETRY, 'failure': Failure.SERVER, 'error_message': f"{provider_name} unreachable: {exc}"}
    if isinstance(exc, requests.exceptions.ConnectionError):
        return {'state': UNKNOWN, 'failure': Failure.SERVER,
                'error_message': f"Connection to {provider_name} lost after sending: {exc}"}
    if isinstance(exc, requests.exceptions.Timeout):
        return {'state': UNKNOWN, 'failure': Failure.SERVER, 'maybe_in_flight': True,
                'error_message': f"No answer from {provider_name} in time: {exc}"}
    return None
