"""Plain pytest checks of the fake Twilio/Octopush server over real HTTP.

These tests do not need Odoo: they pin the wire format the connector's
integration tests rely on, using ``requests`` and the official twilio SDK.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fake_providers import FakeProviderServer, sms_segments
from tests.fake_providers.twilio import twilio_signature

SID = "AC" + "a" * 32
TOKEN = "secret-token"
OCTO_LOGIN = "demo@example.com"
OCTO_KEY = "octo-key"
FROM = "+15005550006"
TO = "+33612345678"
REPO_ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------


class CallbackReceiver:
    """Tiny webhook endpoint standing in for Odoo's callback controllers."""

    def __init__(self, status=200):
        self.status = status
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # the fake posts from several workers at once

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path="/callback"):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    rec = CallbackReceiver()
    yield rec
    rec.close()


@pytest.fixture
def fake():
    with FakeProviderServer(
        twilio_accounts={SID: TOKEN}, octopush_accounts={OCTO_LOGIN: OCTO_KEY}
    ) as server:
        yield server


@pytest.fixture
def http():
    """requests session that ignores proxy settings from the environment."""
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


def twilio_client(server, sid=SID, token=TOKEN):
    """Official SDK pointed at the fake.

    ``Client(..., environment={})`` does NOT isolate from os.environ (an empty
    dict is falsy, the SDK then falls back to os.environ); TWILIO_EDGE or
    TWILIO_REGION there would rewrite our host. A non-empty mapping does.
    """
    client = Client(sid, token, environment={"TWILIO_REGION": ""})
    client.api.base_url = server.url
    return client


def twilio_post(http, server, data, sid=SID, token=TOKEN, **kwargs):
    url = f"{server.url}/2010-04-01/Accounts/{sid}/Messages.json"
    return http.post(url, data=data, auth=(sid, token), **kwargs)


def octopush_post(http, server, payload, login=OCTO_LOGIN, key=OCTO_KEY, **kwargs):
    headers = {"api-login": login, "api-key": key}
    url = f"{server.url}/v1/public/sms-campaign/send"
    if isinstance(payload, (dict, list)):
        return http.post(url, json=payload, headers=headers, **kwargs)
    return http.post(url, data=payload, headers=headers, **kwargs)


def octo_payload(**overrides):
    payload = {
        "recipients": [{"phone_number": TO}],
        "text": "Hello from Odoo",
        "type": "sms_premium",
        "purpose": "alert",
        "sender": "Odoo",
    }
    payload.update(overrides)
    return payload


# ---------------------------------------------------------------------------
# Segment counting
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # 160 septets
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 10, 2),  # escape pair not split across parts
        ("é" * 160, 1),  # é is in the GSM-7 basic table
        ("ê" * 70, 1),  # ê is not: UCS-2
        ("ê" * 71, 2),
        ("ê" * 134, 2),
        ("ê" * 135, 3),
        ("😀" * 35, 1),  # 70 UTF-16 units
        ("😀" * 36, 2),
    ],
)
def test_sms_segments(text, expected):
    assert sms_segments(text) == expected


# ---------------------------------------------------------------------------
# Twilio: official SDK
# ---------------------------------------------------------------------------


def test_twilio_sdk_create_hits_fake(fake):
    client = twilio_client(fake)
    message = client.messages.create(to=TO, from_=FROM, body="Hello from Odoo")

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.num_segments == "1"
    assert message.account_sid == SID
    assert fake.twilio_messages[0]["sid"] == message.sid
    assert fake.twilio_messages[0]["body"] == "Hello from Odoo"
    assert fake.requests_log[0]["status"] == 201


def test_twilio_sdk_environment_empty_dict_form(fake):
    """The exact form from the project brief works when no TWILIO_* env is set."""
    if os.environ.get("TWILIO_EDGE") or os.environ.get("TWILIO_REGION"):
        pytest.skip("TWILIO_EDGE/TWILIO_REGION set: environment={} falls back to os.environ")
    client = Client(SID, TOKEN, environment={})
    client.api.base_url = fake.url
    message = client.messages.create(to=TO, from_=FROM, body="x" * 200)
    assert message.num_segments == "2"


