from odoo import _, fields, models

from ..tools.short_links import shorten_sms_links


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
    sms_connector_message_type = fields.Selection(
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
        Sms = self.env['sms.sms'].sudo().with_context(
            sms_connector_purpose=self.sms_connector_message_type or template.message_type or 'transactional',
            sms_connector_custom_sender=template.sender or False)
        label = template.name or self.name
        to_send = Sms
        for record in records:
            company = record.company_id if 'company_id' in record._fields else self.env.company
            vals_list = [{
                'number': number, 'body': bodies[record.id], 'partner_id': partner.id,
                'record_company_id': (company or self.env.company).id,
                'sms_connector_res_model': record._name, 'sms_connector_res_id': record.id,
                'sms_connector_gateway_id': self.sms_connector_gateway_id.id,
            } for partner, number in self._sms_connector_recipients(recipient, record)]
            if not vals_list:
                continue
            sms = Sms.create(vals_list)
            to_send |= sms
            if hasattr(record, '_message_log'):
                record._message_log(body=_("SMS \"%(template)s\" sent to %(numbers)s: %(body)s",
                                           template=label, numbers=', '.join(sms.mapped('number')),
                                           body=bodies[record.id]))
        to_send.send()
        return False

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
