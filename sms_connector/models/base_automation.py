from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class BaseAutomation(models.Model):
    """SMS ▸ Configuration ▸ Automations: SMS managers switch SMS automations on and off.

    They are not system administrators: they may read and write SMS-only automations (record
    rule), and write nothing but ``active`` on them, as the admins' automation screens allow anything.
    """

    _inherit = 'base.automation'

    sms_connector_sms_only = fields.Boolean(
        "Sends SMS only", compute='_compute_sms_connector_sms_only', store=True,
        help="Every action of this automation sends an SMS: SMS managers may switch it on and off.")
    sms_connector_template_ids = fields.Many2many(
        'sms.template', string="SMS templates", compute='_compute_sms_connector_template_ids', compute_sudo=True,
        help="Templates of the SMS this automation sends.")

    @api.depends('action_server_ids.state')
    def _compute_sms_connector_sms_only(self):
        for automation in self:
            states = set(automation.action_server_ids.mapped('state'))
            automation.sms_connector_sms_only = states == {'sms'}

    @api.depends('action_server_ids.sms_template_id')
    def _compute_sms_connector_template_ids(self):
        for automation in self:
            automation.sms_connector_template_ids = automation.action_server_ids.sms_template_id

    def write(self, vals):
        if self.env.su or self.env.user.has_group('base.group_system') \
                or not self.env.user.has_group('sms_connector.group_sms_manager'):
            return super().write(vals)
        if set(vals) != {'active'}:
            raise AccessError(_("SMS managers may only switch automations on and off; ask an administrator to "
                                "change them."))
        self.check_access('write')  # record rule: automations that only send SMS
        if not all(self.sudo().mapped('sms_connector_sms_only')):
            raise AccessError(_("Only automations that send nothing but SMS can be switched on or off here."))
        # switching a rule updates its scheduled action and the registry: administrator's work
        return super(BaseAutomation, self.sudo()).write(vals)
