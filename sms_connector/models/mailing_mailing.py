from odoo import models
from odoo.tools import split_every


class MailingMailing(models.Model):
    _inherit = 'mailing.mailing'

    def action_send_sms(self, res_ids=None):
        """Queue SMS mailings by chunks of recipients.

        Odoo hands every recipient id to one composer as a Python literal, which its safe
        evaluation refuses beyond about 15,000 recipients, and renders them all in memory.
        """
        chunk_size = int(self.env['ir.config_parameter'].sudo().get_param('sms_connector.mailing_chunk_size', 5000))
        for mailing in self:
            ids = res_ids or (mailing._get_remaining_recipients() if mailing.mailing_type == 'sms' else None)
            if not ids:
                super(MailingMailing, mailing).action_send_sms(res_ids=res_ids)
                continue
            for part in split_every(chunk_size, ids, list):
                super(MailingMailing, mailing).action_send_sms(res_ids=part)
                self.env.flush_all()
                self.env.invalidate_all()  # keep memory bounded on large audiences
        return True
