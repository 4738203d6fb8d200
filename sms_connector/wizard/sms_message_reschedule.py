from odoo import api, fields, models


class SmsMessageReschedule(models.TransientModel):
    """Move scheduled SMS to another date before they leave (their author or an SMS manager)."""

    _name = 'sms.message.reschedule'
    _description = 'Reschedule SMS'

    message_ids = fields.Many2many('sms.message', string="SMS", required=True)
    scheduled_date = fields.Datetime(
        "Send on", required=True, compute='_compute_scheduled_date', store=True, readonly=False)

    @api.depends('message_ids')
    def _compute_scheduled_date(self):
        for wizard in self:
            wizard.scheduled_date = wizard.message_ids[:1].scheduled_date

    def action_reschedule(self):
        self.ensure_one()
        self.message_ids._reschedule(self.scheduled_date)
        return {'type': 'ir.actions.act_window_close'}
