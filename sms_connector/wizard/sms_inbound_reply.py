from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.segments import count_segments


class SmsInboundReply(models.TransientModel):
    """Answer an inbound SMS from the inbox: same number, same gateway, same From number."""

    _name = 'sms.inbound.reply'
    _description = 'Reply to an inbound SMS'

    message_id = fields.Many2one('sms.message', required=True, ondelete='cascade',
                                 domain=[('direction', '=', 'inbound')])
    number = fields.Char(related='message_id.number')
    gateway_id = fields.Many2one(related='message_id.gateway_id')
    gateway_number = fields.Char(related='message_id.gateway_number')
    received_body = fields.Text("Their message", related='message_id.body')
    body = fields.Text("Answer", required=True)
    segments = fields.Integer(compute='_compute_segments')

    @api.depends('body')
    def _compute_segments(self):
        for wizard in self:
            wizard.segments = count_segments(wizard.body or '').segments if wizard.body else 0

    def action_send(self):
        self.ensure_one()
        if not self.env.su:
            self.env.user._sms_connector_check_can_send()
        self.message_id.check_access('read')  # answer only an SMS one may see
        if self.message_id.direction != 'inbound':
            raise UserError(_("Only a received SMS can be answered."))
        self.message_id._send_reply(self.body)
        self.message_id.filtered('to_triage').action_mark_triaged()
        return {'type': 'ir.actions.act_window_close'}
