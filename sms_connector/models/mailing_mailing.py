import base64
import dataclasses
import logging
import uuid
from collections import Counter, defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL, format_amount, split_every

from ..providers import SENT, OutboundSms
from ..tools.campaign_check import DEFAULT_MAX_LENGTH, check_recipient, report_csv
from ..tools.phone import country_of, normalize_number
from ..tools.segments import count_segments
from ..tools.trusted_context import Trusted

# Why Odoo's SMS composer cancels a mailing recipient (mailing.trace failure_type) -> our skip reason.
SKIP_REASONS = {
    'sms_blacklist': 'opted_out', 'sms_optout': 'opted_out', 'sms_duplicate': 'duplicate',
    'sms_number_format': 'invalid_number', 'sms_number_missing': 'no_number',
}
OPT_OUT_FAILURES = ('sms_blacklist', 'sms_optout')
# Recipients from which queueing a mailing refreshes the planner statistics of the tables it filled.
# PostgreSQL analyzes a table once a tenth of it changed: a campaign can multiply the queue at once,
# and the send engine's statements would be planned for the old table (a scan instead of an index
# lookup per batch) until then.
ANALYZE_FROM = 10_000
QUEUE_TABLES = ('sms_sms', 'sms_message', 'sms_tracker', 'mailing_trace')

_logger = logging.getLogger(__name__)


