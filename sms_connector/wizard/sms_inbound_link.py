from odoo import _, api, fields, models
from odoo.exceptions import UserError


class SmsInboundLink(models.TransientModel):
    """File an SMS nobody could be matched to on the record it is about."""

    _name = 'sms.inbound.link'
    _description = 'Link an inbound SMS to a record'

    message_id = fields.Many2one('sms.message', required=True, ondelete='cascade',
                                 domain=[('direction', '=', 'inbound')])
    number = fields.Char(related='message_id.number')
    body = fields.Text(related='message_id.body')
    record_ref = fields.Reference(selection='_selection_record_models', string="Record", required=True)
    link_same_number = fields.Boolean(
        "Also file the other unlinked SMS from this number", default=True)

    @api.model
    def _selection_record_models(self):
        """The models of the match rules: where replies are expected to belong."""
        models_ = self.env['sms.match.rule'].sudo().with_context(active_test=False).search([]).model_id
        models_ |= self.env['ir.model'].sudo().search([('model', 'in', ('res.partner', 'crm.lead'))])
        return sorted({(m.model, m.name) for m in models_ if m.model in self.env}, key=lambda item: item[1])

    def action_link(self):
        self.ensure_one()
        record = self.record_ref
        if not record or not record.exists():
            raise UserError(_("Choose the record this SMS is about."))
        record.check_access('write')
        messages = self.message_id
        messages._check_triage()
        if self.link_same_number:
            messages |= self.env['sms.message'].search([
                ('direction', '=', 'inbound'), ('number', '=', self.message_id.number),
                ('res_id', '=', False), ('company_id', '=', self.message_id.company_id.id)], order='id')
        messages.sorted('id')._file_on(record)
        return {'type': 'ir.actions.act_window', 'res_model': record._name, 'res_id': record.id,
                'views': [(False, 'form')]}
