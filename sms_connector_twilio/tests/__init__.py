from . import test_twilio_adapter
from . import test_twilio_inbound
