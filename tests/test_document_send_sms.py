"""The "Send SMS" action on quotations and invoices, as a salesperson and an invoicing user.

Reached like the web client does: the header button and the Action menu (form: one document,
list: the selection), the composer's first load, save and "Send", over JSON-RPC as that user.
"""
from odoo import Command
from odoo.tests import tagged

from .common import FakeProviderCase
from .web_client import WebClientMixin


@tagged('post_install', '-at_install')
class TestDocumentSendSms(WebClientMixin, FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sms_user = cls.env.ref('sms_connector.group_sms_user')
        cls.salesman = cls.env['res.users'].create({
            'name': 'Sally Sales', 'login': 'sms_doc_salesman', 'password': 'sms_doc_salesman',
            'email': 'sally@example.com',
            'group_ids': [Command.set([cls.env.ref('sales_team.group_sale_salesman').id, sms_user.id])],
        })
        cls.accountant = cls.env['res.users'].create({
            'name': 'Ines Invoicing', 'login': 'sms_doc_invoicing', 'password': 'sms_doc_invoicing',
            'email': 'ines@example.com',
            'group_ids': [Command.set([cls.env.ref('account.group_account_invoice').id, sms_user.id])],
        })
        # A customer company without a number: its main contact is texted (as for contacts).
        cls.acme = cls.env['res.partner'].create({
            'name': 'ACME Corp', 'is_company': True, 'country_id': cls.env.ref('base.us').id})
        cls.ann = cls.env['res.partner'].create({
            'name': 'Ann Acme', 'parent_id': cls.acme.id, 'phone': '+1 415-555-0160'})
        cls.bob = cls.env['res.partner'].create({
            'name': 'Bob Buyer', 'phone': '+1 415-555-0161', 'country_id': cls.env.ref('base.us').id})

    def _orders(self):
        product = self.env['product.product'].create({'name': 'Widget', 'list_price': 10})
        return self.env['sale.order'].create([{
            'partner_id': partner.id, 'user_id': self.salesman.id,
            'order_line': [Command.create({'product_id': product.id})],
        } for partner in (self.acme, self.bob)])

    def _invoices(self):
        if not self.env['account.account'].search_count([('company_ids', 'in', self.company.id)], limit=1):
            self.env['account.chart.template'].try_loading('generic_coa', company=self.company, install_demo=False)
        return self.env['account.move'].create([{
            'move_type': 'out_invoice', 'partner_id': partner.id,
            'invoice_line_ids': [Command.create({'name': 'Service', 'quantity': 1, 'price_unit': 100})],
        } for partner in (self.acme, self.bob)])

    def _queued_sms(self, records):
        return self.env['sms.sms'].sudo().search(
            [('sms_connector_res_model', '=', records._name), ('sms_connector_res_id', 'in', records.ids)])

    def _entry_points(self, records, single_xmlid, multi_xmlid):
        """Header button and Action menu entries the logged-in user sees."""
        single, multi = self.env.ref(single_xmlid), self.env.ref(multi_xmlid)
        self.assertIn(f'name="{single.id}"', self.form_arch(records._name), "header button 'Send SMS'")
        self.assertIn(single.id, self.toolbar_actions(records._name, 'form'), "Action > Send SMS on the form")
        self.assertIn(multi.id, self.toolbar_actions(records._name, 'list'), "Action > Send SMS on the list")
        return single, multi

    def _send_single(self, record, action, body):
        _action, context = self.load_action(action, record)
        shown = self.open_wizard('sms.composer', context, [
            'composition_mode', 'res_model', 'res_id', 'recipient_single_number_itf', 'recipient_single_description'])
        self.assertEqual(shown['composition_mode'], 'comment')
        self.assertEqual(shown['recipient_single_number_itf'], '+14155550160', "prefilled: the company's main contact")
        self.assertEqual(shown['recipient_single_description'], 'Ann Acme')
        self.save_and_click('sms.composer', {
            'body': body, 'recipient_single_number_itf': shown['recipient_single_number_itf'],
        }, 'action_send_sms', context)
        self.env.invalidate_all()
        self.send_now(self._queued_sms(record))
        self.assertEqual([(m['to'], m['body']) for m in self.fake.twilio_messages], [('+14155550160', body)])
        message = record.message_ids.filtered(lambda m: m.message_type == 'sms')
        self.assertEqual(len(message), 1, "the SMS is in the document's chatter")
        self.assertEqual(message.author_id, self.env.user.partner_id)

    def _send_mass(self, records, action):
        _action, context = self.load_action(action, records)
        shown = self.open_wizard('sms.composer', context, ['composition_mode', 'res_ids_count', 'recipient_invalid_count'])
        self.assertEqual((shown['composition_mode'], shown['res_ids_count'], shown['recipient_invalid_count']),
                         ('mass', 2, 0), "both customers have a number (the company through its main contact)")
        self.save_and_click('sms.composer', {'body': "Hello {{ object.partner_id.name }}"}, 'action_send_sms', context)
        self.env.invalidate_all()
        self.send_now(self._queued_sms(records))
        self.assertEqual(sorted((m['to'], m['body']) for m in self.fake.twilio_messages),
                         [('+14155550160', "Hello ACME Corp"), ('+14155550161', "Hello Bob Buyer")])

    def test_salesperson_sends_from_a_quotation_and_the_list(self):
        orders = self._orders()
        self.authenticate('sms_doc_salesman', 'sms_doc_salesman')
        single, multi = self._entry_points(
            orders, 'sms_connector.sale_order_act_window_sms_composer_single',
            'sms_connector.sale_order_act_window_sms_composer_multi')
        self.env = self.env(user=self.salesman)
        self._send_single(orders[0], single, "Your quotation is ready")
        self.fake.reset()
        self._send_mass(orders, multi)

    def test_invoicing_user_sends_from_an_invoice_and_the_list(self):
        invoices = self._invoices()
        self.authenticate('sms_doc_invoicing', 'sms_doc_invoicing')
        single, multi = self._entry_points(
            invoices, 'sms_connector.account_move_act_window_sms_composer_single',
            'sms_connector.account_move_act_window_sms_composer_multi')
        self.env = self.env(user=self.accountant)
        self._send_single(invoices[0], single, "Your invoice is ready")
        self.fake.reset()
        self._send_mass(invoices, multi)

    def test_hidden_from_users_without_sms_rights(self):
        orders = self._orders()
        # Settings ▸ SMS ▸ "Only SMS users may send SMS" (by default every internal user may)
        self.env['res.config.settings'].with_user(self.env.ref('base.user_admin')).create(
            {'sms_connector_restrict_sending': True}).execute()
        self.salesman.group_ids = [Command.unlink(self.env.ref('sms_connector.group_sms_user').id)]
        self.env.invalidate_all()
        self.assertFalse(self.salesman.has_group('sms_connector.group_sms_user'))
        self.authenticate('sms_doc_salesman', 'sms_doc_salesman')
        single = self.env.ref('sms_connector.sale_order_act_window_sms_composer_single')
        self.assertNotIn(f'name="{single.id}"', self.form_arch('sale.order'))
        self.assertNotIn(single.id, self.toolbar_actions(orders._name, 'form'))
