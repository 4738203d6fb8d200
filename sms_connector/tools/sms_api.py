"""Odoo's ``SmsApiBase`` entry point for companies that send through our gateways."""
from odoo.addons.sms.tools.sms_api import SmsApiBase


class SmsApiGatewayQueue(SmsApiBase):
    """Hand SMS to the gateway engine, to be sent once right after the caller's commit.

    Odoo code that calls the company's SMS API directly (the mailing "Test SMS" wizard does)
    would otherwise call the provider inside its transaction and leave the rows queued, so
    the cron sent them a second time.
    """

    def _send_sms_batch(self, messages, delivery_reports_url=False):
        numbers = [number for message in messages for number in message.get('numbers') or []]
        sms_model = self.env['sms.sms'].sudo()
        existing = sms_model.search([('uuid', 'in', [n['uuid'] for n in numbers])])
        known = set(existing.mapped('uuid'))
        missing = [
            {'uuid': number['uuid'], 'number': number['number'], 'body': message.get('content') or ''}
            for message in messages for number in message.get('numbers') or [] if number['uuid'] not in known
        ]
        (existing | sms_model.create(missing)).send()
        return [{'uuid': number['uuid'], 'state': 'success'} for number in numbers]
