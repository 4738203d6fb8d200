"""Loopback fake of the Twilio Programmable Messaging and Octopush v1 APIs.

The connector under test talks to real providers over HTTP; mocking the
Python call sites would hide everything that matters in production (status
codes, error bodies, timeouts, dropped connections, keep-alive, callbacks).
This module therefore runs a *real* HTTP server on loopback that speaks both
providers' wire formats and can be steered by the test (latency, queued
faults, per-number delivery outcomes) while recording everything it saw.

Only the standard library is used so that the server can also be started
standalone for a local demo (``python -m tests.fake_providers``).
"""

import base64
import hashlib
import heapq
import hmac
import html
import itertools
import json
import logging
import re
import secrets
import socket
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_CURRENT_REQUEST = threading.local()  # full path (with query) of the request this thread serves

__all__ = ["FakeProviderServer", "sms_segments", "twilio_signature"]

_logger = logging.getLogger(__name__)

TWILIO_PREFIX = "/2010-04-01"
OCTOPUSH_PREFIX = "/v1/public"
TWILIO_API_VERSION = "2010-04-01"

FAULT_KINDS = frozenset({
    "http_500", "http_502_html", "http_503", "http_429", "stall", "drop_before_accept", "drop_after_accept",
    "connection_reset",
})
# Where queued faults apply: provider send requests, or Twilio message look-ups (list and fetch).
FAULT_TARGETS = ("send", "lookup")
TWILIO_LOOKUP_RE = re.compile(r"^/2010-04-01/Accounts/[^/]+/Messages(/[^/]+)?\.json$")
HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"

E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
OCTOPUSH_SENDER_RE = re.compile(r"^[A-Za-z0-9]{3,11}$")

# Twilio "magic" test numbers: sending to them fails with a fixed error code.
TWILIO_MAGIC_TO = {
    "+15005550001": 21211,
    "+15005550002": 21612,
    "+15005550003": 21408,
    "+15005550004": 21610,
    "+15005550009": 21614,
}
TWILIO_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {from_} via SMS.",
    21614: "'To' number {to} is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Carrier violation",
    30008: "Unknown error",
}
TWILIO_MAX_BODY = 1600
TWILIO_FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "sent"})

OCTOPUSH_TYPES = frozenset({"sms_premium", "sms_low_cost"})
OCTOPUSH_PURPOSES = frozenset({"alert", "wholesale"})
OCTOPUSH_MAX_TEXT = 1224
OCTOPUSH_MAX_RECIPIENTS = 500
OCTOPUSH_PRICE_PER_SMS = 0.0333
OCTOPUSH_INITIAL_CREDIT = 100.0

# ---------------------------------------------------------------------------
# SMS segment counting
# ---------------------------------------------------------------------------

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def _pack_segments(unit_sizes, single_limit, part_limit):
    """Count parts needed for a sequence of indivisible character sizes.

    Escape sequences (GSM-7 extension characters) and surrogate pairs must
    not be split across two parts, so a plain ``ceil(total / part_limit)``
    can be off by one; packing greedily gives the real handset count.
    """
    total = sum(unit_sizes)
    if total <= single_limit:
        return 1
    parts, used = 1, 0
    for size in unit_sizes:
        if used + size > part_limit:
            parts += 1
            used = 0
        used += size
    return parts


def sms_segments(text):
    """Return the number of SMS parts ``text`` needs (GSM-7 or UCS-2).

    GSM-7: 160 septets single / 153 per concatenated part, extension
    characters cost 2 septets. Anything else forces UCS-2: 70 UTF-16 code
    units single / 67 per part, astral characters cost 2 units.
    """
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return _pack_segments(sizes, 160, 153)
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return _pack_segments(sizes, 70, 67)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def twilio_signature(auth_token, url, params):
    """Compute X-Twilio-Signature exactly as Twilio documents it.

    base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + value2...))
    with parameters sorted by name; receivers validate with the same recipe.
    """
    payload = url + "".join(name + str(params[name]) for name in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _rfc2822_now():
    """Twilio renders dates as RFC 2822 strings in UTC (``... +0000``)."""
    return format_datetime(datetime.now(UTC))


def _twilio_error_body(code, status, **fmt):
    """Build Twilio's standard error document (code/message/more_info/status)."""
    message = TWILIO_ERROR_MESSAGES.get(code, "Error")
    try:
        message = message.format(**fmt)
    except (KeyError, IndexError):
        pass
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _twilio_status_for(outcome):
    """Map a configured outcome (either provider's vocabulary) to Twilio's."""
    if outcome is None:
        return "delivered"
    lowered = outcome.lower()
    if lowered in TWILIO_FINAL_STATUSES:
        return lowered
    return "undelivered"


def _octopush_status_for(outcome):
    """Map a configured outcome (either provider's vocabulary) to Octopush's."""
    if outcome is None:
        return "DELIVERED"
    if outcome.lower() in ("delivered", "sent"):
        return "DELIVERED"
    if outcome.lower() in ("undelivered", "failed"):
        return "NOT_DELIVERED"
    return outcome.upper()


class _Reply:
    """What a route handler wants sent back: status, body, extra headers.

    ``on_sent`` runs after the reply was written (or deliberately dropped),
    so callbacks are only scheduled once the client could know the id.
    """

    __slots__ = ("body", "content_type", "headers", "on_sent", "status")

    def __init__(self, status, body=None, content_type="application/json", headers=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}
        self.on_sent = None

    def encoded(self):
        """Serialize the body; dicts/lists become JSON, strings are UTF-8."""
        if self.body is None:
            return b""
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode("utf-8")
        return str(self.body).encode("utf-8")


# ---------------------------------------------------------------------------
# Callback dispatcher: bounded worker pool with a due-time heap
# ---------------------------------------------------------------------------


class _CallbackDispatcher:
    """Run delayed jobs on a fixed pool of worker threads.

    Tests may push thousands of messages; one thread per callback would
    exhaust the process, so jobs go into a heap ordered by due time and a few
    workers drain it.
    """

    def __init__(self, workers):
        self._cond = threading.Condition()
        self._heap = []
        self._seq = itertools.count()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, name=f"fake-callbacks-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def schedule(self, delay, job):
        """Run ``job()`` after ``delay`` seconds on a worker."""
        with self._cond:
            entry = (time.monotonic() + max(0.0, delay), next(self._seq), job)
            heapq.heappush(self._heap, entry)
            self._cond.notify()

    def cancel_all(self):
        """Forget pending jobs (in-flight ones are filtered by the caller)."""
        with self._cond:
            self._heap.clear()

    def stop(self, timeout=2.0):
        """Stop workers; pending jobs are dropped."""
        with self._cond:
            self._stopping = True
            self._heap.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def _next_job(self):
        """Block until a job is due (or we are stopping -> None)."""
        with self._cond:
            while not self._stopping:
                if self._heap:
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        return heapq.heappop(self._heap)[2]
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self):
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                job()
            except Exception:  # a broken job must not kill the pool
                _logger.exception("fake provider callback job failed")


