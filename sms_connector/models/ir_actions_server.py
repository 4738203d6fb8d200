from odoo import fields, models

from ..tools.short_links import shorten_sms_links
from ..tools.trusted_context import Trusted


class IrActionsServer(models.Model):
    """SMS automations whose template names a recipient: text the right person, never block the event.

    Odoo's SMS action texts the record's contact only and raises on an invalid number
    (the order confirmation or invoice posting would fail with it).
    """

    _inherit = 'ir.actions.server'

    sms_connector_body = fields.Text(
        "SMS text", help="Used when no template is chosen; placeholders like {{ object.name }} are rendered.")
    sms_connector_recipient = fields.Selection(
        [('record', "The document's contact"), ('field', "A phone field of the document"),
         ('user', "The responsible user"), ('attendees', "The attendees")],
        string="Send to", help="Empty: the template's automation recipient, else Odoo's standard SMS action.")
    sms_connector_phone_field_id = fields.Many2one(
        'ir.model.fields', string="Phone field", ondelete='set null',
        domain="[('model_id', '=', model_id), ('ttype', '=', 'char')]")
    sms_connector_purpose = fields.Selection(
        [('transactional', 'Transactional'), ('marketing', 'Marketing')], string="SMS message type",
        help="Empty: the template's. Marketing SMS never go to numbers that opted out.")
    sms_connector_gateway_id = fields.Many2one(
        'sms.gateway', string="SMS gateway", ondelete='set null',
        help="Send through this gateway instead of the company's routing rules.")

    def _sms_connector_handles(self):
        template = self.sms_template_id
        return bool(self.sms_connector_recipient or self.sms_connector_gateway_id
                    or (self.sms_connector_body and not template) or (template and template.sms_connector_recipient))

    def _run_action_sms_multi(self, eval_context=None):
        if not self._sms_connector_handles():
            return super()._run_action_sms_multi(eval_context=eval_context)
        template = self.sms_template_id
        records = eval_context.get('records') or eval_context.get('record')
        if not records:
            return False
        if template:
            rendered = template._render_field('body', records.ids, compute_lang=True)
        else:
            rendered = self.env['mail.render.mixin']._render_template(self.sms_connector_body, records._name, records.ids)
        bodies = shorten_sms_links(self.env, rendered)
        recipient = self.sms_connector_recipient or template.sms_connector_recipient or 'record'
        options = {
            'sms_connector_purpose': Trusted(self.sms_connector_purpose or template.sms_connector_purpose or 'transactional'),
            'sms_connector_custom_sender': Trusted(template.sms_connector_sender or False),
        }
        to_send = self.env['sms.sms'].sudo()
        for record in records:
            pairs = self._sms_connector_recipients(recipient, record)
            if pairs:
                to_send |= self._sms_connector_post_sms(record.sudo().with_context(**options), bodies[record.id], pairs)
        if self.sms_connector_gateway_id:
            # the action's gateway, not the one of a recent conversation with the number
            to_send.write({'sms_connector_gateway_id': self.sms_connector_gateway_id.id, 'sms_connector_sender': False})
        to_send.send()
        return False

    def _sms_connector_post_sms(self, record, body, pairs):
        """Post ``body`` as an SMS message on ``record``, with one notification per recipient.

        As Odoo's composer does: the chatter shows the SMS with its delivery status (a failed
        automation SMS is as visible as a failed manual one). Queued only; the caller sends.
        :param pairs: (partner, number) recipients; a number without partner is texted as is
        :return: the sms.sms created
        """
        partner_numbers = {partner.id: number for partner, number in pairs if partner}
        message = record.with_context(mail_post_autofollow_author_skip=True, mail_create_nosubscribe=True)._message_sms(
            body, subtype_id=self.env['ir.model.data']._xmlid_to_res_id('mail.mt_note'),
            partner_ids=list(partner_numbers), sms_pid_to_number=partner_numbers,
            sms_numbers=[number for partner, number in pairs if not partner], put_in_queue=True)
        return self.env['sms.sms'].sudo().search([('mail_message_id', '=', message.id), ('state', '=', 'outgoing')])

    def _sms_connector_recipients(self, recipient, record):
        """(partner, number) pairs the automation texts for ``record``."""
        if recipient == 'field':
            number = self.sms_connector_phone_field_id and record[self.sms_connector_phone_field_id.name]
            partner = record.partner_id if 'partner_id' in record._fields else self.env['res.partner']
            return [(partner[:1], number)] if number else []
        if recipient == 'user':
            users = record.user_id if 'user_id' in record._fields else self.env['res.users']
            partners = users.partner_id
        elif recipient == 'attendees':
            partners = record.partner_ids if 'partner_ids' in record._fields else self.env['res.partner']
        else:
            info = record._sms_get_recipients_info()[record.id]
            number = info['sanitized'] or info['number']
            return [(info['partner'][:1], number)] if number else []
        return [(partner, partner.phone_sanitized or partner.phone) for partner in partners
                if partner.phone_sanitized or partner.phone]
