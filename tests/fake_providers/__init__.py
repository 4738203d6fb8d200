"""Loopback fake of the Twilio and Octopush SMS APIs for tests and demos."""

from .server import FakeProviderServer, sms_segments, twilio_signature

__all__ = ["FakeProviderServer", "sms_segments", "twilio_signature"]
