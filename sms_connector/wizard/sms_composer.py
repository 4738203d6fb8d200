from odoo import _, models
from odoo.exceptions import AccessError


class SmsComposer(models.TransientModel):
    _inherit = 'sms.composer'

    def action_send_sms(self):
        """Only users granted "SMS / User" may send by hand (automations and mailings are not gated)."""
        if not self.env.user.has_group('sms_connector.group_sms_user'):
            raise AccessError(_(
                "You are not allowed to send SMS. Ask your administrator for the \"SMS / User\" access right."))
        return super().action_send_sms()

    def _prepare_mass_sms_values(self, records):
        """Remember each SMS's company and document: mass sends post no chatter message to read them from."""
        results = super()._prepare_mass_sms_values(records)
        has_company = 'company_id' in records._fields
        for record in records:
            vals = results.get(record.id)
            if vals is None:
                continue
            company = record.company_id if has_company else self.env['res.company']
            vals.update({
                'record_company_id': company.id or self.env.company.id,
                'sms_connector_res_model': records._name,
                'sms_connector_res_id': record.id,
            })
        return results