def test_twilio_sdk_fetch_and_balance(fake):
    client = twilio_client(fake)
    created = client.messages.create(to=TO, from_=FROM, body="hi")
    fetched = client.messages(created.sid).fetch()
    assert fetched.sid == created.sid
    assert client.api.v2010.accounts(SID).fetch().status == "active"
    assert client.balance.fetch().balance == "42.50"


def test_twilio_sdk_bad_token_raises_20003(fake):
    client = twilio_client(fake, token="wrong")
    with pytest.raises(TwilioRestException) as excinfo:
        client.messages.create(to=TO, from_=FROM, body="hi")
    assert excinfo.value.status == 401
    assert excinfo.value.code == 20003
    assert fake.twilio_messages == []


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ],
)
def test_twilio_sdk_magic_numbers(fake, to, code):
    with pytest.raises(TwilioRestException) as excinfo:
        twilio_client(fake).messages.create(to=to, from_=FROM, body="hi")
    assert excinfo.value.status == 400
    assert excinfo.value.code == code


def test_twilio_sdk_sees_injected_500(fake):
    fake.inject_faults("http_500")
    with pytest.raises(TwilioRestException) as excinfo:
        twilio_client(fake).messages.create(to=TO, from_=FROM, body="hi")
    assert excinfo.value.status == 500
    assert excinfo.value.code == 20500


# ---------------------------------------------------------------------------
# Twilio: raw wire format
# ---------------------------------------------------------------------------


def test_twilio_success_resource_shape(fake, http):
    resp = twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "ê" * 71})
    assert resp.status_code == 201
    doc = resp.json()
    assert doc["num_segments"] == "2"
    assert doc["from"] == FROM and doc["messaging_service_sid"] is None
    assert doc["direction"] == "outbound-api"
    assert doc["price"] is None and doc["error_code"] is None
    assert doc["date_created"].endswith("+0000")
    assert doc["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{doc['sid']}.json"
    assert doc["subresource_uris"]["media"].endswith(f"/Messages/{doc['sid']}/Media.json")


def test_twilio_messaging_service_only(fake, http):
    mss = "MG" + "b" * 32
    resp = twilio_post(http, fake, {"To": TO, "MessagingServiceSid": mss, "Body": "hi"})
    assert resp.status_code == 201
    assert resp.json()["from"] is None
    assert fake.twilio_messages[0]["messaging_service_sid"] == mss


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"From": FROM, "Body": "hi"}, 21604),
        ({"To": "0612345678", "From": FROM, "Body": "hi"}, 21211),
        ({"To": "+0612345678", "From": FROM, "Body": "hi"}, 21211),
        ({"To": TO, "Body": "hi"}, 21603),
        ({"To": TO, "From": FROM, "Body": ""}, 21602),
        ({"To": TO, "From": FROM}, 21602),
        ({"To": TO, "From": FROM, "Body": "x" * 1601}, 21617),
    ],
)
def test_twilio_validation_errors(fake, http, data, code):
    resp = twilio_post(http, fake, data)
    assert resp.status_code == 400
    assert resp.json() == {
        "code": code,
        "message": resp.json()["message"],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": 400,
    }
    assert fake.twilio_messages == []


def test_twilio_body_of_1600_chars_is_accepted(fake, http):
    resp = twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "x" * 1600})
    assert resp.status_code == 201
    assert resp.json()["num_segments"] == "11"


@pytest.mark.parametrize(
    ("sid", "token"), [(SID, "bad"), ("AC" + "c" * 32, TOKEN), (SID, None)]
)
def test_twilio_auth_errors(fake, http, sid, token):
    url = f"{fake.url}/2010-04-01/Accounts/{SID}/Messages.json"
    auth = (sid, token) if token else None
    resp = http.post(url, data={"To": TO, "From": FROM, "Body": "hi"}, auth=auth)
    assert resp.status_code == 401
    assert resp.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


def test_twilio_path_sid_must_match_auth_user_even_without_accounts(http):
    with FakeProviderServer() as server:
        ok = twilio_post(http, server, {"To": TO, "From": FROM, "Body": "hi"}, token="any")
        assert ok.status_code == 201
        url = f"{server.url}/2010-04-01/Accounts/{SID}/Messages.json"
        other = http.post(url, data={"To": TO, "From": FROM, "Body": "hi"}, auth=("ACother", "x"))
        assert other.status_code == 401


