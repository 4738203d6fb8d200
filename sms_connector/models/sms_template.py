from odoo import fields, models


class SmsTemplate(models.Model):
    """Templates are drafted by managers and offered to users once published."""

    _inherit = 'sms.template'

    state = fields.Selection(
        [('draft', 'Draft'), ('published', 'Published')], string="Status", default='published', required=True,
        help="Only published templates are offered to users when they write an SMS.")
    message_type = fields.Selection(
        [('transactional', 'Transactional'), ('marketing', 'Marketing')], string="Message type",
        default='transactional', required=True,
        help="Marketing SMS never go to numbers that opted out.")
    sender = fields.Char(help="Sender name or number to use instead of the gateway's default sender.")
    sms_connector_recipient = fields.Selection(
        [('record', "The document's contact"), ('user', "The responsible user"), ('attendees', "The attendees")],
        string="Automation recipient",
        help="Who an automation using this template texts; through the gateways right after the commit, "
             "with tracked short links. Empty: Odoo's standard SMS action.")

    def action_publish(self):
        self.write({'state': 'published'})

    def action_set_draft(self):
        self.write({'state': 'draft'})
