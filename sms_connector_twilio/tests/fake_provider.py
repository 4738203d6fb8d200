"""Fake Twilio Programmable Messaging (REST API 2010-04-01) for the loopback fake server.

Messages are created, fetched and listed like Twilio's (HTTP Basic auth with the AccountSid and
auth token, form-encoded requests, JSON resources, error documents with Twilio's codes), move to
"sent" then to their final status with signed StatusCallback posts, and Twilio's magic test
numbers fail with their documented codes.
"""

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import time
import urllib.parse
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree import ElementTree

from tests.fake_providers.base import E164_RE, ProviderFake, Reply, register_fake, sms_segments

TWILIO_PREFIX = "/2010-04-01"
TWILIO_LOOKUP_RE = re.compile(r"^/2010-04-01/Accounts/[^/]+/Messages(/[^/]+)?\.json$")
TWILIO_API_VERSION = "2010-04-01"

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
    with contextlib.suppress(KeyError, IndexError):  # a placeholder not given: the template as is
        message = message.format(**fmt)
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


@register_fake
class TwilioFake(ProviderFake):
    """``server.twilio_messages``: one record per accepted message (sid, to, from, body...)."""

    code = "twilio"
    prefix = TWILIO_PREFIX
    sequence = 10

    _ROUTES = (
        ("POST", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$"), "_create_message"),
        ("GET", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages/(?P<msid>[^/]+)\.json$"),
         "_fetch_message"),
        ("GET", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$"), "_list_messages"),
        ("GET", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Balance\.json$"), "_balance"),
        ("GET", re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/.]+)\.json$"), "_account"),
    )

    def __init__(self, server, **options):
        super().__init__(server, **options)
        self.messages = []
        self.twiml_answers = []  # what Odoo answered in TwiML to a phone's reply: texted to that phone
        self._resources = {}

    def is_send(self, method, path):
        return method == "POST" and path.endswith("/Messages.json")

    def is_lookup(self, method, path):
        """Message list and fetch, used to reconcile an unknown outcome."""
        return method == "GET" and bool(TWILIO_LOOKUP_RE.match(path))

    def reset(self):
        self.messages.clear()
        self.twiml_answers.clear()
        self._resources.clear()

    def snapshot(self):
        return [dict(m) for m in self.messages]

    def error_reply(self, status):
        return Reply(status, _twilio_error_body(20000 + status, status))

    def route(self, handler, path, body):
        for method, pattern, name in self._ROUTES:
            match = pattern.match(path)
            if match and handler.command == method:
                sid = match.group("sid")
                if not self._authorized(handler, sid):
                    return Reply(401, _twilio_error_body(20003, 401))
                return getattr(self, name)(handler, match, body)
        return Reply(404, _twilio_error_body(20404, 404, path=path))

    def _authorized(self, handler, path_sid):
        """HTTP Basic auth: user must be the path AccountSid, token must match.

        Without configured accounts any credentials are accepted, but a user
        different from the path AccountSid is still refused (as Twilio does).
        """
        user, token = _basic_auth(handler)
        if self.accounts is None:
            return user is None or user == path_sid
        return user == path_sid and self.accounts.get(user) == token and token is not None

    # -- messages --------------------------------------------------------------

    @staticmethod
    def _validate_send(params):
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

    def _create_message(self, handler, match, body):
        account_sid = match.group("sid")
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace"),
                                                               keep_blank_values=True).items()}
        error = self._validate_send(params)
        if error:
            code, fmt = error
            return Reply(400, _twilio_error_body(code, 400, **fmt))

        resource = self._new_resource(account_sid, params)
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
        server = self.server
        with server.lock:
            self._resources[resource["sid"]] = resource
            self.messages.append(record)
            generation = server.generation
        reply = Reply(201, dict(resource))
        if server.auto_callbacks:
            reply.on_sent = lambda: server.schedule(lambda: self._progress_message(generation, record))
        return reply

    @staticmethod
    def _new_resource(account_sid, params):
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

    def _fetch_message(self, handler, match, body):
        with self.server.lock:
            resource = self._resources.get(match.group("msid"))
            resource = dict(resource) if resource else None
        if resource is None or resource["account_sid"] != match.group("sid"):
            return Reply(404, _twilio_error_body(20404, 404, path=match.group(0)))
        return Reply(200, resource)

    def _list_messages(self, handler, match, body):
        """Message list, newest first, filtered by ``To`` like Twilio's (used to reconcile)."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        to = (query.get("To") or [None])[-1]
        with self.server.lock:
            resources = [dict(r) for r in self._resources.values()
                         if r["account_sid"] == match.group("sid") and (to is None or r["to"] == to)]
        resources.reverse()
        page_size = int((query.get("PageSize") or ["50"])[-1])
        return Reply(200, {
            "messages": resources[:page_size], "page": 0, "page_size": page_size,
            "first_page_uri": match.group(0), "next_page_uri": None, "previous_page_uri": None,
            "uri": match.group(0), "start": 0, "end": max(len(resources[:page_size]) - 1, 0),
        })

    def _account(self, handler, match, body):
        sid = match.group("sid")
        return Reply(200, {
            "sid": sid,
            "friendly_name": "Fake account",
            "status": "active",
            "type": "Full",
            "uri": f"/2010-04-01/Accounts/{sid}.json",
        })

    def _balance(self, handler, match, body):
        return Reply(200, {"account_sid": match.group("sid"), "balance": "42.50", "currency": "USD"})

    # -- status callbacks ----------------------------------------------------------

    def _progress_message(self, generation, record):
        """Move a message to "sent" then to its final status, with callbacks.

        Both steps run in the same job so the receiver always sees "sent"
        before the final status, whatever the worker pool interleaving.
        """
        outcome, error_code = self.server.outcome(record["to"])
        final = _twilio_status_for(outcome)
        if final in ("undelivered", "failed") and error_code is None:
            error_code = 30003 if final == "undelivered" else 30008
        for status in ("sent", final) if final != "sent" else ("sent",):
            if not self.server.is_current(generation):
                return
            code = error_code if status in ("undelivered", "failed") else None
            self._update_resource(record["sid"], status, code)
            if record["status_callback"]:
                self._post_callback(generation, record, status, code)

    def _update_resource(self, sid, status, error_code):
        with self.server.lock:
            resource = self._resources.get(sid)
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

    def _post_callback(self, generation, record, status, error_code):
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
        headers = self._signed_headers(url, params, record["account_sid"])
        data = urllib.parse.urlencode(params).encode("utf-8")
        self.server.deliver_callback(generation, "twilio_status", url, params, data, headers)

    def _signed_headers(self, url, params, account_sid):
        token = (self.accounts or {}).get(account_sid, "")
        return {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "X-Twilio-Signature": twilio_signature(token, url, params),
            "User-Agent": "TwilioProxy/1.1",
        }

    # -- inbound SMS (customer -> us) ------------------------------------------------

    def phone_events(self):
        return [(msg["received_at"], msg["to"], msg["body"],
                 {"our_number": msg["from"], "account_sid": msg["account_sid"]})
                for msg in self.messages + self.twiml_answers]

    def inbound_answered(self, at, number, data, status, text):
        """Twilio texts the phone each ``<Message>`` of the TwiML answer (HELP...), from our number."""
        if status != 200:
            return
        try:
            root = ElementTree.fromstring(text or "")
        except ElementTree.ParseError:
            return
        for index, message in enumerate(root.iter("Message")):
            self.twiml_answers.append({"received_at": at + (index + 1) * 1e-6, "to": number, "from": data["To"],
                                       "body": message.text or "", "account_sid": data.get("AccountSid")})

    def inbound(self, number, body, context):
        data = {"From": number, "To": context.get("our_number") or "+15005550006", "Body": body}
        return data, {"account_sid": context.get("account_sid")}

    def inbound_request(self, url, data, account_sid=None):
        """A form signed with the account's auth token, with a fresh MessageSid unless given."""
        sid = account_sid or data.get("AccountSid") or next(iter(self.accounts or {}), "AC" + "0" * 32)
        params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": sid, "NumMedia": "0",
                  "ApiVersion": TWILIO_API_VERSION, **data}
        params.setdefault("SmsSid", params["MessageSid"])
        params.setdefault("NumSegments", str(sms_segments(params.get("Body", ""))))
        return urllib.parse.urlencode(params).encode("utf-8"), self._signed_headers(url, params, sid)
