"""Rules of everyday SMS that need no provider: what may be retried, composer counter, defaults."""
from odoo.tests import TransactionCase, tagged

from odoo.addons.sms_connector.tools.short_links import shorten_sms_links


@tagged('post_install', '-at_install')
class TestEverydayRules(TransactionCase):

    def message(self, **vals):
        return self.env['sms.message'].create({'direction': 'outbound', 'number': '+14155550100', 'body': 'x', **vals})

    def test_only_refused_messages_can_be_retried(self):
        self.assertTrue(self.message(state='failed', error_message='invalid From').can_retry)
        for vals in (
            {'state': 'unknown'},  # may have reached the recipient
            {'state': 'sent', 'provider_message_id': 'SM1'},
            {'state': 'delivered', 'provider_message_id': 'SM2'},
            {'state': 'failed', 'provider_message_id': 'SM3'},  # accepted, then not delivered
            {'state': 'opted_out', 'error_code': '21610'},  # opted out at the provider
            {'state': 'queued'},
            {'state': 'canceled'},
            {'state': 'opted_out'},
        ):
            self.assertFalse(self.message(**vals).can_retry, vals)
        inbound = self.message(state='failed', direction='inbound')
        self.assertFalse(inbound.can_retry)

    def test_composer_counter(self):
        composer = self.env['sms.composer'].with_context(default_composition_mode='numbers').create(
            {'body': 'Café {x} 😀', 'numbers': '+14155550100'})
        # é is GSM-7 but 😀 is not: the whole text switches to UCS-2, the emoji takes two units
        self.assertEqual((composer.sms_connector_encoding, composer.sms_connector_length,
                          composer.sms_connector_segments), ('ucs2', 11, 1))
        composer.body = 'Café {x}'
        self.assertEqual((composer.sms_connector_encoding, composer.sms_connector_length), ('gsm7', 10))

    def test_templates_default_published_transactional(self):
        template = self.env['sms.template'].create(
            {'name': 'T', 'body': 'B', 'model_id': self.env['ir.model']._get_id('res.partner')})
        self.assertEqual((template.sms_connector_state, template.sms_connector_purpose), ('published', 'transactional'))
        self.assertFalse(self.env['sms.template'].search([('sms_connector_state', '=', 'draft')]))

    def test_short_links(self):
        bodies = shorten_sms_links(self.env, {1: 'See https://example.org/a and https://example.org/a', 2: 'no link'})
        link = self.env['link.tracker'].search([('url', '=', 'https://example.org/a')])
        self.assertEqual(bodies[1], f'See {link.short_url} and {link.short_url}')
        self.assertEqual(bodies[2], 'no link')
