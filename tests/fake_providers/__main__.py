"""Run the fake SMS providers standalone, e.g. for a local Odoo demo.

    python -m tests.fake_providers --port 8070 \
        --twilio-account ACxxxx:token --octopush-account me@example.com:KEY \
        --octopush-callback-url http://localhost:8069/sms_connector/octopush/dlr \
        --twilio-inbound-url http://localhost:8069/sms_connector/inbound/ID/TOKEN

Open http://127.0.0.1:8070/ for the phone simulator: the SMS each number received, and a form
to reply as that phone (a real signed inbound webhook posted to the inbound URL).
"""

import argparse
import signal
import sys
import threading

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
    parser.add_argument("--twilio-account", action="append", type=_credential, default=[],
                        metavar="SID:TOKEN", help="accepted Twilio credentials (repeatable)")
    parser.add_argument("--octopush-account", action="append", type=_credential, default=[],
                        metavar="LOGIN:APIKEY", help="accepted Octopush credentials (repeatable)")
    parser.add_argument("--octopush-callback-url", default=None,
                        help="where Octopush delivery receipts are POSTed")
    parser.add_argument("--twilio-inbound-url", default=None,
                        help="Odoo URL the phone simulator (GET /) posts Twilio inbound SMS to")
    parser.add_argument("--octopush-inbound-url", default=None,
                        help="Odoo URL the phone simulator (GET /) posts Octopush inbound SMS to")
    parser.add_argument("--callback-delay", type=float, default=1.0,
                        help="seconds before status callbacks / delivery receipts are sent")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    server = FakeProviderServer(
        host=args.host,
        port=args.port,
        latency=args.latency_ms / 1000.0,
        twilio_accounts=dict(args.twilio_account) or None,
        octopush_accounts=dict(args.octopush_account) or None,
        octopush_callback_url=args.octopush_callback_url,
        callback_delay=args.callback_delay,
        twilio_inbound_url=args.twilio_inbound_url,
        octopush_inbound_url=args.octopush_inbound_url,
    )
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