def test_twilio_account_balance_and_unknown(fake, http):
    base = f"{fake.url}/2010-04-01/Accounts/{SID}"
    account = http.get(base + ".json", auth=(SID, TOKEN)).json()
    assert account == {
        "sid": SID, "friendly_name": "Fake account", "status": "active", "type": "Full",
        "uri": f"/2010-04-01/Accounts/{SID}.json",
    }
    balance = http.get(base + "/Balance.json", auth=(SID, TOKEN)).json()
    assert balance == {"account_sid": SID, "balance": "42.50", "currency": "USD"}
    missing = http.get(base + "/Messages/SM" + "0" * 32 + ".json", auth=(SID, TOKEN))
    assert missing.status_code == 404 and missing.json()["code"] == 20404
    unknown = http.get(base + "/Nope.json", auth=(SID, TOKEN))
    assert unknown.status_code == 404 and unknown.json()["code"] == 20404
    assert http.get(base + ".json", auth=(SID, "bad")).status_code == 401


# ---------------------------------------------------------------------------
# Twilio: status callbacks
# ---------------------------------------------------------------------------


def _form(body):
    return dict(urllib.parse.parse_qsl(body, keep_blank_values=True))


def test_twilio_status_callbacks_signed_and_ordered(fake, http, receiver):
    url = receiver.url("/sms/twilio/status?db=test")
    resp = twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi", "StatusCallback": url})
    sid = resp.json()["sid"]
    assert fake.wait_for_callbacks(2, timeout=5)

    assert [r["path"] for r in receiver.requests] == ["/sms/twilio/status?db=test"] * 2
    statuses = []
    validator = RequestValidator(TOKEN)
    for request in receiver.requests:
        params = _form(request["body"])
        signature = request["headers"]["X-Twilio-Signature"]
        assert validator.validate(url, params, signature)
        assert not RequestValidator("other").validate(url, params, signature)
        assert params["MessageSid"] == params["SmsSid"] == sid
        assert params["AccountSid"] == SID and params["From"] == FROM and params["To"] == TO
        assert params["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in params
        statuses.append((params["MessageStatus"], params["SmsStatus"]))
    assert statuses == [("sent", "sent"), ("delivered", "delivered")]
    assert [c["kind"] for c in fake.callbacks_sent] == ["twilio_status"] * 2
    assert [c["status"] for c in fake.callbacks_sent] == [200, 200]

    fetched = http.get(f"{fake.url}/2010-04-01/Accounts/{SID}/Messages/{sid}.json",
                       auth=(SID, TOKEN)).json()
    assert fetched["status"] == "delivered" and fetched["date_sent"]


def test_twilio_signature_helper_matches_sdk():
    params = {"MessageSid": "SM1", "MessageStatus": "sent", "To": "+3361"}
    url = "https://example.com/cb?x=1"
    assert RequestValidator(TOKEN).compute_signature(url, params) == twilio_signature(TOKEN, url, params)


@pytest.mark.parametrize(
    ("outcome", "error_code", "expected_code"),
    [("undelivered", 30003, "30003"), ("failed", None, "30008"), ("NOT_DELIVERED", None, "30003")],
)
def test_twilio_failed_outcome(fake, http, receiver, outcome, error_code, expected_code):
    fake.set_delivery_outcome(TO, outcome, error_code=error_code)
    resp = twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi",
                                    "StatusCallback": receiver.url()})
    assert fake.wait_for_callbacks(2, timeout=5)
    final = _form(receiver.requests[-1]["body"])
    expected_status = "failed" if outcome == "failed" else "undelivered"
    assert final["MessageStatus"] == expected_status
    assert final["ErrorCode"] == expected_code
    fetched = http.get(f"{fake.url}{resp.json()['uri']}", auth=(SID, TOKEN)).json()
    assert fetched["status"] == expected_status
    assert fetched["error_code"] == int(expected_code)


def test_callbacks_continue_when_receiver_errors(fake, http):
    failing = CallbackReceiver(status=500)
    try:
        for _ in range(3):
            twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi",
                                     "StatusCallback": failing.url()})
        assert fake.wait_for_callbacks(6, timeout=5)
        assert {c["status"] for c in fake.callbacks_sent} == {500}
    finally:
        failing.close()


