from odoo import models

from ..tools.sms_api import SmsApiGatewayQueue


class ResCompany(models.Model):
    _inherit = 'res.company'

    def _get_sms_api_class(self):
        self.ensure_one()
        if self.env['sms.gateway'].sudo().search_count([('company_id', '=', self.id)], limit=1):
            return SmsApiGatewayQueue
        return super()._get_sms_api_class()
