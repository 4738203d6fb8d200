from . import twilio  # noqa: F401  (registers the adapter)
