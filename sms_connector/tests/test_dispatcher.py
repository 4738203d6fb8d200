import threading
import time
from concurrent.futures import ThreadPoolExecutor

from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.engine.dispatcher import AdaptiveWindow, run_requests
from odoo.addons.sms_connector.providers import (
    RETRY,
    SENT,
    UNKNOWN,
    GatewayConfig,
    OutboundSms,
    SendResult,
    SmsProvider,
)


class SlowProvider(SmsProvider):
    """Answers after a delay and records how many requests overlapped."""
    code = 'test_slow'

    def __init__(self, config, delay=0.05, fail_numbers=()):
        super().__init__(config)
        self.delay, self.fail_numbers = delay, set(fail_numbers)
        self.lock, self.active, self.peak, self.calls = threading.Lock(), 0, 0, 0

    def send_request(self, chunk):
        with self.lock:
            self.active += 1
            self.calls += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.delay)
        with self.lock:
            self.active -= 1
        if chunk[0].number in self.fail_numbers:
            raise RuntimeError("provider answered garbage")
        return [SendResult(sms.key, SENT, provider_message_id=f"id-{sms.key}") for sms in chunk]


def batch(count):
    return [OutboundSms(key=str(i), number=f"+3361234{i:04d}", body="hi") for i in range(count)]


@tagged('post_install', '-at_install')
class TestDispatcher(BaseCase):

    def test_concurrency_is_bounded_and_used(self):
        provider = SlowProvider(GatewayConfig(provider='test_slow', base_url='', max_concurrency=5))
        start = time.monotonic()
        results = provider.send(batch(20))
        elapsed = time.monotonic() - start
        self.assertEqual([r.key for r in results], [str(i) for i in range(20)])
        self.assertTrue(all(r.state == SENT for r in results))
        self.assertEqual(provider.peak, 5)
        self.assertEqual(provider.calls, 20)
        self.assertLess(elapsed, 20 * 0.05 / 2, "requests must overlap, not run in series")

    def test_rate_limit_spreads_requests(self):
        provider = SlowProvider(GatewayConfig(provider='test_slow', base_url='', max_concurrency=10, rate_limit=50), delay=0)
        start = time.monotonic()
        provider.send(batch(11))
        self.assertGreaterEqual(time.monotonic() - start, 10 / 50 * 0.9)

    def test_one_failing_request_only_fails_its_messages(self):
        provider = SlowProvider(GatewayConfig(provider='test_slow', base_url='', max_concurrency=3),
                                delay=0, fail_numbers={"+33612340003"})
        with self.assertLogs('odoo.addons.sms_connector.engine.dispatcher', level='ERROR'):
            results = provider.send(batch(6))
        states = {r.key: r.state for r in results}
        self.assertEqual(states.pop("3"), UNKNOWN, "an unexpected error may hide an accepted message")
        self.assertTrue(all(state == SENT for state in states.values()))
        self.assertNotIn(RETRY, states.values())

    def test_exception_without_handler_propagates(self):
        with self.assertRaises(ZeroDivisionError):
            run_requests(lambda chunk: 1 / 0, [[1], [2]], max_workers=2)


@tagged('post_install', '-at_install')
class TestWindowOrder(BaseCase):
    """Batches sharing a gateway's window are fed in turn; a lone request is not held behind them."""

    def setUp(self):
        super().setUp()
        self.window = AdaptiveWindow(2, 2)
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.addCleanup(self.pool.shutdown)
        self.started, self.lock = [], threading.Lock()

    def send(self, chunk):
        with self.lock:
            self.started.append(chunk[0])
        time.sleep(0.02)
        return chunk

    def run_batch(self, name, count):
        return threading.Thread(target=run_requests, args=(self.send, [[f'{name}{i}'] for i in range(count)]),
                                kwargs={'max_workers': 2, 'window': self.window, 'executor': self.pool})

    def test_the_first_batch_is_fed_before_the_next(self):
        first, second = self.run_batch('a', 8), self.run_batch('b', 8)
        first.start()
        time.sleep(0.01)
        second.start()
        first.join(5)
        second.join(5)
        self.assertEqual(self.started, [f'a{i}' for i in range(8)] + [f'b{i}' for i in range(8)])

    def test_a_lone_request_is_not_held_behind_a_batch(self):
        batch = self.run_batch('a', 10)
        batch.start()
        time.sleep(0.01)
        run_requests(self.send, [['lone']], max_workers=2, window=self.window)
        batch.join(5)
        self.assertLess(self.started.index('lone'), 9, "served as room frees, not after the whole batch")


@tagged('post_install', '-at_install')
class TestAdaptiveWindow(BaseCase):
    """AIMD: slow start from the safe level, one halving per round trip of 429s, the ceiling holds."""

    def test_grows_from_the_safe_level_to_the_ceiling(self):
        window = AdaptiveWindow(8, 64)
        for _ in range(200):
            window.release(False, window.acquire())
        self.assertEqual(window.value, 64)

    def test_a_round_trip_of_429_halves_once(self):
        window = AdaptiveWindow(32, 64)
        wave = [window.acquire() for _ in range(32)]  # 32 requests in flight
        for sent_at in wave:
            window.release(True, sent_at)  # all of them answered 429
        self.assertEqual(window.value, 16, "halved once, not 32 times")
        later = window.acquire()  # sent after the decrease: its 429 halves again
        window.release(True, later)
        self.assertEqual(window.value, 8)

    def test_run_requests_halves_once_for_a_wave_of_429(self):
        window, barrier = AdaptiveWindow(8, 8), threading.Barrier(8, timeout=10)

        def send(chunk):
            barrier.wait()  # the 8 requests are in flight together, as one round trip
            return chunk

        run_requests(send, [[i] for i in range(8)], max_workers=8, window=window, is_throttled=lambda results: True)
        self.assertEqual(window.value, 4, "a wave of 8 answers 429: the window halves once")
