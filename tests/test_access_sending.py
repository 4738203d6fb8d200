"""Who may send SMS: every internal user as with Odoo alone, unless the setting
"Only SMS users may send SMS" is on; then only SMS users, SMS managers and administrators, through
every path that creates SMS. Automations (superuser) are never gated."""
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .access_common import AccessCase


@tagged('post_install', '-at_install')
class TestSendingRight(AccessCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env['res.partner'].create({'name': 'Customer', 'phone': '+14155550180'})

    def lead_of(self, user, phone='+14155550181'):
        return self.env['crm.lead'].create({'name': f'Lead of {user.login}', 'phone': phone, 'user_id': user.id,
                                            'partner_id': self.customer.id})

    def compose(self, user, record, body="Hello"):
        return self.env['sms.composer'].with_user(user).with_context(
            active_model=record._name, active_id=record.id, default_composition_mode='comment',
        ).create({'body': body})

    def sent_to(self, number):
        return [m for m in self.fake.twilio_messages if m['to'] == number]

    # Odoo's default kept --------------------------------------------------------------
    def test_every_internal_user_may_send_by_default(self):
        self.assertTrue(self.salesman.has_group('sms_connector.group_sms_user'))
        later = new_test_user(self.env, login='acc_hired_later', groups='base.group_user')
        self.assertTrue(later.has_group('sms_connector.group_sms_user'), "also users created after install")
        self.assertFalse(self.portal.has_group('sms_connector.group_sms_user'))
        lead = self.lead_of(self.salesman)
        self.compose(self.salesman, lead, "From the composer").action_send_sms()
        lead.with_user(self.salesman).message_post(
            body="From message_post", message_type='sms', sms_numbers=['+14155550182'])
        self.run_postcommit()
        self.assertEqual([m['body'] for m in self.sent_to('+14155550181')], ["From the composer"])
        self.assertEqual([m['body'] for m in self.sent_to('+14155550182')], ["From message_post"])

    # "Only SMS users may send SMS" ----------------------------------------------------------
    def test_restricted_salesman_is_refused_on_every_path(self):
        self.restrict_sending()
        self.assertFalse(self.salesman.has_group('sms_connector.group_sms_user'))
        lead = self.lead_of(self.salesman)
        with self.assertRaisesRegex(AccessError, 'SMS / User'):
            self.compose(self.salesman, lead).action_send_sms()
        with self.assertRaisesRegex(AccessError, 'SMS / User'):
            self.compose(self.salesman, lead).action_send_sms_mass_now()
        with self.assertRaisesRegex(AccessError, 'SMS / User'):
            lead.with_user(self.salesman).message_post(
                body="Sneaky", message_type='sms', sms_numbers=['+14155550183'])
        with self.assertRaisesRegex(AccessError, 'SMS / User'):
            lead.with_user(self.salesman).message_notify(
                body="Notify", partner_ids=self.customer.ids, sms_numbers=['+14155550184'])
        with self.assertRaises(AccessError):
            self.env['sms.sms'].with_user(self.salesman).create({'number': '+14155550185', 'body': 'x'})
        mass = self.env['sms.composer'].with_user(self.salesman).with_context(
            active_model='crm.lead', active_ids=lead.ids, default_composition_mode='mass').create({'body': 'x'})
        with self.assertRaisesRegex(AccessError, 'SMS / User'):
            mass.action_send_sms()
        # the same paths over JSON-RPC, as the web client calls them
        error = self.rpc(self.salesman, 'crm.lead', 'message_post', [lead.id], body="RPC", message_type='sms',
                         sms_numbers=['+14155550186'])
        self.assertIsInstance(error, JsonRpcException)
        self.assertEqual(str(error), 'odoo.exceptions.AccessError')
        error = self.rpc(self.salesman, 'crm.lead', 'message_notify', [lead.id], body="RPC notify",
                         partner_ids=self.customer.ids, sms_numbers=['+14155550186'])
        self.assertEqual(str(error), 'odoo.exceptions.AccessError')
        self.send_queued()
        self.assertFalse(self.fake.twilio_messages, "nothing left")
        self.assertFalse(self.env['sms.sms'].search([('number', 'like', '+1415555018')]))

    def test_restricted_sms_users_managers_admins_still_send(self):
        self.restrict_sending()
        for user, number in ((self.sms_user, '+14155550187'), (self.sms_manager, '+14155550188'),
                             (self.admin_user, '+14155550189')):
            lead = self.lead_of(user, number)
            self.compose(user, lead, f"composer {user.login}").action_send_sms()
            lead.with_user(user).message_post(body=f"post {user.login}", message_type='sms', sms_numbers=[number])
        self.run_postcommit()
        for user, number in ((self.sms_user, '+14155550187'), (self.sms_manager, '+14155550188'),
                             (self.admin_user, '+14155550189')):
            self.assertEqual(sorted(m['body'] for m in self.sent_to(number)),
                             [f"composer {user.login}", f"post {user.login}"])

    def test_restricted_automations_still_send_for_the_salesman(self):
        """A salesman's action triggers an automation: it runs as superuser and is not gated."""
        self.restrict_sending()
        lead = self.lead_of(self.salesman, '+14155550190')
        template = self.env['sms.template'].create({'name': 'Hi', 'model_id': self.env.ref('crm.model_crm_lead').id,
                                                    'body': 'Automated hello'})
        action = self.env['ir.actions.server'].create({
            'name': 'SMS on lead', 'model_id': self.env.ref('crm.model_crm_lead').id, 'state': 'sms',
            'sms_template_id': template.id, 'sms_method': 'comment'})
        action.with_user(self.salesman).sudo().with_context(active_model='crm.lead', active_id=lead.id).run()
        self.run_postcommit()
        self.assertEqual([m['body'] for m in self.sent_to('+14155550190')], ['Automated hello'])

    def test_restricted_apps_automatic_sms_still_leave(self):
        """Apps text customers by themselves through _message_sms (stock_sms on a validated delivery,
        project_sms on a stage change) whoever clicks: private, so no caller can reach it over RPC."""
        self.restrict_sending()
        lead = self.lead_of(self.salesman, '+14155550192')
        lead.with_user(self.salesman)._message_sms("Your delivery is on its way")
        self.run_postcommit()
        self.assertEqual([m['body'] for m in self.sent_to('+14155550192')], ["Your delivery is on its way"])

    def test_setting_toggles_back(self):
        self.restrict_sending()
        self.assertTrue(self.env['res.config.settings'].create({}).sms_connector_restrict_sending)
        self.restrict_sending(False)
        self.assertFalse(self.env['res.config.settings'].create({}).sms_connector_restrict_sending)
        self.assertTrue(self.salesman.has_group('sms_connector.group_sms_user'))
        lead = self.lead_of(self.salesman, '+14155550191')
        self.compose(self.salesman, lead, "Allowed again").action_send_sms()
        self.run_postcommit()
        self.assertEqual(len(self.sent_to('+14155550191')), 1)
        self.assertTrue(self.sms_user.has_group('sms_connector.group_sms_user'), "explicit SMS users kept it")