# ---------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer tuned for many concurrent keep-alive clients."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, fake):
        self.fake = fake
        self.open_connections = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_open_connections(self):
        """Shut idle keep-alive sockets so a stopped server really is gone."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    """Thin transport layer: parse, delegate to FakeProviderServer, write."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's
    # delayed ACK would add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server_version = "FakeProviders/1.0"
    sys_version = ""

    def setup(self):
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.open_connections.discard(self.connection)

    def log_message(self, format, *args):
        """Silence the default one-line-per-request stderr logging."""

    def do_GET(self):
        self.server.fake._dispatch(self)

    def do_POST(self):
        self.server.fake._dispatch(self)

    def do_PUT(self):
        self.server.fake._dispatch(self)

    def do_DELETE(self):
        self.server.fake._dispatch(self)

    # -- helpers used by FakeProviderServer -------------------------------

    def read_body(self):
        """Read exactly Content-Length bytes so the connection stays usable."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_reply(self, reply):
        """Write a full HTTP/1.1 response with Content-Length (keep-alive)."""
        data = reply.encoded()
        self.send_response(reply.status)
        if reply.body is not None:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, str(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def drop_connection(self):
        """Close without answering: the client sees the server vanish (FIN)."""
        self.close_connection = True

    def reset_connection(self):
        """Abort the connection with a TCP RST (SO_LINGER 0 then close)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# The fake itself
# ---------------------------------------------------------------------------


