from . import octopush  # noqa: F401  (registers the adapter)
