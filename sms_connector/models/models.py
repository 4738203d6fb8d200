from odoo import models


class Base(models.AbstractModel):
    _inherit = 'base'

    def _sms_get_recipients_info(self, force_field=False, partner_fallback=True):
        """A company without a number of its own is texted on its main contact's number.

        Octopush and the CRMs our users come from do the same; Odoo would give up instead.
        """
        result = super()._sms_get_recipients_info(force_field=force_field, partner_fallback=partner_fallback)
        for record in self:
            info = result.get(record.id)
            partner = info and info['partner']
            if not info or info['sanitized'] or not partner or not partner.is_company:
                continue
            contact = partner.child_ids.filtered(lambda child: child.type == 'contact' and child.phone_sanitized)[:1]
            if contact:
                info.update(partner=contact, sanitized=contact.phone_sanitized, number=contact.phone,
                            partner_store=True, field_store='phone')
        return result
