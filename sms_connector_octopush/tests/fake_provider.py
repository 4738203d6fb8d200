"""Fake Octopush REST API v1 for the loopback fake server.

One JSON request carries up to 500 recipients of the same text (``api-login`` / ``api-key``
headers); a repeated ``request_id`` is refused as a duplicate, the wallet is debited, premium
non-simulated sends get delivery receipts posted to ``octopush_callback_url``.
"""

import json
import re
import secrets
import time
from datetime import datetime

from tests.fake_providers.base import E164_RE, ProviderFake, Reply, register_fake, sms_segments

OCTOPUSH_PREFIX = "/v1/public"
OCTOPUSH_SENDER_RE = re.compile(r"^[A-Za-z0-9]{3,11}$")
OCTOPUSH_TYPES = frozenset({"sms_premium", "sms_low_cost"})
OCTOPUSH_PURPOSES = frozenset({"alert", "wholesale"})
OCTOPUSH_MAX_TEXT = 1224
OCTOPUSH_MAX_RECIPIENTS = 500
OCTOPUSH_PRICE_PER_SMS = 0.0333
OCTOPUSH_INITIAL_CREDIT = 100.0


def _octopush_status_for(outcome):
    """Map a configured outcome (either provider's vocabulary) to Octopush's."""
    if outcome is None:
        return "DELIVERED"
    if outcome.lower() in ("delivered", "sent"):
        return "DELIVERED"
    if outcome.lower() in ("undelivered", "failed"):
        return "NOT_DELIVERED"
    return outcome.upper()


@register_fake
class OctopushFake(ProviderFake):
    """``server.octopush_requests``: one record per accepted request (sms_ticket, payload...)."""

    code = "octopush"
    prefix = OCTOPUSH_PREFIX
    sequence = 20

    def __init__(self, server, **options):
        super().__init__(server, **options)
        self.requests = []
        self._seen_request_ids = set()
        self._residual_credit = OCTOPUSH_INITIAL_CREDIT

    def is_send(self, method, path):
        return method == "POST" and path == OCTOPUSH_PREFIX + "/sms-campaign/send"

    def reset(self):
        self.requests.clear()
        self._seen_request_ids.clear()
        self._residual_credit = OCTOPUSH_INITIAL_CREDIT

    def snapshot(self):
        return [dict(r) for r in self.requests]

    def error_reply(self, status):
        message = {429: "Too many requests", 503: "Service unavailable"}.get(status, "Internal server error")
        return Reply(status, {"code": status, "message": message})

    def route(self, handler, path, body):
        routes = {
            ("POST", OCTOPUSH_PREFIX + "/sms-campaign/send"): self._send,
            ("GET", OCTOPUSH_PREFIX + "/wallet/check-balance"): self._balance,
        }
        route = routes.get((handler.command, path))
        if route is None:
            return Reply(404, {"code": 404, "message": "Not found"})
        if not self._authorized(handler):
            return Reply(401, {"code": 101, "message": "Invalid login or api key"})
        return route(body)

    def _authorized(self, handler):
        if self.accounts is None:
            return True
        login = handler.headers.get("api-login")
        key = handler.headers.get("api-key")
        return login is not None and self.accounts.get(login) == key

    @staticmethod
    def _validate_send(payload):
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

    def _send(self, body):
        try:
            payload = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            payload = None
        error = self._validate_send(payload)
        if error:
            code, message = error
            return Reply(400, {"code": code, "message": message})

        request_id = payload.get("request_id")
        simulation = bool(payload.get("simulation_mode"))
        contacts = len(payload["recipients"])
        needed = contacts * sms_segments(payload["text"])
        cost = round(needed * OCTOPUSH_PRICE_PER_SMS, 4)
        ticket = "sms_" + secrets.token_hex(7)[:13]
        server = self.server
        with server.lock:
            if request_id is not None:
                if request_id in self._seen_request_ids:
                    return Reply(409, {"code": 120, "message": "Duplicate request_id"})
                self._seen_request_ids.add(request_id)
            if not simulation:
                self._residual_credit = round(self._residual_credit - cost, 4)
            credit = self._residual_credit
            self.requests.append({
                "sms_ticket": ticket,
                "payload": payload,
                "request_id": request_id,
                "simulation": simulation,
                "received_at": time.time(),
            })
            generation = server.generation
        reply = Reply(201, {
            "sms_ticket": ticket,
            "number_of_contacts": contacts,
            "total_cost": cost,
            "number_of_sms_needed": needed,
            "residual_credit": credit,
        })
        if self._wants_dlr(payload, simulation):
            reply.on_sent = lambda: self._schedule_dlrs(generation, ticket, payload)
        return reply

    def _wants_dlr(self, payload, simulation):
        """Octopush only reports delivery for premium, non-simulated sends."""
        return (self.server.auto_callbacks and not simulation and self.callback_url
                and payload.get("type") == "sms_premium")

    def _schedule_dlrs(self, generation, ticket, payload):
        for recipient in payload["recipients"]:
            number = recipient["phone_number"]
            self.server.schedule(lambda number=number: self._post_dlr(generation, ticket, number))

    def _post_dlr(self, generation, ticket, number):
        outcome, _ = self.server.outcome(number)
        data = {
            "message_id": ticket,
            "number": number,
            "status": _octopush_status_for(outcome),
            "delivery_date": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "channel": "sms_premium",
            "meta_data": None,
        }
        headers = {"Content-Type": "application/json", "User-Agent": "Octopush-DLR/1.0"}
        self.server.deliver_callback(generation, "octopush_dlr", self.callback_url, data,
                                     json.dumps(data).encode("utf-8"), headers)

    def _balance(self, body):
        return Reply(200, {"amount": 12.54, "unit": "euros"})

    # -- inbound SMS (customer -> us) ------------------------------------------------

    def phone_events(self):
        return [(req["received_at"], recipient["phone_number"], req["payload"]["text"], {"ticket": req["sms_ticket"]})
                for req in self.requests if not req["simulation"] for recipient in req["payload"]["recipients"]]

    def inbound(self, number, body, context):
        data = {"message_id": context.get("ticket") or "sms_simulator", "number": number, "text": body,
                "sim_card_number": "+33700000001",
                "reception_date": datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
        return data, {}

    def inbound_request(self, url, data):
        """JSON, a reply or a STOP notification as given."""
        headers = {"Content-Type": "application/json", "User-Agent": "Octopush-MO/1.0"}
        return json.dumps(dict(data)).encode("utf-8"), headers
