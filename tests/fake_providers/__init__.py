"""Loopback fakes of the SMS providers' APIs (one module per provider) for tests and demos."""

from .base import ProviderFake, register_fake, sms_segments
from .server import FakeProviderServer
from .twilio import twilio_signature

__all__ = ["FakeProviderServer", "ProviderFake", "register_fake", "sms_segments", "twilio_signature"]
