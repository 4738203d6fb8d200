from odoo import api, fields, models

from ..providers import StatusReport


class SmsDeliveryReport(models.Model):
    """A delivery report received before its message was known (the send not committed yet).

    Kept instead of dropped, and applied as soon as the provider message id is recorded.
    """

    _name = 'sms.delivery.report'
    _description = 'Pending SMS Delivery Report'
    _order = 'id'

    gateway_id = fields.Many2one('sms.gateway', required=True, ondelete='cascade', index=True)
    provider_message_id = fields.Char(required=True, index=True)
    number = fields.Char()
    status = fields.Char(required=True)
    raw_status = fields.Char()
    error_code = fields.Char()
    error_message = fields.Text()

    @api.model
    def _store(self, gateway, reports):
        self.create([{
            'gateway_id': gateway.id,
            'provider_message_id': report.provider_message_id,
            'number': report.number,
            'status': report.status,
            'raw_status': report.raw_status,
            'error_code': report.error_code,
            'error_message': report.error_message,
        } for report in reports])

    @api.model
    def _apply_pending(self, gateway_ids):
        """Apply the kept reports whose message now exists, then forget them."""
        if not gateway_ids:
            return
        pending = self.search([('gateway_id', 'in', list(set(gateway_ids)))])
        if not pending:
            return
        messages = self.env['sms.message'].search([
            ('gateway_id', 'in', pending.gateway_id.ids),
            ('provider_message_id', 'in', pending.mapped('provider_message_id')),
        ])
        known = {(m.gateway_id.id, m.provider_message_id) for m in messages}
        done = self.browse()
        for report in pending:
            if (report.gateway_id.id, report.provider_message_id) not in known:
                continue
            self.env['sms.message']._find_for_report(report.gateway_id, report)._apply_status(report._as_status_report())
            done |= report
        done.unlink()

    def _as_status_report(self):
        self.ensure_one()
        return StatusReport(
            provider_message_id=self.provider_message_id, status=self.status, number=self.number,
            raw_status=self.raw_status, error_code=self.error_code, error_message=self.error_message)
