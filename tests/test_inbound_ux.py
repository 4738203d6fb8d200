"""Replies people are told about, threads they can read, and Octopush replies that leave (issues 14, 16).

Written as the users concerned: the salesperson who texted a customer, an SMS user answering.
"""
import json

from odoo.tests import new_test_user, tagged

from .common import FakeProviderCase


@tagged('post_install', '-at_install')
class TestInboundUx(FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env, login='sally_sms', name='Sally Sales', notification_type='email',
            groups='sms_connector.group_sms_user,sales_team.group_sale_salesman')
        cls.manager = new_test_user(
            cls.env, login='mo_sms', name='Mo Manager', groups='sms_connector.group_sms_manager')

    def setUp(self):
        super().setUp()
        self.octopush_path = f"/sms_connector/inbound/{self.octopush.id}/{self.octopush.webhook_token}"

    def post_octopush(self, data):
        response = self.url_open(self.octopush_path, data=json.dumps(data), headers={'Content-Type': 'application/json'})
        self.assertEqual(response.status_code, 200)
        return response

    def inbound(self, number):
        return self.env['sms.message'].search([('direction', '=', 'inbound'), ('number', '=', number)], order='id')

    # issue 14.5 ------------------------------------------------------------------
    def test_octopush_reply_leaves_with_a_sender(self):
        customer = self.partner('Zoé', '+33612345699', country='base.fr', user_id=self.salesman.id)
        self.post_octopush({'message_id': 'sms_1', 'number': '33612345699', 'text': "Vous livrez samedi ?",
                            'sim_card_number': '+33700000001', 'reception_date': '2026-11-21 10:00:00'})
        message = self.inbound('+33612345699').with_user(self.salesman)
        self.assertEqual(message.res_id, customer.id)
        action = message.action_reply()
        wizard = self.env['sms.inbound.reply'].with_user(self.salesman).with_context(action['context']).create(
            {'body': "Oui, samedi matin"})
        wizard.action_send()
        self.run_postcommit()
        (request,) = self.fake.octopush_requests
        self.assertEqual(request['payload']['text'], "Oui, samedi matin")
        self.assertEqual(request['payload'].get('sender'), '33700000001', "from the number the customer wrote to")

    # issue 14.6 ------------------------------------------------------------------
    def test_octopush_callbacks_in_the_same_second_are_all_received(self):
        self.partner('Zoé', '+33612345699', country='base.fr')
        first = {'message_id': 'sms_1', 'number': '33612345699', 'text': "Oui",
                 'sim_card_number': '+33700000001', 'reception_date': '2026-11-21 10:00:00'}
        second = {**first, 'text': "Et livrez avant midi svp"}
        stop = {'message_id': 'sms_1', 'number': '33612345699', 'text': 'STOP', 'stop_date': '2026-11-21 10:00:00'}
        for data in (first, second, first, stop, stop):
            self.post_octopush(data)
        self.assertEqual(self.inbound('+33612345699').mapped('body'), ["Oui", "Et livrez avant midi svp", "STOP"],
                         "only true replays are ignored")
        self.assertTrue(self.env['phone.blacklist'].search([('number', '=', '+33612345699')]))