def test_callback_to_dead_endpoint_records_none(fake, http):
    twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi",
                             "StatusCallback": "http://127.0.0.1:9/unreachable"})
    assert fake.wait_for_callbacks(2, timeout=5)
    assert [c["status"] for c in fake.callbacks_sent] == [None, None]


def test_callback_delay_and_auto_callbacks_off(http, receiver):
    with FakeProviderServer(callback_delay=0.5) as server:
        twilio_post(http, server, {"To": TO, "From": FROM, "Body": "hi",
                                   "StatusCallback": receiver.url()})
        time.sleep(0.2)
        assert server.callbacks_sent == []
        assert server.wait_for_callbacks(2, timeout=5)
    with FakeProviderServer(auto_callbacks=False) as server:
        twilio_post(http, server, {"To": TO, "From": FROM, "Body": "hi",
                                   "StatusCallback": receiver.url()})
        assert not server.wait_for_callbacks(1, timeout=0.5)


def test_reset_cancels_pending_callbacks(http, receiver):
    with FakeProviderServer(callback_delay=0.5) as server:
        twilio_post(http, server, {"To": TO, "From": FROM, "Body": "hi",
                                   "StatusCallback": receiver.url()})
        server.reset()
        assert not server.wait_for_callbacks(1, timeout=1.0)
        assert receiver.requests == []


def test_many_messages_use_bounded_callback_pool(http, receiver):
    with FakeProviderServer() as server:
        before = threading.active_count()
        data = {"To": TO, "From": FROM, "Body": "hi", "StatusCallback": receiver.url()}
        for _ in range(200):
            assert twilio_post(http, server, data).status_code == 201
        assert threading.active_count() < before + 30
        assert server.wait_for_callbacks(400, timeout=30)


# ---------------------------------------------------------------------------
# Octopush
# ---------------------------------------------------------------------------


def test_octopush_send_success(fake, http):
    payload = octo_payload(
        recipients=[{"phone_number": TO, "first_name": "Ann"}, {"phone_number": "+33700000000"}],
        text="x" * 161, request_id="req-1",
    )
    resp = octopush_post(http, fake, payload)
    assert resp.status_code == 201
    doc = resp.json()
    assert doc["sms_ticket"].startswith("sms_") and len(doc["sms_ticket"]) == 17
    assert doc["number_of_contacts"] == 2
    assert doc["number_of_sms_needed"] == 4
    assert doc["total_cost"] == round(4 * 0.0333, 4)
    assert doc["residual_credit"] == round(100.0 - 4 * 0.0333, 4)
    second = octopush_post(http, fake, octo_payload()).json()
    assert second["residual_credit"] < doc["residual_credit"]

    recorded = fake.octopush_requests[0]
    assert recorded["sms_ticket"] == doc["sms_ticket"]
    assert recorded["payload"] == payload
    assert recorded["request_id"] == "req-1"
    assert recorded["simulation"] is False


@pytest.mark.parametrize(
    ("login", "key"), [(OCTO_LOGIN, "bad"), ("nobody@example.com", OCTO_KEY)]
)
def test_octopush_auth(fake, http, login, key):
    resp = octopush_post(http, fake, octo_payload(), login=login, key=key)
    assert resp.status_code == 401
    assert resp.json() == {"code": 101, "message": "Invalid login or api key"}
    no_headers = http.post(f"{fake.url}/v1/public/sms-campaign/send", json=octo_payload())
    assert no_headers.status_code == 401


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("not json", 100),
        ([1, 2], 100),
        (octo_payload(recipients=[]), 117),
        (octo_payload(recipients=[{"phone_number": TO}] * 501), 116),
        (octo_payload(recipients=[{"phone_number": TO}, {"phone_number": "0612"}]), 117),
        (octo_payload(recipients=[{"name": "x"}]), 117),
        (octo_payload(text=""), 110),
        (octo_payload(text="x" * 1225), 110),
        (octo_payload(type="sms_gold"), 111),
        ({k: v for k, v in octo_payload().items() if k != "type"}, 111),
        (octo_payload(sender="ab"), 106),
        (octo_payload(sender="Odoo Shop!"), 106),
        (octo_payload(sender="A" * 12), 106),
        (octo_payload(purpose="wholesale", text="Promo -20%"), 121),
    ],
)
def test_octopush_validation_errors(fake, http, payload, code):
    resp = octopush_post(http, fake, payload)
    assert resp.status_code == 400
    assert resp.json()["code"] == code
    assert isinstance(resp.json()["message"], str)
    assert fake.octopush_requests == []


