from . import test_twilio_adapter
