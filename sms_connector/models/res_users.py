from odoo import _, models
from odoo.exceptions import AccessError


class ResUsers(models.Model):
    _inherit = 'res.users'

    def _sms_connector_can_send(self):
        """SMS / User (every internal user unless "Only SMS users may send SMS" is on), managers, admins."""
        self.ensure_one()
        return any(self.has_group(group) for group in (
            'sms_connector.group_sms_user', 'sms_connector.group_sms_manager', 'base.group_system'))

    def _sms_connector_check_can_send(self):
        """Refuse a hand-sent SMS to a user without the right.

        Callers skip it in superuser mode (automations, crons); ``env.user`` is always sudo-ed,
        so this method cannot tell by itself.
        """
        self.ensure_one()
        if not self._sms_connector_can_send():
            raise AccessError(_(
                "You are not allowed to send SMS. Ask your administrator for the \"SMS / User\" access right."))
