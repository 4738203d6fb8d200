"""Shared test cases: the contract every provider adapter's tests subclass (no database)."""
import contextlib
import socket
import threading
from contextlib import contextmanager

from odoo.addons.sms_connector.engine.lifecycle import REASONS
from odoo.addons.sms_connector.providers import (
    RETRY,
    UNKNOWN,
    Capabilities,
    Failure,
    GatewayConfig,
    LookupFailed,
    MalformedCallback,
    OutboundSms,
    get_provider_class,
)


@contextmanager
def loopback_server(behaviour):
    """A TCP server on 127.0.0.1 that reads one request then ``behaviour``: 'close' or 'stall'."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(8)
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        connections = []
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except OSError:
                continue
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            if behaviour == 'close':
                conn.close()
            else:
                connections.append(conn)  # never answer
        for conn in connections:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def closed_port_url():
    """A loopback URL nobody listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class ProviderContractCase:
    """Mix into a BaseCase with ``provider_code`` (and ``config_values``) set: what the engine relies on.

    Whether a failed request may have been accepted decides between retry, lookup and never
    resend: every adapter must answer the same way for the same transport failure.
    """

    provider_code = None
    config_values = {}

    def make_provider(self, base_url, **values):
        cls = get_provider_class(self.provider_code)
        return cls(GatewayConfig(provider=self.provider_code, base_url=base_url, timeout=0.5,
                                 **{**self.config_values, **values}))

    def outbound(self, count=1, body="Contract"):
        return [OutboundSms(f'key{i}', f'+3361234{i:04d}', body) for i in range(count)]

    def test_contract_declares_capabilities(self):
        provider = self.make_provider('http://127.0.0.1:9')
        self.assertIsInstance(provider.capabilities, Capabilities)
        self.assertTrue(provider.code and provider.name and provider.default_base_url)

    def test_contract_every_failure_is_mapped(self):
        self.assertEqual(set(Failure) - set(REASONS), set(), "the lifecycle maps every Failure")

    def test_contract_requests_split_and_key(self):
        provider = self.make_provider('http://127.0.0.1:9')
        batch = self.outbound(7)
        chunks = provider.split_requests(batch)
        self.assertEqual(sorted(sms.key for chunk in chunks for sms in chunk), sorted(sms.key for sms in batch))
        self.assertTrue(all(len(chunk) <= max(1, provider.capabilities.max_recipients_per_request) for chunk in chunks))
        self.assertEqual([provider.request_key(c) for c in chunks], [provider.request_key(c) for c in chunks])

    def test_contract_refused_connection_is_a_certain_retry(self):
        provider = self.make_provider(closed_port_url())
        (result,) = provider.send(self.outbound())
        self.assertEqual((result.state, result.failure), (RETRY, Failure.SERVER), result.error_message)

    def test_contract_connection_lost_after_sending_may_be_accepted(self):
        with loopback_server('close') as url:
            (result,) = self.make_provider(url).send(self.outbound())
        self.assertEqual(result.state, UNKNOWN, result.error_message)
        self.assertFalse(result.maybe_in_flight)

    def test_contract_timeout_may_still_be_in_flight(self):
        with loopback_server('stall') as url:
            (result,) = self.make_provider(url).send(self.outbound())
        self.assertEqual((result.state, result.maybe_in_flight), (UNKNOWN, True), result.error_message)

    def test_contract_failed_lookup_is_not_a_miss(self):
        provider = self.make_provider(closed_port_url())
        if not provider.capabilities.lookup:
            with self.assertRaises(NotImplementedError):
                provider.lookup(self.outbound()[0], None)
            return
        with self.assertRaises(LookupFailed):
            provider.lookup(self.outbound()[0], None)

    def test_contract_malformed_callbacks_are_refused(self):
        provider = self.make_provider('http://127.0.0.1:9')
        for bad in ({}, {'message_id': ['x'], 'MessageSid': {'a': 1}}):
            with self.assertRaises(MalformedCallback):
                provider.parse_status(bad)
