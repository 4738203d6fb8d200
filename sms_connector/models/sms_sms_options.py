from odoo import api, fields, models

from ..tools.trusted_context import trusted_value


class SmsSms(models.Model):
    """Options chosen in the composer: send later, message type and sender."""

    _inherit = 'sms.sms'

    sms_connector_custom_sender = fields.Char(
        "Custom sender", readonly=True, help="Sender chosen by the user, instead of the gateway's.")

    @api.model_create_multi
    def create(self, vals_list):
        # A later date only delays the caller's own SMS: a plain context value is enough. The sender
        # and the purpose (which decides opt-out and sending-window rules) come from checked code only.
        ctx = self.env.context
        sender = trusted_value(ctx, 'sms_connector_custom_sender')
        purpose = trusted_value(ctx, 'sms_connector_purpose')
        for vals in vals_list:
            if ctx.get('sms_connector_scheduled_date'):
                # the engine does not claim an SMS before its next attempt: it waits for the queue cron
                vals.setdefault('sms_connector_next_attempt', ctx['sms_connector_scheduled_date'])
            if sender:
                vals.setdefault('sms_connector_custom_sender', sender)
        records = super().create(vals_list)
        log_vals = {}
        if purpose:
            log_vals['purpose'] = purpose
        if ctx.get('sms_connector_scheduled_date'):
            log_vals['scheduled_date'] = ctx['sms_connector_scheduled_date']
        if log_vals:
            self.env['sms.message'].sudo().search([('sms_uuid', 'in', records.mapped('uuid'))]).write(log_vals)
        return records

    def _sms_connector_forced_sender(self, gateway):
        return super()._sms_connector_forced_sender(gateway) or self.sms_connector_custom_sender or ''
