"""A provider fake plugs into the server by registering itself: no branch in server.py.

A minimal third provider ("echo") is registered for the test only; the server must route its
prefix to it, apply queued faults to its sends, expose its options and records as
``echo_<name>``, list its messages in the phone simulator and post its inbound webhooks. The
fakes are found in their addon folders (``sms_connector_<provider>/tests/fake_provider.py``).
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.fake_providers import FakeProviderServer, ProviderFake, base, register_fake
from tests.fake_providers.__main__ import build_parser


class EchoFake(ProviderFake):
    code = "echo"
    prefix = "/echo/v1"
    sequence = 5

    def __init__(self, server, **options):
        super().__init__(server, **options)
        self.messages = []

    def is_send(self, method, path):
        return method == "POST" and path == "/echo/v1/send"

    def route(self, handler, path, body):
        if not self.is_send(handler.command, path):
            return base.Reply(404, {"error": "not found"})
        payload = json.loads(body)
        with self.server.lock:
            self.messages.append({"to": payload["to"], "text": payload["text"], "at": len(self.messages)})
        return base.Reply(200, {"id": f"echo-{len(self.messages)}"})

    def reset(self):
        self.messages.clear()

    def snapshot(self):
        return [dict(m) for m in self.messages]

    def error_reply(self, status):
        return base.Reply(status, {"error": f"echo {status}"})

    def phone_events(self):
        return [(float(m["at"]), m["to"], m["text"], {"echo_id": f"echo-{m['at'] + 1}"}) for m in self.messages]

    def inbound(self, number, body, context):
        return {"from": number, "text": body, "reply_to": context.get("echo_id")}, {}

    def inbound_request(self, url, data):
        return json.dumps(data).encode(), {"Content-Type": "application/json"}


@pytest.fixture
def echo(monkeypatch):
    """Register EchoFake as a provider module would, in a registry copy dropped after the test."""
    base.fake_classes()
    monkeypatch.setattr(base, "_FAKES", dict(base._FAKES))
    register_fake(EchoFake)


@pytest.fixture
def receiver():
    """A stand-in for Odoo's inbound webhook, recording JSON bodies."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/inbound", received
    httpd.shutdown()
    httpd.server_close()


def test_builtin_fakes_are_found_in_their_addons():
    fakes = {cls.code: cls for cls in base.fake_classes()}
    assert list(fakes).index("twilio") < list(fakes).index("octopush"), "phone simulator order"
    assert sys.modules[fakes["twilio"].__module__].__file__.endswith("sms_connector_twilio/tests/fake_provider.py")
    from tests.fake_providers.octopush import OctopushFake  # importable under its short name
    assert fakes["octopush"] is OctopushFake


ECHO_MODULE = """
from tests.fake_providers.base import ProviderFake, Reply, register_fake


@register_fake
class EchoAddonFake(ProviderFake):
    code = "echoaddon"
    prefix = "/echoaddon"

    def is_send(self, method, path):
        return method == "POST"

    def route(self, handler, path, body):
        return Reply(200, {"echo": body.decode()})
"""


def test_a_new_addon_folder_brings_its_fake(tmp_path, monkeypatch):
    """The one place a provider's fake is written: its addon folder, found by its manifest."""
    addon = tmp_path / "sms_connector_echoaddon"
    (addon / "tests").mkdir(parents=True)
    (addon / "__manifest__.py").write_text("{'name': 'Echo'}")
    (addon / "tests" / "fake_provider.py").write_text(ECHO_MODULE)
    (tmp_path / "sms_connector_nofake").mkdir()
    (tmp_path / "sms_connector_nofake" / "__manifest__.py").write_text("{'name': 'No fake'}")
    monkeypatch.setattr(base, "_FAKES", {})
    monkeypatch.delitem(sys.modules, "tests.fake_providers.echoaddon", raising=False)

    classes = base.fake_classes(root=tmp_path)
    assert [cls.code for cls in classes] == ["echoaddon"]
    assert sys.modules["tests.fake_providers.echoaddon"].EchoAddonFake is classes[0]
    assert base.fake_classes(root=tmp_path) == classes, "imported once"
    args = build_parser().parse_args(["--echoaddon-account", "me:key"])
    assert args.echoaddon_account == [("me", "key")]
    http = requests.Session()
    http.trust_env = False
    with FakeProviderServer(echoaddon_accounts={"me": "key"}) as fake:
        response = http.post(fake.url + "/echoaddon/send", data=b"hi", timeout=5)
        assert response.json() == {"echo": "hi"}


def test_a_registered_fake_is_served_without_touching_the_server(echo, receiver):
    inbound_url, received = receiver
    http = requests.Session()
    http.trust_env = False
    with FakeProviderServer(echo_inbound_url=inbound_url, twilio_accounts={"AC1": "t"}) as fake:
        assert fake.echo_inbound_url == inbound_url
        assert fake.twilio_accounts == {"AC1": "t"}

        response = http.post(fake.url + "/echo/v1/send", json={"to": "+48512345678", "text": "Cześć"})
        assert response.status_code == 200 and response.json() == {"id": "echo-1"}
        assert fake.echo_messages == [{"to": "+48512345678", "text": "Cześć", "at": 0}]
        assert http.get(fake.url + "/_fake/messages").json()["echo"] == fake.echo_messages

        fake.inject_faults("http_429", retry_after=7)
        response = http.post(fake.url + "/echo/v1/send", json={"to": "+48512345678", "text": "again"})
        assert response.status_code == 429 and response.json() == {"error": "echo 429"}
        assert response.headers["Retry-After"] == "7"
        assert len(fake.echo_messages) == 1
        assert [entry["fault"] for entry in fake.requests_log] == [None, "http_429"]

        page = http.get(fake.url + "/").text
        assert "Cześć" in page and "<option value='echo'>echo</option>" in page
        status, _body = fake.reply_as_phone("+48512345678", "Dziękuję")
        assert status == 200
        assert received == [{"from": "+48512345678", "text": "Dziękuję", "reply_to": "echo-1"}]

        fake.reset()
        assert fake.echo_messages == [] and fake.requests_log == []


def test_unknown_provider_option_is_refused():
    with pytest.raises(TypeError, match="sms77_accounts"):
        FakeProviderServer(sms77_accounts={"a": "b"})


def test_cli_has_flags_for_every_registered_fake(echo):
    args = build_parser().parse_args(["--echo-account", "me:key", "--echo-inbound-url", "http://o/in"])
    assert args.echo_account == [("me", "key")] and args.echo_inbound_url == "http://o/in"
