import logging

from odoo import _, api, models
from odoo.tools import plaintext2html

from ..providers import ProviderError

_logger = logging.getLogger(__name__)


class SmsGateway(models.Model):
    """Warn SMS managers before a provider account runs out of credit and sending starts failing."""

    _name = 'sms.gateway'
    _inherit = ['sms.gateway', 'mail.thread', 'mail.activity.mixin']

    @api.model
    def _cron_check_low_credit(self):
        threshold = float(self.env['ir.config_parameter'].sudo().get_param('sms_connector.low_credit_threshold') or 0)
        if threshold <= 0:
            return
        managers = self.env.ref('sms_connector.group_sms_manager').sudo().all_user_ids.filtered(
            lambda user: user.active and not user.share)
        for gateway in self.sudo().search([]):
            try:
                balance = gateway._get_provider().balance()
            except ProviderError as exc:
                _logger.warning("SMS gateway %s: balance check failed: %s", gateway.id, exc.message)
                continue
            except Exception:
                _logger.exception("SMS gateway %s: balance check failed", gateway.id)
                continue
            if balance is None or balance.amount is None or float(balance.amount) >= threshold:
                continue
            gateway._sms_connector_alert_low_credit(balance, threshold, managers)

    def _sms_connector_alert_low_credit(self, balance, threshold, managers):
        self.ensure_one()
        todo = self.env.ref('mail.mail_activity_data_todo')
        open_for = self.activity_ids.filtered(lambda act: act.activity_type_id == todo).user_id
        for user in managers - open_for:
            self.activity_schedule(
                activity_type_id=todo.id, user_id=user.id,
                summary=_("Low SMS credit on %(gateway)s", gateway=self.name),
                note=plaintext2html(_(  # the currency comes from the provider's answer: text, never HTML
                    "%(amount)s %(currency)s left (alert below %(threshold)s): top up the provider account.",
                    amount=balance.amount, currency=balance.currency or '', threshold=threshold)))