def test_octopush_empty_body_is_code_100(fake, http):
    resp = http.post(f"{fake.url}/v1/public/sms-campaign/send", data=b"",
                     headers={"api-login": OCTO_LOGIN, "api-key": OCTO_KEY})
    assert resp.status_code == 400 and resp.json()["code"] == 100


def test_octopush_wholesale_rules(fake, http):
    ok_fr = octo_payload(purpose="wholesale", text="Promo -20% STOP au 30101")
    assert octopush_post(http, fake, ok_fr).status_code == 201
    ok_foreign = octo_payload(purpose="wholesale", text="Promo",
                              recipients=[{"phone_number": "+32470000000"}])
    assert octopush_post(http, fake, ok_foreign).status_code == 201
    assert octopush_post(http, fake, octo_payload(text="x" * 1224, sender=None)).status_code == 201


def test_octopush_duplicate_request_id(fake, http, receiver):
    fake.octopush_callback_url = receiver.url("/octopush/dlr")
    first = octopush_post(http, fake, octo_payload(request_id="abc"))
    assert first.status_code == 201
    assert fake.wait_for_callbacks(1, timeout=5)
    dup = octopush_post(http, fake, octo_payload(request_id="abc"))
    assert dup.status_code == 409
    assert dup.json() == {"code": 120, "message": "Duplicate request_id"}
    time.sleep(0.3)
    assert len(fake.octopush_requests) == 1
    assert len(fake.callbacks_sent) == 1
    fake.reset()
    assert octopush_post(http, fake, octo_payload(request_id="abc")).status_code == 201


def test_octopush_delivery_receipts(http, receiver):
    with FakeProviderServer(octopush_callback_url=receiver.url("/octopush/dlr")) as server:
        server.set_delivery_outcome("+33700000000", "BLACKLISTED_NUMBER")
        payload = octo_payload(recipients=[{"phone_number": TO}, {"phone_number": "+33700000000"}])
        ticket = octopush_post(http, server, payload).json()["sms_ticket"]
        assert server.wait_for_callbacks(2, timeout=5)
        bodies = sorted((json.loads(r["body"]) for r in receiver.requests), key=lambda d: d["number"])
        assert [b["status"] for b in bodies] == ["DELIVERED", "BLACKLISTED_NUMBER"]
        for body in bodies:
            assert body["message_id"] == ticket
            assert body["channel"] == "sms_premium"
            assert body["meta_data"] is None
            time.strptime(body["delivery_date"], "%Y-%m-%d %H:%M:%S")
        assert {c["kind"] for c in server.callbacks_sent} == {"octopush_dlr"}
        assert all(r["path"] == "/octopush/dlr" for r in receiver.requests)


def test_octopush_no_receipts_for_low_cost_or_simulation(http, receiver):
    with FakeProviderServer(octopush_callback_url=receiver.url()) as server:
        assert octopush_post(http, server, octo_payload(type="sms_low_cost")).status_code == 201
        sim = octopush_post(http, server, octo_payload(simulation_mode=True))
        assert sim.status_code == 201
        assert not server.wait_for_callbacks(1, timeout=0.5)
        assert [r["simulation"] for r in server.octopush_requests] == [False, True]


def test_octopush_simulation_does_not_consume_credit(fake, http):
    sim = octopush_post(http, fake, octo_payload(simulation_mode=True)).json()
    assert sim["residual_credit"] == 100.0
    assert sim["total_cost"] == 0.0333


def test_octopush_balance_and_unknown_path(fake, http):
    headers = {"api-login": OCTO_LOGIN, "api-key": OCTO_KEY}
    resp = http.get(f"{fake.url}/v1/public/wallet/check-balance", headers=headers)
    assert resp.json() == {"amount": 12.54, "unit": "euros"}
    missing = http.get(f"{fake.url}/v1/public/nope", headers=headers)
    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "message": "Not found"}


