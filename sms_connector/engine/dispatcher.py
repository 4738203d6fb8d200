"""Bounded, rate-limited concurrent execution of provider requests, no ORM.

Why: providers answer in tens or hundreds of milliseconds; sending one request after the other
caps throughput at a few messages per second. Worker threads only run plain-Python provider
code: the ORM stays in the calling thread.
"""
import contextlib
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


class AdaptiveWindow:
    """How many requests may be in flight: grows while the provider keeps up, halves on "too many
    requests" (AIMD, as TCP does), never above the gateway's ceiling.

    Why: nobody tunes a concurrency field they do not know about. Starting from the provider's
    documented safe level, the window doubles per round trip (+1 per answered request) until the
    first 429, then grows by one per round trip. It halves once per round trip: the other 429s of
    requests sent before the decrease answer for the window already halved (TCP does the same).
    """

    def __init__(self, start, ceiling):
        self.ceiling = max(1, int(ceiling or 1))
        self.value = float(min(max(1, int(start or 1)), self.ceiling))
        self.threshold = float(self.ceiling)
        self.in_flight = 0
        self.decreases = 0  # how many times the window halved; a request remembers the count it left with
        self._cond = threading.Condition()
        self._turns, self._next_turn = [], 0  # requests batches feeding the window, oldest first
        self._lone_waiting = 0  # requests without a turn waiting for room: served first

    @contextlib.contextmanager
    def turn(self):
        """Queue a batch of requests behind the batches already feeding the window.

        First come, first served: the batch sent first gets the room first and ends first,
        while the next one (claimed meanwhile) fills the waves it leaves. Batches sharing the
        room would instead all end together, leaving the waves empty until the next claim.
        Acquiring without a turn (a lone request) goes before the batches when room frees.
        """
        with self._cond:
            turn = self._next_turn
            self._next_turn += 1
            self._turns.append(turn)
        try:
            yield turn
        finally:
            with self._cond:
                self._turns.remove(turn)
                self._cond.notify_all()

    def acquire(self, limit=None, turn=None):
        """Wait for room in the window (and below ``limit``, the slots the caller holds), and
        for the batches queued before ``turn`` to be fed; a lone request (no turn) waits for room only."""
        with self._cond:
            if turn is None:
                self._lone_waiting += 1
            try:
                while (turn is not None and (turn != self._turns[0] or self._lone_waiting)) \
                        or self.in_flight >= min(int(self.value), limit or self.ceiling):
                    self._cond.wait()
            finally:
                if turn is None:
                    self._lone_waiting -= 1
                    self._cond.notify_all()  # the batches it held back may use the room left
            self.in_flight += 1
            return self.decreases

    def release(self, throttled=False, sent_at=None):
        """:param sent_at: what ``acquire`` returned for this request (None: always counts)"""
        with self._cond:
            self.in_flight -= 1
            if throttled:
                if sent_at is None or sent_at == self.decreases:
                    self.value = self.threshold = max(1.0, self.value / 2)
                    self.decreases += 1
            elif self.value < self.threshold:
                self.value = min(float(self.ceiling), self.value + 1)  # slow start
            else:
                self.value = min(float(self.ceiling), self.value + 1 / self.value)
            self._cond.notify_all()


def run_requests(send_request, chunks, max_workers=8, rate=0, on_error=None, window=None, executor=None,
                 is_throttled=None):
    """Run ``send_request(chunk)`` for every chunk with at most ``max_workers`` at once.

    Returns the concatenated per-message results in chunk order. An exception raised for a
    chunk is turned into results by ``on_error(chunk, exc)`` so it only affects that chunk.
    The calling thread waits for room in the window before handing a request to a thread: the
    threads never queue on the window themselves (waking dozens of them per answer cost more
    CPU than the requests).
    :param window: AdaptiveWindow shared by the requests of a gateway (a fixed one when None)
    :param executor: long-lived thread pool to run in (its threads keep their connections alive)
    :param is_throttled: callable(results) -> whether the provider asked to slow down
    """
    if not chunks:
        return []
    limiter = RateLimiter(rate)
    limit = max(1, int(max_workers or 1))
    window = window or AdaptiveWindow(limit, limit)

    def _run(chunk, sent_at=None):
        """Send one request; the caller acquired its place in the window (``sent_at`` its epoch)."""
        throttled = False
        try:
            limiter.acquire(len(chunk))
            results = send_request(chunk)
            throttled = bool(is_throttled and is_throttled(results))
            return results
        except Exception as exc:
            _logger.exception("SMS provider request failed for %d message(s)", len(chunk))
            if on_error is None:
                raise
            return on_error(chunk, exc)
        finally:
            window.release(throttled, sent_at)

    def _feed(pool):
        futures = []
        with window.turn() as turn:
            for chunk in chunks:
                sent_at = window.acquire(limit, turn)
                try:
                    futures.append(pool.submit(_run, chunk, sent_at))
                except BaseException:
                    window.release()
                    raise
        return [future.result() for future in futures]

    if executor is None and min(limit, len(chunks)) == 1:
        results = []
        for chunk in chunks:  # in turn with nobody: a lone request is not held behind a large batch
            results.append(_run(chunk, window.acquire(limit)))
    elif executor is not None:
        results = _feed(executor)
    else:
        with ThreadPoolExecutor(max_workers=min(limit, len(chunks)), thread_name_prefix="sms-send") as pool:
            results = _feed(pool)
    return [result for chunk_results in results for result in chunk_results]
