from odoo import fields, models


class SmsGateway(models.Model):
    _inherit = 'sms.gateway'

    provider = fields.Selection(selection_add=[('twilio', 'Twilio')], ondelete={'twilio': 'cascade'})
    twilio_messaging_service_sid = fields.Char(
        "Messaging Service SID",
        help="Send through a Twilio Messaging Service (MG...) instead of, or in addition to, the From number.")

    def _provider_options(self):
        options = super()._provider_options()
        if self.provider == 'twilio' and self.twilio_messaging_service_sid:
            options['messaging_service_sid'] = self.twilio_messaging_service_sid
        return options