# ---------------------------------------------------------------------------
# Fault injection
# ---------------------------------------------------------------------------


def test_fault_http_500_provider_bodies(fake, http):
    fake.inject_faults("http_500", count=2)
    twilio = twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"})
    assert twilio.status_code == 500
    assert twilio.json()["code"] == 20500 and twilio.json()["status"] == 500
    octo = octopush_post(http, fake, octo_payload())
    assert octo.status_code == 500 and octo.json()["code"] == 500
    assert fake.twilio_messages == [] and fake.octopush_requests == []
    assert twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"}).status_code == 201


def test_fault_http_502_html(fake, http):
    fake.inject_faults("http_502_html")
    resp = octopush_post(http, fake, octo_payload())
    assert resp.status_code == 502
    assert resp.headers["Content-Type"].startswith("text/html")
    assert resp.text == "<html><body><h1>502 Bad Gateway</h1></body></html>"


def test_fault_http_429(fake, http):
    fake.inject_faults("http_429", retry_after=7)
    resp = twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"})
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    assert resp.json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    fake.inject_faults("http_429")
    octo = octopush_post(http, fake, octo_payload())
    assert octo.status_code == 429 and octo.headers["Retry-After"] == "1"


def test_fault_stall_triggers_client_timeout(fake, http):
    fake.inject_faults("stall", seconds=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"}, timeout=0.3)
    # the fake still processes the stalled request: the message WAS sent
    deadline = time.monotonic() + 3
    while not fake.twilio_messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.twilio_messages) == 1
    assert fake.requests_log[0]["fault"] == "stall"


def test_fault_drop_after_accept(fake, http):
    fake.inject_faults("drop_after_accept")
    with pytest.raises(requests.exceptions.ConnectionError):
        octopush_post(http, fake, octo_payload(request_id="r1"), timeout=5)
    assert len(fake.octopush_requests) == 1
    assert fake.requests_log[-1]["status"] is None
    # a retry with the same request_id is refused: the idempotency story
    assert octopush_post(http, fake, octo_payload(request_id="r1")).status_code == 409


def test_fault_drop_after_accept_twilio(fake, http):
    fake.inject_faults("drop_after_accept")
    with pytest.raises(requests.exceptions.ConnectionError):
        twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"}, timeout=5)
    assert len(fake.twilio_messages) == 1


def test_fault_connection_reset(fake, http):
    fake.inject_faults("connection_reset", count=2)
    with pytest.raises(requests.exceptions.ConnectionError):
        twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"}, timeout=5)
    with pytest.raises(requests.exceptions.ConnectionError):
        octopush_post(http, fake, octo_payload(), timeout=5)
    assert fake.twilio_messages == [] and fake.octopush_requests == []
    assert [r["fault"] for r in fake.requests_log] == ["connection_reset"] * 2
    assert twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"}).status_code == 201


def test_faults_fifo_and_only_on_send_requests(fake, http):
    fake.inject_faults("http_500")
    fake.inject_faults("http_429")
    headers = {"api-login": OCTO_LOGIN, "api-key": OCTO_KEY}
    assert http.get(f"{fake.url}/v1/public/wallet/check-balance", headers=headers).ok
    codes = [octopush_post(http, fake, octo_payload()).status_code for _ in range(3)]
    assert codes == [500, 429, 201]


def test_fault_http_503(fake, http):
    fake.inject_faults("http_503", count=2)
    twilio = twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"})
    assert twilio.status_code == 503 and twilio.json()["code"] == 20503
    octo = octopush_post(http, fake, octo_payload())
    assert octo.status_code == 503 and octo.json()["code"] == 503
    assert fake.twilio_messages == [] and fake.octopush_requests == []
    assert [r["status"] for r in fake.requests_log] == [503, 503]


