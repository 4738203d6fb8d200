from . import test_octopush_adapter
from . import test_octopush_inbound
