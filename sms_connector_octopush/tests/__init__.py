from . import test_octopush_adapter
