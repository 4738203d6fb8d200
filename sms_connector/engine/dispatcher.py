"""Bounded, rate-limited concurrent execution of provider requests, no ORM.

Why: providers answer in tens or hundreds of milliseconds; sending one request after the other
caps throughput at a few messages per second. Worker threads only run plain-Python provider
code: the ORM stays in the calling thread.
"""
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

_logger = logging.getLogger(__name__)


class RateLimiter:
    """Spread requests so that no more than ``rate`` messages start per second (0 = unlimited)."""

    def __init__(self, rate):
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def acquire(self, weight=1):
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval * weight
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def run_requests(send_request, chunks, max_workers=8, rate=0, on_error=None):
    """Run ``send_request(chunk)`` for every chunk with at most ``max_workers`` at once.

    Returns the concatenated per-message results in chunk order. An exception raised for a
    chunk is turned into results by ``on_error(chunk, exc)`` so it only affects that chunk.
    """
    if not chunks:
        return []
    limiter = RateLimiter(rate)

    def _run(chunk):
        limiter.acquire(len(chunk))
        try:
            return send_request(chunk)
        except Exception as exc:
            _logger.exception("SMS provider request failed for %d message(s)", len(chunk))
            if on_error is None:
                raise
            return on_error(chunk, exc)

    workers = max(1, min(int(max_workers or 1), len(chunks)))
    if workers == 1:
        results = [_run(chunk) for chunk in chunks]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms-send") as pool:
            results = list(pool.map(_run, chunks))
    return [result for chunk_results in results for result in chunk_results]
