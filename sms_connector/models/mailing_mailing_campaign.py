import base64
import dataclasses
import uuid
from collections import Counter

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..providers import SENT, OutboundSms
from ..tools.campaign_check import DEFAULT_MAX_LENGTH, check_recipient, report_csv
from ..tools.phone import normalize_number
from ..tools.segments import count_segments


class MailingMailing(models.Model):
    """SMS campaigns: test before sending, preview and cost, statistics from our SMS log."""

    _inherit = 'mailing.mailing'

    sms_connector_purpose = fields.Selection(
        [('marketing', 'Marketing'), ('transactional', 'Transactional')], string="Message type",
        default='marketing', help="Marketing SMS respect opt-outs and legal sending hours.")
    sms_connector_sender = fields.Char(
        "Sender", help="Sender name or number for this campaign; the gateway's sender when empty.")
    # test campaign
    sms_connector_test_date = fields.Datetime("Tested on", readonly=True, copy=False)
    sms_connector_test_recipients = fields.Integer("Tested recipients", readonly=True, copy=False)
    sms_connector_test_errors = fields.Integer("Test errors", readonly=True, copy=False)
    sms_connector_test_summary = fields.Char("Test result", readonly=True, copy=False)
    sms_connector_test_override = fields.Boolean(
        "Send despite test errors", copy=False, groups='sms_connector.group_sms_manager',
        help="A manager allows sending although the last test campaign found errors.")
    # preview and cost
    sms_connector_preview_res_id = fields.Integer(
        "Preview recipient ID", help="Record the preview is rendered for; the first recipient when empty.")
    sms_connector_preview_body = fields.Text("SMS preview", compute='_compute_sms_connector_preview')
    sms_connector_preview_length = fields.Integer("Characters", compute='_compute_sms_connector_preview')
    sms_connector_preview_encoding = fields.Char("Encoding", compute='_compute_sms_connector_preview')
    sms_connector_preview_segments = fields.Integer("SMS parts", compute='_compute_sms_connector_preview')
    sms_connector_recipient_count = fields.Integer("Recipients", compute='_compute_sms_connector_preview')
    sms_connector_estimated_cost = fields.Monetary(
        "Estimated cost", compute='_compute_sms_connector_preview', currency_field='sms_connector_currency_id',
        help="SMS parts of the preview x recipients x the price of the gateway serving the preview's country.")
    sms_connector_currency_id = fields.Many2one('res.currency', compute='_compute_sms_connector_preview')
    sms_connector_actual_cost = fields.Float(
        "Actual cost", compute='_compute_sms_connector_stats', digits=(16, 4),
        help="Sum of the costs the providers reported for this mailing's SMS.")
    # statistics from the SMS log
    sms_connector_stat_sent = fields.Integer("SMS sent", compute='_compute_sms_connector_stats')
    sms_connector_stat_delivered = fields.Integer("SMS delivered", compute='_compute_sms_connector_stats')
    sms_connector_stat_failed = fields.Integer("SMS failed", compute='_compute_sms_connector_stats')
    sms_connector_stat_opted_out = fields.Integer("SMS opted out", compute='_compute_sms_connector_stats')
    sms_connector_stat_replied = fields.Integer("SMS replies", compute='_compute_sms_connector_stats')

    # preview and cost ---------------------------------------------------------------
    def _sms_connector_render(self, records):
        """Rendered SMS text per record id, as the composer renders it."""
        self.ensure_one()
        if not records:
            return {}
        return self.env['mail.render.mixin']._render_template(
            self.body_plaintext or '', records._name, records.ids)

    def _sms_connector_numbers(self, records):
        """(raw number, default country code) per record id, as Odoo's SMS composer picks them."""
        infos = records._sms_get_recipients_info()
        company_country = self.env.company.country_id.code
        result = {}
        for record in records:
            info = infos.get(record.id, {})
            partner = info.get('partner')
            country = (partner.country_id.code if partner else None) or (
                record.country_id.code if 'country_id' in record._fields and record.country_id else None)
            result[record.id] = (info.get('sanitized') or info.get('number') or '', country or company_country)
        return result

    @api.depends('body_plaintext', 'mailing_type', 'mailing_model_id', 'mailing_domain', 'contact_list_ids',
                 'sms_connector_preview_res_id')
    def _compute_sms_connector_preview(self):
        for mailing in self:
            mailing.update({
                'sms_connector_preview_body': False, 'sms_connector_preview_length': 0,
                'sms_connector_preview_encoding': False, 'sms_connector_preview_segments': 0,
                'sms_connector_recipient_count': 0, 'sms_connector_estimated_cost': 0.0,
                'sms_connector_currency_id': self.env.company.currency_id,
            })
            if mailing.mailing_type != 'sms' or not mailing.mailing_model_real or not mailing.id:
                continue
            Model = self.env[mailing.mailing_model_real]
            domain = mailing._get_recipients_domain()
            count = Model.search_count(domain)
            record = Model.browse(mailing.sms_connector_preview_res_id).exists() \
                if mailing.sms_connector_preview_res_id else Model.search(domain, limit=1)
            if not record:
                mailing.sms_connector_recipient_count = count
                continue
            body = mailing._sms_connector_render(record).get(record.id) or ''
            info = count_segments(body)
            raw, country = mailing._sms_connector_numbers(record)[record.id]
            country_code = normalize_number(raw, country).country_code
            gateway = self.env['sms.gateway']._for_destination(self.env.company, country_code)
            price = gateway._price_for_country(country_code) if gateway else 0.0
            mailing.update({
                'sms_connector_preview_body': body, 'sms_connector_preview_length': len(body),
                'sms_connector_preview_encoding': dict(
                    self.env['sms.message']._fields['encoding']._description_selection(self.env)).get(info.encoding),
                'sms_connector_preview_segments': info.segments, 'sms_connector_recipient_count': count,
                'sms_connector_estimated_cost': info.segments * count * price,
                'sms_connector_currency_id': gateway.currency_id or self.env.company.currency_id,
            })

    # statistics -------------------------------------------------------------------
    def _compute_sms_connector_stats(self):
        """Counts from sms.message: it keeps every SMS of the mailing, with its delivery state and cost."""
        Message = self.env['sms.message'].sudo()
        stats = {}
        if self.ids:
            for mailing, state, count, cost in Message._read_group(
                    [('mailing_id', 'in', self.ids), ('direction', '=', 'outbound')],
                    ['mailing_id', 'state'], ['__count', 'cost:sum']):
                stats.setdefault(mailing.id, Counter())[state] += count
                stats[mailing.id]['__cost'] += cost or 0.0
        for mailing in self:
            counts = stats.get(mailing.id, Counter())
            mailing.sms_connector_stat_delivered = counts['delivered']
            mailing.sms_connector_stat_sent = counts['sent'] + counts['delivered']
            mailing.sms_connector_stat_failed = counts['failed'] + counts['unknown']
            mailing.sms_connector_stat_opted_out = counts['opted_out']
            mailing.sms_connector_actual_cost = counts['__cost']
            mailing.sms_connector_stat_replied = mailing._sms_connector_replied_count() if counts else 0

    def _sms_connector_replied_count(self):
        """Numbers of this mailing that sent us an SMS after it was sent to them."""
        self.ensure_one()
        self.env['sms.message'].flush_model()
        self.env.cr.execute("""
            SELECT COUNT(DISTINCT o.number)
              FROM sms_message o
              JOIN sms_message i ON i.number = o.number AND i.direction = 'inbound'
                                AND i.create_date >= COALESCE(o.sent_date, o.create_date)
             WHERE o.mailing_id = %s AND o.direction = 'outbound' AND o.state IN ('sent', 'delivered')
        """, [self.id])
        return self.env.cr.fetchone()[0]

    # test campaign ------------------------------------------------------------------
    def _sms_connector_error_text(self, code, params):
        texts = {
            'empty': _("Empty text"),
            'too_long': _("Text too long: %(length)s characters, at most %(max)s"),
            'no_number': _("No phone number"),
            'invalid_number': _("Invalid phone number: %(error)s"),
            'stop_missing': _('Opt-out mention "%(mention)s" missing (required for marketing SMS to France)'),
        }
        return texts[code] % params if params else texts[code]

    def action_sms_connector_test_campaign(self):
        """Simulate the campaign for every recipient; report in the chatter, block sending on errors."""
        self.ensure_one()
        if self.mailing_type != 'sms':
            raise UserError(_("Only SMS mailings can be tested this way."))
        icp = self.env['ir.config_parameter'].sudo()
        max_length = int(icp.get_param('sms_connector.campaign_max_length', DEFAULT_MAX_LENGTH))
        marketing = self.sms_connector_purpose != 'transactional'
        records = self.env[self.mailing_model_real].browse(self._get_recipients())
        bodies = self._sms_connector_render(records)
        numbers = self._sms_connector_numbers(records)
        normalized = {record_id: normalize_number(raw, country) for record_id, (raw, country) in numbers.items()}
        candidates = {number.e164 for number in normalized.values()} - {None}
        blacklisted = set(self.env['phone.blacklist'].sudo().search([('number', 'in', list(candidates))]).mapped('number'))
        deferral = self.env['sms.sending.window']._deferral_checker(self.schedule_date or fields.Datetime.now())
        windows = {w.country_id.code: w for w in self.env['sms.sending.window'].sudo().search([])}
        rows, errors, opted_out, to_simulate, gateway_by_country = [], 0, 0, {}, {}
        for record in records:
            raw, country = numbers[record.id]
            body = bodies.get(record.id) or ''
            country_code = normalized[record.id].country_code
            if country_code not in gateway_by_country:  # one look-up per country, not per recipient
                gateway_by_country[country_code] = self.env['sms.gateway']._for_destination(self.env.company, country_code)
            gateway = gateway_by_country[country_code]
            result = check_recipient(body, raw, default_country=country, max_length=max_length,
                                     blacklisted=blacklisted, marketing=marketing,
                                     stop_mention=gateway.opt_out_mention if gateway else '')
            if result.errors:
                errors += 1
                detail = ' / '.join(self._sms_connector_error_text(code, params) for code, params in result.errors)
                rows.append(('error', detail, result.number, body))
            elif result.opted_out:
                opted_out += 1
                rows.append(('skipped', _("Opted out (STOP): the mailing skips this number"), result.number, body))
            elif marketing and (at := deferral(result.country_code)):
                rows.append(('warning', _("Outside the sending window: deferred to %(date)s",
                                          date=windows[result.country_code]._local_label(at)), result.number, body))
            else:
                rows.append(('ok', '', result.number, body))
            if not result.errors and not result.opted_out and gateway and gateway.provider == 'octopush':
                to_simulate.setdefault(gateway, []).append(OutboundSms(
                    key=str(uuid.uuid4()), number=result.number, body=body,
                    purpose='marketing' if marketing else 'transactional', sender=self.sms_connector_sender or ''))
        summary = _("%(recipients)s recipients, %(errors)s errors", recipients=len(records), errors=errors)
        self.write({
            'sms_connector_test_date': fields.Datetime.now(), 'sms_connector_test_recipients': len(records),
            'sms_connector_test_errors': errors, 'sms_connector_test_summary': summary,
        })
        notes = [summary]
        if opted_out:
            notes.append(_("%(count)s opted-out numbers will be skipped.", count=opted_out))
        notes += [self._sms_connector_simulate(gateway, outbound) for gateway, outbound in to_simulate.items()]
        attachment = self.env['ir.attachment'].create({
            'name': f"sms_campaign_test_{self.id}.csv", 'mimetype': 'text/csv',
            'datas': base64.b64encode(report_csv(rows).encode()), 'res_model': self._name, 'res_id': self.id,
        })
        self.message_post(body=_("Test campaign: %(notes)s", notes=' '.join(notes)), attachment_ids=attachment.ids)
        return True

    def _sms_connector_simulate(self, gateway, outbound):
        """Ask Octopush to check the campaign in simulation mode (nothing is sent, nothing charged)."""
        provider = gateway._get_provider()
        config = dataclasses.replace(provider.config, options={**provider.config.options, 'simulation_mode': True})
        results = type(provider)(config).send(outbound)
        refused = [res for res in results if res.state != SENT]
        if not refused:
            return _("%(gateway)s simulation: %(count)s SMS accepted.", gateway=gateway.name, count=len(results))
        return _("%(gateway)s simulation: %(refused)s of %(count)s SMS refused (%(reason)s).", gateway=gateway.name,
                 refused=len(refused), count=len(results), reason=refused[0].error_message or refused[0].state)

    # sending is blocked while the last test found errors ------------------------------
    def _sms_connector_check_tested(self):
        for mailing in self.sudo():
            if (mailing.mailing_type == 'sms' and mailing.sms_connector_test_errors
                    and not mailing.sms_connector_test_override):
                raise UserError(_(
                    "The last test of %(mailing)s found %(errors)s errors (see the report in its chatter). "
                    "Fix them and test again, or have an SMS manager allow sending anyway.",
                    mailing=mailing.subject, errors=mailing.sms_connector_test_errors))

    def action_put_in_queue(self):
        self._sms_connector_check_tested()
        return super().action_put_in_queue()

    def action_launch(self):
        self._sms_connector_check_tested()
        return super().action_launch()

    def action_send_sms(self, res_ids=None):
        # mailings already queued passed the check: never fail the mass mailing cron
        self.filtered(lambda m: m.state not in ('in_queue', 'sending'))._sms_connector_check_tested()
        return super().action_send_sms(res_ids=res_ids)