class MailingMailing(models.Model):
    """SMS campaigns: test before sending, preview and cost, statistics from the mailing traces."""

    _inherit = 'mailing.mailing'

    sms_connector_purpose = fields.Selection(
        [('marketing', 'Marketing'), ('transactional', 'Transactional')], string="Message type",
        default='marketing', help="Marketing SMS respect opt-outs and legal sending hours.")
    sms_connector_sender = fields.Char(
        "Sender", help="Sender name or number for this campaign; the gateway's sender when empty.")
    sms_connector_invalid_numbers = fields.Selection(
        [('skip', "Skip them"), ('block', "Block sending")], string="Invalid numbers", default='skip', required=True,
        help="Recipients without a usable number: skipped when sending (as Odoo does) and listed as such by the "
             "test, or counted as test errors that block sending until they are fixed.")
    # test campaign
    sms_connector_test_date = fields.Datetime("Tested on", readonly=True, copy=False)
    sms_connector_test_recipients = fields.Integer(
        "Tested recipients", readonly=True, copy=False, help="Recipients the SMS goes to (skipped ones excluded).")
    sms_connector_test_errors = fields.Integer("Test errors", readonly=True, copy=False)
    sms_connector_test_summary = fields.Char("Test result", readonly=True, copy=False)
    sms_connector_test_override = fields.Boolean(
        "Send despite test errors", copy=False, groups='sms_connector.group_sms_manager',
        help="A manager allows sending although the last test campaign found errors.")
    # preview and cost
    sms_connector_preview_res_id = fields.Many2oneReference(
        "Preview recipient", model_field='mailing_model_real',
        compute='_compute_sms_connector_preview_res_id', store=True, readonly=False,
        help="Record the preview is rendered for; the first recipient when empty.")
    sms_connector_preview_body = fields.Text("SMS preview", compute='_compute_sms_connector_preview')
    sms_connector_preview_length = fields.Integer("Characters", compute='_compute_sms_connector_preview')
    sms_connector_preview_encoding = fields.Char("Encoding", compute='_compute_sms_connector_preview')
    sms_connector_preview_segments = fields.Integer("SMS parts", compute='_compute_sms_connector_preview')
    sms_connector_recipient_count = fields.Integer("Recipients", compute='_compute_sms_connector_preview')
    sms_connector_estimated_cost = fields.Monetary(
        "Estimated cost", compute='_compute_sms_connector_preview', currency_field='sms_connector_currency_id',
        help="SMS parts of the preview x distinct numbers per destination country x the price of the gateway "
             "serving that country; converted with Odoo's currency rates when gateways bill in several currencies.")
    sms_connector_currency_id = fields.Many2one('res.currency', compute='_compute_sms_connector_preview')
    sms_connector_estimate_detail = fields.Text("Cost per country", compute='_compute_sms_connector_preview')
    sms_connector_actual_cost = fields.Monetary(
        "Actual cost", compute='_compute_sms_connector_stats', currency_field='sms_connector_actual_currency_id',
        help="Sum of the costs the providers reported for this mailing's SMS; converted with Odoo's currency "
             "rates when they were billed in several currencies.")
    sms_connector_actual_currency_id = fields.Many2one('res.currency', compute='_compute_sms_connector_stats')
    sms_connector_actual_cost_detail = fields.Char("Cost per currency", compute='_compute_sms_connector_stats')
    # statistics from the mailing traces (the figures of Odoo's own banner)
    sms_connector_stat_sent = fields.Integer("SMS sent", compute='_compute_sms_connector_stats')
    sms_connector_stat_delivered = fields.Integer("SMS delivered", compute='_compute_sms_connector_stats')
    sms_connector_stat_failed = fields.Integer("SMS failed", compute='_compute_sms_connector_stats')
    sms_connector_stat_opted_out = fields.Integer(
        "Opted out (skipped)", compute='_compute_sms_connector_stats',
        help="Recipients skipped because they opted out (STOP, blacklist or unsubscribed).")
    sms_connector_stat_skipped = fields.Integer(
        "Other skipped", compute='_compute_sms_connector_stats',
        help="Recipients skipped for a duplicate, missing or invalid number.")
    sms_connector_stat_replied = fields.Integer(
        "SMS replies", compute='_compute_sms_connector_stats',
        help="Recipients who answered this mailing: after it and before any other SMS to them.")

    # preview and cost ---------------------------------------------------------------
    @api.depends('mailing_model_id')
    def _compute_sms_connector_preview_res_id(self):
        """Another recipient model: the previous preview record means nothing any more."""
        self.sms_connector_preview_res_id = False

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

    def _sms_connector_number_field(self, Model):
        """Path to the stored E.164 number of ``Model``'s recipients: theirs, else their customer's; or None."""
        field = Model._fields.get('phone_sanitized')
        if field and field.store:
            return 'phone_sanitized'
        partner_fields = Model._mail_get_partner_fields() if hasattr(Model, '_mail_get_partner_fields') else []
        partner_field = next((name for name in partner_fields if Model._fields[name].store
                              and Model._fields[name].type == 'many2one'), None)
        return f'{partner_field}.phone_sanitized' if partner_field else None

    def _sms_connector_number_sql(self, Model):
        """(FROM clause aliasing the recipients ``t``, E.164 number expression), or None."""
        path = self._sms_connector_number_field(Model)
        if not path:
            return None
        table = SQL.identifier(Model._table)
        if path == 'phone_sanitized':
            return SQL("%s t", table), SQL("t.phone_sanitized")
        return (SQL("%s t JOIN res_partner p ON p.id = t.%s", table, SQL.identifier(path.split('.')[0])),
                SQL("p.phone_sanitized"))

    def _sms_connector_numbers_by_country(self):
        """Distinct usable numbers of the audience per destination country, in one grouped query.

        Numbers are grouped on their first four digits (country code and area: +1 415 and +1 416 are
        different countries); one number per group tells the country. Opted-out numbers are not sent.
        """
        self.ensure_one()
        Model = self.env[self.mailing_model_real]
        source = self._sms_connector_number_sql(Model)
        counts = Counter()
        if source is None:  # no stored phone to group on: read the recipients (small custom models)
            records = Model.search(self._get_recipients_domain())
            numbers = {normalize_number(raw, country) for raw, country in self._sms_connector_numbers(records).values()}
            for number in {n for n in numbers if n.e164}:
                counts[number.country_code] += 1
            return counts
        ids_query = Model._search(self._get_recipients_domain())
        from_sql, number_sql = source
        Model.flush_model()
        self.env['res.partner'].flush_model(['phone_sanitized'])
        self.env['phone.blacklist'].flush_model(['number', 'active'])
        exclusion = SQL(
            "AND NOT EXISTS (SELECT 1 FROM phone_blacklist b WHERE b.number = n.number AND b.active)"
        ) if self.use_exclusion_list else SQL()
        self.env.cr.execute(SQL(
            """
            SELECT MIN(n.number), COUNT(DISTINCT n.number)
              FROM (SELECT %(number)s AS number FROM %(from)s WHERE t.id IN %(ids)s) n
             WHERE n.number IS NOT NULL %(exclusion)s
             GROUP BY LEFT(n.number, 5)
            """, number=number_sql, ids=ids_query.subselect(), exclusion=exclusion, **{'from': from_sql}))
        for sample, count in self.env.cr.fetchall():
            counts[country_of(sample)] += count
        return counts

    def _sms_connector_estimate(self, segments):
        """(total, currency, detail lines) of ``segments`` SMS parts to each number of the audience."""
        self.ensure_one()
        company = self.env.company
        lines, totals = [], defaultdict(float)
        Gateway = self.env['sms.gateway'].sudo()
        by_country = self._sms_connector_numbers_by_country()
        countries = {c.code: c for c in self.env['res.country'].search([('code', 'in', [c for c in by_country if c])])}
        for country_code, count in sorted(by_country.items(), key=lambda item: -item[1]):
            gateway = Gateway._for_destination(company, country_code)
            if not gateway:
                continue
            price = gateway._price_for_country(country_code)
            currency = gateway.currency_id or company.currency_id
            amount = count * segments * price
            totals[currency] += amount
            lines.append(_(
                "%(country)s via %(gateway)s: %(count)s SMS of %(segments)s part(s) at %(price)s %(currency)s = %(amount)s",
                country=countries[country_code].name if country_code in countries else _("Unknown country"),
                gateway=gateway.name, count=count, segments=segments, price=round(price, 4),
                currency=currency.name, amount=format_amount(self.env, amount, currency)))
        return self._sms_connector_total(totals, lines)

    def _sms_connector_total(self, totals, lines):
        """One figure for amounts in several currencies: as is when one, else converted (and said so)."""
        company = self.env.company
        totals = {currency: amount for currency, amount in totals.items() if amount}
        if len(totals) <= 1:
            currency, amount = next(iter(totals.items()), (company.currency_id, 0.0))
            return amount, currency, lines
        today = fields.Date.context_today(self)
        converted = sum(currency._convert(amount, company.currency_id, company, today, round=False)
                        for currency, amount in totals.items())
        lines = [*lines, _("Total: %(amounts)s, converted to %(currency)s with Odoo's currency rates of %(date)s.",
                           amounts=" + ".join(format_amount(self.env, amount, currency)
                                              for currency, amount in totals.items()),
                           currency=company.currency_id.name, date=today)]
        return converted, company.currency_id, lines

    @api.depends('body_plaintext', 'mailing_type', 'mailing_model_id', 'mailing_domain', 'contact_list_ids',
                 'sms_connector_preview_res_id', 'use_exclusion_list')
    def _compute_sms_connector_preview(self):
        for mailing in self:
            mailing.update({
                'sms_connector_preview_body': False, 'sms_connector_preview_length': 0,
                'sms_connector_preview_encoding': False, 'sms_connector_preview_segments': 0,
                'sms_connector_recipient_count': 0, 'sms_connector_estimated_cost': 0.0,
                'sms_connector_currency_id': self.env.company.currency_id, 'sms_connector_estimate_detail': False,
            })
            if mailing.mailing_type != 'sms' or not mailing.mailing_model_real:
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
            cost, currency, lines = mailing._sms_connector_estimate(info.segments)
            mailing.update({
                'sms_connector_preview_body': body, 'sms_connector_preview_length': len(body),
                'sms_connector_preview_encoding': dict(
                    self.env['sms.message']._fields['encoding']._description_selection(self.env)).get(info.encoding),
                'sms_connector_preview_segments': info.segments, 'sms_connector_recipient_count': count,
                'sms_connector_estimated_cost': cost, 'sms_connector_currency_id': currency,
                'sms_connector_estimate_detail': '\n'.join(lines) or False,
            })

    # statistics -------------------------------------------------------------------
    def _compute_sms_connector_stats(self):
        """Figures from the mailing traces, as Odoo's banner counts them; costs from our SMS log."""
        stats = defaultdict(Counter)
        costs = defaultdict(lambda: defaultdict(float))
        if self.ids:
            for mailing, status, failure, count, sent in self.env['mailing.trace'].sudo()._read_group(
                    [('mass_mailing_id', 'in', self.ids)], ['mass_mailing_id', 'trace_status', 'failure_type'],
                    ['__count', 'sent_datetime:count']):
                line = stats[mailing.id]
                line['sent'] += sent
                if status in ('sent', 'open', 'reply'):
                    line['delivered'] += count
                elif status in ('error', 'bounce'):
                    line['failed'] += count
                elif status == 'cancel':
                    line['opted_out' if failure in OPT_OUT_FAILURES else 'skipped'] += count
            for mailing, currency, cost in self.env['sms.message'].sudo()._read_group(
                    [('mailing_id', 'in', self.ids), ('direction', '=', 'outbound'), ('cost', '!=', 0)],
                    ['mailing_id', 'currency_id'], ['cost:sum']):
                costs[mailing.id][currency] += cost
        for mailing in self:
            line = stats[mailing.id]
            total, currency, _lines = mailing._sms_connector_total(costs[mailing.id], [])
            mailing.update({
                'sms_connector_stat_sent': line['sent'], 'sms_connector_stat_delivered': line['delivered'],
                'sms_connector_stat_failed': line['failed'], 'sms_connector_stat_opted_out': line['opted_out'],
                'sms_connector_stat_skipped': line['skipped'],
                'sms_connector_stat_replied': mailing._sms_connector_replied_count() if line['sent'] else 0,
                'sms_connector_actual_cost': total, 'sms_connector_actual_currency_id': currency,
                'sms_connector_actual_cost_detail': mailing._sms_connector_cost_detail(costs[mailing.id]),
            })

    def action_sms_connector_view_log(self):
        """This mailing's SMS in SMS Activity: sent, failed and skipped recipients, each with its reason."""
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('sms_connector.sms_message_action')
        action.update(domain=[('mailing_id', '=', self.id)], name=_("SMS Activity: %(mailing)s", mailing=self.subject))
        return action

    def _sms_connector_cost_detail(self, costs):
        """The costs per currency, saying when the total is a conversion."""
        amounts = [f"{round(amount, 4)} {currency.name}" for currency, amount in costs.items() if amount]
        if len(amounts) > 1:
            return _("%(amounts)s (total converted with Odoo's currency rates)", amounts=" + ".join(amounts))
        return amounts[0] if amounts else False

    def _sms_connector_replied_count(self):
        """Recipients who answered this mailing: an SMS from them after it, before any other SMS to them."""
        self.ensure_one()
        self.env['sms.message'].flush_model()
        self.env.cr.execute(SQL("""
            SELECT COUNT(DISTINCT o.number)
              FROM sms_message o
              JOIN sms_message i ON i.number = o.number AND i.direction = 'inbound'
                                AND COALESCE(i.received_date, i.create_date) >= COALESCE(o.sent_date, o.create_date)
             WHERE o.mailing_id = %(mailing)s AND o.direction = 'outbound' AND o.state IN ('sent', 'delivered')
               AND NOT EXISTS (
                   SELECT 1 FROM sms_message x
                    WHERE x.number = o.number AND x.direction = 'outbound' AND x.id != o.id
                      AND COALESCE(x.sent_date, x.create_date) > COALESCE(o.sent_date, o.create_date)
                      AND COALESCE(x.sent_date, x.create_date) < COALESCE(i.received_date, i.create_date))
        """, mailing=self.id))
        return self.env.cr.fetchone()[0]

    # recipients Odoo skips ------------------------------------------------------------
    def _sms_connector_log_skipped(self, sms_values):
        """One SMS Activity row per recipient the mailing skips, with the reason (one INSERT).

        :param sms_values: the composer's values of the cancelled SMS (see sms.composer)
        """
        self.ensure_one()
        if not sms_values:
            return self.env['sms.message']
        reasons = {
            'sms_blacklist': _("Skipped: the recipient opted out (STOP)."),
            'sms_optout': _("Skipped: the recipient unsubscribed from this mailing list."),
            'sms_duplicate': _("Skipped: duplicate, this number already receives this mailing."),
            'sms_number_format': _("Skipped: invalid phone number."),
            'sms_number_missing': _("Skipped: no phone number."),
        }
        Message = self.env['sms.message'].sudo()
        vals_list = [{
            'state': 'opted_out' if vals.get('failure_type') in OPT_OUT_FAILURES else 'canceled',
            'purpose': self.sms_connector_purpose or 'marketing',
            'sms_uuid': vals.get('uuid'),
            'number': vals.get('number') or False,
            'body': vals.get('body'),
            'partner_id': vals.get('partner_id') or False,
            'res_model': vals.get('sms_connector_res_model') or self.mailing_model_real,
            'res_id': vals.get('sms_connector_res_id') or False,
            'mailing_id': self.id,
            'user_id': self.env.uid,
            'company_id': vals.get('record_company_id') or self.env.company.id,
            'error_code': vals.get('failure_type') or False,
            'error_message': reasons.get(vals.get('failure_type'), _("Skipped.")),
        } for vals in sms_values]
        if Message._sms_connector_can_bulk_insert(vals_list):
            return Message._sms_connector_bulk_insert(vals_list)
        return Message.create(vals_list)

    # test campaign ------------------------------------------------------------------
    def _sms_connector_error_text(self, code, params):
        texts = {
            'empty': _("Empty text"),
            'too_long': _("Text too long: %(length)s characters, at most %(max)s"),
            'no_number': _("No phone number"),
            'invalid_number': _("Invalid phone number"),
            'stop_missing': _('Opt-out mention "%(mention)s" missing (required for marketing SMS to France)'),
        }
        return texts[code] % params if params else texts[code]

    def _sms_connector_skip_text(self, reason):
        return {
            'opted_out': _("Skipped (opted out)"),
            'duplicate': _("Skipped (duplicate: this number already receives the SMS)"),
            'invalid_number': _("Skipped (invalid phone number)"),
            'no_number': _("Skipped (no phone number)"),
        }[reason]

    def _sms_connector_sms_values(self, records):
        """What sending would do for each record (text, number, skipped or not), asked to Odoo's composer."""
        self.ensure_one()
        composer = self.env['sms.composer'].with_context(active_id=False).create(
            self._send_sms_get_composer_values([]))
        return composer._prepare_mass_sms_values(records)

    def action_sms_connector_test_campaign(self):
        """Simulate the campaign for every recipient; report in the chatter, block sending on errors."""
        self.ensure_one()
        if self.mailing_type != 'sms':
            raise UserError(_("Only SMS mailings can be tested this way."))
        icp = self.env['ir.config_parameter'].sudo()
        forced_max_length = int(icp.get_param('sms_connector.campaign_max_length', 0) or 0)
        marketing = self.sms_connector_purpose != 'transactional'
        block_invalid = self.sms_connector_invalid_numbers == 'block'
        records = self.env[self.mailing_model_real].browse(self._get_recipients())
        values = self._sms_connector_sms_values(records)
        default_countries = {record_id: country for record_id, (_raw, country)
                             in self._sms_connector_numbers(records).items()}
        deferral = self.env['sms.sending.window']._deferral_checker(self.schedule_date or fields.Datetime.now())
        windows = {w.country_id.code: w for w in self.env['sms.sending.window'].sudo().search([])}
        rows, errors, skipped, to_simulate, gateway_by_country = [], 0, Counter(), {}, {}
        for record in records:
            vals = values[record.id]
            body = vals['body'] or ''
            skip = SKIP_REASONS.get(vals['failure_type']) if vals['state'] == 'canceled' else None
            ref = f"{record._name},{record.id}"
            if skip and not (block_invalid and skip in ('invalid_number', 'no_number')):
                skipped[skip] += 1
                rows.append(('skipped', self._sms_connector_skip_text(skip), vals['number'] or '',
                             record.display_name, ref, body))
                continue
            normalized = normalize_number(vals['number'], default_countries[record.id])
            country_code = normalized.country_code
            if country_code not in gateway_by_country:  # one look-up per country, not per recipient
                gateway_by_country[country_code] = self.env['sms.gateway']._for_destination(
                    self.env.company, country_code)
            gateway = gateway_by_country[country_code]
            capabilities = gateway._capabilities() if gateway else None
            max_length = forced_max_length or (
                capabilities.campaign_max_length or capabilities.max_text_length if capabilities else DEFAULT_MAX_LENGTH)
            result = check_recipient(body, vals['number'], max_length=max_length, marketing=marketing,
                                     stop_mention=gateway.opt_out_mention if gateway else '', normalized=normalized)
            if result.errors:
                errors += 1
                detail = ' / '.join(self._sms_connector_error_text(code, params) for code, params in result.errors)
                rows.append(('error', detail, result.number, record.display_name, ref, body))
                continue
            if marketing and (at := deferral(country_code)):
                rows.append(('warning', _("Outside the sending window: deferred to %(date)s",
                                          date=windows[country_code]._local_label(at)),
                             result.number, record.display_name, ref, body))
            else:
                rows.append(('ok', '', result.number, record.display_name, ref, body))
            if capabilities and capabilities.simulation:
                to_simulate.setdefault(gateway, []).append(OutboundSms(
                    key=str(uuid.uuid4()), number=result.number, body=body,
                    purpose='marketing' if marketing else 'transactional', sender=self.sms_connector_sender or ''))
        recipients = len(records) - sum(skipped.values())
        summary = _("%(recipients)s recipients, %(errors)s errors", recipients=recipients, errors=errors)
        self.write({
            'sms_connector_test_date': fields.Datetime.now(), 'sms_connector_test_recipients': recipients,
            'sms_connector_test_errors': errors, 'sms_connector_test_summary': summary,
        })
        notes = [summary + '.']
        if skipped:
            labels = {
                'duplicate': _("%(count)s duplicates"),
                'invalid_number': _("%(count)s with an invalid number"), 'no_number': _("%(count)s without a number"),
                'opted_out': _("%(count)s opted out"),
            }
            notes.append(_("Skipped recipients: %(skipped)s.", skipped=', '.join(
                label % {'count': skipped[reason]} for reason, label in labels.items() if skipped[reason])))
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
        """Refuse sending while the last test found errors, or recipients lack a valid number when the
        mailing blocks on them (checked even if nobody ran the test); an SMS manager may override."""
        for mailing in self.sudo():
            if mailing.mailing_type != 'sms' or mailing.sms_connector_test_override:
                continue
            if mailing.sms_connector_test_errors:
                raise UserError(_(
                    "The last test of %(mailing)s found %(errors)s errors (see the report in its chatter). "
                    "Fix them and test again, or have an SMS manager allow sending anyway.",
                    mailing=mailing.subject, errors=mailing.sms_connector_test_errors))
            if mailing.sms_connector_invalid_numbers == 'block' and (count := mailing._sms_connector_unusable_count()):
                raise UserError(_(
                    "%(count)s recipients of %(mailing)s have no valid phone number and this mailing blocks on "
                    "invalid numbers: fix them (Test campaign lists them) or choose to skip them.",
                    count=count, mailing=mailing.subject))

    def _sms_connector_unusable_count(self):
        """Recipients without a usable (sanitized) number, counted in SQL; 0 when the model has none stored."""
        self.ensure_one()
        Model = self.env[self.mailing_model_real]
        path = self._sms_connector_number_field(Model)
        if not path:
            return 0
        return Model.search_count(Domain.AND([self._get_recipients_domain(), [(path, '=', False)]]))

    def action_put_in_queue(self):
        self._sms_connector_check_tested()
        return super().action_put_in_queue()

    def action_launch(self):
        self._sms_connector_check_tested()
        return super().action_launch()

    def action_send_sms(self, res_ids=None):
        """Queue SMS mailings by chunks of recipients, once the campaign test allows it.

        Odoo hands every recipient id to one composer as a Python literal, which its safe
        evaluation refuses beyond about 15,000 recipients, and renders them all in memory.
        The chunks share the numbers already queued, so that a number is texted once per mailing
        as when Odoo queues all recipients at once.
        """
        # mailings already queued passed the check: never fail the mass mailing cron
        self.filtered(lambda m: m.state not in ('in_queue', 'sending'))._sms_connector_check_tested()
        chunk_size = int(self.env['ir.config_parameter'].sudo().get_param('sms_connector.mailing_chunk_size', 5000))
        for mailing in self:
            ids = res_ids or (mailing._get_remaining_recipients() if mailing.mailing_type == 'sms' else None)
            if not ids:
                super(MailingMailing, mailing).action_send_sms(res_ids=res_ids)
                continue
            queue = mailing.with_context(sms_connector_mailing_queue=Trusted(MailingQueue(fresh=not res_ids)))
            for part in split_every(chunk_size, ids, list):
                super(MailingMailing, queue).action_send_sms(res_ids=part)
                self.env.flush_all()
                self.env.invalidate_all()  # keep memory bounded on large audiences
            if len(ids) >= ANALYZE_FROM:
                self._sms_connector_analyze_queue()
        return True

    def _sms_connector_analyze_queue(self):
        """Refresh the statistics of the queue's tables; a failure only leaves them as they were."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(SQL("ANALYZE %s", SQL(", ").join(SQL.identifier(t) for t in QUEUE_TABLES)))
        except Exception:  # statistics are an optimisation: the SMS stay queued whatever happens here
            _logger.warning("SMS mailing: could not analyze the queue's tables", exc_info=True)


class MailingQueue:
    """What the chunks of one mailing's queueing share (read by the SMS composer).

    :param fresh: the recipients are the mailing's remaining ones: none has a trace of it yet
    """

    def __init__(self, fresh):
        self.fresh = fresh
        self.numbers = set()  # numbers of the recipients of the chunks queued so far