def test_fault_drop_before_accept(fake, http):
    fake.inject_faults("drop_before_accept", count=2)
    with pytest.raises(requests.exceptions.ConnectionError):
        twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"}, timeout=5)
    with pytest.raises(requests.exceptions.ConnectionError):
        octopush_post(http, fake, octo_payload(request_id="r1"), timeout=5)
    assert fake.twilio_messages == [] and fake.octopush_requests == [], "nothing was accepted"
    assert [(r["status"], r["fault"]) for r in fake.requests_log] == [(None, "drop_before_accept")] * 2
    # the request_id was never seen: the same request is accepted afterwards
    assert octopush_post(http, fake, octo_payload(request_id="r1")).status_code == 201
    fake.inject_faults("drop_before_accept", seconds=1.0)  # the client gives up first
    with pytest.raises(requests.exceptions.ReadTimeout):
        twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"}, timeout=0.3)
    time.sleep(1.0)
    assert fake.twilio_messages == []


def test_lookup_faults_apply_to_twilio_list_and_fetch_only(fake, http):
    sent = twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"}).json()
    messages = f"{fake.url}/2010-04-01/Accounts/{SID}/Messages"
    fake.inject_faults("http_429", on="lookup", retry_after=0)
    fake.inject_faults("http_503", on="lookup")
    # a send request does not consume look-up faults
    assert twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "again"}).status_code == 201
    assert http.get(f"{messages}.json", params={"To": TO}, auth=(SID, TOKEN)).status_code == 429
    assert http.get(f"{messages}/{sent['sid']}.json", auth=(SID, TOKEN)).status_code == 503
    listed = http.get(f"{messages}.json", params={"To": TO}, auth=(SID, TOKEN))
    assert listed.status_code == 200 and len(listed.json()["messages"]) == 2
    fake.inject_faults("connection_reset", on="lookup")
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(f"{messages}/{sent['sid']}.json", auth=(SID, TOKEN), timeout=5)
    fake.inject_faults("stall", on="lookup", seconds=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(f"{messages}.json", auth=(SID, TOKEN), timeout=0.3)
    assert len(fake.twilio_messages) == 2


def test_lookup_faults_seen_by_twilio_sdk(fake):
    client = twilio_client(fake)
    client.messages.create(to=TO, from_=FROM, body="hi")
    fake.inject_faults("http_429", on="lookup")
    with pytest.raises(TwilioException, match="Unable to fetch page"):  # the SDK's list error
        client.messages.list(to=TO, limit=50)
    assert len(client.messages.list(to=TO, limit=50)) == 1


def test_clear_faults_keeps_messages(fake, http):
    twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"})
    fake.inject_faults("http_503", count=3, on="lookup")
    fake.inject_faults("http_503", count=3)
    fake.clear_faults()
    assert http.get(f"{fake.url}/2010-04-01/Accounts/{SID}/Messages.json", auth=(SID, TOKEN)).status_code == 200
    assert twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "hi"}).status_code == 201
    assert len(fake.twilio_messages) == 2


def test_unknown_fault_target_rejected(fake):
    with pytest.raises(ValueError):
        fake.inject_faults("http_429", on="balance")


def test_max_in_flight_counts_concurrent_send_requests():
    with FakeProviderServer(latency=0.3) as server:

        def send(_):
            with requests.Session() as session:
                session.trust_env = False
                return twilio_post(session, server, {"To": TO, "From": FROM, "Body": "hi"}).status_code

        assert server.max_in_flight == 0
        with ThreadPoolExecutor(5) as pool:
            assert list(pool.map(send, range(5))) == [201] * 5
        assert server.max_in_flight == 5
        server.reset()
        assert server.max_in_flight == 0
        for i in range(3):
            send(i)
        assert server.max_in_flight == 1, "one after the other"
        with requests.Session() as session:  # look-ups and helper pages are not send requests
            session.trust_env = False
            session.get(f"{server.url}/2010-04-01/Accounts/{SID}/Messages.json")
        assert server.max_in_flight == 1


def test_reset_clears_lookup_faults(fake, http):
    fake.inject_faults("http_503", on="lookup")
    fake.reset()
    assert http.get(f"{fake.url}/2010-04-01/Accounts/{SID}/Messages.json", auth=(SID, TOKEN)).status_code == 200


def test_unknown_fault_kind_rejected(fake):
    with pytest.raises(ValueError):
        fake.inject_faults("meteor_strike")


