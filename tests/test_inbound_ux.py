"""Replies people are told about, threads they can read, and Octopush replies that leave.

Written as the users concerned: the salesperson who texted a customer, an SMS user answering.
"""
import json
import secrets

from lxml import etree

from odoo.tests import new_test_user, tagged
from odoo.tools.misc import file_path

from odoo.addons.mail.tools.discuss import Store

from .common import TWILIO_SID, FakeProviderCase


@tagged('post_install', '-at_install')
class TestInboundUx(FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env, login='sally_sms', name='Sally Sales', notification_type='email',
            groups='sms_connector.group_sms_user,sales_team.group_sale_salesman')
        cls.manager = new_test_user(
            cls.env, login='mo_sms', name='Mo Manager', groups='sms_connector.group_sms_manager,base.group_partner_manager')

    def setUp(self):
        super().setUp()
        self.octopush_path = f"/sms_connector/inbound/{self.octopush.id}/{self.octopush.webhook_token}"

    def post_octopush(self, data):
        response = self.url_open(self.octopush_path, data=json.dumps(data), headers={'Content-Type': 'application/json'})
        self.assertEqual(response.status_code, 200)
        return response

    def inbound(self, number):
        return self.env['sms.message'].search([('direction', '=', 'inbound'), ('number', '=', number)], order='id')

    # Octopush replies -------------------------------------------------------
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

    # Octopush callbacks -----------------------------------------------------
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

    # who is told of a reply -------------------------------------------------
    def post_twilio(self, number, body, to='+15005550006'):
        path = f"/sms_connector/inbound/{self.twilio.id}/{self.twilio.webhook_token}"
        params = {'MessageSid': 'SM' + secrets.token_hex(16), 'AccountSid': TWILIO_SID, 'From': number, 'To': to,
                  'Body': body, 'NumSegments': '1', 'NumMedia': '0'}
        signature = self.twilio_signature(self.base_url() + path, params)
        response = self.url_open(path, data=params, headers={'X-Twilio-Signature': signature})
        self.assertEqual(response.status_code, 200)
        return response

    def needaction(self, user):
        return self.env['mail.message'].with_user(user).search([('needaction', '=', True)])

    def test_the_salesperson_who_texted_is_told_of_the_reply(self):
        other = new_test_user(self.env, login='otto_sms', name='Otto Owner', groups='sales_team.group_sale_salesman')
        customer = self.partner('Cleo', '+14155550142', user_id=other.id)
        self.send_single(customer, "Your order is ready", user=self.salesman)
        self.assertFalse(self.needaction(self.salesman))
        self.post_twilio('+14155550142', "Great, I'll come by tomorrow")
        told = self.needaction(self.salesman)
        self.assertEqual(len(told), 1, "the author of the SMS gets it in the messaging menu (Inbox)")
        self.assertIn("come by tomorrow", str(told.body))
        self.assertEqual((told.model, told.res_id), ('res.partner', customer.id))

    def test_without_author_the_responsible_is_told(self):
        owner = new_test_user(self.env, login='otto_sms', name='Otto Owner', notification_type='email',
                              groups='sales_team.group_sale_salesman')
        lead = self.env['crm.lead'].create({'name': 'Deal', 'phone': '+14155550150', 'user_id': owner.id,
                                            'country_id': self.env.ref('base.us').id})
        self.post_twilio('+14155550150', "Still interested")
        told = self.needaction(owner)
        self.assertEqual((told.model, told.res_id), ('crm.lead', lead.id))
        self.assertFalse(self.needaction(self.salesman))

    def test_an_archived_author_is_not_told_the_responsible_is(self):
        owner = new_test_user(self.env, login='otto_sms', name='Otto Owner', groups='sales_team.group_sale_salesman')
        customer = self.partner('Cleo', '+14155550143', user_id=owner.id)
        self.send_single(customer, "Your order is ready", user=self.salesman)
        self.salesman.active = False  # left the company: nobody would read their Inbox
        self.post_twilio('+14155550143', "Thanks, who do I talk to now?")
        self.assertFalse(self.needaction(self.salesman))
        told = self.needaction(owner)
        self.assertEqual((told.model, told.res_id), ('res.partner', customer.id), "the contact's salesperson is told")

    def test_with_the_conversation_window_off_the_author_is_still_told(self):
        customer = self.partner('Cleo', '+14155550144')
        self.send_single(customer, "Your order is ready", user=self.salesman)
        self.env['ir.config_parameter'].set_param('sms_connector.conversation_days', 0)
        self.post_twilio('+14155550144', "Thanks")
        told = self.needaction(self.salesman)
        self.assertEqual((told.model, told.res_id), ('res.partner', customer.id))

    def test_inbox_counts_replies_to_triage(self):
        def counter(user):
            groups = self.env['res.users'].with_user(user)._get_activity_groups()
            return next((group['total_count'] for group in groups if group['model'] == 'sms.message'), 0)

        self.post_twilio('+14155550190', "Who is this?")
        self.post_twilio('+14155550191', "Call me")
        self.post_twilio('+14155550192', "STOP")
        self.assertEqual(counter(self.manager), 2, "unmatched replies wait in the Inbox; STOP is handled already")
        first = self.inbound('+14155550190').with_user(self.manager)
        self.assertTrue(first.to_triage)
        first.action_mark_triaged()
        self.assertEqual(counter(self.manager), 1)
        second = self.inbound('+14155550191').with_user(self.manager)
        second.action_create_partner()
        self.assertFalse(second.to_triage)
        self.assertEqual(counter(self.manager), 0)

    # the conversation view --------------------------------------------------
    def test_conversation_is_a_thread_with_a_reply_box(self):
        customer = self.partner('Cleo', '+14155550142', user_id=self.salesman.id)
        partner_form = customer.with_user(self.salesman)
        self.send_single(customer, "Your order is ready", user=self.salesman)
        self.post_twilio('+14155550142', "<script>alert(1)</script> & tomorrow?", to='+15005550099')

        action = partner_form.action_view_sms_conversation()
        self.assertEqual((action['res_model'], action['target']), ('sms.conversation', 'new'))
        wizard = self.env['sms.conversation'].with_user(self.salesman).browse(action['res_id'])
        thread = str(wizard.thread)
        self.assertLess(thread.index("Your order is ready"), thread.index("tomorrow?"), "oldest first")
        self.assertIn('o_sms_bubble_outbound', thread)
        self.assertIn('o_sms_bubble_inbound', thread)
        self.assertNotIn('<script>', thread)
        self.assertIn('&lt;script&gt;', thread)

        wizard.body = "Tomorrow 10am then"
        again = wizard.action_send()
        self.run_postcommit()
        sent = self.fake.twilio_messages[-1]
        self.assertEqual((sent['to'], sent['from'], sent['body']), ('+14155550142', '+15005550099', "Tomorrow 10am then"),
                         "the answer leaves from the number the customer wrote to")
        wizard = self.env['sms.conversation'].with_user(self.salesman).browse(again['res_id'])
        self.assertTrue(str(wizard.thread).rstrip().endswith('</div>'))
        self.assertGreater(str(wizard.thread).index("Tomorrow 10am then"), str(wizard.thread).index("tomorrow?"))
        self.assertIn("Tomorrow 10am then", str(customer.message_ids[0].body), "filed in the chatter too")

    def test_conversation_from_the_inbox(self):
        self.post_twilio('+14155550190', "Who is this?")
        message = self.inbound('+14155550190').with_user(self.manager)
        action = message.action_view_conversation()
        wizard = self.env['sms.conversation'].with_user(self.manager).browse(action['res_id'])
        self.assertIn("Who is this?", str(wizard.thread))
        wizard.body = "Your florist, hello!"
        wizard.action_send()
        self.run_postcommit()
        self.assertEqual(self.fake.twilio_messages[-1]['body'], "Your florist, hello!")
        self.assertFalse(message.to_triage, "answered: off the Inbox's count")

    # settings and chatter failures ------------------------------------------
    def test_settings_show_our_gateways_instead_of_odoo_credits(self):
        admin = new_test_user(self.env, login='ada_admin', name='Ada Admin', groups='base.group_system')
        settings = self.env['res.config.settings'].with_user(admin)
        arch = etree.fromstring(settings.get_views([(False, 'form')])['views']['form']['arch'])
        (iap,) = arch.xpath("//setting[@id='sms']//widget[@name='iap_buy_more_credits']")
        self.assertIn('sms_connector_gateway_count', iap.get('invisible', ''), "no IAP credits to buy with a gateway")
        self.assertTrue(arch.xpath("//setting[@id='sms']//button[@name='action_sms_connector_open_gateways']"))
        self.assertGreater(settings.create({}).sms_connector_gateway_count, 0, "also for an admin without SMS rights")

    def test_refused_key_shows_the_gateway_words_not_unregistered_account(self):
        customer = self.partner('Cleo', '+14155550142')
        self.twilio.secret = 'revoked-token'
        self.send_single(customer, "Hello", user=self.salesman)
        message = customer.message_ids.filtered(lambda m: m.message_type == 'sms')
        notification = message.notification_ids
        self.assertEqual((notification.notification_status, notification.failure_type), ('exception', 'sms_acc'))
        data = Store().add(notification.with_user(self.salesman)).get_result()['mail.notification'][0]
        self.assertTrue(data.get('failure_reason'), "the gateway's words reach the chatter")
        self.assertEqual(data.get('failure_reason'), self.log_of(customer).error_message)
        self.assertEqual(data.get('sms_connector_gateway_id'), self.twilio.id, "a link to the gateway, not to IAP")
        assets = self.env['ir.asset']._get_asset_paths('web.assets_backend', {})
        self.assertTrue(any('sms_connector/static/src/' in path for path, *_rest in assets))

    # views as the salesman sees them ----------------------------------------
    def arch(self, model, view_type, user, view_id=False, context=None):
        views = self.env[model].with_user(user).with_context(**(context or {})).get_views([(view_id, view_type)])
        return etree.fromstring(views['views'][view_type]['arch'])

    def test_opted_out_banner_has_a_space_before_the_numbers(self):
        arch = self.arch('sms.composer', 'form', self.salesman)
        (field,) = arch.xpath("//field[@name='sms_connector_opted_out_numbers']")
        self.assertIn('ms-1', field.get('class', '').split(), "'Opted out: +336…', not 'Opted out:+336…'")

    def test_inbox_and_inbound_form_show_only_what_applies(self):
        action = self.env['ir.actions.act_window'].with_user(self.manager)._for_xml_id('sms_connector.sms_message_action_inbox')
        list_view_id = next(view_id for view_id, view_type in action['views'] if view_type == 'list')
        self.assertTrue(list_view_id, "the Inbox has a list of its own")
        arch = self.arch('sms.message', 'list', self.manager, list_view_id)
        self.assertFalse(arch.xpath("//field[@name='error_message']"), "no 'Failure reason' column for replies")
        self.assertTrue(arch.xpath("//field[@name='body']"))

        form = self.arch('sms.message', 'form', self.manager)
        for name in ('purpose', 'cost', 'sent_date', 'delivered_date', 'create_date'):
            (node,) = form.xpath(f"//field[@name='{name}']")
            self.assertIn("direction == 'inbound'", node.get('invisible', ''), name)
        combined = self.env.ref('sms_connector.sms_message_view_form')._get_combined_arch()  # with multi-currency nodes
        (node,) = combined.xpath("//field[@name='cost_company']")
        self.assertIn("direction == 'inbound'", node.get('invisible', ''))
        bars = form.xpath("//field[@name='state'][@widget='statusbar']")
        outbound = [bar for bar in bars if 'received' not in bar.get('statusbar_visible', '')]
        self.assertEqual(len(outbound), 1, "outbound SMS get a status bar without 'Received'")
        self.assertIn("direction == 'inbound'", outbound[0].get('invisible', ''))
        self.assertTrue([bar for bar in bars if bar.get('statusbar_visible') == 'received'])

    def test_outbound_sms_show_the_number_they_left_from(self):
        us = self.partner('Cleo', '+14155550142')
        fr = self.partner('Zoé', '+33612345699', country='base.fr')
        self.assertEqual(self.send_single(us, "Hello").gateway_number, '+15005550006')
        self.assertEqual(self.send_single(fr, "Bonjour").gateway_number, 'MyShop')

    def test_twilio_refusal_reads_without_the_sdk_prefix(self):
        log = self.send_single(self.partner('Nobody', '+15005550001'), "Hello")
        self.assertEqual(log.state, 'failed')
        self.assertTrue(log.error_message.startswith("The 'To' number"), log.error_message)

    def test_gateway_credentials_and_webhook_changes_are_traced_without_the_secret(self):
        admin = new_test_user(self.env, login='ada_admin', name='Ada Admin',
                              groups='base.group_system,sms_connector.group_sms_manager')
        gateway = self.twilio.with_user(admin)
        before = gateway.message_ids
        gateway.write({'secret': 'brand-new-token-123', 'account': TWILIO_SID})
        gateway.action_regenerate_webhook_token()
        gateway.write({'base_url': self.fake.url + '/'})
        self.env.cr.precommit.run()  # tracking is written when the transaction commits
        new = (gateway.message_ids - before)
        text = ' '.join(str(m.body) for m in new) + ' '.join(
            str(v.old_value_char) + str(v.new_value_char) for v in new.sudo().tracking_value_ids)
        self.assertNotIn('brand-new-token-123', text)
        self.assertNotIn(self.twilio.sudo().webhook_token, text)
        self.assertIn('Auth token / API key', text)
        self.assertIn('webhook urls regenerated', text.lower())
        self.assertIn('API base URL', ' '.join(new.sudo().tracking_value_ids.field_id.mapped('field_description')))
        gateway.write({'account': 'AC' + 'd' * 32})
        self.env.cr.precommit.run()
        shown = str(Store().add(gateway.with_user(self.salesman).message_ids).get_result())
        self.assertIn('Webhook URLs regenerated', shown, "SMS users read the gateway's chatter")
        self.assertNotIn('AC' + 'd' * 32, shown, "but not the account it changed to")

    def test_help_answer_reaches_the_phone_simulator(self):
        path = f"/sms_connector/inbound/{self.twilio.id}/{self.twilio.webhook_token}"
        self.fake.twilio_inbound_url = self.base_url() + path
        self.env.flush_all()
        with self.allow_requests(all_requests=True):
            status, _text = self.fake.reply_as_phone('+14155550220', "HELP", provider='twilio')
        self.http_request_allow_all = False
        self.assertEqual(status, 200)
        messages = self.fake.phones()['+14155550220']['messages']
        self.assertEqual([m['direction'] for m in messages], ['out', 'in'], "the phone sent HELP and got the answer")
        self.assertTrue(messages[-1]['body'].startswith('Reply STOP to unsubscribe'))

    def test_demo_mailing_log_is_dated_with_its_mailing(self):
        path = file_path('sms_connector/demo/sms_connector_demo.xml')
        demo = etree.parse(path)
        sent = demo.xpath("//record[@id='demo_mailing_sms']/field[@name='sent_date']")[0].get('eval')
        logs = demo.xpath("//record[@model='sms.message'][field[@name='mailing_id'][@ref='demo_mailing_sms']]")
        self.assertTrue(logs)
        for log in logs:
            self.assertEqual(log.xpath("field[@name='create_date']")[0].get('eval'), sent, log.get('id'))
        for record in demo.xpath("//record[@model='crm.lead']"):
            self.assertEqual(record.xpath("field[@name='user_id']")[0].get('ref'), 'base.user_admin', record.get('id'))
