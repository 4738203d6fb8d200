"""Automation SMS are SMS in the chatter, with their delivery status, like manual ones.

As the salesperson whose action fires the automation (no SMS rights needed): confirming an order
texts the customer; when the provider refuses the SMS, the chatter shows a failed SMS (red
envelope, "SMS Delivery error" on the order) instead of a note saying it was sent.
"""
from odoo import Command
from odoo.tests import tagged

from .common import FakeProviderCase

REFUSED = '+15005550001'  # the fake Twilio refuses it: 21211 invalid 'To' number


@tagged('post_install', '-at_install')
class TestAutomationChatter(FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = cls.env['res.users'].create({
            'name': 'Sid Sales', 'login': 'sms_auto_chatter_salesman', 'email': 'sid@example.com',
            'group_ids': [Command.set([cls.env.ref('sales_team.group_sale_salesman').id])],
        })
        cls.product = cls.env['product.product'].create({'name': 'Gadget', 'list_price': 5})
        cls.env.ref('sms_connector.base_automation_order_confirmed').active = True

    def confirm_order_of(self, customer):
        order = self.env['sale.order'].create({
            'partner_id': customer.id, 'user_id': self.salesman.id,
            'order_line': [Command.create({'product_id': self.product.id})]})
        order.with_user(self.salesman).action_confirm()
        self.run_postcommit()
        return order

    def sms_messages(self, order):
        return order.message_ids.filtered(lambda message: message.message_type == 'sms')

    def test_automation_sms_is_an_sms_with_its_status(self):
        order = self.confirm_order_of(self.partner('Dana Delivered', '+14155550150'))
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], ['+14155550150'])
        message = self.sms_messages(order)
        self.assertEqual(len(message), 1, "posted as an SMS, not as a note")
        self.assertIn('is confirmed', message.body)
        self.assertEqual(message.author_id, self.salesman.partner_id)
        self.assertFalse(order.message_ids.filtered(lambda m: 'sent to' in (m.body or '')), "no 'sent to' note")
        notification = message.notification_ids
        self.assertRecordValues(notification, [{
            'notification_type': 'sms', 'notification_status': 'pending', 'sms_number': '+14155550150'}])
        log = self.log_of(order)
        self.assertEqual(log.state, 'sent')
        self.assertTrue(self.env['sms.tracker'].sudo().search([('sms_uuid', '=', log.sms_uuid)]),
                        "delivery reports reach the chatter through the tracker")

    def test_refused_automation_sms_shows_as_failed(self):
        order = self.confirm_order_of(self.partner('Rory Refused', REFUSED))
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], [], "refused by the provider")
        message = self.sms_messages(order)
        self.assertEqual(len(message), 1)
        self.assertEqual(message.notification_ids.notification_status, 'exception')
        self.assertEqual(message.notification_ids.failure_type, 'sms_number_format')
        self.assertEqual(self.log_of(order).state, 'failed')
        self.assertTrue(order.with_user(self.salesman).message_has_sms_error,
                        "the salesperson sees the SMS failure on the order, as for a manual SMS")

    def test_gateway_override_keeps_the_sms_message(self):
        action = self.env.ref('sms_connector.ir_actions_server_order_confirmed')
        action.sms_connector_gateway_id = self.octopush
        order = self.confirm_order_of(self.partner('Gil Gateway', '+14155550151'))
        self.assertEqual(self.fake.twilio_messages, [])
        self.assertEqual(len(self.fake.octopush_requests), 1, "sent through the action's gateway")
        self.assertEqual(self.sms_messages(order).notification_ids.notification_status, 'pending')

    def test_opted_out_marketing_sms_shows_as_cancelled(self):
        action = self.env.ref('sms_connector.ir_actions_server_order_confirmed')
        action.sms_connector_purpose = 'marketing'
        self.env['phone.blacklist'].sudo()._add(['+14155550152'])
        order = self.confirm_order_of(self.partner('Otto Optout', '+14155550152'))
        self.assertEqual(self.fake.twilio_messages, [])
        self.assertEqual(self.log_of(order).state, 'opted_out')
        self.assertEqual(self.sms_messages(order).notification_ids.notification_status, 'canceled')
