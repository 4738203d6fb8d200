from . import test_dispatcher, test_phone, test_segments, test_sms_routing
