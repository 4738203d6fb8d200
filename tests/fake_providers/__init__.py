"""Loopback fakes of the SMS providers' APIs for tests and demos: the server and what fakes share.

Each provider's fake lives in its addon (``sms_connector_<provider>/tests/fake_provider.py``);
they are imported here, so that ``tests.fake_providers.<provider>`` can be imported too.
"""

from .base import ProviderFake, fake_classes, register_fake, sms_segments
from .server import FakeProviderServer

fake_classes()

__all__ = ["FakeProviderServer", "ProviderFake", "fake_classes", "register_fake", "sms_segments"]