# ---------------------------------------------------------------------------
# Latency, concurrency, lifecycle, helper endpoints
# ---------------------------------------------------------------------------


def test_latency_overlaps_between_concurrent_requests():
    with FakeProviderServer(latency=0.4) as server:

        def send(_):
            with requests.Session() as session:
                session.trust_env = False
                return twilio_post(session, server, {"To": TO, "From": FROM, "Body": "hi"}).status_code

        start = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(send, range(20)))
        elapsed = time.monotonic() - start
        assert codes == [201] * 20
        assert 0.4 <= elapsed < 2.0
        server.latency = 0
        with requests.Session() as session:
            session.trust_env = False
            start = time.monotonic()
            session.get(server.url + "/_fake/messages")
            assert time.monotonic() - start < 0.3


def test_many_keepalive_connections(fake):
    sessions = []
    for _ in range(60):
        session = requests.Session()
        session.trust_env = False
        sessions.append(session)

    def burst(session):
        results = []
        for _ in range(5):
            resp = twilio_post(session, fake, {"To": TO, "From": FROM, "Body": "hi"})
            results.append(resp.status_code)
        return results

    try:
        with ThreadPoolExecutor(60) as pool:
            results = list(pool.map(burst, sessions))
    finally:
        for session in sessions:
            session.close()
    assert all(codes == [201] * 5 for codes in results)
    assert len(fake.twilio_messages) == 300
    assert len({m["sid"] for m in fake.twilio_messages}) == 300


def test_keepalive_connection_is_reused(fake):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", int(fake.url.rsplit(":", 1)[1]), timeout=5)
    for _ in range(3):
        conn.request("GET", "/_fake/messages")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Length")
        resp.read()
    conn.close()


def test_stop_closes_keepalive_connections(http):
    server = FakeProviderServer().start()
    url = server.url
    assert http.get(url + "/_fake/messages").ok
    server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(url + "/_fake/messages", timeout=2)


def test_helper_endpoints(fake, http):
    twilio_post(http, fake, {"To": TO, "From": FROM, "Body": "<b>bold</b>"})
    octopush_post(http, fake, octo_payload(text="second"))
    doc = http.get(fake.url + "/_fake/messages").json()
    assert [m["body"] for m in doc["twilio"]] == ["<b>bold</b>"]
    assert [r["payload"]["text"] for r in doc["octopush"]] == ["second"]

    page = http.get(fake.url + "/")
    assert page.headers["Content-Type"].startswith("text/html")
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
    assert page.text.index("second") < page.text.index("bold")  # newest first

    assert http.post(fake.url + "/_fake/reset").status_code == 200
    assert http.get(fake.url + "/_fake/messages").json() == {code: [] for code in fake.providers}
    assert fake.requests_log == []

    missing = http.get(fake.url + "/nothing/here")
    assert missing.status_code == 404 and missing.json() == {"code": 404, "message": "Not found"}
    missing_twilio = http.get(fake.url + "/2010-04-01/Nothing")
    assert missing_twilio.status_code == 404 and missing_twilio.json()["code"] == 20404


def test_requests_log_records_provider_requests_only(fake, http):
    twilio_post(http, fake, {"To": TO, "From": FROM})
    http.get(fake.url + "/_fake/messages")
    assert [(r["method"], r["status"]) for r in fake.requests_log] == [("POST", 400)]


def test_cli_runs_until_sigterm():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_providers", "--port", "0", "--latency-ms", "5",
         "--twilio-account", f"{SID}:{TOKEN}", "--octopush-account", f"{OCTO_LOGIN}:{OCTO_KEY}",
         "--callback-delay", "0"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("fake providers listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        with requests.Session() as session:
            session.trust_env = False
            assert twilio_post_url(session, url).status_code == 201
            bad = session.post(f"{url}/2010-04-01/Accounts/{SID}/Messages.json",
                               data={"To": TO, "From": FROM, "Body": "hi"}, auth=(SID, "nope"))
            assert bad.status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def twilio_post_url(session, url):
    return session.post(f"{url}/2010-04-01/Accounts/{SID}/Messages.json",
                        data={"To": TO, "From": FROM, "Body": "hi"}, auth=(SID, TOKEN))
