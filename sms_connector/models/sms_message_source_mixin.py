from odoo import _, api, fields, models
from odoo.exceptions import UserError


class SmsMessageSourceMixin(models.AbstractModel):
    """Smart button "SMS" on documents SMS are sent from."""

    _name = 'sms.message.source.mixin'
    _description = 'Documents with an SMS activity log'

    sms_message_count = fields.Integer("SMS", compute='_compute_sms_message_count')

    def _sms_message_domain(self):
        return [('res_model', '=', self._name), ('res_id', 'in', self.ids)]

    @api.depends_context('uid')
    def _compute_sms_message_count(self):
        if not self.ids:
            self.sms_message_count = 0
            return
        counts = dict(self.env['sms.message']._read_group(
            [('res_model', '=', self._name), ('res_id', 'in', self.ids)], ['res_id'], ['__count']))
        for record in self:
            record.sms_message_count = counts.get(record.id, 0)

    def action_view_sms_messages(self):
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('sms_connector.sms_message_action')
        action.update(domain=self._sms_message_domain(), context={'create': False}, name=_("SMS"))
        return action

    def action_view_sms_conversation(self):
        """The SMS thread with this document's number (the latest one texted), replies filed on it."""
        self.ensure_one()
        last = self.env['sms.message'].search(self._sms_message_domain(), order='id desc', limit=1)
        number = last.number or ('phone_sanitized' in self._fields and self.phone_sanitized)
        if not number:
            raise UserError(_("No SMS with %(record)s yet and no phone number to text.", record=self.display_name))
        return self.env['sms.conversation']._open(number, self)
