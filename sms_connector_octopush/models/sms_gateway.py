from odoo import fields, models


class SmsGateway(models.Model):
    _inherit = 'sms.gateway'

    provider = fields.Selection(selection_add=[('octopush', 'Octopush')], ondelete={'octopush': 'cascade'})
    octopush_sms_type = fields.Selection(
        [('sms_premium', 'Premium'), ('sms_low_cost', 'Low cost')], string="Octopush SMS type",
        default='sms_premium', help="Premium SMS get delivery reports and allow replies; low-cost ones do not.")
    octopush_with_replies = fields.Boolean("Allow replies", help="Ask Octopush to forward replies (premium only).")

    def _provider_options(self):
        options = super()._provider_options()
        if self.provider == 'octopush':
            options.update(sms_type=self.octopush_sms_type or 'sms_premium', with_replies=self.octopush_with_replies)
        return options
