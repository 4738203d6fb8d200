from odoo import models

from odoo.addons.mail.tools.discuss import Store


class MailNotification(models.Model):
    """Failed SMS notifications carry the gateway's words and the gateway, not Odoo's IAP labels."""

    _inherit = 'mail.notification'

    def _to_store_defaults(self, target):
        return [
            *super()._to_store_defaults(target),
            Store.Attr('failure_reason', predicate=MailNotification._sms_connector_is_failed_sms),
            Store.Attr('sms_connector_gateway_id', lambda notification: notification._sms_connector_gateway().id,
                       predicate=MailNotification._sms_connector_is_failed_sms),
        ]

    def _sms_connector_is_failed_sms(self):
        return self.notification_type == 'sms' and self.notification_status in ('exception', 'bounce')

    def _sms_connector_gateway(self):
        """The gateway that refused this SMS (from our log), if it went through one."""
        self.ensure_one()
        uuids = self.sudo().sms_tracker_ids.mapped('sms_uuid')
        if not uuids:
            return self.env['sms.gateway']
        return self.env['sms.message'].sudo().search([('sms_uuid', 'in', uuids)], limit=1).gateway_id
