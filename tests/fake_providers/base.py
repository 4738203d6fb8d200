"""What every provider fake shares: replies, SMS part counting, the ProviderFake base, the registry.

A provider fake is a :class:`ProviderFake` subclass decorated with :func:`register_fake`, in its
provider addon: ``sms_connector_<provider>/tests/fake_provider.py`` (found through the addons'
manifests, ``tests/addons.py``), or a module of this package. :func:`fake_classes` imports them
all and the server routes each request to the fake whose URL prefix it starts with, so a new
provider adds a module in its own addon folder and changes nothing here nor in ``server.py``.
An addon's module is importable as ``tests.fake_providers.<provider>`` (the addon name without
``sms_connector_``) once this package is imported: ``from tests.fake_providers.twilio import ...``.

Standard library only, like the server (``python -m tests.fake_providers`` runs without Odoo).
"""

import importlib
import importlib.util
import json
import pkgutil
import re
import sys
from http import HTTPStatus

from ..addons import addon_dirs

E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")

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
# Replies
# ---------------------------------------------------------------------------


class Reply:
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
# Provider fakes
# ---------------------------------------------------------------------------


class ProviderFake:
    """One provider's API, served by the shared loopback :class:`FakeProviderServer`.

    The server owns what is common (latency, queued faults, request log, delivery outcomes,
    callback scheduling, the phone simulator); a fake only speaks its provider's wire format.
    Its constructor options are given to the server as ``<code>_<option>`` and read back the
    same way: ``FakeProviderServer(twilio_accounts=...)``, ``server.twilio_messages``.
    """

    code = ""  # the sms.gateway provider code, e.g. "twilio"
    prefix = ""  # URL path prefix of the provider's API on the fake server
    sequence = 50  # phone simulator order; the first with an inbound URL answers new numbers

    def __init__(self, server, accounts=None, callback_url=None, inbound_url=None):
        self.server = server
        self.accounts = dict(accounts) if accounts else None  # None: any credentials accepted
        self.callback_url = callback_url  # where delivery reports go, if not given per message
        self.inbound_url = inbound_url  # where the phone simulator posts replies

    def owns(self, path):
        return path == self.prefix or path.startswith(self.prefix + "/")

    def is_send(self, method, path):
        """Whether this request sends SMS (``inject_faults(on="send")`` hits those)."""
        raise NotImplementedError

    def is_lookup(self, method, path):
        """Whether this request searches sent messages (``inject_faults(on="lookup")`` hits those)."""
        return False

    def route(self, handler, path, body):
        """Answer one API request: a :class:`Reply`."""
        raise NotImplementedError

    def error_reply(self, status):
        """The provider's error document for an injected HTTP 429 / 500 / 503."""
        return Reply(status, {"code": status, "message": HTTPStatus(status).phrase})

    def reset(self):
        """Forget what was received (called with the server lock held)."""

    def snapshot(self):
        """Copy of what was accepted so far, for ``GET /_fake/messages`` (server lock held)."""
        return []

    def phone_events(self):
        """``(at, number, text, context)`` per SMS a phone received (server lock held).

        ``context`` is what a reply from that phone needs (our number, a ticket...); the phone
        simulator shows it and hands it back to :meth:`inbound`.
        """
        return []

    def inbound(self, number, body, context):
        """``(data, kwargs)`` of the webhook a reply from ``number`` posts, for :meth:`inbound_request`."""
        raise NotImplementedError

    def inbound_request(self, url, data, **kwargs):
        """``(raw body, headers)`` of an inbound SMS webhook posted to ``url`` as the provider does."""
        raise NotImplementedError

    def inbound_answered(self, at, number, data, status, text):
        """Odoo answered the webhook of a reply from ``number`` with ``status``/``text`` (server lock held).

        A provider that texts the phone what the webhook answered (Twilio's TwiML) records it here.
        """


_FAKES = {}
_SKIP_MODULES = {"base", "server", "__main__"}
ADDON_PREFIX = "sms_connector_"
ADDON_FAKE_MODULE = ("tests", "fake_provider.py")  # sms_connector_<provider>/tests/fake_provider.py


def register_fake(cls):
    """Class decorator: serve ``cls`` on every FakeProviderServer under ``cls.code``."""
    if not cls.code or not cls.prefix:
        raise ValueError(f"{cls.__name__} needs a code and a URL prefix")
    _FAKES[cls.code] = cls
    return cls


def _import_addon_fake(addon_dir):
    """Import ``<addon>/tests/fake_provider.py`` as ``tests.fake_providers.<provider>``, once.

    By path, not as ``odoo.addons.<addon>.tests``: the fakes also run without Odoo (demo server).
    """
    path = addon_dir.joinpath(*ADDON_FAKE_MODULE)
    if not path.is_file():
        return
    name = f"{__package__}.{addon_dir.name.removeprefix(ADDON_PREFIX)}"
    loaded = sys.modules.get(name)
    if loaded is not None:
        if getattr(loaded, "__file__", None) != str(path):
            raise ImportError(f"{path}: {name} is already {getattr(loaded, '__file__', loaded)}")
        return
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    setattr(sys.modules[__package__], name.rpartition(".")[2], module)


def fake_classes(root=None):
    """Every provider fake, in phone simulator order.

    Importing the modules is what registers them: a new ``sms_connector_<provider>/tests/
    fake_provider.py`` (or ``<provider>.py`` in this package) is picked up with no edit elsewhere.
    ``root``: the repository whose addons are searched (default: this one).
    """
    for module in pkgutil.iter_modules(importlib.import_module(__package__).__path__):
        if module.name not in _SKIP_MODULES and not module.name.startswith(("test_", "_")):
            importlib.import_module(f"{__package__}.{module.name}")
    for addon_dir in addon_dirs(*([root] if root else [])):
        _import_addon_fake(addon_dir)
    return sorted(_FAKES.values(), key=lambda cls: (cls.sequence, cls.code))
