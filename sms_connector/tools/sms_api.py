"""Bridge between Odoo's SMS queue (``SmsApiBase``) and our plain-Python provider adapters."""
import logging

from odoo import _

from odoo.addons.sms.tools.sms_api import SmsApiBase

from ..providers import FAILED, RETRY, SENT, OutboundSms
from .phone import normalize_number

_logger = logging.getLogger(__name__)

# Normalised failure category -> state handed back to sms.sms._send_with_api.
FAILURE_TO_RESULT_STATE = {
    'number_format': 'wrong_number_format',
    'opted_out': 'opted_out',
    'credit': 'insufficient_credit',
    'auth': 'unregistered',
    'config': 'unregistered',
    'country': 'country_not_supported',
}


class SmsApiConnector(SmsApiBase):
    """Send one gateway's share of the queue through its provider adapter, concurrently."""

    PROVIDER_TO_SMS_FAILURE_TYPE = SmsApiBase.PROVIDER_TO_SMS_FAILURE_TYPE | {
        'opted_out': 'sms_optout',
        'insufficient_credit': 'sms_credit',
        'unregistered': 'sms_acc',
        'country_not_supported': 'sms_country_not_supported',
    }

    def __init__(self, env, account=None, gateway=None):
        super().__init__(env, account=account)
        self.gateway = gateway
        if gateway:
            self.company = gateway.company_id

    def _send_sms_batch(self, messages, delivery_reports_url=False):
        """Send Odoo's batch (grouped by body) and return one result per SMS uuid.

        Unusable numbers fail here, before any provider call. Results carry a ``connector``
        payload that ``sms.message`` writes back in bulk.
        """
        gateway = self.gateway.sudo()
        uuids = [number['uuid'] for message in messages for number in message.get('numbers') or []]
        logs = self.env['sms.message'].sudo().search_fetch([('sms_uuid', 'in', uuids)], ['sms_uuid', 'purpose'])
        purpose_by_uuid = {log.sms_uuid: log.purpose for log in logs}
        sender_by_country = {line.country_id.code: line.sender for line in gateway.sender_ids}

        results, outbound = [], []
        for message in messages:
            body = message.get('content') or ''
            for number in message.get('numbers') or []:
                normalized = normalize_number(number['number'])
                if not normalized.e164:
                    results.append(self._result(number['uuid'], 'wrong_number_format', 'failed', error_message=_(
                        "Invalid phone number %(number)s: it must be in international format (+country code).",
                        number=number['number'] or '')))
                    continue
                outbound.append(OutboundSms(
                    key=number['uuid'], number=normalized.e164, body=body,
                    purpose=purpose_by_uuid.get(number['uuid'], 'transactional'),
                    sender=sender_by_country.get(normalized.country_code) or gateway.sender or '',
                ))
        if outbound:
            for res in gateway._get_provider().send(outbound):
                results.append(self._from_send_result(res))
        _logger.info("SMS gateway %s: sent %d SMS, %d failed", gateway.name,
                     sum(1 for r in results if r['state'] == 'success'),
                     sum(1 for r in results if r['state'] != 'success'))
        return results

    def _from_send_result(self, res):
        extra = {
            'provider_message_id': res.provider_message_id, 'segments': res.segments, 'cost': res.cost,
            'cost_currency': res.currency, 'error_code': res.error_code, 'error_message': res.error_message,
        }
        if res.state == SENT:
            return self._result(res.key, 'success', 'sent', **extra)
        if res.state == RETRY:
            return self._result(res.key, 'server_error', 'failed', **extra)
        if res.state == FAILED:
            return self._result(res.key, FAILURE_TO_RESULT_STATE.get(res.failure, 'provider_error'), 'failed', **extra)
        extra['error_message'] = _(
            "The provider may have accepted this SMS (%(error)s). Check at the provider before sending it again.",
            error=res.error_message or _("no answer"))
        return self._result(res.key, 'outcome_unknown', 'unknown', **extra)

    def _result(self, uuid, odoo_state, log_state, **extra):
        return {
            'uuid': uuid,
            'state': odoo_state,
            'failure_reason': extra.get('error_message') if odoo_state != 'success' else False,
            'connector': dict(extra, state=log_state, gateway_id=self.gateway.id),
        }
