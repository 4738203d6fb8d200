from . import (
    test_campaign_check,
    test_dispatcher,
    test_everyday_rules,
    test_lifecycle,
    test_phone,
    test_segments,
    test_sending_window,
    test_sms_routing,
)
