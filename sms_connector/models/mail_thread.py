from odoo import models

from ..tools.trusted_context import Trusted, trusted_value


class MailThread(models.AbstractModel):
    _inherit = 'mail.thread'

    def _message_sms(self, body, *args, **kwargs):
        """Private, so only code reaches it: the composer once it checked the right, and the SMS apps
        send by themselves (delivery confirmation, task stage...) whoever triggers them."""
        return super(MailThread, self.with_context(sms_connector_sms_by_code=Trusted(True)))._message_sms(
            body, *args, **kwargs)

    def _notify_thread_by_sms(self, message, recipients_data, msg_vals=False, sms_numbers=None, **kwargs):
        """Every path creating a chatter SMS ends here: ``message_post(message_type='sms')`` or
        ``message_notify(sms_numbers=...)`` called over RPC need the caller's right to send SMS."""
        if (not self.env.su and not trusted_value(self.env.context, 'sms_connector_sms_by_code')
                and (sms_numbers or any(data.get('notif') == 'sms' for data in recipients_data))):
            self.env.user._sms_connector_check_can_send()
        return super()._notify_thread_by_sms(message, recipients_data, msg_vals=msg_vals, sms_numbers=sms_numbers,
                                             **kwargs)
