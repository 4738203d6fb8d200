"""Context keys are caller input: an SMS user cannot pick the sender, the reply route or
skip the opt-out confirmation by passing them over JSON-RPC; the product's own paths still can."""
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .access_common import AccessCase


@tagged('post_install', '-at_install')
class TestPrivilegedContextKeys(AccessCase):

    def setUp(self):
        super().setUp()
        self.lead = self.env['crm.lead'].create({'name': 'Ctx lead', 'phone': '+14155550200', 'user_id': self.sms_user.id})

    def post_sms(self, number, body, **context):
        """What the web client sends: message_post over call_kw, with a context chosen by the caller."""
        result = self.rpc(self.sms_user, 'crm.lead', 'message_post', [self.lead.id], body=body, message_type='sms',
                          sms_numbers=[number], context=context)
        self.assertIsInstance(result, list, result)  # the posted message's id
        self.send_queued()
        return [m for m in self.fake.twilio_messages if m['to'] == number]

    def test_custom_sender_from_context_is_ignored(self):
        self.assertFalse(self.env['ir.config_parameter'].get_param('sms_connector.allow_sender'))
        sent = self.post_sms('+14155550201', "Spoofed?", sms_connector_custom_sender='+15550000000')
        self.assertEqual([m['from'] for m in sent], ['+15005550006'], "the gateway's sender, not the caller's")
        composer = self.env['sms.composer'].with_user(self.sms_user).with_context(
            active_model='crm.lead', active_id=self.lead.id, default_composition_mode='comment',
            sms_connector_custom_sender='BANK').create({'body': 'Composer spoof?'})
        composer.with_context(sms_connector_custom_sender='BANK').action_send_sms()
        self.run_postcommit()
        self.assertEqual([m['from'] for m in self.fake.twilio_messages if m['to'] == '+14155550200'], ['+15005550006'])

    def test_custom_sender_chosen_in_the_composer_when_allowed(self):
        self.env['ir.config_parameter'].set_param('sms_connector.allow_sender', True)
        composer = self.env['sms.composer'].with_user(self.sms_user).with_context(
            active_model='crm.lead', active_id=self.lead.id, default_composition_mode='comment',
        ).create({'body': 'From my shop', 'sms_connector_sender': '+15005550009'})
        composer.action_send_sms()
        self.run_postcommit()
        self.assertEqual([m['from'] for m in self.fake.twilio_messages], ['+15005550009'])

    def test_reply_route_from_context_is_ignored(self):
        """An old SMS from this number came in on the French gateway; the caller cannot route through it."""
        inbound = self.env['sms.message'].create({
            'direction': 'inbound', 'state': 'received', 'number': '+14155550202', 'gateway_id': self.octopush.id,
            'gateway_number': '+33700000001', 'body': 'old', 'company_id': self.company.id,
        })
        self.env.cr.execute("UPDATE sms_message SET create_date = %s WHERE id = %s",
                            [fields.Datetime.now() - timedelta(days=365), inbound.id])
        sent = self.post_sms('+14155550202', "Routed?", sms_connector_reply_to=inbound.id)
        self.assertEqual(len(sent), 1, "normal routing: Twilio serves the US")
        self.assertFalse(self.fake.octopush_requests)
        self.assertEqual(sent[0]['from'], '+15005550006')

    def test_opt_out_confirmation_from_context_is_ignored(self):
        self.twilio.opt_out_policy = 'skip'
        self.env['phone.blacklist'].sudo()._add(['+14155550203'])
        result = self.rpc(self.sms_user, 'crm.lead', 'message_post', [self.lead.id], body="Skip the confirmation?",
                          message_type='sms', sms_numbers=['+14155550203'],
                          context={'sms_connector_opt_out_confirmed': True})
        self.assertIsInstance(result, list, result)
        sms = self.env['sms.sms'].sudo().search([('number', '=', '+14155550203')])
        self.assertEqual(len(sms), 1)
        self.assertFalse(sms.sms_connector_opt_out_confirmed, "only the composer's \"Send anyway\" confirms")
        self.send_queued()
        self.assertFalse([m for m in self.fake.twilio_messages if m['to'] == '+14155550203'], "skipped, as the gateway says")
        self.assertEqual(self.env['sms.message'].search([('number', '=', '+14155550203')]).state, 'opted_out')

    def test_match_rule_from_context_is_ignored(self):
        """A caller-chosen match rule must not decide whether filing an SMS schedules activities."""
        rule = self.env['sms.match.rule'].create({
            'name': 'Leads with activity', 'model_id': self.env.ref('crm.model_crm_lead').id,
            'phone_fields': 'phone', 'create_activity': True, 'sequence': 99})
        self.env['sms.match.rule'].search([('id', '!=', rule.id), ('model_id.model', '=', 'crm.lead')]).active = False
        rule.active = False
        lead = self.env['crm.lead'].create({'name': 'Manager lead', 'user_id': self.sms_manager.id})
        inbound = self.env['sms.message'].create({
            'direction': 'inbound', 'state': 'received', 'number': '+14155550204', 'gateway_id': self.twilio.id,
            'body': 'hi', 'company_id': self.company.id,
        })
        self.env['sms.inbound.link'].with_user(self.sms_manager).with_context(sms_connector_match_rule=rule.id).create({
            'message_id': inbound.id, 'record_ref': f'crm.lead,{lead.id}'}).action_link()
        self.assertTrue(lead.message_ids.filtered(lambda m: m.message_type == 'sms'), "filed")
        self.assertFalse(lead.activity_ids, "the archived rule chosen by the caller was not used")
