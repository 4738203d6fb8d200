from odoo import _, fields, models
from odoo.exceptions import UserError


class SmsMessage(models.Model):
    """Resend SMS that certainly never left: a failure before the provider accepted them."""

    _inherit = 'sms.message'

    retry_id = fields.Many2one('sms.message', "Resent as", readonly=True, copy=False, ondelete='set null',
                               help="The new SMS sent when this failed one was retried.")
    can_retry = fields.Boolean("Can be resent", compute='_compute_can_retry')

    def _compute_can_retry(self):
        for message in self:
            message.can_retry = message._sms_connector_certainly_failed()

    def _sms_connector_certainly_failed(self):
        """Failed and refused by the provider before it accepted anything.

        A provider message id means the provider accepted the SMS (a delivery failure came
        later): resending could deliver it twice. 'To check' (unknown) SMS may have left;
        opted-out ones would be refused again.
        """
        self.ensure_one()
        return (self.direction == 'outbound' and self.state == 'failed' and not self.provider_message_id
                and not self.retry_id)

    def _sms_connector_hand_over_tracking(self, new_sms):
        """The chatter notification and mailing trace of the failed SMS follow its retry.

        The red bubble and the "SMS Failure" counter clear at once, and the retry's outcome
        (sent, delivered, failed again) shows where the failure was shown.
        """
        self.ensure_one()
        Tracker = self.env['sms.tracker'].sudo()
        tracker = Tracker.search([('sms_uuid', '=', self.sms_uuid)], limit=1) if self.sms_uuid else Tracker
        if not tracker:
            return
        Tracker.create({'sms_uuid': new_sms.uuid, 'mail_notification_id': tracker.mail_notification_id.id,
                        'mailing_trace_id': tracker.mailing_trace_id.id})
        notification = tracker.mail_notification_id
        if notification:
            notification.write({'notification_status': 'ready', 'failure_type': False, 'failure_reason': False,
                                'sms_id_int': new_sms.id})
            notification.mail_message_id._notify_message_notification_update()
        if tracker.mailing_trace_id:
            tracker.mailing_trace_id.write({'trace_status': 'outgoing', 'failure_type': False, 'failure_reason': False,
                                            'sms_id_int': new_sms.id})

    def action_retry(self):
        """Resend the certainly-failed messages of the selection; the others are left untouched.

        Whoever may send SMS and see these messages may retry them: the new SMS and the log
        rows are then written as superuser (SMS users only read the log).
        """
        if not self.env.su:
            self.env.user._sms_connector_check_can_send()
            self.check_access('read')
        to_retry = self.filtered(lambda message: message._sms_connector_certainly_failed())
        if not to_retry:
            raise UserError(_(
                "None of the selected SMS can be resent: only failed SMS the provider refused can be "
                "(not sent, delivered or 'To check' ones, which may have reached the recipient)."))
        Sms = self.env['sms.sms'].sudo()
        new_sms = Sms
        for message in to_retry.sudo():
            sms = Sms.create({
                'number': message.number,
                'body': message.body,
                'partner_id': message.partner_id.id,
                'record_company_id': message.company_id.id,
                'sms_connector_res_model': message.res_model or False,
                'sms_connector_res_id': message.res_id or False,
                'state': 'outgoing',
            })
            new_log = message.search([('sms_uuid', '=', sms.uuid)], limit=1)
            new_log.write({'purpose': message.purpose, 'mailing_id': message.mailing_id.id})
            message.retry_id = new_log
            message._sms_connector_hand_over_tracking(sms)
            record = message._sms_connector_record_sudo()
            if record is not None and hasattr(record, 'message_post'):
                record.message_post(
                    body=_("SMS to %(number)s resent after a failure (%(reason)s).",
                           number=message.number, reason=message.error_message or message.error_code or '-'),
                    subtype_xmlid='mail.mt_note')
            new_sms |= sms
        new_sms.send()
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'title': _("SMS resent"),
                'message': _("%(count)s SMS queued again; %(skipped)s could not be resent safely.",
                             count=len(to_retry), skipped=len(self) - len(to_retry)),
                'type': 'success', 'sticky': False,
                'next': {'type': 'ir.actions.act_window_close'},
            },
        }
