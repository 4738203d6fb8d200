import logging
import re
from collections import defaultdict

from odoo import _, api, fields, models

from ..tools.phone import country_of, normalize_number
from ..tools.segments import count_segments
from ..tools.sms_api import SmsApiConnector

_logger = logging.getLogger(__name__)

E164_RE = re.compile(r'\+[1-9]\d{6,14}')

ODOO_STATE_TO_LOG_STATE = {
    'outgoing': 'queued', 'process': 'sending', 'pending': 'sent', 'sent': 'delivered',
    'error': 'failed', 'canceled': 'canceled',
}


class SmsSms(models.Model):
    """Route Odoo's SMS queue through our gateways, grouped by company and gateway."""

    _inherit = 'sms.sms'

    record_company_id = fields.Many2one('res.company', 'Company', ondelete='set null')
    sms_connector_res_model = fields.Char("Source model")
    sms_connector_res_id = fields.Integer("Source record ID")

    # CRUD ---------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        self._sms_connector_complete_vals(vals_list)
        records = super().create(vals_list)
        records._sms_connector_create_log()
        return records

    @api.model
    def _sms_connector_complete_vals(self, vals_list):
        """Fill company and source document, and store numbers in E.164.

        National numbers are read with the recipient's country, then the document's,
        then the company's; numbers that cannot be normalised are kept and fail at send time.
        """
        message_ids = {vals['mail_message_id'] for vals in vals_list if vals.get('mail_message_id')}
        messages = {
            msg['id']: msg for msg in self.env['mail.message'].sudo().browse(message_ids).read(
                ['model', 'res_id', 'record_company_id'], load=None)
        } if message_ids else {}
        for vals in vals_list:
            msg = messages.get(vals.get('mail_message_id'))
            if msg:
                vals.setdefault('sms_connector_res_model', msg['model'])
                vals.setdefault('sms_connector_res_id', msg['res_id'])
                if not vals.get('record_company_id') and msg['record_company_id']:
                    vals['record_company_id'] = msg['record_company_id']
            vals.setdefault('record_company_id', self.env.company.id)

        countries = self._sms_connector_default_countries(vals_list)
        for vals, country in zip(vals_list, countries, strict=True):
            number = vals.get('number')
            if number and not E164_RE.fullmatch(number):
                normalized = normalize_number(number, country)
                if normalized.e164:
                    vals['number'] = normalized.e164

    @api.model
    def _sms_connector_default_countries(self, vals_list):
        """Country code to read each national number with (partner, document, company)."""
        partner_ids = {vals['partner_id'] for vals in vals_list if vals.get('partner_id')}
        partner_country = {
            p['id']: p['country_code'] for p in self.env['res.partner'].sudo().browse(partner_ids).read(['country_code'])
        } if partner_ids else {}
        doc_ids = defaultdict(set)
        for vals in vals_list:
            model = vals.get('sms_connector_res_model')
            if model and vals.get('sms_connector_res_id') and model in self.env:
                doc_ids[model].add(vals['sms_connector_res_id'])
        doc_country = {}
        for model, ids in doc_ids.items():
            records = self.env[model].sudo().browse(ids).exists()
            for record in records:
                partner = record.partner_id if 'partner_id' in record._fields else None
                code = (record.country_id.code if 'country_id' in record._fields else None) or \
                    (partner.country_id.code if partner is not None and partner._name == 'res.partner' else None)
                doc_country[model, record.id] = code
        company_country = {c.id: c.country_id.code for c in self.env['res.company'].sudo().search([])}
        return [
            partner_country.get(vals.get('partner_id'))
            or doc_country.get((vals.get('sms_connector_res_model'), vals.get('sms_connector_res_id')))
            or company_country.get(vals.get('record_company_id'))
            for vals in vals_list
        ]

    def _sms_connector_create_log(self):
        """One durable ``sms.message`` per SMS, whatever path queued it."""
        has_mailing = 'mailing_id' in self._fields
        vals_list = []
        for sms in self:
            info = count_segments(sms.body or '')
            mailing_id = sms.mailing_id.id if has_mailing else False
            vals_list.append({
                'sms_uuid': sms.uuid,
                'number': sms.number,
                'body': sms.body,
                'segments': info.segments,
                'encoding': info.encoding,
                'purpose': 'marketing' if mailing_id else 'transactional',
                'partner_id': sms.partner_id.id,
                'res_model': sms.sms_connector_res_model,
                'res_id': sms.sms_connector_res_id,
                'mailing_id': mailing_id,
                'user_id': self.env.uid,
                'company_id': sms.record_company_id.id or self.env.company.id,
                'state': ODOO_STATE_TO_LOG_STATE.get(sms.state, 'queued'),
                'error_message': sms.failure_type and dict(
                    self._fields['failure_type']._description_selection(self.env)).get(sms.failure_type),
            })
        self.env['sms.message'].sudo().create(vals_list)

    # routing ------------------------------------------------------------------
    def _get_sms_company(self):
        return self.mail_message_id.record_company_id or self.record_company_id or super()._get_sms_company()

    def _sms_connector_route(self):
        """Pick each SMS's gateway: its company's first active gateway serving the destination.

        :return: (dict gateway -> sms, sms for Odoo's own path, sms no gateway can serve)
        """
        company_of = {sms.id: sms._get_sms_company()[:1] for sms in self}
        gateways = self.env['sms.gateway'].sudo().search(
            [('company_id', 'in', list({c.id for c in company_of.values()}))])
        by_company = defaultdict(list)
        for gateway in gateways:
            by_company[gateway.company_id.id].append((gateway, set(gateway.country_ids.mapped('code'))))
        routed, native, unroutable = defaultdict(self.browse), self.browse(), self.browse()
        for sms in self:
            candidates = by_company.get(company_of[sms.id].id)
            if not candidates:
                native |= sms
                continue
            country = country_of(sms.number) if (sms.number or '').startswith('+') else None
            gateway = next((gw for gw, codes in candidates if not codes or country in codes), None)
            if gateway is None and country is None:
                gateway = candidates[0][0]  # the number is unusable: let the gateway fail it clearly
            if gateway is None:
                unroutable |= sms
            else:
                routed[gateway] |= sms
        return routed, native, unroutable

    def _split_by_api(self):
        routed, native, unroutable = self._sms_connector_route()
        if unroutable:
            unroutable._sms_connector_fail_unroutable()
        for gateway, sms in routed.items():
            yield SmsApiConnector(self.env, gateway=gateway), sms.with_context(sms_connector_gateway_id=gateway.id)
        if native:
            yield from super(SmsSms, native)._split_by_api()

    def _sms_connector_fail_unroutable(self):
        for sms in self:
            company = sms._get_sms_company()[:1]
            reason = _("No active SMS gateway of %(company)s serves %(country)s.",
                       company=company.name, country=country_of(sms.number) or sms.number)
            sms.sms_tracker_id.sudo()._action_update_from_sms_state(
                'error', failure_type='sms_country_not_supported', failure_reason=reason)
            sms.write({'state': 'error', 'failure_type': 'sms_country_not_supported'})
            self.env['sms.message'].sudo().search([('sms_uuid', '=', sms.uuid)]).write(
                {'state': 'failed', 'error_message': reason})

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        # Odoo's cron calls _send on a batch mixing companies and providers: split it first.
        if self.env.context.get('sms_api') or not self:
            return super()._send(unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception)
        for sms_api, sms in self._split_by_api():
            super(SmsSms, self.browse(sms.ids).with_context(sms_api=sms_api))._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception)

    def _get_send_batch_size(self):
        size = super()._get_send_batch_size()
        ours = int(self.env['ir.config_parameter'].sudo().get_param('sms_connector.batch_size', 500))
        if self.env.context.get('sms_connector_gateway_id'):
            return ours
        if not self and self.env['sms.gateway'].sudo().search_count([], limit=1):
            return max(size, ours)  # the queue cron: don't let a small native batch starve our gateways
        return size

    # results ------------------------------------------------------------------
    def _handle_call_result_hook(self, results):
        super()._handle_call_result_hook(results)
        for result in results:
            if 'connector' not in result:  # Odoo's own path (IAP, sms_twilio)
                ok = result['state'] in self.IAP_TO_SMS_STATE_SUCCESS
                result['connector'] = {
                    'state': 'sent' if ok else 'failed',
                    'error_message': False if ok else (result.get('failure_reason') or result['state']),
                }
        self.env['sms.message'].sudo()._record_send_results(results)

    def _update_sms_state_and_trackers(self, new_state, failure_type=None):
        super()._update_sms_state_and_trackers(new_state, failure_type=failure_type)
        self.env['sms.message'].sudo().search([('sms_uuid', 'in', self.mapped('uuid'))]).write(
            {'state': ODOO_STATE_TO_LOG_STATE[new_state]})
