"""Process-global counters of what the test run exercised, printed by ``tests/conftest.py``.

Tests call ``record('fuzz_inputs')`` or ``record('faults_injected', 3)``; the terminal summary
prints the totals so that a green run also says how much it threw at the code. Fault tests
count what the fake provider received with ``record_delivery``: messages, duplicates, lost.
"""
import threading
from collections import Counter

_lock = threading.Lock()
_counts = Counter()


def record(kind, n=1):
    """Add ``n`` to the counter ``kind`` (thread-safe)."""
    with _lock:
        _counts[kind] += n


def snapshot():
    """A copy of every counter, ``{kind: count}``."""
    with _lock:
        return dict(_counts)


def reset():
    with _lock:
        _counts.clear()


def record_delivery(received, expected):
    """Count one scenario at the provider, independently of our log; return (duplicates, lost).

    :param received: every number (or message key) the fake provider accepted, repeats included
    :param expected: the numbers that had to reach it exactly once
    """
    counts = Counter(received)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    lost = len(set(expected) - set(counts))
    record('messages', sum(counts.values()))
    record('duplicates', duplicates)
    record('lost', lost)
    return duplicates, lost
