"""Retry delays, no ORM.

Why: a provider outage must not turn into a hammering loop, and many workers retrying at the
same instant would all hit the provider together (exponential backoff with jitter).
"""
import random


def backoff_delay(attempt, base=30.0, cap=3600.0, retry_after=None, rand=random.random):
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1).

    Doubles each attempt up to ``cap``, plus up to 50 % random jitter, and never less than a
    provider's ``Retry-After``.
    """
    delay = min(cap, base * (2 ** max(attempt - 1, 0)))
    delay *= 1 + 0.5 * rand()
    if retry_after:
        delay = max(delay, float(retry_after))
    return delay
