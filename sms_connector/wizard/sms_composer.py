from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.phone import normalize_number
from ..tools.segments import count_segments
from ..tools.short_links import shorten_sms_links
from ..tools.trusted_context import Trusted, trusted_value


class SmsComposer(models.TransientModel):
    """"Send SMS": opt-out confirmation, counter and cost estimate, send later, message type and sender."""

    _inherit = 'sms.composer'

    sms_connector_opted_out_numbers = fields.Char(
        "Opted-out numbers", compute='_compute_sms_connector_opted_out_numbers',
        help="Recipients who replied STOP: they receive this SMS only if you confirm.")
    sms_connector_confirm_opted_out = fields.Boolean(
        "Send anyway", help="The recipient opted out of SMS; send this one message all the same.")

    @api.depends('composition_mode', 'recipient_single_number_itf', 'sanitized_numbers')
    def _compute_sms_connector_opted_out_numbers(self):
        for composer in self:
            numbers = []
            if composer.composition_mode == 'numbers' and composer.sanitized_numbers:
                numbers = composer.sanitized_numbers.split(',')
            elif composer.composition_mode == 'comment' and composer.comment_single_recipient:
                numbers = [composer.recipient_single_number_itf or composer.recipient_single_number or '']
            e164 = [n for n in (normalize_number(number).e164 for number in numbers) if n]
            blacklisted = self.env['phone.blacklist'].sudo().search([('number', 'in', e164)]).mapped('number') if e164 else []
            composer.sms_connector_opted_out_numbers = ', '.join(blacklisted) or False

    def action_send_sms(self):
        """Only users allowed to send SMS may send by hand (automations run as superuser);
        a recipient who replied STOP gets a manual SMS only once the user confirms it."""
        if not self.env.su:
            self.env.user._sms_connector_check_can_send()
        composer = self
        if self.sms_connector_opted_out_numbers:
            if not self.sms_connector_confirm_opted_out:
                raise UserError(_(
                    "%(numbers)s opted out of SMS (replied STOP). Tick \"Send anyway\" to send this message all the same.",
                    numbers=self.sms_connector_opted_out_numbers))
            composer = self.with_context(sms_connector_opt_out_confirmed=Trusted(True))
        return super(SmsComposer, composer).action_send_sms()

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

    # mass mode at scale: Odoo re-parses stored numbers, scans lists for each recipient and reads
    # the whole blacklist, opt-outs and traces of the mailing for each chunk of recipients.
    def _sms_connector_mailing_queue(self):
        """What the chunks of the mailing being queued share (see mailing.mailing's action_send_sms)."""
        return trusted_value(self.env.context, 'sms_connector_mailing_queue') if self._is_mass_sms() else None

    def _prepare_recipient_values(self, records):
        """A number already stored in E.164 (``phone_sanitized``, from the same fields) is not parsed again."""
        field = records._fields.get('phone_sanitized')
        if self.composition_mode != 'mass' or self.number_field_name or not (field and field.store) or not records:
            return super()._prepare_recipient_values(records)
        number_fields = [fname for fname in records._phone_get_number_fields() if fname in records._fields]
        partners = records._mail_get_partners()
        known, others = {}, []
        for record in records:
            sanitized = record.phone_sanitized
            filled = [fname for fname in number_fields if record[fname]]
            # the only number, or the first one written in E.164: the valid one phone_sanitized comes from
            if sanitized and filled and (len(filled) == 1 or record[filled[0]] == sanitized):
                known[record.id] = {'partner': partners[record.id][:1], 'sanitized': sanitized,
                                    'number': record[filled[0]], 'partner_store': False, 'field_store': filled[0]}
            else:
                others.append(record.id)
        result = super()._prepare_recipient_values(records.browse(others)) if others else {}
        return {record.id: known.get(record.id) or result[record.id] for record in records}

    def _get_blacklist_record_ids(self, records, recipients_info):
        """Opted-out recipients, looking up their numbers only (Odoo reads the whole blacklist)."""
        if not self.use_exclusion_list:
            return set()
        numbers = [info['sanitized'] for info in recipients_info.values() if info and info['sanitized']]
        # in SQL: searching on phone.blacklist's number re-formats every value given
        self.env['phone.blacklist'].flush_model(['number', 'active'])
        self.env.cr.execute(SQL("SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)", numbers))
        blacklisted = {row[0] for row in self.env.cr.fetchall()}
        return {record.id for record in records if recipients_info[record.id]['sanitized'] in blacklisted}

    def _get_optout_record_ids(self, records, recipients_info):
        """Mailing lists: the subscriptions of these recipients only (see mailing.list)."""
        if not self._is_mass_sms():
            return super()._get_optout_record_ids(records, recipients_info)
        among = self.with_context(sms_connector_opt_out_among=Trusted(tuple(records.ids)))
        return set(super(SmsComposer, among)._get_optout_record_ids(records, recipients_info))

    def _get_done_record_ids(self, records, recipients_info):
        """Duplicate numbers, in this chunk and the mailing's chunks before it, found in a set."""
        queue = self._sms_connector_mailing_queue()
        if queue is None:
            return super()._get_done_record_ids(records, recipients_info)
        # fresh recipients have no trace of this mailing: mass_mailing_sms's look-up would find none
        done = set() if queue.fresh else set(super()._get_done_record_ids(records, recipients_info))
        for record in records:
            number = recipients_info[record.id]['sanitized']
            if number in queue.numbers:
                done.add(record.id)
            elif number:
                queue.numbers.add(number)
        return done

    def _prepare_mass_sms(self, records, sms_record_values):
        """Mailings: the SMS, traces, trackers and log rows in one INSERT per table."""
        if self._is_mass_sms():
            sms_all = self.env['sms.sms'].sudo()._sms_connector_create_mass(
                [sms_record_values[record.id] for record in records])
            if sms_all is not None:
                return sms_all
        return super()._prepare_mass_sms(records, sms_record_values)

    def _filter_out_and_handle_revoked_sms_values(self, sms_values_all):
        """Log the recipients a mailing skips (opted out, duplicate, invalid number) in SMS Activity.

        Odoo cancels them before any sms.sms exists and keeps only a cancelled mailing trace:
        one bulk insert makes the log the one place to look, with the reason.
        """
        results = super()._filter_out_and_handle_revoked_sms_values(sms_values_all)
        if self._is_mass_sms():
            self.mailing_id._sms_connector_log_skipped([
                vals for vals in sms_values_all.values() if vals.get('state') == 'canceled'])
        return results

    sms_connector_length = fields.Integer("Characters", compute='_compute_sms_connector_counter',
                                          help="Length in SMS units: GSM-7 extension characters count double, "
                                               "emoji count as two UCS-2 units.")
    sms_connector_encoding = fields.Selection(
        [('gsm7', 'GSM-7'), ('ucs2', 'UCS-2 (Unicode)')], string="Encoding", compute='_compute_sms_connector_counter')
    sms_connector_segments = fields.Integer("SMS parts", compute='_compute_sms_connector_counter')
    sms_connector_cost_estimate = fields.Char("Estimated cost", compute='_compute_sms_connector_cost_estimate')
    sms_connector_scheduled_date = fields.Datetime(
        "Send on", help="Leave empty to send now; otherwise the SMS waits in the queue until then.")
    sms_connector_purpose = fields.Selection(
        [('transactional', 'Transactional'), ('marketing', 'Marketing')], string="Message type",
        compute='_compute_sms_connector_from_template', store=True, readonly=False,
        help="Marketing SMS never go to numbers that opted out.")
    sms_connector_sender = fields.Char(
        "Sender", compute='_compute_sms_connector_from_template', store=True, readonly=False,
        help="Leave empty to use the gateway's sender.")
    sms_connector_can_choose_purpose = fields.Boolean(
        "Users choose the message type", compute='_compute_sms_connector_permissions')
    sms_connector_can_choose_sender = fields.Boolean(compute='_compute_sms_connector_permissions')

    @api.depends('body')
    def _compute_sms_connector_counter(self):
        for composer in self:
            info = count_segments(composer.body or '')
            composer.sms_connector_length = info.length
            composer.sms_connector_encoding = info.encoding
            composer.sms_connector_segments = info.segments

    def _sms_connector_recipient_count(self):
        self.ensure_one()
        if self.composition_mode == 'numbers':
            return len([n for n in (self.sanitized_numbers or '').split(',') if n])
        if self.composition_mode == 'mass':
            return self.res_ids_count or 0
        return 1

    @api.depends('body', 'composition_mode', 'res_ids_count', 'sanitized_numbers', 'recipient_single_number_itf')
    def _compute_sms_connector_cost_estimate(self):
        for composer in self:
            country = composer._sms_connector_destination_country()
            gateway = self.env['sms.gateway']._for_destination(self.env.company, country)
            price = gateway._price_for_country(country) if gateway else None
            if not price or not composer.sms_connector_segments:
                composer.sms_connector_cost_estimate = False
                continue
            total = price * composer.sms_connector_segments * composer._sms_connector_recipient_count()
            currency = gateway.currency_id or self.env.company.currency_id
            composer.sms_connector_cost_estimate = _("≈ %(amount)s %(currency)s", amount=round(total, 4),
                                                     currency=currency.name)

    def _sms_connector_destination_country(self):
        """Country of a single recipient's number (None for several recipients or no usable number)."""
        self.ensure_one()
        if self.composition_mode == 'comment' and self.comment_single_recipient:
            return normalize_number(self.recipient_single_number_itf or self.recipient_single_number or '').country_code
        return None

    @api.depends('template_id')
    def _compute_sms_connector_from_template(self):
        for composer in self:
            template = composer.template_id
            composer.sms_connector_purpose = template.sms_connector_purpose or 'transactional'
            composer.sms_connector_sender = template.sms_connector_sender or False

    def _compute_sms_connector_permissions(self):
        icp = self.env['ir.config_parameter'].sudo()
        can_purpose = bool(icp.get_param('sms_connector.allow_purpose'))
        can_sender = bool(icp.get_param('sms_connector.allow_sender'))
        for composer in self:
            composer.sms_connector_can_choose_purpose = can_purpose
            composer.sms_connector_can_choose_sender = can_sender

    def _action_send_sms(self):
        """Pass the send-later date, message type and sender down to the sms.sms created."""
        composer = self
        scheduled = self.sms_connector_scheduled_date
        if scheduled:
            if scheduled <= fields.Datetime.now():
                raise UserError(_("The sending date must be in the future."))
            composer = composer.with_context(sms_connector_scheduled_date=scheduled)
        template = self.template_id
        purpose = self.sms_connector_purpose if self.sms_connector_can_choose_purpose else \
            template.sms_connector_purpose
        sender = self.sms_connector_sender if self.sms_connector_can_choose_sender else template.sms_connector_sender
        if purpose and purpose != 'transactional':
            composer = composer.with_context(sms_connector_purpose=Trusted(purpose))
        if sender:
            composer = composer.with_context(sms_connector_custom_sender=Trusted(sender))
        return super(SmsComposer, composer)._action_send_sms()

    def _prepare_body_values(self, records):
        """Manual SMS get tracked short links; SMS mailings shorten theirs with their own UTM."""
        bodies = super()._prepare_body_values(records)
        if 'mailing_id' in self._fields and self.mailing_id:
            return bodies
        return shorten_sms_links(self.env, bodies)
