from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..providers import StatusReport


class SmsDeliveryReport(models.Model):
    """A delivery report received before its message was known (its send result not committed yet).

    Parked instead of dropped, stored once however often the provider repeats it, applied as
    soon as the message's result commits (and by the queue cron), forgotten when it expires.
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
    opted_out = fields.Boolean()

    _report_unique = models.UniqueIndex("(gateway_id, provider_message_id, COALESCE(number, ''), status)")

    @api.model
    def _store(self, gateway, reports):
        """Park ``reports``; a replayed report is stored once. Applied again after this commit,
        when the send result that raced it may have committed meanwhile."""
        columns = ['gateway_id', 'provider_message_id', 'number', 'status', 'raw_status', 'error_code',
                   'error_message', 'opted_out']
        rows = [SQL("(%s, %s, %s, %s, %s, %s, %s, %s, %s, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC')",
                    gateway.id, report.provider_message_id, report.number, report.status, report.raw_status,
                    report.error_code, report.error_message, report.opted_out, self.env.uid)
                for report in reports]
        self.env.cr.execute(SQL(
            "INSERT INTO sms_delivery_report (%s, create_uid, create_date, write_date) VALUES %s "
            "ON CONFLICT DO NOTHING",
            SQL(", ").join(SQL.identifier(column) for column in columns), SQL(", ").join(rows)))
        engine = self.env['sms.send.engine']
        gateway_ids = [gateway.id]
        self.env.cr.postcommit.add(
            lambda: engine._in_new_transaction(lambda eng: eng.env['sms.delivery.report']._apply_pending(gateway_ids)))

    @api.model
    def _apply_pending(self, gateway_ids=None):
        """Apply the parked reports whose message now exists, then forget them."""
        domain = [('gateway_id', 'in', list(set(gateway_ids)))] if gateway_ids is not None else []
        pending = self.search(domain)
        if not pending:
            return 0
        engine = self.env['sms.send.engine']
        done = self.browse()
        for report in pending:
            status = report._as_status_report()
            messages = engine._messages_for_report(report.gateway_id, status)
            if messages:
                engine._apply_report(messages, status)
                done |= report
        done.unlink()
        return len(done)

    @api.model
    def _cron_apply_and_expire(self):
        """Queue cron: apply what is applicable, drop reports no message claimed in time."""
        hours = int(self.env['ir.config_parameter'].sudo().get_param('sms_connector.report_expiry_hours', 72))
        self.sudo()._apply_pending()
        self.sudo().search([('create_date', '<', fields.Datetime.now() - timedelta(hours=hours))]).unlink()

    def _as_status_report(self):
        self.ensure_one()
        return StatusReport(
            provider_message_id=self.provider_message_id, status=self.status, number=self.number,
            raw_status=self.raw_status, error_code=self.error_code, error_message=self.error_message,
            opted_out=self.opted_out)