class FakeProviderServer:
    """Loopback HTTP server faking Twilio (2010-04-01) and Octopush (v1).

    Usage::

        with FakeProviderServer(twilio_accounts={"AC...": "token"}) as fake:
            client_base_url = fake.url
            ...
            assert fake.twilio_messages[0]["to"] == "+33612345678"
    """

    CALLBACK_WORKERS = 8
    CALLBACK_TIMEOUT = 10.0

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        latency=0.0,
        twilio_accounts=None,
        octopush_accounts=None,
        octopush_callback_url=None,
        callback_delay=0.0,
        auto_callbacks=True,
        twilio_inbound_url=None,
        octopush_inbound_url=None,
    ):
        self.host = host
        self.port = port
        self.latency = float(latency)
        self.twilio_accounts = dict(twilio_accounts) if twilio_accounts else None
        self.octopush_accounts = dict(octopush_accounts) if octopush_accounts else None
        self.octopush_callback_url = octopush_callback_url
        self.callback_delay = float(callback_delay)
        self.auto_callbacks = auto_callbacks
        # Where the phone simulator (GET /, POST /_fake/reply) posts inbound SMS webhooks.
        self.twilio_inbound_url = twilio_inbound_url
        self.octopush_inbound_url = octopush_inbound_url

        self._lock = threading.Lock()
        self._callbacks_cond = threading.Condition(self._lock)
        self._stop_event = threading.Event()
        self._httpd = None
        self._thread = None
        self._dispatcher = None
        # Proxies from the environment must never intercept loopback callbacks.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        self.twilio_messages = []
        self.octopush_requests = []
        self.requests_log = []
        self.callbacks_sent = []
        self.replies_sent = []
        self._faults = {target: deque() for target in FAULT_TARGETS}
        self._in_flight = 0
        self.max_in_flight = 0  # most send requests ever being handled at once (since reset())
        self._outcomes = {}
        self._seen_request_ids = set()
        self._twilio_resources = {}
        self._residual_credit = OCTOPUSH_INITIAL_CREDIT
        self._generation = 0

    # -- lifecycle ----------------------------------------------------------

    @property
    def url(self):
        """Base URL clients should use, e.g. ``http://127.0.0.1:54321``."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        """Bind and serve from a daemon thread; returns self for chaining."""
        if self._httpd is not None:
            return self
        self._stop_event.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self._dispatcher = _CallbackDispatcher(self.CALLBACK_WORKERS)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
            name="fake-providers-http", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving, drop keep-alive connections and pending callbacks."""
        if self._httpd is None:
            return
        self._stop_event.set()
        self._httpd.shutdown()
        self._httpd.close_open_connections()
        self._httpd.server_close()
        self._thread.join(5)
        self._dispatcher.stop()
        self._httpd = self._thread = self._dispatcher = None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop()

    # -- control API ----------------------------------------------------------

    def reset(self):
        """Clear recordings, queued faults, outcomes, seen request_ids.

        Pending callbacks are cancelled too, so a slow callback from a
        previous test cannot show up in the next test's ``callbacks_sent``.
        """
        with self._lock:
            # Jobs remember the generation they were accepted in; bumping it
            # silences callbacks already queued or in flight.
            self._generation += 1
            if self._dispatcher is not None:
                self._dispatcher.cancel_all()
            self.twilio_messages.clear()
            self.octopush_requests.clear()
            self.requests_log.clear()
            self.callbacks_sent.clear()
            self.replies_sent.clear()
            for queue in self._faults.values():
                queue.clear()
            self.max_in_flight = self._in_flight
            self._outcomes.clear()
            self._seen_request_ids.clear()
            self._twilio_resources.clear()
            self._residual_credit = OCTOPUSH_INITIAL_CREDIT

    def inject_faults(self, kind, count=1, on="send", **options):
        """Queue ``count`` faults of ``kind``, consumed FIFO by send requests (``on="send"``)
        or by Twilio message look-ups, list and fetch (``on="lookup"``)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (expected one of {sorted(FAULT_KINDS)})")
        if on not in FAULT_TARGETS:
            raise ValueError(f"unknown fault target {on!r} (expected one of {FAULT_TARGETS})")
        with self._lock:
            for _ in range(count):
                self._faults[on].append((kind, dict(options)))

    def clear_faults(self):
        """Forget the faults not consumed yet, keeping what was received (reset() forgets all)."""
        with self._lock:
            for queue in self._faults.values():
                queue.clear()

    def set_delivery_outcome(self, number, status, error_code=None):
        """Final status the callbacks will report for ``number``.

        Either vocabulary is accepted and mapped for the other provider
        ("undelivered" becomes NOT_DELIVERED for Octopush, an Octopush status
        other than DELIVERED becomes "undelivered" for Twilio).
        """
        with self._lock:
            self._outcomes[number] = (status, error_code)

    def wait_for_callbacks(self, count, timeout=10.0):
        """Block until at least ``count`` callbacks were attempted."""
        deadline = time.monotonic() + timeout
        with self._callbacks_cond:
            while len(self.callbacks_sent) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._callbacks_cond.wait(remaining)
            return True

    # -- request dispatch ---------------------------------------------------

    def _dispatch(self, handler):
        """Route one request; a bug in the fake answers 500 instead of hanging."""
        try:
            self._dispatch_request(handler)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
        except Exception as exc:
            handler.close_connection = True
            try:
                self._send(handler, _Reply(500, {"code": 500, "message": f"fake server bug: {exc!r}"}))
            except OSError:
                pass

    def _dispatch_request(self, handler):
        """Split provider traffic (latency, faults, logging) from helper pages."""
        _CURRENT_REQUEST.path = handler.path
        path = urllib.parse.urlsplit(handler.path).path
        is_twilio = path == TWILIO_PREFIX or path.startswith(TWILIO_PREFIX + "/")
        is_octopush = path == OCTOPUSH_PREFIX or path.startswith(OCTOPUSH_PREFIX + "/")
        if is_twilio or is_octopush:
            self._handle_provider(handler, path, is_twilio)
        else:
            self._send(handler, self._route_helper(handler, path))

    def _handle_provider(self, handler, path, is_twilio):
        """Apply the next queued fault (send requests and look-ups), latency, routing."""
        received_at = time.time()
        is_send = handler.command == "POST" and (
            path.endswith("/Messages.json") if is_twilio else path == OCTOPUSH_PREFIX + "/sms-campaign/send"
        )
        is_lookup = is_twilio and handler.command == "GET" and bool(TWILIO_LOOKUP_RE.match(path))
        target = "send" if is_send else "lookup" if is_lookup else None
        fault, options = self._pop_fault(target) if target else (None, {})

        if fault == "connection_reset":
            self._log_request(handler, path, None, received_at, fault)
            handler.reset_connection()
            return
        if is_send:
            self._enter_flight()
        try:
            self._handle_provider_request(handler, path, is_twilio, received_at, fault, options)
        finally:
            if is_send:
                self._leave_flight()

    def _handle_provider_request(self, handler, path, is_twilio, received_at, fault, options):
        self._sleep(self.latency)
        body = handler.read_body()
        if fault == "stall":
            self._sleep(float(options.get("seconds", 10)))
        if fault == "drop_before_accept":
            # Read but never processed: the client sees a lost connection (or, with ``seconds``
            # beyond its timeout, no answer in time), and nothing was accepted.
            self._sleep(float(options.get("seconds", 0)))
            self._log_request(handler, path, None, received_at, fault)
            handler.drop_connection()
            return

        if fault in ("http_500", "http_502_html", "http_503", "http_429"):
            reply = self._fault_reply(fault, options, is_twilio)
        elif is_twilio:
            reply = self._route_twilio(handler, path, body)
        else:
            reply = self._route_octopush(handler, path, body)

        if fault == "drop_after_accept":
            # The request was fully processed (message accepted and callbacks
            # scheduled) but the client never learns it: the duplicate-send trap.
            self._log_request(handler, path, None, received_at, fault)
            handler.drop_connection()
            if reply.on_sent:
                reply.on_sent()
            return
        self._log_request(handler, path, reply.status, received_at, fault)
        self._send(handler, reply)

    def _enter_flight(self):
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave_flight(self):
        with self._lock:
            self._in_flight -= 1

    def _send(self, handler, reply):
        """Write the reply, then run its post-send hook (callback scheduling)."""
        try:
            handler.send_reply(reply)
        finally:
            if reply.on_sent:
                reply.on_sent()

    def _pop_fault(self, target):
        with self._lock:
            if self._faults[target]:
                return self._faults[target].popleft()
        return None, {}

    def _sleep(self, seconds):
        """Sleep in the handler thread, but wake up early if the server stops."""
        if seconds > 0:
            self._stop_event.wait(seconds)

    def _log_request(self, handler, path, status, received_at, fault):
        with self._lock:
            self.requests_log.append({
                "method": handler.command,
                "path": path,
                "status": status,
                "received_at": received_at,
                "fault": fault,
            })

    def _fault_reply(self, kind, options, is_twilio):
        """Provider-flavoured error responses for injected HTTP faults."""
        if kind == "http_502_html":
            return _Reply(502, HTML_502, content_type="text/html; charset=utf-8")
        if kind == "http_429":
            headers = {"Retry-After": options.get("retry_after", 1)}
            if is_twilio:
                return _Reply(429, _twilio_error_body(20429, 429), headers=headers)
            return _Reply(429, {"code": 429, "message": "Too many requests"}, headers=headers)
        if kind == "http_503":
            if is_twilio:
                return _Reply(503, _twilio_error_body(20503, 503))
            return _Reply(503, {"code": 503, "message": "Service unavailable"})
        if is_twilio:
            return _Reply(500, _twilio_error_body(20500, 500))
        return _Reply(500, {"code": 500, "message": "Internal server error"})

    # -- Twilio -------------------------------------------------------------

    _TWILIO_ROUTES = (
        ("POST", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$"), "_twilio_create_message"),
        ("GET", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages/(?P<msid>[^/]+)\.json$"),
         "_twilio_fetch_message"),
        ("GET", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$"), "_twilio_list_messages"),
        ("GET", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Balance\.json$"), "_twilio_balance"),
        ("GET", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/.]+)\.json$"), "_twilio_account"),
    )

    def _route_twilio(self, handler, path, body):
        for method, pattern, name in self._TWILIO_ROUTES:
            match = pattern.match(path)
            if match and handler.command == method:
                sid = match.group("sid")
                if not self._twilio_authorized(handler, sid):
                    return _Reply(401, _twilio_error_body(20003, 401))
                return getattr(self, name)(match, body)
        return _Reply(404, _twilio_error_body(20404, 404, path=path))

    def _twilio_authorized(self, handler, path_sid):
        """HTTP Basic auth: user must be the path AccountSid, token must match.

        Without configured accounts any credentials are accepted, but a user
        different from the path AccountSid is still refused (as Twilio does).
        """
        user, token = self._basic_auth(handler)
        if self.twilio_accounts is None:
            return user is None or user == path_sid
        return user == path_sid and self.twilio_accounts.get(user) == token and token is not None

    @staticmethod
    def _basic_auth(handler):
        header = handler.headers.get("Authorization") or ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None, None
        try:
            decoded = base64.b64decode(encoded.strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None, None
        user, _, token = decoded.partition(":")
        return user, token

    def _validate_twilio_send(self, params):
        """Return a Twilio error (code, fmt) tuple or None if the send is valid."""
        to = params.get("To", "")
        from_ = params.get("From") or None
        body = params.get("Body", "")
        if not to:
            return 21604, {}
        if not E164_RE.match(to):
            return 21211, {"to": to}
        if not from_ and not params.get("MessagingServiceSid"):
            return 21603, {}
        if not body:
            return 21602, {}
        if len(body) > TWILIO_MAX_BODY:
            return 21617, {}
        if to in TWILIO_MAGIC_TO:
            return TWILIO_MAGIC_TO[to], {"to": to, "from_": from_}
        return None

    def _twilio_create_message(self, match, body):
        account_sid = match.group("sid")
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace"),
                                                               keep_blank_values=True).items()}
        error = self._validate_twilio_send(params)
        if error:
            code, fmt = error
            return _Reply(400, _twilio_error_body(code, 400, **fmt))

        resource = self._new_twilio_resource(account_sid, params)
        record = {
            "sid": resource["sid"],
            "account_sid": account_sid,
            "to": resource["to"],
            "from": resource["from"],
            "messaging_service_sid": resource["messaging_service_sid"],
            "body": resource["body"],
            "status_callback": params.get("StatusCallback") or None,
            "num_segments": int(resource["num_segments"]),
            "received_at": time.time(),
        }
        with self._lock:
            self._twilio_resources[resource["sid"]] = resource
            self.twilio_messages.append(record)
            generation = self._generation
        reply = _Reply(201, dict(resource))
        if self.auto_callbacks:
            reply.on_sent = lambda: self._schedule(
                lambda: self._progress_twilio_message(generation, record))
        return reply

    @staticmethod
    def _new_twilio_resource(account_sid, params):
        sid = "SM" + secrets.token_hex(16)
        now = _rfc2822_now()
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"
        return {
            "sid": sid,
            "account_sid": account_sid,
            "to": params["To"],
            "from": params.get("From") or None,
            "messaging_service_sid": params.get("MessagingServiceSid") or None,
            "body": params["Body"],
            "status": "queued",
            "num_segments": str(sms_segments(params["Body"])),
            "num_media": "0",
            "direction": "outbound-api",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "api_version": TWILIO_API_VERSION,
            "uri": uri,
            "subresource_uris": {"media": uri[: -len(".json")] + "/Media.json"},
        }

    def _twilio_fetch_message(self, match, body):
        with self._lock:
            resource = self._twilio_resources.get(match.group("msid"))
            resource = dict(resource) if resource else None
        if resource is None or resource["account_sid"] != match.group("sid"):
            return _Reply(404, _twilio_error_body(20404, 404, path=match.group(0)))
        return _Reply(200, resource)

    def _twilio_list_messages(self, match, body):
        """Message list, newest first, filtered by ``To`` like Twilio's (used to reconcile)."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(_CURRENT_REQUEST.path).query)
        to = (query.get("To") or [None])[-1]
        with self._lock:
            resources = [dict(r) for r in self._twilio_resources.values()
                         if r["account_sid"] == match.group("sid") and (to is None or r["to"] == to)]
        resources.reverse()
        page_size = int((query.get("PageSize") or ["50"])[-1])
        return _Reply(200, {
            "messages": resources[:page_size], "page": 0, "page_size": page_size,
            "first_page_uri": match.group(0), "next_page_uri": None, "previous_page_uri": None,
            "uri": match.group(0), "start": 0, "end": max(len(resources[:page_size]) - 1, 0),
        })

    def _twilio_account(self, match, body):
        sid = match.group("sid")
        return _Reply(200, {
            "sid": sid,
            "friendly_name": "Fake account",
            "status": "active",
            "type": "Full",
            "uri": f"/2010-04-01/Accounts/{sid}.json",
        })

    def _twilio_balance(self, match, body):
        return _Reply(200, {"account_sid": match.group("sid"), "balance": "42.50", "currency": "USD"})

    def _progress_twilio_message(self, generation, record):
        """Move a message to "sent" then to its final status, with callbacks.

        Both steps run in the same job so the receiver always sees "sent"
        before the final status, whatever the worker pool interleaving.
        """
        with self._lock:
            outcome, error_code = self._outcomes.get(record["to"], (None, None))
        final = _twilio_status_for(outcome)
        if final in ("undelivered", "failed") and error_code is None:
            error_code = 30003 if final == "undelivered" else 30008
        for status in ("sent", final) if final != "sent" else ("sent",):
            if not self._is_current(generation):
                return
            code = error_code if status in ("undelivered", "failed") else None
            self._update_twilio_resource(record["sid"], status, code)
            if record["status_callback"]:
                self._post_twilio_callback(generation, record, status, code)

    def _update_twilio_resource(self, sid, status, error_code):
        with self._lock:
            resource = self._twilio_resources.get(sid)
            if resource is None:
                return
            now = _rfc2822_now()
            resource["status"] = status
            resource["date_updated"] = now
            if status == "sent":
                resource["date_sent"] = now
                resource["price"] = "-%.5f" % (0.0079 * int(resource["num_segments"]))
            if error_code is not None:
                resource["error_code"] = int(error_code)
                resource["error_message"] = TWILIO_ERROR_MESSAGES.get(int(error_code), "Unknown error")

    def _post_twilio_callback(self, generation, record, status, error_code):
        params = {
            "MessageSid": record["sid"],
            "SmsSid": record["sid"],
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": record["account_sid"],
            "To": record["to"],
            "ApiVersion": TWILIO_API_VERSION,
        }
        if record["from"]:
            params["From"] = record["from"]
        if record["messaging_service_sid"]:
            params["MessagingServiceSid"] = record["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        url = record["status_callback"]
        token = (self.twilio_accounts or {}).get(record["account_sid"], "")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "X-Twilio-Signature": twilio_signature(token, url, params),
            "User-Agent": "TwilioProxy/1.1",
        }
        data = urllib.parse.urlencode(params).encode("utf-8")
        self._deliver_callback(generation, "twilio_status", url, params, data, headers)

    # -- Octopush -----------------------------------------------------------

    def _route_octopush(self, handler, path, body):
        routes = {
            ("POST", OCTOPUSH_PREFIX + "/sms-campaign/send"): self._octopush_send,
            ("GET", OCTOPUSH_PREFIX + "/wallet/check-balance"): self._octopush_balance,
        }
        route = routes.get((handler.command, path))
        if route is None:
            return _Reply(404, {"code": 404, "message": "Not found"})
        if not self._octopush_authorized(handler):
            return _Reply(401, {"code": 101, "message": "Invalid login or api key"})
        return route(body)

    def _octopush_authorized(self, handler):
        if self.octopush_accounts is None:
            return True
        login = handler.headers.get("api-login")
        key = handler.headers.get("api-key")
        return login is not None and self.octopush_accounts.get(login) == key

    @staticmethod
    def _validate_octopush_send(payload):
        """Return an Octopush error (code, message) or None if valid."""
        if not isinstance(payload, dict):
            return 100, "Invalid JSON body"
        recipients = payload.get("recipients")
        if not isinstance(recipients, list) or not recipients:
            return 117, "No valid number"
        if len(recipients) > OCTOPUSH_MAX_RECIPIENTS:
            return 116, f"Too many recipients (max {OCTOPUSH_MAX_RECIPIENTS})"
        for recipient in recipients:
            number = recipient.get("phone_number") if isinstance(recipient, dict) else None
            if not isinstance(number, str) or not E164_RE.match(number):
                return 117, "No valid number"
        text = payload.get("text")
        if not isinstance(text, str) or not text or len(text) > OCTOPUSH_MAX_TEXT:
            return 110, f"Invalid text (1 to {OCTOPUSH_MAX_TEXT} characters)"
        if payload.get("type") not in OCTOPUSH_TYPES:
            return 111, "Invalid SMS type"
        purpose = payload.get("purpose", "alert")
        if purpose not in OCTOPUSH_PURPOSES:
            return 100, "Invalid purpose"
        sender = payload.get("sender")
        if sender is not None and (not isinstance(sender, str) or not OCTOPUSH_SENDER_RE.match(sender)):
            return 106, "Invalid sender"
        if purpose == "wholesale" and "STOP au " not in text and any(
                r["phone_number"].startswith("+33") for r in recipients):
            return 121, "Missing STOP mention for wholesale SMS to France"
        return None

    def _octopush_send(self, body):
        try:
            payload = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            payload = None
        error = self._validate_octopush_send(payload)
        if error:
            code, message = error
            return _Reply(400, {"code": code, "message": message})

        request_id = payload.get("request_id")
        simulation = bool(payload.get("simulation_mode"))
        contacts = len(payload["recipients"])
        needed = contacts * sms_segments(payload["text"])
        cost = round(needed * OCTOPUSH_PRICE_PER_SMS, 4)
        ticket = "sms_" + secrets.token_hex(7)[:13]
        with self._lock:
            if request_id is not None:
                if request_id in self._seen_request_ids:
                    return _Reply(409, {"code": 120, "message": "Duplicate request_id"})
                self._seen_request_ids.add(request_id)
            if not simulation:
                self._residual_credit = round(self._residual_credit - cost, 4)
            credit = self._residual_credit
            self.octopush_requests.append({
                "sms_ticket": ticket,
                "payload": payload,
                "request_id": request_id,
                "simulation": simulation,
                "received_at": time.time(),
            })
            generation = self._generation
        reply = _Reply(201, {
            "sms_ticket": ticket,
            "number_of_contacts": contacts,
            "total_cost": cost,
            "number_of_sms_needed": needed,
            "residual_credit": credit,
        })
        if self._wants_octopush_dlr(payload, simulation):
            reply.on_sent = lambda: self._schedule_octopush_dlrs(generation, ticket, payload)
        return reply

    def _wants_octopush_dlr(self, payload, simulation):
        """Octopush only reports delivery for premium, non-simulated sends."""
        return (self.auto_callbacks and not simulation and self.octopush_callback_url
                and payload.get("type") == "sms_premium")

    def _schedule_octopush_dlrs(self, generation, ticket, payload):
        for recipient in payload["recipients"]:
            number = recipient["phone_number"]
            self._schedule(lambda number=number: self._post_octopush_dlr(generation, ticket, number))

    def _post_octopush_dlr(self, generation, ticket, number):
        with self._lock:
            outcome, _ = self._outcomes.get(number, (None, None))
        data = {
            "message_id": ticket,
            "number": number,
            "status": _octopush_status_for(outcome),
            "delivery_date": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "channel": "sms_premium",
            "meta_data": None,
        }
        url = self.octopush_callback_url
        headers = {"Content-Type": "application/json", "User-Agent": "Octopush-DLR/1.0"}
        self._deliver_callback(generation, "octopush_dlr", url, data, json.dumps(data).encode("utf-8"), headers)

    def _octopush_balance(self, body):
        return _Reply(200, {"amount": 12.54, "unit": "euros"})

    # -- callbacks ------------------------------------------------------------

    def _schedule(self, job):
        """Queue a callback job after ``callback_delay`` (no-op once stopped)."""
        dispatcher = self._dispatcher
        if dispatcher is not None:
            dispatcher.schedule(self.callback_delay, job)

    def _is_current(self, generation):
        """False once reset()/stop() happened after the job was accepted."""
        return self._dispatcher is not None and generation == self._generation

    def _deliver_callback(self, generation, kind, url, data, raw, headers):
        """POST one callback and record the attempt, whatever its outcome."""
        if not self._is_current(generation):
            return
        request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
        status = None
        try:
            with self._opener.open(request, timeout=self.CALLBACK_TIMEOUT) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (urllib.error.URLError, OSError, ValueError):
            status = None
        with self._callbacks_cond:
            if not self._is_current(generation):
                return
            self.callbacks_sent.append({
                "url": url,
                "data": data,
                "status": status,
                "kind": kind,
                "headers": headers,
                "sent_at": time.time(),
            })
            self._callbacks_cond.notify_all()

    # -- helper / human endpoints ---------------------------------------------

    def _route_helper(self, handler, path):
        """Non-provider endpoints: inspection JSON, reset, and the phone simulator."""
        body = handler.read_body() if handler.command == "POST" else b""
        if path == "/_fake/messages" and handler.command == "GET":
            return _Reply(200, self.snapshot())
        if path == "/_fake/reset" and handler.command == "POST":
            self.reset()
            return _Reply(200, {"reset": True})
        if path == "/_fake/reply" and handler.command == "POST":
            return self._simulator_reply(body)
        if path == "/" and handler.command == "GET":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
            notice = (query.get("notice") or [""])[-1]
            return _Reply(200, self._render_index(notice), content_type="text/html; charset=utf-8")
        return _Reply(404, {"code": 404, "message": "Not found"})

    def snapshot(self):
        """Copy of what was accepted so far, as served by /_fake/messages."""
        with self._lock:
            return {
                "twilio": [dict(m) for m in self.twilio_messages],
                "octopush": [dict(r) for r in self.octopush_requests],
            }

    # -- phone simulator ------------------------------------------------------

    def phones(self):
        """Per phone number, the SMS it received and the replies it sent, oldest first.

        ``{number: {"provider": last provider used to reach it, "our_number": where a reply goes,
        "account_sid": Twilio account, "ticket": Octopush ticket, "messages": [...]}}``
        """
        phones = {}

        def phone(number):
            return phones.setdefault(number, {"provider": None, "our_number": None, "account_sid": None,
                                              "ticket": None, "messages": []})

        with self._lock:
            events = []
            for msg in self.twilio_messages:
                events.append((msg["received_at"], "twilio", msg["to"], msg["body"], msg))
            for req in self.octopush_requests:
                if req["simulation"]:
                    continue
                for recipient in req["payload"]["recipients"]:
                    events.append((req["received_at"], "octopush", recipient["phone_number"],
                                   req["payload"]["text"], req))
            replies = [dict(r) for r in self.replies_sent]
        events.sort(key=lambda event: event[0])
        for ts, provider, number, text, raw in events:
            entry = phone(number)
            entry["provider"] = provider
            if provider == "twilio":
                entry["our_number"] = raw["from"] or entry["our_number"]
                entry["account_sid"] = raw["account_sid"]
            else:
                entry["ticket"] = raw["sms_ticket"]
            entry["messages"].append({"at": ts, "direction": "in", "provider": provider, "body": text})
        for reply in replies:
            phone(reply["number"])["messages"].append(
                {"at": reply["at"], "direction": "out", "provider": reply["provider"], "body": reply["body"],
                 "status": reply["status"]})
        for entry in phones.values():
            entry["messages"].sort(key=lambda m: m["at"])
        return phones

    def reply_as_phone(self, number, body, provider=None):
        """Post a REAL signed inbound webhook as if ``number`` replied ``body``; return (status, text).

        The provider defaults to the one that last texted ``number`` (else Twilio); its inbound URL is
        ``twilio_inbound_url`` / ``octopush_inbound_url``.
        """
        entry = self.phones().get(number, {})
        provider = provider or entry.get("provider") or ("twilio" if self.twilio_inbound_url else "octopush")
        if provider == "twilio":
            url = self.twilio_inbound_url
            data = {"From": number, "To": entry.get("our_number") or "+15005550006", "Body": body}
            kwargs = {"account_sid": entry.get("account_sid")}
        elif provider == "octopush":
            url = self.octopush_inbound_url
            data = {"message_id": entry.get("ticket") or "sms_simulator", "number": number, "text": body,
                    "sim_card_number": "+33700000001",
                    "reception_date": datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
            kwargs = {}
        else:
            raise ValueError(f"unknown provider {provider!r}")
        if not url:
            raise ValueError(f"no inbound URL configured for {provider} (--{provider}-inbound-url)")
        status, text = self.send_inbound(provider, url, data, **kwargs)
        with self._lock:
            self.replies_sent.append({"at": time.time(), "number": number, "body": body, "provider": provider,
                                      "status": status})
        return status, text

    def _simulator_reply(self, raw):
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace"),
                                                           keep_blank_values=True).items()}
        number, body = form.get("number", "").strip(), form.get("body", "")
        if not number or not body.strip():
            return _Reply(400, {"code": 400, "message": "number and body are required"})
        try:
            status, _text = self.reply_as_phone(number, body, form.get("provider") or None)
        except ValueError as exc:
            return _Reply(400, {"code": 400, "message": str(exc)})
        except OSError as exc:
            status = f"error: {exc}"
        notice = f"Reply from {number} posted to Odoo: {status}"
        location = "/?" + urllib.parse.urlencode({"notice": notice})
        return _Reply(303, {"status": status, "notice": notice}, headers={"Location": location})

    def _render_index(self, notice=""):
        esc = html.escape
        cards = []
        phones = self.phones()
        for number, entry in sorted(phones.items(), key=lambda item: -item[1]["messages"][-1]["at"]):
            bubbles = "".join(
                "<div class='msg {}'><span class='meta'>{} · {}</span>{}</div>".format(
                    "out" if m["direction"] == "out" else "in", esc(m["provider"]),
                    esc(datetime.fromtimestamp(m["at"]).strftime("%Y-%m-%d %H:%M:%S")), esc(m["body"]))
                for m in reversed(entry["messages"])  # newest first, under the reply form
            )
            options = "".join(
                "<option value='{0}'{1}>{0}</option>".format(p, " selected" if p == entry["provider"] else "")
                for p in ("twilio", "octopush")
            )
            cards.append(
                f"<section class='phone' data-number='{esc(number, quote=True)}'><h2>{esc(number)}</h2>"
                "<form method='post' action='/_fake/reply'>"
                f"<input type='hidden' name='number' value='{esc(number, quote=True)}'>"
                f"<select name='provider'>{options}</select>"
                "<input name='body' placeholder='Reply as this phone' required>"
                "<button type='submit'>Send</button></form>"
                f"<div class='msgs'>{bubbles}</div></section>"
            )
        count = sum(1 for e in phones.values() for m in e["messages"] if m["direction"] == "in")
        urls = "".join(
            f"<li>{name}: {esc(url) if url else '<em>not configured</em>'}</li>"
            for name, url in (("Twilio inbound URL", self.twilio_inbound_url),
                              ("Octopush inbound URL", self.octopush_inbound_url))
        )
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            "<title>Phone simulator - fake SMS providers</title><style>"
            "body{font-family:sans-serif;margin:1em;background:#f4f4f4}"
            ".phone{display:inline-block;vertical-align:top;width:320px;margin:.5em;padding:.5em;"
            "background:#fff;border:1px solid #ccc;border-radius:12px}"
            ".msgs{max-height:320px;overflow-y:auto}.msg{margin:.3em 0;padding:.4em;border-radius:8px}"
            ".msg.in{background:#e5e5ea;margin-right:2em}form{margin-bottom:.5em}.msg.out{background:#0b84ff;color:#fff;margin-left:2em}"
            ".meta{display:block;font-size:70%;opacity:.7}form{display:flex;gap:.3em}form input[name=body]{flex:1}"
            "</style></head><body><h1>Phone simulator</h1>"
            f"{'<p class=notice>' + esc(notice) + '</p>' if notice else ''}"
            f"<p>{count} message(s) received by {len(phones)} phone(s)</p><ul>{urls}</ul>"
            "<form method='post' action='/_fake/reply' class='new'>"
            "<input name='number' placeholder='Text Odoo from any number, e.g. +33612345678' required>"
            "<select name='provider'><option value=''>provider</option><option value='twilio'>twilio</option>"
            "<option value='octopush'>octopush</option></select>"
            "<input name='body' placeholder='Message' required><button type='submit'>Send</button></form>"
            f"{''.join(cards)}</body></html>"
        )

    # -- inbound SMS (customer -> us) ------------------------------------------

    def send_inbound(self, kind, url, data, account_sid=None, timeout=CALLBACK_TIMEOUT):
        """POST an inbound SMS webhook to ``url`` as the provider would; return (status, body).

        ``kind`` is "twilio" (form, signed with the account's auth token, a fresh MessageSid
        unless given) or "octopush" (JSON, reply or STOP notification as given).
        """
        if kind == "twilio":
            sid = account_sid or data.get("AccountSid") or next(iter(self.twilio_accounts or {}), "AC" + "0" * 32)
            params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": sid, "NumMedia": "0",
                      "ApiVersion": TWILIO_API_VERSION, **data}
            params.setdefault("SmsSid", params["MessageSid"])
            params.setdefault("NumSegments", str(sms_segments(params.get("Body", ""))))
            token = (self.twilio_accounts or {}).get(sid, "")
            headers = {
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "X-Twilio-Signature": twilio_signature(token, url, params),
                "User-Agent": "TwilioProxy/1.1",
            }
            raw = urllib.parse.urlencode(params).encode("utf-8")
        elif kind == "octopush":
            params = dict(data)
            headers = {"Content-Type": "application/json", "User-Agent": "Octopush-MO/1.0"}
            raw = json.dumps(params).encode("utf-8")
        else:
            raise ValueError(f"unknown inbound kind {kind!r}")
        request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode("utf-8", "replace")
