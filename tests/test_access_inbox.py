"""Received SMS as each user sees them: who triages unmatched replies, one visibility rule for
every access path, retry, company isolation, inbound text never becomes HTML."""
import secrets
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException

from odoo.addons.sms_connector.models.sms_message import LOGGED_MODELS_SQL
from odoo.addons.sms_connector.providers.base import Balance

from .access_common import AccessCase
from .common import TWILIO_SID, TWILIO_SID_B, TWILIO_TOKEN, TWILIO_TOKEN_B


@tagged('post_install', '-at_install')
class TestInboxAccess(AccessCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env['res.company'].create({'name': 'Company B', 'country_id': cls.env.ref('base.us').id})
        cls.gateway_b = cls.env['sms.gateway'].create({
            'name': 'Twilio B', 'provider': 'twilio', 'base_url': cls.fake.url, 'company_id': cls.company_b.id,
            'account': TWILIO_SID_B, 'secret': TWILIO_TOKEN_B, 'sender': '+15005550007'})
        cls.manager_b = cls.env['res.users'].create({
            'name': 'Manager B', 'login': 'acc_manager_b', 'password': 'acc_manager_b',
            'company_id': cls.company_b.id, 'company_ids': [Command.set(cls.company_b.ids)],
            'group_ids': [Command.set([cls.env.ref('sms_connector.group_sms_manager').id])]})

    def post_twilio(self, number, body, gateway=None):
        """A signed inbound webhook, as Twilio sends it."""
        gateway = gateway or self.twilio
        account, token = (TWILIO_SID, TWILIO_TOKEN) if gateway == self.twilio else (TWILIO_SID_B, TWILIO_TOKEN_B)
        path = f"/sms_connector/inbound/{gateway.id}/{gateway.webhook_token}"
        params = {'MessageSid': 'SM' + secrets.token_hex(16), 'AccountSid': account, 'From': number,
                  'To': gateway.sender, 'Body': body, 'NumSegments': '1', 'NumMedia': '0'}
        response = self.url_open(path, data=params,
                                 headers={'X-Twilio-Signature': self.twilio_signature(self.base_url() + path, params, token)})
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        return self.env['sms.message'].search([('direction', '=', 'inbound'), ('number', '=', number)],
                                              order='id desc', limit=1)

    # inbox actions over RPC ---------------------------------------------------------
    def test_sms_user_cannot_file_unmatched_replies_by_rpc(self):
        message = self.post_twilio('+14155550210', "Who is this?")
        self.assertFalse(message.res_id)
        for method in ('action_create_partner', 'action_create_lead', 'action_link_record'):
            error = self.rpc(self.sms_user, 'sms.message', method, [message.id])
            self.assertIsInstance(error, JsonRpcException, method)
            self.assertEqual(str(error), 'odoo.exceptions.AccessError', method)
        error = self.rpc(self.sms_user, 'sms.inbound.link', 'create',
                         [{'message_id': message.id, 'record_ref': f'res.partner,{self.sms_user.partner_id.id}'}])
        self.assertIsInstance(error, JsonRpcException)
        self.assertFalse(message.res_id)
        self.assertFalse(self.env['res.partner'].search([('phone_sanitized', '=', '+14155550210')]))
        # the manager files it
        action = message.with_user(self.sms_manager).action_create_partner()
        self.assertEqual(message.res_id, action['res_id'])

    # who triages -------------------------------------------------------------------
    def test_by_default_only_managers_triage(self):
        message = self.post_twilio('+14155550211', "Unknown sender")
        inbox_menu = self.env.ref('sms_connector.sms_inbox_menu')
        self.assertNotIn(inbox_menu.id, self.env['ir.ui.menu'].with_user(self.sms_user)._visible_menu_ids())
        self.assertIn(inbox_menu.id, self.env['ir.ui.menu'].with_user(self.sms_manager)._visible_menu_ids())
        self.assertFalse(self.env['sms.message'].with_user(self.sms_user).search([('id', '=', message.id)]))
        self.assertFalse(message.with_user(self.sms_user).has_access('read'))
        self.assertEqual(self.env['sms.message'].with_user(self.sms_manager).search(
            [('direction', '=', 'inbound'), ('res_id', '=', False)]), message)

    def test_sms_users_of_the_company_triage_when_allowed(self):
        self.allow_user_triage()
        message = self.post_twilio('+14155550212', "Hello, quote please")
        other_company = self.post_twilio('+14155550213', "For company B", gateway=self.gateway_b)
        inbox_menu = self.env.ref('sms_connector.sms_inbox_menu')
        self.assertIn(inbox_menu.id, self.env['ir.ui.menu'].with_user(self.sms_user)._visible_menu_ids())
        inbox = self.env['sms.message'].with_user(self.sms_user).search([('direction', '=', 'inbound'), ('res_id', '=', False)])
        self.assertEqual(inbox, message, "their company's unmatched replies only")
        self.assertFalse(other_company.with_user(self.sms_user).has_access('read'))
        # the form's buttons work for them: reply and create a contact
        wizard = self.env['sms.inbound.reply'].with_user(self.sms_user).with_context(
            message.with_user(self.sms_user).action_reply()['context']).create({'body': "We will call you"})
        wizard.action_send()
        self.run_postcommit()
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], ['+14155550212'])
        self.rpc(self.sms_user, 'sms.message', 'action_create_partner', [message.id])
        self.assertEqual(message.res_model, 'res.partner')
        partner = self.env['res.partner'].browse(message.res_id)
        self.assertEqual(partner.phone_sanitized, '+14155550212')
        # filed SMS are not theirs to re-file
        error = self.rpc(self.sms_user, 'sms.message', 'action_create_lead', [message.id])
        self.assertIsInstance(error, JsonRpcException)
        self.assertEqual(message.res_model, 'res.partner')
        self.allow_user_triage(False)
        self.assertNotIn(inbox_menu.id, self.env['ir.ui.menu'].with_user(self.sms_user)._visible_menu_ids())

    # one rule for search, read, has_access and _filtered_access ---------------------------
    def test_every_access_path_agrees(self):
        colleague = self.salesman
        mine = self.env['crm.lead'].create({'name': 'Mine', 'phone': '+14155550214', 'user_id': self.sms_user.id})
        theirs = self.env['crm.lead'].create({'name': 'Theirs', 'phone': '+14155550215', 'user_id': colleague.id})
        log_mine, log_theirs = self.send_single(mine), self.send_single(theirs)
        authored = self.env['sms.message'].create({'number': '+14155550216', 'user_id': self.sms_user.id})
        Message = self.env['sms.message'].with_user(self.sms_user)
        both = (log_mine | log_theirs | authored).with_user(self.sms_user)
        self.assertEqual(Message.search([('id', 'in', both.ids)]), log_mine | authored)
        self.assertEqual(both._filtered_access('read'), log_mine | authored)
        self.assertTrue(log_mine.with_user(self.sms_user).has_access('read'))
        self.assertFalse(log_theirs.with_user(self.sms_user).has_access('read'))
        with self.assertRaises(AccessError):
            log_theirs.with_user(self.sms_user).read(['body'])
        self.assertEqual(Message.search_count([('id', 'in', both.ids)]), 2)
        error = self.rpc(self.sms_user, 'sms.message', 'read', [log_theirs.id], ['body'])
        self.assertIsInstance(error, JsonRpcException)
        self.assertEqual(both.with_user(self.sms_manager)._filtered_access('read'), both)

    def test_visibility_reads_the_log_models_through_the_index(self):
        """The models SMS were sent from are read by a loose index scan, not a scan of the log."""
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        plan = self.query_plan(LOGGED_MODELS_SQL)
        self.assertIn('Index', plan)
        self.assertNotIn('Seq Scan on sms_message', plan)
        self.env.cr.execute("SET LOCAL enable_seqscan = on")

    # retry as an SMS user ------------------------------------------------------------------
    def failed_log(self, user, number):
        return self.env['sms.message'].create({
            'number': number, 'body': 'Your parcel', 'state': 'failed', 'error_message': 'refused',
            'user_id': user.id, 'company_id': self.company.id})

    def test_sms_user_retries_what_they_see(self):
        failed = self.failed_log(self.sms_user, '+14155550217')
        result = self.rpc(self.sms_user, 'sms.message', 'action_retry', [failed.id])
        self.assertIsInstance(result, dict, result)
        self.assertTrue(failed.retry_id)
        self.assertEqual(failed.retry_id.user_id, self.sms_user)
        self.send_queued()
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], ['+14155550217'])

    def test_retry_refused_for_others_sms_and_without_the_right(self):
        failed = self.failed_log(self.sms_manager, '+14155550218')
        error = self.rpc(self.sms_user, 'sms.message', 'action_retry', [failed.id])
        self.assertIsInstance(error, JsonRpcException, "not theirs, no document: invisible to them")
        own = self.failed_log(self.salesman, '+14155550219')
        self.restrict_sending()
        error = self.rpc(self.salesman, 'sms.message', 'action_retry', [own.id])
        self.assertIsInstance(error, JsonRpcException)
        self.assertFalse(failed.retry_id or own.retry_id)

    # company isolation of the sender's contact ----------------------------------------------
    def test_inbound_on_company_b_never_names_company_a_contact(self):
        private = self.env['res.partner'].create({'name': 'Private of A', 'phone': '+14155550220',
                                                  'company_id': self.company.id})
        message = self.post_twilio('+14155550220', "Hi B", gateway=self.gateway_b)
        self.assertEqual(message.company_id, self.company_b)
        self.assertFalse(message.partner_id, "company A's private contact is not company B's")
        self.assertNotIn('Private of A', str(message.with_user(self.manager_b).read(['partner_id'])))
        shared = self.env['res.partner'].create({'name': 'Shared', 'phone': '+14155550221', 'company_id': False})
        message = self.post_twilio('+14155550221', "Hi again", gateway=self.gateway_b)
        self.assertEqual(message.partner_id, shared)
        message_a = self.post_twilio('+14155550220', "Hi A")
        self.assertEqual(message_a.partner_id, private, "company A still recognises its contact")

    def test_leads_and_inbox_counts_stay_in_their_company(self):
        """Either phone field of the lead rule finds company A's leads for A only; each Inbox counts its own."""
        self.allow_user_triage()
        self.env['crm.lead'].create({'name': 'A, own phone', 'phone': '+14155550230', 'company_id': self.company.id})
        contact = self.env['res.partner'].create({'name': 'Contact of A', 'phone': '+14155550231',
                                                  'company_id': self.company.id})
        self.env['crm.lead'].create({'name': 'A, through its contact', 'partner_id': contact.id,
                                     'company_id': self.company.id}).phone = False
        self.env.ref('sms_connector.sms_match_rule_partner').active = False
        for number in ('+14155550230', '+14155550231'):
            message = self.post_twilio(number, "Hi B", gateway=self.gateway_b)
            self.assertFalse(message.res_model, "company A's lead is not company B's")
            self.assertTrue(message.to_triage)
            self.assertEqual(self.post_twilio(number, "Hi A").res_model, 'crm.lead')
        self.post_twilio('+14155550232', "Who is this?")

        def counter(user):
            groups = self.env['res.users'].with_user(user)._get_activity_groups()
            return next((group['total_count'] for group in groups if group['model'] == 'sms.message'), 0)

        self.assertEqual(counter(self.sms_user), 1, "company A's reply to triage")
        self.assertEqual(counter(self.manager_b), 2, "company B's replies to triage")

    # inbound text is text --------------------------------------------------------------------
    def test_inbound_body_escaped_in_activity_and_notifications(self):
        responsible = self.sms_user
        self.env.ref('sms_connector.sms_match_rule_partner').create_activity = True
        customer = self.env['res.partner'].create({'name': 'Cleo', 'phone': '+14155550222', 'user_id': responsible.id,
                                                   'email': 'cleo@example.com'})
        body = '<img src="https://tracker.example/p.gif"><a href="https://evil.example">Pay here</a>'
        self.post_twilio('+14155550222', body)
        activity = customer.activity_ids
        self.assertEqual(len(activity), 1)
        note = str(activity.note)
        self.assertNotIn('<img', note)
        self.assertNotIn('<a href="https://evil.example"', note)
        self.assertIn('&lt;img', note)
        post = customer.message_ids.filtered(lambda m: m.message_type == 'sms')
        self.assertNotIn('<img', str(post.body))
        mails = self.env['mail.mail'].search([('body_html', 'like', 'tracker.example')])
        self.assertIn(responsible.partner_id, mails.recipient_ids, "the responsible user is e-mailed the reply")
        for mail in mails:
            self.assertNotIn('<img src="https://tracker.example', mail.body_html)

    def test_provider_text_escaped_in_low_credit_activity(self):
        """The low-credit to-do quotes the provider's answer: text, never HTML."""
        self.octopush.action_archive()
        self.env['ir.config_parameter'].set_param('sms_connector.low_credit_threshold', 50)
        provider_class = type(self.twilio._get_provider())
        with patch.object(provider_class, 'balance', return_value=Balance(1.0, '<img src="https://tracker.example/c.gif">')):
            self.env['sms.gateway']._cron_check_low_credit()
        notes = ' '.join(str(note) for note in self.twilio.activity_ids.mapped('note'))
        self.assertIn('&lt;img', notes)
        self.assertNotIn('<img', notes)
