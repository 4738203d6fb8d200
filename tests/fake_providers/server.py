"""Loopback fake SMS provider server: the providers' real wire formats over real HTTP.

The connector under test talks to real providers over HTTP; mocking the
Python call sites would hide everything that matters in production (status
codes, error bodies, timeouts, dropped connections, keep-alive, callbacks).
This module therefore runs a *real* HTTP server on loopback that can be
steered by the test (latency, queued faults, per-number delivery outcomes)
while recording everything it saw.

The server is provider-neutral: each provider's API is a fake of its own, in
its addon (``sms_connector_<provider>/tests/fake_provider.py``, see
``base.ProviderFake``), found by ``base.fake_classes()`` and served under its
URL prefix. A new provider adds a module; nothing here names one.

Only the standard library is used so that the server can also be started
standalone for a local demo (``python -m tests.fake_providers``).
"""

import heapq
import html
import itertools
import logging
import socket
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .base import Reply, fake_classes, sms_segments

__all__ = ["FakeProviderServer", "sms_segments"]

_logger = logging.getLogger(__name__)

FAULT_KINDS = frozenset({
    "http_500", "http_502_html", "http_503", "http_429", "stall", "drop_before_accept", "drop_after_accept",
    "connection_reset",
})
# Where queued faults apply: provider send requests, or message look-ups (ProviderFake.is_lookup).
FAULT_TARGETS = ("send", "lookup")
HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"


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
    """Loopback HTTP server serving every registered provider fake.

    Usage::

        with FakeProviderServer(twilio_accounts={"AC...": "token"}) as fake:
            client_base_url = fake.url
            ...
            assert fake.twilio_messages[0]["to"] == "+33612345678"

    ``<code>_<option>`` keyword arguments configure the fake of that provider
    (``twilio_accounts``, ``octopush_callback_url``, ``twilio_inbound_url``...), and
    ``<code>_<attribute>`` reads or sets its attributes (``fake.octopush_requests``).
    """

    CALLBACK_WORKERS = 8
    CALLBACK_TIMEOUT = 10.0

    def __init__(self, host="127.0.0.1", port=0, latency=0.0, callback_delay=0.0, auto_callbacks=True,
                 **provider_options):
        self.host = host
        self.port = port
        self.latency = float(latency)
        self.callback_delay = float(callback_delay)
        self.auto_callbacks = auto_callbacks

        self.lock = threading.Lock()
        self._callbacks_cond = threading.Condition(self.lock)
        self._stop_event = threading.Event()
        self._httpd = None
        self._thread = None
        self._dispatcher = None
        # Proxies from the environment must never intercept loopback callbacks.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        self.requests_log = []
        self.callbacks_sent = []
        self.replies_sent = []
        self._faults = {target: deque() for target in FAULT_TARGETS}
        self._in_flight = 0
        self.max_in_flight = 0  # most send requests ever being handled at once (since reset())
        self._outcomes = {}
        self.generation = 0

        classes = fake_classes()
        options = {cls.code: {} for cls in classes}
        for key, value in provider_options.items():
            code = next((cls.code for cls in classes if key.startswith(cls.code + "_")), None)
            if code is None:
                raise TypeError(f"unexpected keyword argument {key!r} (providers: {', '.join(options)})")
            options[code][key[len(code) + 1:]] = value
        self.providers = {cls.code: cls(self, **options[cls.code]) for cls in classes}

    # -- per-provider attributes: server.twilio_messages is providers["twilio"].messages

    def _provider_attribute(self, name):
        for code, fake in self.__dict__.get("providers", {}).items():
            attribute = name[len(code) + 1:]
            if name.startswith(code + "_") and not attribute.startswith("_") and hasattr(fake, attribute):
                return fake, attribute
        return None, None

    def __getattr__(self, name):
        fake, attribute = self._provider_attribute(name)
        if fake is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(fake, attribute)

    def __setattr__(self, name, value):
        fake, attribute = self._provider_attribute(name)
        if fake is None:
            super().__setattr__(name, value)
        else:
            setattr(fake, attribute, value)

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
        """Clear recordings, queued faults, outcomes and every provider's state.

        Pending callbacks are cancelled too, so a slow callback from a
        previous test cannot show up in the next test's ``callbacks_sent``.
        """
        with self.lock:
            # Jobs remember the generation they were accepted in; bumping it
            # silences callbacks already queued or in flight.
            self.generation += 1
            if self._dispatcher is not None:
                self._dispatcher.cancel_all()
            self.requests_log.clear()
            self.callbacks_sent.clear()
            self.replies_sent.clear()
            for queue in self._faults.values():
                queue.clear()
            self.max_in_flight = self._in_flight
            self._outcomes.clear()
            for fake in self.providers.values():
                fake.reset()

    def inject_faults(self, kind, count=1, on="send", **options):
        """Queue ``count`` faults of ``kind``, consumed FIFO by send requests (``on="send"``)
        or by message look-ups, e.g. Twilio's list and fetch (``on="lookup"``)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (expected one of {sorted(FAULT_KINDS)})")
        if on not in FAULT_TARGETS:
            raise ValueError(f"unknown fault target {on!r} (expected one of {FAULT_TARGETS})")
        with self.lock:
            for _ in range(count):
                self._faults[on].append((kind, dict(options)))

    def clear_faults(self):
        """Forget the faults not consumed yet, keeping what was received (reset() forgets all)."""
        with self.lock:
            for queue in self._faults.values():
                queue.clear()

    def set_delivery_outcome(self, number, status, error_code=None):
        """Final status the callbacks will report for ``number``.

        Either vocabulary is accepted and mapped by each provider fake
        ("undelivered" becomes NOT_DELIVERED for Octopush, an Octopush status
        other than DELIVERED becomes "undelivered" for Twilio).
        """
        with self.lock:
            self._outcomes[number] = (status, error_code)

    def outcome(self, number):
        """``(status, error_code)`` set for ``number``, ``(None, None)`` for the default (delivered)."""
        with self.lock:
            return self._outcomes.get(number, (None, None))

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
                self._send(handler, Reply(500, {"code": 500, "message": f"fake server bug: {exc!r}"}))
            except OSError:
                pass

    def _dispatch_request(self, handler):
        """Split provider traffic (latency, faults, logging) from helper pages."""
        path = urllib.parse.urlsplit(handler.path).path
        fake = next((fake for fake in self.providers.values() if fake.owns(path)), None)
        if fake is not None:
            self._handle_provider(handler, path, fake)
        else:
            self._send(handler, self._route_helper(handler, path))

    def _handle_provider(self, handler, path, fake):
        """Apply the next queued fault (send requests and look-ups), latency, routing."""
        received_at = time.time()
        is_send = fake.is_send(handler.command, path)
        is_lookup = fake.is_lookup(handler.command, path)
        target = "send" if is_send else "lookup" if is_lookup else None
        fault, options = self._pop_fault(target) if target else (None, {})

        if fault == "connection_reset":
            self._log_request(handler, path, None, received_at, fault)
            handler.reset_connection()
            return
        flight = [is_send]  # still counted as in flight

        def land():
            """The request is handled: it stops counting before its answer is written, as the
            client sees it (a client may send its next request as soon as it reads the answer)."""
            if flight[0]:
                flight[0] = False
                self._leave_flight()

        if is_send:
            self._enter_flight()
        try:
            self._handle_provider_request(handler, path, fake, received_at, fault, options, land)
        finally:
            land()

    def _handle_provider_request(self, handler, path, fake, received_at, fault, options, land):
        self._sleep(self.latency)
        body = handler.read_body()
        if fault == "stall":
            self._sleep(float(options.get("seconds", 10)))
        if fault == "drop_before_accept":
            # Read but never processed: the client sees a lost connection (or, with ``seconds``
            # beyond its timeout, no answer in time), and nothing was accepted.
            self._sleep(float(options.get("seconds", 0)))
            self._log_request(handler, path, None, received_at, fault)
            land()
            handler.drop_connection()
            return

        if fault in ("http_500", "http_502_html", "http_503", "http_429"):
            reply = self._fault_reply(fault, options, fake)
        else:
            reply = fake.route(handler, path, body)

        if fault == "drop_after_accept":
            # The request was fully processed (message accepted and callbacks
            # scheduled) but the client never learns it: the duplicate-send trap.
            self._log_request(handler, path, None, received_at, fault)
            land()
            handler.drop_connection()
            if reply.on_sent:
                reply.on_sent()
            return
        self._log_request(handler, path, reply.status, received_at, fault)
        land()
        self._send(handler, reply)

    def _enter_flight(self):
        with self.lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave_flight(self):
        with self.lock:
            self._in_flight -= 1

    def _send(self, handler, reply):
        """Write the reply, then run its post-send hook (callback scheduling)."""
        try:
            handler.send_reply(reply)
        finally:
            if reply.on_sent:
                reply.on_sent()

    def _pop_fault(self, target):
        with self.lock:
            if self._faults[target]:
                return self._faults[target].popleft()
        return None, {}

    def _sleep(self, seconds):
        """Sleep in the handler thread, but wake up early if the server stops."""
        if seconds > 0:
            self._stop_event.wait(seconds)

    def _log_request(self, handler, path, status, received_at, fault):
        with self.lock:
            self.requests_log.append({
                "method": handler.command,
                "path": path,
                "status": status,
                "received_at": received_at,
                "fault": fault,
            })

    def _fault_reply(self, kind, options, fake):
        """Provider-flavoured error responses for injected HTTP faults."""
        if kind == "http_502_html":
            return Reply(502, HTML_502, content_type="text/html; charset=utf-8")
        if kind == "http_429":
            reply = fake.error_reply(429)
            reply.headers["Retry-After"] = options.get("retry_after", 1)
            return reply
        return fake.error_reply(503 if kind == "http_503" else 500)

    # -- callbacks (used by the provider fakes) -------------------------------

    def schedule(self, job):
        """Queue a callback job after ``callback_delay`` (no-op once stopped)."""
        dispatcher = self._dispatcher
        if dispatcher is not None:
            dispatcher.schedule(self.callback_delay, job)

    def is_current(self, generation):
        """False once reset()/stop() happened after the job was accepted."""
        return self._dispatcher is not None and generation == self.generation

    def deliver_callback(self, generation, kind, url, data, raw, headers):
        """POST one callback and record the attempt, whatever its outcome."""
        if not self.is_current(generation):
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
            if not self.is_current(generation):
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
            return Reply(200, self.snapshot())
        if path == "/_fake/reset" and handler.command == "POST":
            self.reset()
            return Reply(200, {"reset": True})
        if path == "/_fake/reply" and handler.command == "POST":
            return self._simulator_reply(body)
        if path == "/" and handler.command == "GET":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
            notice = (query.get("notice") or [""])[-1]
            return Reply(200, self._render_index(notice), content_type="text/html; charset=utf-8")
        return Reply(404, {"code": 404, "message": "Not found"})

    def snapshot(self):
        """Copy of what each provider accepted so far, as served by /_fake/messages."""
        with self.lock:
            return {code: fake.snapshot() for code, fake in self.providers.items()}

    # -- phone simulator ------------------------------------------------------

    def phones(self):
        """Per phone number, the SMS it received and the replies it sent, oldest first.

        ``{number: {"provider": last provider used to reach it, "messages": [...], **context}}``
        where ``context`` is what that provider needs for a reply (Twilio: ``our_number``,
        ``account_sid``; Octopush: ``ticket``).
        """
        phones = {}

        def phone(number):
            return phones.setdefault(number, {"provider": None, "messages": []})

        with self.lock:
            events = [(at, code, number, text, context)
                      for code, fake in self.providers.items()
                      for at, number, text, context in fake.phone_events()]
            replies = [dict(r) for r in self.replies_sent]
        events.sort(key=lambda event: event[0])
        for at, code, number, text, context in events:
            entry = phone(number)
            entry["provider"] = code
            entry.update({key: value for key, value in context.items() if value is not None})
            entry["messages"].append({"at": at, "direction": "in", "provider": code, "body": text})
        for reply in replies:
            phone(reply["number"])["messages"].append(
                {"at": reply["at"], "direction": "out", "provider": reply["provider"], "body": reply["body"],
                 "status": reply["status"]})
        for entry in phones.values():
            entry["messages"].sort(key=lambda m: m["at"])
        return phones

    def reply_as_phone(self, number, body, provider=None):
        """Post a REAL signed inbound webhook as if ``number`` replied ``body``; return (status, text).

        The provider defaults to the one that last texted ``number``, else the first provider with
        an inbound URL (``<code>_inbound_url``), to which the webhook is posted.
        """
        entry = self.phones().get(number, {})
        provider = provider or entry.get("provider") or next(
            (code for code, fake in self.providers.items() if fake.inbound_url), next(iter(self.providers)))
        fake = self.providers.get(provider)
        if fake is None:
            raise ValueError(f"unknown provider {provider!r}")
        if not fake.inbound_url:
            raise ValueError(f"no inbound URL configured for {provider} (--{provider}-inbound-url)")
        data, kwargs = fake.inbound(number, body, entry)
        status, text = self.send_inbound(provider, fake.inbound_url, data, **kwargs)
        with self.lock:
            at = time.time()
            self.replies_sent.append({"at": at, "number": number, "body": body, "provider": provider,
                                      "status": status})
            fake.inbound_answered(at, number, data, status, text)
        return status, text

    def _simulator_reply(self, raw):
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace"),
                                                           keep_blank_values=True).items()}
        number, body = form.get("number", "").strip(), form.get("body", "")
        if not number or not body.strip():
            return Reply(400, {"code": 400, "message": "number and body are required"})
        try:
            status, _text = self.reply_as_phone(number, body, form.get("provider") or None)
        except ValueError as exc:
            return Reply(400, {"code": 400, "message": str(exc)})
        except OSError as exc:
            status = f"error: {exc}"
        notice = f"Reply from {number} posted to Odoo: {status}"
        location = "/?" + urllib.parse.urlencode({"notice": notice})
        return Reply(303, {"status": status, "notice": notice}, headers={"Location": location})

    def _render_index(self, notice=""):
        esc = html.escape
        cards = []
        phones = self.phones()
        codes = list(self.providers)
        for number, entry in sorted(phones.items(), key=lambda item: -item[1]["messages"][-1]["at"]):
            bubbles = "".join(
                "<div class='msg {}'><span class='meta'>{} · {}</span>{}</div>".format(
                    "out" if m["direction"] == "out" else "in", esc(m["provider"]),
                    esc(datetime.fromtimestamp(m["at"]).strftime("%Y-%m-%d %H:%M:%S")), esc(m["body"]))
                for m in reversed(entry["messages"])  # newest first, under the reply form
            )
            options = "".join(
                "<option value='{0}'{1}>{0}</option>".format(code, " selected" if code == entry["provider"] else "")
                for code in codes
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
            f"<li>{esc(code)} inbound URL: {esc(fake.inbound_url) if fake.inbound_url else '<em>not configured</em>'}</li>"
            for code, fake in self.providers.items()
        )
        choices = "".join(f"<option value='{esc(code, quote=True)}'>{esc(code)}</option>" for code in codes)
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
            f"<select name='provider'><option value=''>provider</option>{choices}</select>"
            "<input name='body' placeholder='Message' required><button type='submit'>Send</button></form>"
            f"{''.join(cards)}</body></html>"
        )

    # -- inbound SMS (customer -> us) ------------------------------------------

    def send_inbound(self, kind, url, data, timeout=CALLBACK_TIMEOUT, **kwargs):
        """POST an inbound SMS webhook to ``url`` as provider ``kind`` would; return (status, body).

        The provider fake builds the request (Twilio: a form signed with the account's auth token,
        ``account_sid=`` picks the account; Octopush: the JSON reply or STOP notification given).
        """
        fake = self.providers.get(kind)
        if fake is None:
            raise ValueError(f"unknown inbound kind {kind!r}")
        raw, headers = fake.inbound_request(url, data, **kwargs)
        request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode("utf-8", "replace")
