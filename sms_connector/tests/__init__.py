from . import test_segments
from . import test_phone
from . import test_dispatcher
from . import test_sms_routing
