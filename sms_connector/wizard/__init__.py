from . import sms_composer
from . import sms_inbound_link
from . import sms_inbound_reply
from . import sms_message_reschedule
from . import sms_conversation
