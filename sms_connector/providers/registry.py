"""Registry of provider adapters, filled by the provider addons at import time."""

_PROVIDERS = {}


def register_provider(cls):
    """Class decorator: make ``cls`` available under ``cls.code``."""
    if not cls.code:
        raise ValueError("A provider class needs a code")
    _PROVIDERS[cls.code] = cls
    return cls


def get_provider_class(code):
    try:
        return _PROVIDERS[code]
    except KeyError:
        raise KeyError(f"No SMS provider adapter registered under {code!r}") from None


def provider_codes():
    return sorted(_PROVIDERS)
