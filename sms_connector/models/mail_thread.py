from odoo import models


class MailThread(models.AbstractModel):
    _inherit = 'mail.thread'

    def _notify_thread_by_sms(self, message, recipients_data, msg_vals=False, sms_numbers=None, **kwargs):
        """Every path creating a chatter SMS ends here (``message_post(message_type='sms')``,
        ``_message_sms``, the composer): only users allowed to send SMS get one out."""
        if not self.env.su and (sms_numbers or any(data.get('notif') == 'sms' for data in recipients_data)):
            self.env.user._sms_connector_check_can_send()
        return super()._notify_thread_by_sms(message, recipients_data, msg_vals=msg_vals, sms_numbers=sms_numbers,
                                             **kwargs)
