from odoo import api, fields, models


class ResPartner(models.Model):
    _name = 'res.partner'
    _inherit = ['res.partner', 'sms.message.source.mixin']

    # Inbound SMS are matched on it (equality with the sender's E.164 number): index it.
    phone_sanitized = fields.Char(index='btree_not_null')

    def _sms_message_domain(self):
        # A contact's SMS include those sent from its documents (orders, invoices, leads).
        return ['|', ('partner_id', 'in', self.ids), '&', ('res_model', '=', self._name), ('res_id', 'in', self.ids)]

    @api.depends_context('uid')
    def _compute_sms_message_count(self):
        if not self.ids:
            self.sms_message_count = 0
            return
        for partner in self:
            partner.sms_message_count = self.env['sms.message'].search_count(partner._sms_message_domain())
