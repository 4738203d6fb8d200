"""Context values only the connector's own code can set.

Every context key is caller input: JSON-RPC lets any user pass ``{"sms_connector_custom_sender": ...}``.
Options that change who an SMS seems to come from, which gateway it leaves through or whether an
opt-out is overridden are wrapped in :class:`Trusted`, which JSON cannot produce; readers ignore
bare values.
"""
import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Trusted:
    """A context value set in Python by a checked code path (never received over RPC)."""

    value: Any


def trusted_value(context, key, default=None):
    """The value of ``key`` if our code set it (wrapped in :class:`Trusted`), else ``default``."""
    value = context.get(key)
    return value.value if isinstance(value, Trusted) else default
