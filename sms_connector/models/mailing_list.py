from odoo import models
from odoo.tools import SQL

from ..tools.trusted_context import trusted_value


class MailingList(models.Model):
    _inherit = 'mailing.list'

    def _mailing_get_opt_out_list_sms(self, mailing):
        """Opt-outs among the recipients the SMS composer is queueing, in one grouped query.

        Odoo reads every subscription of the mailing's lists, for each chunk of recipients.
        Same rule: opted out of every list of the mailing they are subscribed to.
        """
        among = trusted_value(self.env.context, 'sms_connector_opt_out_among')
        if self or among is None:
            return super()._mailing_get_opt_out_list_sms(mailing)
        list_ids = mailing.contact_list_ids.ids
        if not list_ids or not among:
            return []
        self.env['mailing.subscription'].flush_model(['contact_id', 'list_id', 'opt_out'])
        self.env.cr.execute(SQL(
            """
            SELECT contact_id FROM mailing_subscription
             WHERE list_id = ANY(%s) AND contact_id = ANY(%s)
             GROUP BY contact_id HAVING bool_and(COALESCE(opt_out, FALSE))
            """, list_ids, list(among)))
        return [row[0] for row in self.env.cr.fetchall()]
