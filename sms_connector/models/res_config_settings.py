from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class ResConfigSettings(models.TransientModel):
    """SMS section of the general settings: what users may choose, when to warn about credit."""

    _inherit = 'res.config.settings'

    sms_connector_allow_purpose = fields.Boolean(
        "Users choose the message type", config_parameter='sms_connector.allow_purpose',
        help="Let users mark an SMS as marketing or transactional in the composer.")
    sms_connector_allow_sender = fields.Boolean(
        "Users choose the sender", config_parameter='sms_connector.allow_sender',
        help="Let users replace the gateway's sender name or number in the composer.")
    sms_connector_low_credit_threshold = fields.Float(
        "Low-credit alert below", config_parameter='sms_connector.low_credit_threshold',
        help="Every day, SMS managers get a to-do on each gateway whose provider balance is below "
             "this amount (in the provider's currency). 0 disables the alert.")
    sms_connector_gateway_count = fields.Integer("Gateways", compute='_compute_sms_connector_gateway_count')
    sms_connector_restrict_sending = fields.Boolean(
        "Only SMS users may send SMS",
        help="Off (Odoo's default): every internal user may send SMS. On: only users given \"SMS / User\" "
             "(and SMS managers, administrators) may; automations and campaigns are not affected.")
    group_sms_connector_user_triage = fields.Boolean(
        "SMS users triage unmatched replies", implied_group='sms_connector.group_sms_triage',
        group='sms_connector.group_sms_user',
        help="On: SMS users see the replies nobody could be matched to (SMS ▸ Inbox) of their companies, answer "
             "them and file them on a record. Off: only SMS managers do.")

    @api.model
    def get_values(self):
        """Public, hence callable over RPC by anyone: settings (API keys of other apps included) are
        for administrators, as ``execute`` already enforces for writing them."""
        if not self.env.is_admin():
            raise AccessError(_("Only administrators can read the settings"))
        res = super().get_values()
        sms_user = self.env.ref('sms_connector.group_sms_user')
        res['sms_connector_restrict_sending'] = sms_user not in self.env.ref('base.group_user').all_implied_ids
        return res

    def set_values(self):
        """Internal users imply "SMS / User" unless sending is restricted to SMS users.

        Public, hence callable over RPC on an empty recordset: only administrators change settings.
        """
        if not self.env.is_admin():
            raise AccessError(_("Only administrators can change the settings"))
        super().set_values()
        employees = self.env.ref('base.group_user').sudo()
        sms_user = self.env.ref('sms_connector.group_sms_user').sudo()
        if self.sms_connector_restrict_sending and sms_user in employees.all_implied_ids:
            employees._remove_group(sms_user)
        elif not self.sms_connector_restrict_sending and sms_user not in employees.all_implied_ids:
            employees._apply_group(sms_user)

    @api.depends('company_id')
    def _compute_sms_connector_gateway_count(self):
        for settings in self:
            # sudo: a count, for any settings admin (it decides whether Odoo's IAP offer shows)
            settings.sms_connector_gateway_count = self.env['sms.gateway'].sudo().search_count(
                [('company_id', '=', settings.company_id.id)])

    def action_sms_connector_open_gateways(self):
        """The company's gateways: the first one serving a destination is its default."""
        action = self.env['ir.actions.act_window']._for_xml_id('sms_connector.sms_gateway_action')
        action['domain'] = [('company_id', '=', self.company_id.id)]
        action['name'] = _("SMS Gateways")
        return action
