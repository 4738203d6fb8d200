"""SMS > Configuration > Automations, for an SMS manager who is not a system admin.

Reached as the web client does: the menu, its action, the list (archived rules included, with the
template each sends) and its toggle (``web_save`` of ``active``), over JSON-RPC as that manager.
"""
from odoo import Command
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import FakeProviderCase
from .web_client import RpcError, WebClientMixin

SHIPPED = 11


@tagged('post_install', '-at_install')
class TestAutomationMenu(WebClientMixin, FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls.env['res.users'].create({
            'name': 'Mona Marketing', 'login': 'sms_auto_menu_manager', 'password': 'sms_auto_menu_manager',
            'group_ids': [Command.set([cls.env.ref('sms_connector.group_sms_manager').id])],
        })
        cls.sms_user = cls.env['res.users'].create({
            'name': 'Sam Seller', 'login': 'sms_auto_menu_user', 'password': 'sms_auto_menu_user',
            'group_ids': [Command.set([cls.env.ref('sms_connector.group_sms_user').id])],
        })
        model = cls.env['ir.model']._get('res.partner')
        cls.code_rule = cls.env['base.automation'].create({
            'name': 'Not an SMS rule', 'model_id': model.id, 'trigger': 'on_create', 'active': False})
        cls.env['ir.actions.server'].create({
            'name': 'Python code', 'model_id': model.id, 'base_automation_id': cls.code_rule.id,
            'usage': 'base_automation', 'state': 'code', 'code': 'pass'})
        cls.confirmed = cls.env.ref('sms_connector.base_automation_order_confirmed')

    def list_rules(self):
        action, _context = self.load_action(self.env.ref('sms_connector.base_automation_action_sms'), self.env['base.automation'])
        self.assertEqual(safe_eval(action['context']).get('active_test'), False, "the list shows archived rules")
        domain = action['domain'] if isinstance(action['domain'], list) else safe_eval(action['domain'])
        result = self.rpc('base.automation', 'web_search_read', domain, {
            'name': {}, 'active': {}, 'sms_connector_template_ids': {'fields': {'display_name': {}}},
        }, context={'active_test': False})
        return {row['name']: row for row in result['records']}

    def toggle(self, automation, active):
        return self.rpc('base.automation', 'web_save', [automation.id], {'active': active}, specification={'active': {}})

    def test_manager_lists_and_toggles_the_ready_made_automations(self):
        menu = self.env.ref('sms_connector.sms_automation_menu')
        self.assertEqual(menu.parent_id, self.env.ref('sms_connector.sms_connector_menu_config'))
        self.assertIn(menu.id, self.env['ir.ui.menu'].with_user(self.manager)._visible_menu_ids())

        self.authenticate('sms_auto_menu_manager', 'sms_auto_menu_manager')
        rules = self.list_rules()
        self.assertGreaterEqual(len(rules), SHIPPED, "archived ready-made rules are listed")
        self.assertNotIn('Not an SMS rule', rules, "only SMS automations")
        row = rules[self.confirmed.name]
        self.assertFalse(row['active'])
        self.assertEqual([t['display_name'] for t in row['sms_connector_template_ids']], ['Order confirmed'])

        self.toggle(self.confirmed, True)
        self.assertTrue(self.confirmed.active)
        self.toggle(self.confirmed, False)
        self.assertFalse(self.confirmed.active)

        with self.assertRaises(RpcError, msg="only the toggle, not the rule itself"):
            self.rpc('base.automation', 'web_save', [self.confirmed.id], {'filter_domain': '[]'}, specification={})
        with self.assertRaises(RpcError, msg="rules running other actions stay with the admins"):
            self.toggle(self.code_rule, True)
        self.assertFalse(self.code_rule.active)

    def test_manager_toggles_in_the_browser(self):
        self.start_tour('/odoo', 'sms_connector_automations_tour', login='sms_auto_menu_manager', timeout=60)
        self.env.invalidate_all()
        self.assertTrue(self.confirmed.active)

    def test_sms_user_may_not_toggle(self):
        menu = self.env.ref('sms_connector.sms_automation_menu')
        self.assertNotIn(menu.id, self.env['ir.ui.menu'].with_user(self.sms_user)._visible_menu_ids())
        self.authenticate('sms_auto_menu_user', 'sms_auto_menu_user')
        with self.assertRaises(RpcError):
            self.toggle(self.confirmed, True)
        self.assertFalse(self.confirmed.active)

    def test_admin_still_sees_every_automation(self):
        self.assertIn(self.code_rule, self.env['base.automation'].with_user(self.env.ref('base.user_admin')).with_context(
            active_test=False).search([]))
