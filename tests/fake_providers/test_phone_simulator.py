"""Plain pytest checks of the phone simulator (GET / and POST /_fake/reply) of the fake server.

A tiny loopback HTTP server stands in for Odoo's inbound webhook: the simulator must post it a
real provider webhook (Twilio: form signed with X-Twilio-Signature; Octopush: JSON reply).
"""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.fake_providers import FakeProviderServer

SID = "AC" + "c" * 32
TOKEN = "simulator-token"
OCTO_LOGIN = "demo@example.com"
OCTO_KEY = "octo-key"
TO_US = "+14155550142"
TO_FR = "+33612345678"


class _Odoo:
    """Records the webhooks it receives and answers like Odoo's inbound route."""

    def __init__(self):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": self.rfile.read(length).decode("utf-8")})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def setup():
    odoo = _Odoo()
    fake = FakeProviderServer(
        twilio_accounts={SID: TOKEN}, octopush_accounts={OCTO_LOGIN: OCTO_KEY}, auto_callbacks=False,
        twilio_inbound_url=odoo.url + "/sms_connector/inbound/1/tw-token",
        octopush_inbound_url=odoo.url + "/sms_connector/inbound/2/oc-token",
    ).start()
    session = requests.Session()
    session.trust_env = False  # no proxy for loopback
    try:
        yield fake, odoo, session
    finally:
        fake.stop()
        odoo.stop()


def _send_both(fake, session):
    response = session.post(f"{fake.url}/2010-04-01/Accounts/{SID}/Messages.json", auth=(SID, TOKEN),
                            data={"To": TO_US, "From": "+15005550006", "Body": "Your order <b>#42</b> is ready"})
    assert response.status_code == 201
    response = session.post(f"{fake.url}/v1/public/sms-campaign/send",
                            headers={"api-login": OCTO_LOGIN, "api-key": OCTO_KEY},
                            json={"recipients": [{"phone_number": TO_FR}], "text": "Votre commande est prête",
                                  "type": "sms_premium", "purpose": "alert", "sender": "MyShop"})
    assert response.status_code == 201, response.text


def test_page_lists_sms_per_phone_with_a_reply_form(setup):
    fake, _odoo, session = setup
    page = session.get(fake.url + "/")
    assert page.status_code == 200 and "Phone simulator" in page.text
    assert "0 message(s)" in page.text
    assert "Text Odoo from any number" in page.text  # a phone that received nothing yet can text first
    _send_both(fake, session)
    page = session.get(fake.url + "/")
    assert page.headers["Content-Type"].startswith("text/html")
    assert "2 message(s) received by 2 phone(s)" in page.text
    for number in (TO_US, TO_FR):
        assert f"data-number='{number}'" in page.text
        assert f"<input type='hidden' name='number' value='{number}'>" in page.text
    assert "Your order &lt;b&gt;#42&lt;/b&gt; is ready" in page.text  # escaped
    assert "Votre commande est prête" in page.text
    assert page.text.count("action='/_fake/reply'") == 3
    assert "/sms_connector/inbound/1/tw-token" in page.text


def test_reply_posts_a_signed_twilio_webhook(setup):
    fake, odoo, session = setup
    _send_both(fake, session)
    response = session.post(fake.url + "/_fake/reply", data={"number": TO_US, "body": "Yes, 10am"},
                            allow_redirects=False)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/?notice=")
    assert len(odoo.requests) == 1
    sent = odoo.requests[0]
    assert sent["path"] == "/sms_connector/inbound/1/tw-token"
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(sent["body"]).items()}
    assert params["From"] == TO_US and params["To"] == "+15005550006" and params["Body"] == "Yes, 10am"
    assert params["AccountSid"] == SID and params["MessageSid"].startswith("SM")
    assert RequestValidator(TOKEN).validate(fake.twilio_inbound_url, params, sent["headers"]["X-Twilio-Signature"])
    # the reply shows up in that phone's conversation
    page = session.get(fake.url + response.headers["Location"])
    assert "Reply from +14155550142 posted to Odoo: 200" in page.text
    assert "class='msg out'" in page.text and "Yes, 10am" in page.text
    assert fake.replies_sent[0]["status"] == 200


def test_reply_to_octopush_number_posts_octopush_json(setup):
    fake, odoo, session = setup
    _send_both(fake, session)
    ticket = fake.octopush_requests[0]["sms_ticket"]
    response = session.post(fake.url + "/_fake/reply", data={"number": TO_FR, "body": "Merci"}, allow_redirects=False)
    assert response.status_code == 303
    sent = odoo.requests[0]
    assert sent["path"] == "/sms_connector/inbound/2/oc-token"
    payload = json.loads(sent["body"])
    assert payload["message_id"] == ticket and payload["number"] == TO_FR and payload["text"] == "Merci"
    assert payload["reception_date"]
    # provider can be forced from the form
    session.post(fake.url + "/_fake/reply", data={"number": TO_FR, "body": "Hi", "provider": "twilio"},
                 allow_redirects=False)
    assert odoo.requests[1]["path"] == "/sms_connector/inbound/1/tw-token"
    # a number that never received an SMS texts first (Twilio when both inbound URLs are set)
    session.post(fake.url + "/_fake/reply", data={"number": "+48512345678", "body": "Dzień dobry", "provider": ""},
                 allow_redirects=False)
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(odoo.requests[2]["body"]).items()}
    assert (params["From"], params["Body"]) == ("+48512345678", "Dzień dobry")


def test_reply_errors(setup):
    fake, odoo, session = setup
    assert session.post(fake.url + "/_fake/reply", data={"number": TO_US, "body": " "}).status_code == 400
    assert session.post(fake.url + "/_fake/reply", data={"number": TO_US, "body": "x", "provider": "sms"}).status_code == 400
    fake.twilio_inbound_url = None
    response = session.post(fake.url + "/_fake/reply", data={"number": TO_US, "body": "x", "provider": "twilio"})
    assert response.status_code == 400 and "--twilio-inbound-url" in response.json()["message"]
    assert odoo.requests == []


def test_cli_accepts_inbound_urls():
    from tests.fake_providers.__main__ import build_parser

    args = build_parser().parse_args(["--twilio-inbound-url", "http://o/tw", "--octopush-inbound-url", "http://o/oc"])
    assert (args.twilio_inbound_url, args.octopush_inbound_url) == ("http://o/tw", "http://o/oc")
