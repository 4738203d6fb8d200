from odoo import fields, models


class SmsTemplate(models.Model):
    """Templates are drafted by managers and offered to users once published."""

    _inherit = 'sms.template'

    sms_connector_state = fields.Selection(
        [('draft', 'Draft'), ('published', 'Published')], string="Status", default='published', required=True,
        help="Only published templates are offered to users when they write an SMS.")
    sms_connector_purpose = fields.Selection(
        [('transactional', 'Transactional'), ('marketing', 'Marketing')], string="Message type",
        default='transactional', required=True,
        help="Marketing SMS never go to numbers that opted out.")
    sms_connector_sender = fields.Char("Sender", help="Sender name or number to use instead of the gateway's default sender.")
    sms_connector_recipient = fields.Selection(
        [('record', "The document's contact"), ('user', "The responsible user"), ('attendees', "The attendees")],
        string="Automation recipient",
        help="Who an automation using this template texts; through the gateways right after the commit, "
             "with tracked short links. Empty: Odoo's standard SMS action.")

    def action_sms_connector_publish(self):
        self.write({'sms_connector_state': 'published'})

    def action_sms_connector_set_draft(self):
        self.write({'sms_connector_state': 'draft'})
