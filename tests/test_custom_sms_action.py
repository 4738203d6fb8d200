"""The SMS action in any custom automation: text or template, recipient, message type, gateway."""
from odoo.tests import tagged

from .common import FakeProviderCase


@tagged('post_install', '-at_install')
class TestCustomSmsAction(FakeProviderCase):

    def automation(self, **action_vals):
        model = self.env['ir.model']._get('res.partner')
        automation = self.env['base.automation'].create({
            'name': 'Custom SMS', 'model_id': model.id, 'trigger': 'on_create_or_write',
            'trigger_field_ids': [(6, 0, self.env['ir.model.fields']._get('res.partner', 'category_id').ids)],
            'filter_domain': "[('category_id', '!=', False)]",  # Odoo also runs the rule on creation
        })
        self.env['ir.actions.server'].create({
            'name': 'Custom SMS action', 'model_id': model.id, 'base_automation_id': automation.id,
            'usage': 'base_automation', 'state': 'sms', 'sms_method': 'sms', **action_vals,
        })
        return automation

    def tag(self, partner):
        partner.category_id = [(0, 0, {'name': 'VIP'})]
        self.run_postcommit()

    def test_text_phone_field_and_gateway_override(self):
        self.automation(
            sms_connector_body="Welcome among our VIPs, {{ object.name }}",
            sms_connector_recipient='field',
            sms_connector_phone_field_id=self.env['ir.model.fields']._get('res.partner', 'phone').id,
            sms_connector_gateway_id=self.octopush.id,
        )
        partner = self.partner('Vera', '+14155550190')
        self.run_postcommit()
        self.assertEqual(self.fake.requests_log, [], "unrelated creation: nothing sent")
        self.tag(partner)
        self.assertEqual(self.fake.twilio_messages, [], "the gateway override beats country routing")
        (request,) = self.fake.octopush_requests
        self.assertEqual(request['payload']['recipients'], [{'phone_number': '+14155550190'}])
        self.assertEqual(request['payload']['text'], "Welcome among our VIPs, Vera")
        self.assertIn("Welcome among our VIPs, Vera", partner.message_ids[:1].body)

    def test_marketing_type_skips_opted_out_numbers(self):
        self.automation(sms_connector_body="Promo for {{ object.name }}", sms_connector_recipient='record',
                        sms_connector_purpose='marketing')
        partner = self.partner('Opted', '+14155550191')
        self.env['phone.blacklist'].sudo()._add(['+14155550191'])
        self.tag(partner)
        self.assertEqual(self.fake.requests_log, [])
        log = self.env['sms.message'].search([('partner_id', '=', partner.id)])
        self.assertEqual((log.state, log.purpose), ('opted_out', 'marketing'))

    def test_responsible_user_gets_internal_notification(self):
        salesman = self.env['res.users'].create({'name': 'Sam', 'login': 'sam_custom_sms', 'phone': '+14155550192'})
        self.automation(sms_connector_body="{{ object.name }} became VIP", sms_connector_recipient='user')
        partner = self.partner('Ursula', '+14155550193', user_id=salesman.id)
        self.tag(partner)
        self.assertEqual([(m['to'], m['body']) for m in self.fake.twilio_messages],
                         [('+14155550192', "Ursula became VIP")])


@tagged('post_install', '-at_install')
class TestCompanyMainContact(FakeProviderCase):

    def test_company_without_number_uses_its_main_contact(self):
        company = self.env['res.partner'].create({'name': 'ACME', 'is_company': True,
                                                  'country_id': self.env.ref('base.us').id})
        self.env['res.partner'].create({'name': 'Ann Acme', 'parent_id': company.id, 'phone': '+14155550195'})
        order = self.env['sale.order'].create({'partner_id': company.id})
        log = self.send_single(order, "Your order")
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], ['+14155550195'])
        self.assertEqual(log.mapped('number'), ['+14155550195'], "no failing SMS to the company itself")
