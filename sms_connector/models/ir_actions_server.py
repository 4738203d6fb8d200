from odoo import _, models

from ..tools.short_links import shorten_sms_links


class IrActionsServer(models.Model):
    """SMS automations whose template names a recipient: text the right person, never block the event.

    Odoo's SMS action texts the record's contact only and raises on an invalid number
    (the order confirmation or invoice posting would fail with it).
    """

    _inherit = 'ir.actions.server'

    def _run_action_sms_multi(self, eval_context=None):
        template = self.sms_template_id
        if not template or not template.sms_connector_recipient:
            return super()._run_action_sms_multi(eval_context=eval_context)
        records = eval_context.get('records') or eval_context.get('record')
        if not records:
            return False
        bodies = shorten_sms_links(self.env, template._render_field('body', records.ids, compute_lang=True))
        Sms = self.env['sms.sms'].sudo().with_context(
            sms_connector_purpose=template.message_type, sms_connector_custom_sender=template.sender or False)
        to_send = Sms
        for record in records:
            company = record.company_id if 'company_id' in record._fields else self.env.company
            vals_list = [{
                'number': number, 'body': bodies[record.id], 'partner_id': partner.id,
                'record_company_id': (company or self.env.company).id,
                'sms_connector_res_model': record._name, 'sms_connector_res_id': record.id,
            } for partner, number in self._sms_connector_recipients(template, record)]
            if not vals_list:
                continue
            sms = Sms.create(vals_list)
            to_send |= sms
            if hasattr(record, '_message_log'):
                record._message_log(body=_("SMS \"%(template)s\" sent to %(numbers)s: %(body)s",
                                           template=template.name, numbers=', '.join(sms.mapped('number')),
                                           body=bodies[record.id]))
        to_send.send()
        return False

    def _sms_connector_recipients(self, template, record):
        """(partner, number) pairs the template's automation texts for ``record``."""
        if template.sms_connector_recipient == 'user':
            users = record.user_id if 'user_id' in record._fields else self.env['res.users']
            partners = users.partner_id
        elif template.sms_connector_recipient == 'attendees':
            partners = record.partner_ids if 'partner_ids' in record._fields else self.env['res.partner']
        else:
            info = record._sms_get_recipients_info()[record.id]
            number = info['sanitized'] or info['number']
            return [(info['partner'][:1], number)] if number else []
        return [(partner, partner.phone_sanitized or partner.phone) for partner in partners
                if partner.phone_sanitized or partner.phone]
