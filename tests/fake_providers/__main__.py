"""Run the fake SMS providers standalone, e.g. for a local Odoo demo.

    python -m tests.fake_providers --port 8070 \
        --twilio-account ACxxxx:token --octopush-account me@example.com:KEY \
        --octopush-callback-url http://localhost:8069/sms_connector/status/ID/TOKEN \
        --twilio-inbound-url http://localhost:8069/sms_connector/inbound/ID/TOKEN

Each provider fake (see base.fake_classes) gets --<provider>-account, --<provider>-callback-url and
--<provider>-inbound-url. Open http://127.0.0.1:8070/ for the phone simulator: the SMS each number
received, and a form to reply as that phone (a real signed inbound webhook posted to the inbound URL).
"""

import argparse
import signal
import sys
import threading

from .base import fake_classes
from .server import FakeProviderServer


def _credential(value):
    """Parse ``ID:SECRET`` (the secret may itself contain ':')."""
    ident, sep, secret = value.partition(":")
    if not sep or not ident or not secret:
        raise argparse.ArgumentTypeError(f"expected ID:SECRET, got {value!r}")
    return ident, secret


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tests.fake_providers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8070)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="delay before answering each provider API request")
    parser.add_argument("--callback-delay", type=float, default=1.0,
                        help="seconds before status callbacks / delivery receipts are sent")
    for cls in fake_classes():
        code = cls.code
        group = parser.add_argument_group(code)
        group.add_argument(f"--{code}-account", action="append", type=_credential, default=[],
                           metavar="ID:SECRET", help=f"accepted {code} credentials (repeatable; none: any)")
        group.add_argument(f"--{code}-callback-url", default=None,
                           help=f"where {code} delivery reports are POSTed (unless given per message)")
        group.add_argument(f"--{code}-inbound-url", default=None,
                           help=f"Odoo URL the phone simulator (GET /) posts {code} inbound SMS to")
    return parser


def main(argv=None):
    args = vars(build_parser().parse_args(argv))
    provider_options = {}
    for cls in fake_classes():
        code = cls.code
        provider_options[f"{code}_accounts"] = dict(args[f"{code}_account"]) or None
        provider_options[f"{code}_callback_url"] = args[f"{code}_callback_url"]
        provider_options[f"{code}_inbound_url"] = args[f"{code}_inbound_url"]
    server = FakeProviderServer(host=args["host"], port=args["port"], latency=args["latency_ms"] / 1000.0,
                                callback_delay=args["callback_delay"], **provider_options)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    print(f"fake providers listening on {server.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
