from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.phone import normalize_number
from ..tools.trusted_context import Trusted


class SmsComposer(models.TransientModel):
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
