"""Process-global counters of what the test run exercised, printed by ``tests/conftest.py``.

Tests call ``record('fuzz_inputs')`` or ``record('faults_injected', 3)``; the terminal summary
prints the totals so that a green run also says how much it threw at the code.
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
