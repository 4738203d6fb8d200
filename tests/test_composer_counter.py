"""One counter line in "Send SMS": Odoo's, extended with the encoding detail and the cost.

Driven in Chromium as an SMS user (tour ``sms_connector_composer_counter_tour``): the counter is the
one under the text, counted as the networks count (a € counts double and stays GSM-7), with the
estimated cost of the gateway; the composer's old second counter line is gone.
"""
from odoo import Command
from odoo.tests import tagged

from .common import FakeProviderCase
from .web_client import WebClientMixin


@tagged('post_install', '-at_install')
class TestComposerCounter(WebClientMixin, FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = cls.env.ref('sms_connector.group_sms_user') | cls.env.ref('base.group_partner_manager')
        cls.user = cls.env['res.users'].create({
            'name': 'Cora Counter', 'login': 'sms_counter_user', 'password': 'sms_counter_user',
            'group_ids': [Command.set(groups.ids)],
        })
        cls.twilio.write({'price_per_segment': 0.0079, 'currency_id': cls.env.ref('base.USD').id})

    def test_composer_has_one_counter_line(self):
        self.authenticate('sms_counter_user', 'sms_counter_user')
        arch = self.form_arch('sms.composer')
        self.assertIn('widget="sms_widget"', arch)
        self.assertNotIn('sms_connector_counter', arch, "no second counter under Odoo's")
        self.assertIn('name="sms_connector_cost_estimate"', arch, "the cost reaches the body's counter")

    def test_counter_in_the_browser(self):
        contact = self.partner('Cora Customer', '+1 415-555-0143')
        self.start_tour(f'/odoo/action-base.action_partner_form/{contact.id}', 'sms_connector_composer_counter_tour',
                        login='sms_counter_user', timeout=60)
