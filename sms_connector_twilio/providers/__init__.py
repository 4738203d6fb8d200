from . import twilio
