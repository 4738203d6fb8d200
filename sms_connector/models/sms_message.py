import logging

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..providers import STATUS_RANK

_logger = logging.getLogger(__name__)

# sms.message state reached by a normalised provider status (see providers.STATUS_RANK).
STATUS_TO_STATE = {'queued': 'sent', 'sent': 'sent', 'delivered': 'delivered', 'failed': 'failed', 'canceled': 'canceled'}
# Progress of each state: a report never moves a message backwards.
STATE_RANK = {'queued': 0, 'sending': 0, 'unknown': 0, 'sent': 1, 'delivered': 2, 'failed': 2, 'canceled': 2}
# sms.message state -> Odoo sms.sms / sms.tracker state ('pending' is "Sent", 'sent' is "Delivered").
STATE_TO_ODOO_SMS_STATE = {'sent': 'pending', 'delivered': 'sent', 'canceled': 'canceled'}


class SmsMessage(models.Model):
    """Durable log of every SMS: it outlives Odoo's clean-up of sent ``sms.sms`` rows."""

    _name = 'sms.message'
    _description = 'SMS Activity'
    _order = 'id desc'
    _rec_name = 'number'

    direction = fields.Selection(
        [('outbound', 'Outbound'), ('inbound', 'Inbound')], required=True, default='outbound', index=True)
    state = fields.Selection([
        ('queued', 'Queued'),
        ('sending', 'Sending'),
        ('sent', 'Sent'),
        ('delivered', 'Delivered'),
        ('failed', 'Failed'),
        ('unknown', 'To check'),
        ('canceled', 'Canceled'),
    ], required=True, default='queued', index=True)
    number = fields.Char("Number", index=True, help="E.164 when the number could be normalised.")
    body = fields.Text()
    segments = fields.Integer()
    encoding = fields.Selection([('gsm7', 'GSM-7'), ('ucs2', 'UCS-2 (Unicode)')])
    purpose = fields.Selection(
        [('transactional', 'Transactional'), ('marketing', 'Marketing')], default='transactional', required=True)
    gateway_id = fields.Many2one('sms.gateway', index=True, ondelete='set null')
    provider = fields.Selection(related='gateway_id.provider', store=True, string="Provider")
    provider_message_id = fields.Char("Provider message ID", index='btree_not_null', copy=False)
    cost = fields.Float(digits=(16, 4))
    cost_currency = fields.Char("Currency")
    error_code = fields.Char()
    error_message = fields.Text("Failure reason")
    partner_id = fields.Many2one('res.partner', index='btree_not_null', ondelete='set null')
    res_model = fields.Char("Document model", index=True)
    res_id = fields.Many2oneReference("Document ID", model_field='res_model', index=True)
    record_name = fields.Char("Document", compute='_compute_record_name')
    mailing_id = fields.Many2one('mailing.mailing', index='btree_not_null', ondelete='set null')
    user_id = fields.Many2one('res.users', "Author", ondelete='set null')
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company, index=True)
    sms_uuid = fields.Char("SMS UUID", readonly=True, copy=False)
    sent_date = fields.Datetime("Sent on", readonly=True)
    delivered_date = fields.Datetime("Delivered on", readonly=True)

    _sms_uuid_unique = models.UniqueIndex('(sms_uuid) WHERE sms_uuid IS NOT NULL')

    @api.depends('res_model', 'res_id')
    def _compute_record_name(self):
        for message in self:
            record = message._get_record()
            message.record_name = record.display_name if record else False

    def _get_record(self):
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        record = self.env[self.res_model].browse(self.res_id).exists()
        return record if record and record.has_access('read') else None

    def action_open_record(self):
        """Jump from the log to the document the SMS was sent from."""
        self.ensure_one()
        if not self._get_record():
            return False
        return {
            'type': 'ir.actions.act_window',
            'res_model': self.res_model,
            'res_id': self.res_id,
            'views': [(False, 'form')],
        }

    # send results ---------------------------------------------------------------
    @api.model
    def _record_send_results(self, results):
        """Write provider outcomes onto the log rows in one statement (hot path of mass sends).

        :param results: dicts with ``uuid`` and our ``connector`` payload (see SmsApiConnector)
        """
        rows = [res for res in results if res.get('connector')]
        if not rows:
            return
        payload = [res['connector'] for res in rows]
        self.env.cr.execute(SQL(
            """
            UPDATE sms_message m
               SET state = v.state,
                   gateway_id = COALESCE(v.gateway_id, m.gateway_id),
                   provider_message_id = COALESCE(v.provider_message_id, m.provider_message_id),
                   segments = COALESCE(v.segments, m.segments),
                   cost = COALESCE(v.cost, m.cost),
                   cost_currency = COALESCE(v.cost_currency, m.cost_currency),
                   error_code = v.error_code,
                   error_message = v.error_message,
                   sent_date = CASE WHEN v.state = 'sent' THEN NOW() AT TIME ZONE 'UTC' ELSE m.sent_date END,
                   write_date = NOW() AT TIME ZONE 'UTC',
                   write_uid = %(uid)s
              FROM (SELECT UNNEST(%(uuids)s::varchar[]) AS uuid,
                           UNNEST(%(states)s::varchar[]) AS state,
                           UNNEST(%(gateways)s::int[]) AS gateway_id,
                           UNNEST(%(pids)s::varchar[]) AS provider_message_id,
                           UNNEST(%(segments)s::int[]) AS segments,
                           UNNEST(%(costs)s::numeric[]) AS cost,
                           UNNEST(%(currencies)s::varchar[]) AS cost_currency,
                           UNNEST(%(codes)s::varchar[]) AS error_code,
                           UNNEST(%(errors)s::text[]) AS error_message) v
             WHERE m.sms_uuid = v.uuid AND m.state NOT IN ('delivered', 'failed', 'canceled')
            """,
            uid=self.env.uid,
            uuids=[res['uuid'] for res in rows],
            states=[p['state'] for p in payload],
            gateways=[p.get('gateway_id') for p in payload],
            pids=[p.get('provider_message_id') for p in payload],
            segments=[p.get('segments') for p in payload],
            costs=[p.get('cost') for p in payload],
            currencies=[p.get('cost_currency') for p in payload],
            codes=[p.get('error_code') for p in payload],
            errors=[p.get('error_message') for p in payload],
        ))
        self.invalidate_model()
        self.env['sms.delivery.report']._apply_pending([p['gateway_id'] for p in payload if p.get('gateway_id')])

    # delivery reports -------------------------------------------------------------
    @api.model
    def _find_for_report(self, gateway, report):
        domain = [('gateway_id', '=', gateway.id), ('provider_message_id', '=', report.provider_message_id)]
        if report.number:
            domain.append(('number', '=', report.number))
        return self.search(domain)

    @api.model
    def _apply_status_reports(self, gateway, reports):
        """Apply delivery reports; keep those whose message is not known yet.

        Reports may come twice or out of order: the state only moves forward.
        :return: number of reports applied to an existing message
        """
        applied = 0
        pending = []
        for report in reports:
            messages = self._find_for_report(gateway, report)
            if not messages:
                pending.append(report)
                continue
            applied += 1
            messages._apply_status(report)
        if pending:
            self.env['sms.delivery.report']._store(gateway, pending)
        return applied

    def _apply_status(self, report):
        new_state = STATUS_TO_STATE.get(report.status)
        if not new_state or report.status not in STATUS_RANK:
            return
        for message in self:
            if STATE_RANK[new_state] < STATE_RANK[message.state] or message.state in ('delivered', 'failed', 'canceled'):
                continue
            vals = {'state': new_state}
            if new_state == 'delivered':
                vals['delivered_date'] = fields.Datetime.now()
            if new_state == 'failed':
                vals.update(
                    error_code=report.error_code or report.raw_status,
                    error_message=report.error_message or _("Not delivered (%(status)s).", status=report.raw_status))
            if report.cost is not None:
                vals.update(cost=report.cost, cost_currency=report.currency or message.cost_currency)
            if report.segments:
                vals['segments'] = report.segments
            message.write(vals)
            message._propagate_state_to_trackers()

    def _propagate_state_to_trackers(self):
        """Reflect delivery on Odoo's chatter notifications and mailing traces."""
        trackers = self.env['sms.tracker'].sudo().search([('sms_uuid', 'in', self.filtered('sms_uuid').mapped('sms_uuid'))])
        by_uuid = {tracker.sms_uuid: tracker for tracker in trackers}
        for message in self:
            tracker = by_uuid.get(message.sms_uuid)
            if not tracker:
                continue
            if message.state == 'failed':
                tracker.with_context(sms_known_failure_reason=message.error_message)._action_update_from_provider_error(
                    'not_delivered')
            elif message.state in STATE_TO_ODOO_SMS_STATE:
                tracker._action_update_from_sms_state(STATE_TO_ODOO_SMS_STATE[message.state])
