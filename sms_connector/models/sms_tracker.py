from odoo import models


class SmsTracker(models.Model):
    _inherit = 'sms.tracker'

    def _update_sms_notifications(self, notification_status, failure_type=False, failure_reason=False):
        """Chatter notifications lack some sms.sms failure types (blacklist, opt-out, duplicate).

        Our engine cancels SMS to opted-out numbers with them: the notification keeps its
        status and the reason, without a type it cannot store (writing it would fail the send).
        """
        if failure_type and failure_type not in self.env['mail.notification']._fields['failure_type'].get_values(self.env):
            failure_type = False
        return super()._update_sms_notifications(
            notification_status, failure_type=failure_type, failure_reason=failure_reason)
