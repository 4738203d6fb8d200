from odoo import _, api, models, modules
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

    @api.model
    def _get_activity_groups(self):
        """Count the SMS Inbox's replies to triage in the activity menu, as Odoo does for meetings."""
        groups = super()._get_activity_groups()
        if not self.env.user.has_group('sms_connector.group_sms_triage'):
            return groups
        count = self.env['sms.message'].search_count([('direction', '=', 'inbound'), ('to_triage', '=', True)])
        if count:
            groups.append({
                'id': self.env['ir.model']._get_id('sms.message'),
                'name': _("SMS Inbox: %(count)s to triage", count=count),
                'model': 'sms.message',
                'type': 'sms_inbox',  # not 'activity': no late/today/future split (opened by activity_menu_patch.js)
                'icon': modules.Manifest.for_addon('sms_connector').icon,
                'domain': [('direction', '=', 'inbound'), ('to_triage', '=', True)],
                'total_count': count,  # added to the activity menu's counter
            })
        return groups
