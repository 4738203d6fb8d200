"""Two-way SMS: inbound webhooks, matching, inbox, opt-out keywords, replies from the same number.

Every inbound SMS is a real signed webhook posted to Odoo over HTTP; replies go over real HTTP
to the loopback fake provider.
"""
import ast
import json
import secrets
from datetime import timedelta
from unittest.mock import patch

import psycopg2

from odoo import Command, fields
from odoo.tests import tagged
from odoo.tools import SQL

from . import stats
from .common import TWILIO_SID, TWILIO_SID_B, TWILIO_TOKEN_B, FakeProviderCase

TWIML_EMPTY = b'<?xml version="1.0" encoding="UTF-8"?><Response />'


def new_sid():
    return 'SM' + secrets.token_hex(16)


@tagged('post_install', '-at_install')
class TestInboundSms(FakeProviderCase):

    def setUp(self):
        super().setUp()
        self.path = f"/sms_connector/inbound/{self.twilio.id}/{self.twilio.webhook_token}"
        self.octopush_path = f"/sms_connector/inbound/{self.octopush.id}/{self.octopush.webhook_token}"
        self.rules = {
            'partner': self.env.ref('sms_connector.sms_match_rule_partner'),
            'lead': self.env.ref('sms_connector.sms_match_rule_lead'),
            'order': self.env.ref('sms_connector.sms_match_rule_sale_order'),
        }

    # helpers -----------------------------------------------------------------
    def post_twilio(self, number, body, sid=None, signature=None, path=None, to='+15005550006', token=None, **extra):
        path = path or self.path
        params = {'MessageSid': sid or new_sid(), 'AccountSid': TWILIO_SID, 'From': number, 'To': to,
                  'Body': body, 'NumSegments': '1', 'NumMedia': '0', **extra}
        url = self.base_url() + path
        if signature is None:
            signature = self.twilio_signature(url, params, **({'token': token} if token else {}))
        return self.url_open(path, data=params, headers={'X-Twilio-Signature': signature})

    def post_octopush(self, data, path=None):
        return self.url_open(path or self.octopush_path, data=json.dumps(data),
                             headers={'Content-Type': 'application/json'})

    def inbound(self, number):
        return self.env['sms.message'].search([('direction', '=', 'inbound'), ('number', '=', number)], order='id')

    def sms_posts(self, record):
        return record.message_ids.filtered(lambda m: m.message_type == 'sms')

    def blacklisted(self, number):
        return bool(self.env['phone.blacklist'].search([('number', '=', number)]))

    def user(self, login):
        return self.env['res.users'].create({
            'name': login.title(), 'login': login, 'email': f'{login}@example.com',
            'group_ids': [Command.set([self.env.ref('base.group_user').id])]})

    # webhook -----------------------------------------------------------------
    def test_reply_is_logged_matched_posted_and_notified(self):
        sally = self.user('sally')
        customer = self.partner('Cleo', '+1 415 555 0142', user_id=sally.id)
        response = self.post_twilio('+14155550142', "Yes, tomorrow 10am works")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, TWIML_EMPTY)
        self.assertTrue(response.headers['Content-Type'].startswith('text/xml'))
        message = self.inbound('+14155550142')
        self.assertRecordValues(message, [{
            'state': 'received', 'gateway_id': self.twilio.id, 'gateway_number': '+15005550006',
            'res_model': 'res.partner', 'res_id': customer.id, 'partner_id': customer.id,
            'body': "Yes, tomorrow 10am works", 'segments': 1, 'company_id': self.company.id, 'keyword': False,
        }])
        post = self.sms_posts(customer)
        self.assertEqual(len(post), 1)
        self.assertEqual(post.author_id, customer)
        self.assertIn("Yes, tomorrow 10am works", str(post.body))
        self.assertIn(sally.partner_id, customer.message_partner_ids, "the responsible follows the conversation")
        self.assertTrue(self.env['mail.notification'].search(
            [('mail_message_id', '=', post.id), ('res_partner_id', '=', sally.partner_id.id)]),
            "the responsible user is notified")
        self.run_postcommit()
        self.assertEqual(self.fake.twilio_messages, [], "posting a reply never texts anybody")
        self.assertFalse(self.env['sms.sms'].search([('number', '=', '+14155550142')]))
        self.assertEqual(customer.sms_message_count, 1)

    def test_activity_scheduled_when_the_rule_asks(self):
        sally = self.user('sally')
        self.rules['partner'].create_activity = True
        customer = self.partner('Cleo', '+14155550142', user_id=sally.id)
        self.post_twilio('+14155550142', "Can you call me?")
        activity = customer.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, sally)
        self.assertIn('+14155550142', activity.summary)

    def test_forged_signature_wrong_token_and_malformed_write_nothing(self):
        self.partner('Cleo', '+14155550142')
        params = {'MessageSid': new_sid(), 'From': '+14155550142', 'To': '+15005550006', 'Body': 'hi'}
        forged = self.twilio_signature(self.base_url() + self.path, params, token='guess')
        self.assertEqual(self.post_twilio('+14155550142', 'hi', signature=forged).status_code, 403)
        self.assertEqual(self.post_twilio('+14155550142', 'hi', signature='').status_code, 403)
        self.assertEqual(self.post_twilio('+14155550142', 'hi', token=TWILIO_TOKEN_B).status_code, 403)
        for path in (f"/sms_connector/inbound/{self.twilio.id}/not-the-token",
                     f"/sms_connector/inbound/999999/{self.twilio.webhook_token}",
                     f"/sms_connector/inbound/{self.octopush.id}/{self.twilio.webhook_token}"):
            self.assertEqual(self.post_twilio('+14155550142', 'hi', path=path).status_code, 403, path)
        with self.assertLogs('odoo.addons.sms_connector.controllers.webhooks', 'WARNING') as logs:
            self.assertEqual(self.post_twilio('+14155550142', 'hi', sid='SM123').status_code, 400)
            self.assertEqual(self.post_twilio('', 'hi').status_code, 400)
            self.assertEqual(self.post_octopush({'message_id': 'sms_1', 'number': '+33612345678'}).status_code, 400)
            bad_json = self.url_open(self.octopush_path, data='{nope', headers={'Content-Type': 'application/json'})
            self.assertEqual(bad_json.status_code, 400)
        self.assertTrue(any('malformed inbound callback' in line for line in logs.output), logs.output)
        self.assertFalse(self.env['sms.message'].search([('direction', '=', 'inbound')]))
        self.assertFalse(self.env['phone.blacklist'].search([]))

    def test_replay_is_acknowledged_and_ignored(self):
        customer = self.partner('Cleo', '+14155550142')
        sid = new_sid()
        for _attempt in range(3):
            response = self.post_twilio('+14155550142', "STOP", sid=sid)
            self.assertEqual(response.status_code, 200)
        self.assertEqual(len(self.inbound('+14155550142')), 1)
        self.assertEqual(len(self.sms_posts(customer)), 1)
        entry = self.env['phone.blacklist'].search([('number', '=', '+14155550142')])
        self.assertEqual(len(entry.message_ids.filtered(lambda m: 'Opted out' in str(m.body))), 1)
        # the same SMS id on another gateway is another SMS
        gateway_b = self.env['sms.gateway'].create({
            'name': 'Twilio B', 'provider': 'twilio', 'base_url': self.fake.url, 'sequence': 30,
            'account': TWILIO_SID_B, 'secret': TWILIO_TOKEN_B, 'sender': '+15005550007'})
        path_b = f"/sms_connector/inbound/{gateway_b.id}/{gateway_b.webhook_token}"
        self.assertEqual(self.post_twilio('+14155550142', "STOP", sid=sid, path=path_b, token=TWILIO_TOKEN_B).status_code, 200)
        self.assertEqual(len(self.inbound('+14155550142')), 2)

    def test_octopush_reply_and_stop_callback(self):
        customer = self.partner('Zoé', '06 12 34 56 99', country='base.fr')
        reply = {'message_id': 'sms_5fec89fe97109', 'number': '33612345699', 'text': "Oui, merci !",
                 'sim_card_number': '+33700000001', 'reception_date': '2026-11-21 10:00:00'}
        for _attempt in range(2):
            response = self.post_octopush(reply)
            self.assertEqual((response.status_code, response.content), (200, b''))
        message = self.inbound('+33612345699')
        self.assertRecordValues(message, [{'res_model': 'res.partner', 'res_id': customer.id, 'gateway_id': self.octopush.id,
                                           'gateway_number': '+33700000001', 'keyword': False}])
        stop = {'message_id': 'sms_5fec89fe97109', 'number': '33612345699', 'text': 'STOP',
                'stop_date': '2026-11-21 11:00:00'}
        for _attempt in range(2):
            self.assertEqual(self.post_octopush(stop).status_code, 200)
        self.assertEqual(self.inbound('+33612345699').mapped('keyword'), [False, 'stop'])
        self.assertTrue(self.blacklisted('+33612345699'))
        customer.invalidate_recordset()
        self.assertTrue(customer.phone_sanitized_blacklisted)

    def test_fake_provider_posts_signed_inbound_webhooks(self):
        customer = self.partner('Dan', '+14155550144')
        self.partner('Zoé', '+33612345699', country='base.fr')
        self.env.flush_all()  # url_open flushes; a request from another thread does not
        with self.allow_requests(all_requests=True):  # the fake server carries no test cookie
            status, body = self.fake.send_inbound('twilio', self.base_url() + self.path, {
                'From': '+14155550144', 'To': '+15005550006', 'Body': 'Sounds good'})
            status_o, body_o = self.fake.send_inbound('octopush', self.base_url() + self.octopush_path, {
                'message_id': 'sms_1', 'number': '+33612345699', 'text': 'Merci', 'sim_card_number': '+33700000001',
                'reception_date': '2026-11-21 10:00:00'})
            forged, _body = self.fake.send_inbound('twilio', self.base_url() + self.path, {
                'From': '+14155550144', 'To': '+15005550006', 'Body': 'forged'}, account_sid=TWILIO_SID_B)
        self.http_request_allow_all = False
        self.assertEqual((status, body.encode()), (200, TWIML_EMPTY))
        self.assertEqual((status_o, body_o), (200, ''))
        self.assertEqual(forged, 403, "signed with another account's token")
        self.assertEqual(self.inbound('+14155550144').res_id, customer.id)
        self.assertEqual(len(self.inbound('+33612345699')), 1)

    # matching ------------------------------------------------------------------
    def test_matching_follows_rule_order_and_prefers_most_recent(self):
        number = '+14155550150'
        lead = self.env['crm.lead'].create({'name': 'Deal', 'phone': '(415) 555-0150', 'country_id': self.env.ref('base.us').id})
        self.post_twilio(number, "about the deal")
        self.assertEqual((self.inbound(number)[-1].res_model, self.inbound(number)[-1].res_id), ('crm.lead', lead.id))

        older = self.partner('Older', '415-555-0150')
        newer = self.partner('Newer', '+1 415 555 0150')
        self.post_twilio(number, "who am I")
        message = self.inbound(number)[-1]
        self.assertEqual((message.res_model, message.res_id, message.partner_id), ('res.partner', newer.id, newer),
                         "contacts come before leads; the most recent contact wins")
        self.assertNotEqual(message.res_id, older.id)

        self.rules['lead'].sequence = 5
        self.post_twilio(number, "lead first now")
        message = self.inbound(number)[-1]
        self.assertEqual((message.res_model, message.res_id), ('crm.lead', lead.id))
        self.assertEqual(message.partner_id, newer, "the sender is still recognised as a contact")

        # only the quotation rule: the most recent order of the contact with that number
        (self.rules['partner'] | self.rules['lead']).active = False
        first = self.env['sale.order'].create({'partner_id': newer.id})
        second = self.env['sale.order'].create({'partner_id': newer.id})
        self.env['sale.order'].create({'partner_id': self.partner('Other', '+14155550151').id})
        self.post_twilio(number, "about my order")
        message = self.inbound(number)[-1]
        self.assertEqual((message.res_model, message.res_id), ('sale.order', second.id))
        self.assertNotEqual(message.res_id, first.id)

    def test_lead_matched_through_its_contact(self):
        (self.rules['partner']).active = False
        contact = self.partner('Eve', '+14155550160')
        lead = self.env['crm.lead'].create({'name': 'Eve deal', 'partner_id': contact.id, 'phone': False})
        lead.phone = False
        self.post_twilio('+14155550160', "hello")
        message = self.inbound('+14155550160')
        self.assertEqual((message.res_model, message.res_id, message.partner_id), ('crm.lead', lead.id, contact))
        self.assertEqual(self.sms_posts(lead).author_id, contact)

    def test_lead_rule_takes_the_most_recent_lead_of_either_phone_field(self):
        (self.rules['partner']).active = False
        contact = self.partner('Eve', '+14155550161')
        own_phone = self.env['crm.lead'].create({'name': 'Older, its own phone', 'phone': '+14155550161'})
        via_contact = self.env['crm.lead'].create({'name': 'Newer, through the contact', 'partner_id': contact.id})
        via_contact.phone = False
        self.post_twilio('+14155550161', "hello")
        self.assertEqual(self.inbound('+14155550161').res_id, via_contact.id)
        self.env.cr.execute("UPDATE crm_lead SET create_date = %s WHERE id = %s",
                            (via_contact.create_date + timedelta(seconds=1), own_phone.id))
        self.env.invalidate_all()
        self.post_twilio('+14155550161', "hello again")
        self.assertEqual(self.inbound('+14155550161')[-1].res_id, own_phone.id)

    def test_each_phone_field_of_a_rule_is_looked_up_through_its_index(self):
        """An OR of a lead's phone and its contact's phone read every lead with a contact, on each unknown number."""
        someone = self.partner('Someone', '+14155550162')
        self.env.cr.execute("""
            INSERT INTO crm_lead (name, type, active, phone, phone_sanitized, partner_id, company_id, priority,
                                  create_date, write_date)
            SELECT 'Lead ' || i, 'lead', true, '+1415700' || lpad(i::text, 4, '0'),
                   '+1415700' || lpad(i::text, 4, '0'), CASE WHEN i %% 3 = 0 THEN %s END, %s, '0', now(), now()
              FROM generate_series(1, 3000) AS i
        """, [someone.id, self.env.company.id])
        self.env.cr.execute("ANALYZE crm_lead")
        queries = []
        execute = type(self.env.cr).execute

        def spy(cr, query, params=None, log_exceptions=True):
            if isinstance(query, SQL) and 'FROM "crm_lead"' in query.code:
                queries.append(query)
            return execute(cr, query, params, log_exceptions)

        with patch.object(type(self.env.cr), 'execute', spy):
            found = self.env['sms.match.rule']._find_records(
                'crm.lead', ['phone_sanitized', 'partner_id.phone_sanitized'], '+14157002999', self.env.company)
        self.assertEqual(found.name, 'Lead 2999')
        self.assertTrue(queries)
        for query in queries:
            self.assertLessEqual(self.rows_read(query, 'crm_lead'), 1, "only the leads with that number")

    def test_reply_goes_to_the_record_the_last_sms_was_sent_from(self):
        customer = self.partner('Fay', '+14155550170')
        order = self.env['sale.order'].create({'partner_id': customer.id})
        log = self.send_single(order, "Your quotation is ready, reply YES to confirm")
        self.assertEqual(log.state, 'sent')
        self.post_twilio('+14155550170', "ok for me")
        message = self.inbound('+14155550170')
        self.assertEqual((message.res_model, message.res_id, message.partner_id), ('sale.order', order.id, customer))
        self.assertEqual(len(self.sms_posts(order).filtered(lambda m: m.author_id == customer)), 1)
        self.assertEqual(order.sms_message_count, 2, "the SMS sent and the reply")

        # too old: the conversation is over, the rules decide again
        self.env.cr.execute("UPDATE sms_message SET create_date = %s WHERE id = %s",
                            (fields.Datetime.now() - timedelta(days=31), log.id))
        self.env.invalidate_all()
        self.post_twilio('+14155550170', "new question")
        self.assertEqual(self.inbound('+14155550170')[-1].res_model, 'res.partner')
        self.env['ir.config_parameter'].set_param('sms_connector.conversation_days', 60)
        self.post_twilio('+14155550170', "again")
        self.assertEqual(self.inbound('+14155550170')[-1].res_model, 'sale.order')

        action = order.action_view_sms_conversation()
        thread = self.env['sms.conversation'].browse(action['res_id'])._messages()
        self.assertEqual(thread.mapped('direction'), ['outbound', 'inbound', 'inbound', 'inbound'])

    def test_a_failed_lookup_or_post_is_retried_by_the_provider_and_kept_once(self):
        """A fault while matching or posting answers an error: nothing is kept, the provider's retry is kept once."""
        customer = self.partner('Gil', '+14155550173')
        lead = self.env['crm.lead'].create({'name': 'Gil deal', 'phone': '+14155550174'})
        self.send_single(customer, "Your table is booked")
        Rule, Message = type(self.env['sms.match.rule']), type(self.env['sms.message'])
        faults = [(Rule, '_recent_conversation', '+14155550173', customer),
                  (Rule, '_find_records', '+14155550174', lead),
                  (Message, '_post_on_record', '+14155550173', customer)]
        sids = []
        for owner, method, number, record in faults:
            original, failed = getattr(owner, method), []

            def once(*args, original=original, failed=failed, **kwargs):
                if not failed:
                    failed.append(True)
                    raise psycopg2.OperationalError("connection lost")
                return original(*args, **kwargs)

            sid = new_sid()
            sids.append(sid)
            with patch.object(owner, method, once):
                self.assertNotEqual(self.post_twilio(number, f"after {method}", sid=sid).status_code, 200)
                stats.record('faults_injected')
                self.assertFalse(self.env['sms.message'].search([('provider_message_id', '=', sid)]))
                self.assertEqual(self.post_twilio(number, f"after {method}", sid=sid).status_code, 200)  # the retry
            self.assertEqual(self.post_twilio(number, f"after {method}", sid=sid).status_code, 200)  # a late repeat
            kept = self.env['sms.message'].search([('provider_message_id', '=', sid)])
            self.assertEqual((kept.res_model, kept.res_id), (record._name, record.id))
            self.assertEqual(len(self.sms_posts(record).filtered(lambda m, method=method: method in str(m.body))), 1)
        stored = self.env['sms.message'].search([('provider_message_id', 'in', sids)]).mapped('provider_message_id')
        self.assertEqual(stats.record_delivery(stored, sids), (0, 0), "duplicates, lost")

    def test_with_the_conversation_window_off_the_rules_decide(self):
        customer = self.partner('Fay', '+14155550171')
        order = self.env['sale.order'].create({'partner_id': customer.id})
        self.assertEqual(self.send_single(order, "Your quotation is ready").state, 'sent')
        self.env['ir.config_parameter'].set_param('sms_connector.conversation_days', 0)
        self.post_twilio('+14155550171', "ok for me")
        message = self.inbound('+14155550171')
        self.assertEqual((message.res_model, message.res_id), ('res.partner', customer.id),
                         "no document is a conversation: the contact's rule matches")

    def test_a_number_that_texts_often_is_matched_from_its_own_rows(self):
        customer = self.partner('Fay', '+14155550172')
        order = self.env['sale.order'].create({'partner_id': customer.id})
        self.assertEqual(self.send_single(order, "Your quotation is ready").state, 'sent')
        # a log where this number replied 300 times after the SMS, among 3,000 SMS sent to others' documents
        self.env.cr.execute("""
            INSERT INTO sms_message (direction, state, number, purpose, company_id, res_model, res_id,
                                     create_date, write_date)
            SELECT 'inbound', 'received', '+14155550172', 'transactional', %(company)s, NULL, NULL, now(), now()
              FROM generate_series(1, 300)
            UNION ALL
            SELECT 'outbound', 'delivered', '+1415600' || lpad(i::text, 4, '0'), 'transactional', %(company)s,
                   'res.partner', i, now(), now()
              FROM generate_series(1, 3000) AS i
        """, {'company': self.env.company.id})
        self.env.cr.execute("ANALYZE sms_message")
        query = self.env['sms.match.rule']._recent_conversation_query('+14155550172', self.env.company)
        self.env.cr.execute("SET LOCAL enable_seqscan = off")  # a log this small may be read whole, a large one not
        plan = self.query_plan(query)
        self.assertEqual(plan.count('sms_message_number_idx'), 2, f"both lookups read the number's rows:\n{plan}")
        self.assertNotIn('sms_message_pkey', plan, "not the whole log walked backwards by id")
        self.assertLessEqual(self.rows_read(query, 'sms_message'), 2, "the one SMS sent to the number, once each")
        self.env.cr.execute("SET LOCAL enable_seqscan = on")
        self.post_twilio('+14155550172', "ok for me")
        self.assertEqual(self.inbound('+14155550172').filtered('body').res_model, 'sale.order')

    # inbox ---------------------------------------------------------------------
    def test_inbox_count_reads_only_the_replies_to_triage(self):
        self.post_twilio('+14155550193', "Who is this?")
        self.env.cr.execute("""
            INSERT INTO sms_message (direction, state, number, purpose, company_id, to_triage, create_date, write_date)
            SELECT 'inbound', 'received', '+1415800' || lpad(i::text, 4, '0'), 'transactional', %s, FALSE, now(), now()
              FROM generate_series(1, 3000) AS i
        """, [self.env.company.id])
        self.env.cr.execute("ANALYZE sms_message")
        query = self.env['sms.message']._search([('direction', '=', 'inbound'), ('to_triage', '=', True)])
        self.assertLessEqual(self.rows_read(query.select(SQL("count(*)")), 'sms_message'), 1, "not every received SMS")

    def test_unmatched_reply_lands_in_inbox_then_is_linked(self):
        self.post_twilio('+14155550190', "Who is this?")
        self.post_twilio('+14155550190', "Hello??")
        inbox = ast.literal_eval(self.env['ir.actions.act_window']._for_xml_id('sms_connector.sms_message_action_inbox')['domain'])
        unlinked = self.env['sms.message'].search(inbox)
        self.assertEqual(unlinked.mapped('body'), ["Hello??", "Who is this?"])
        self.assertFalse(unlinked.partner_id)

        prospect = self.env['res.partner'].create({'name': 'Gus'})
        action = unlinked[-1].action_link_record()
        wizard = self.env['sms.inbound.link'].with_context(action['context']).create({'record_ref': f'res.partner,{prospect.id}'})
        self.assertIn(('res.partner', 'Contact'), self.env['sms.inbound.link']._selection_record_models())
        wizard.action_link()
        self.assertEqual(set(unlinked.mapped('res_id')), {prospect.id}, "both SMS from that number are filed")
        self.assertEqual(unlinked.mapped('res_model'), ['res.partner', 'res.partner'])
        self.assertEqual(len(self.sms_posts(prospect)), 2)
        self.assertFalse(self.env['sms.message'].search(inbox))

    def test_inbox_creates_contact_or_lead(self):
        self.post_twilio('+14155550191', "I'd like a quote")
        self.post_twilio('+14155550192', "Interested in your offer")
        first, second = self.inbound('+14155550191'), self.inbound('+14155550192')
        action = first.action_create_partner()
        partner = self.env['res.partner'].browse(action['res_id'])
        self.assertEqual((partner.phone_sanitized, first.res_id, first.partner_id), ('+14155550191', partner.id, partner))
        self.assertEqual(len(self.sms_posts(partner)), 1)
        action = second.action_create_lead()
        lead = self.env['crm.lead'].browse(action['res_id'])
        self.assertEqual((lead.phone_sanitized, second.res_model, second.res_id), ('+14155550192', 'crm.lead', lead.id))
        self.assertIn("Interested in your offer", str(lead.description))
        # the next SMS from these numbers is matched at once
        self.post_twilio('+14155550191', "so?")
        self.assertEqual(self.inbound('+14155550191')[-1].res_id, partner.id)

    # opt-out ---------------------------------------------------------------------
    def test_stop_keywords_in_any_case_accent_and_language(self):
        bodies = ["stop", " Stop ", "ARRÊT", "arret", "Arrêt.", "STOPALL", "unsubscribe", "СТОП", "Afmelden", "QUIT!"]
        for index, body in enumerate(bodies):
            number = f'+1415555{index + 200:04d}'
            response = self.post_twilio(number, body)
            self.assertEqual(response.content, TWIML_EMPTY, body)
            self.assertTrue(self.blacklisted(number), body)
            self.assertEqual(self.inbound(number).keyword, 'stop', body)
        for body in ("stop calling me at night please", "Please stop", "stopp", ""):
            number = '+14155550300'
            self.post_twilio(number, body)
            self.assertFalse(self.blacklisted(number), body)
        entry = self.env['phone.blacklist'].search([('number', '=', '+14155550202')])
        note = entry.message_ids.filtered(lambda m: 'Opted out' in str(m.body))
        self.assertIn('ARRÊT', str(note.body))
        self.assertIn('Twilio test', str(note.body))
        self.assertIn(fields.Date.today().isoformat(), str(note.body))

    def test_keywords_added_or_archived_apply_to_the_next_sms(self):
        """Keywords are cached per process: a change applies at once (as admins change them)."""
        self.post_twilio('+14155550220', "Pause")
        self.assertFalse(self.blacklisted('+14155550220'))
        keyword = self.env['sms.keyword'].create({'keyword': 'PAUSE', 'action': 'stop', 'language': 'en'})
        self.post_twilio('+14155550221', "pause")
        self.assertTrue(self.blacklisted('+14155550221'), "the new keyword is recognised")
        keyword.active = False
        self.post_twilio('+14155550222', "PAUSE")
        self.assertFalse(self.blacklisted('+14155550222'), "the archived keyword is not")
        self.assertEqual(self.inbound('+14155550222').keyword, False)

    def test_rules_added_or_archived_apply_to_the_next_sms(self):
        """Match rules are cached per process: a change applies at once."""
        lead = self.env['crm.lead'].create({'name': 'Deal', 'phone': '+14155550225'})
        self.rules['lead'].active = False
        self.post_twilio('+14155550225', "first")
        self.assertFalse(self.inbound('+14155550225').res_model, "no active rule for leads: to the Inbox")
        self.env['sms.match.rule'].create({
            'name': 'Leads again', 'model_id': self.env.ref('crm.model_crm_lead').id, 'phone_fields': 'phone_sanitized'})
        self.post_twilio('+14155550225', "second")
        self.assertEqual((self.inbound('+14155550225')[-1].res_model, self.inbound('+14155550225')[-1].res_id),
                         ('crm.lead', lead.id))

    def test_start_opts_back_in_and_twilio_opt_out_type(self):
        number = '+14155550210'
        self.post_twilio(number, "STOP")
        self.assertTrue(self.blacklisted(number))
        self.post_twilio(number, " start ")
        self.assertFalse(self.blacklisted(number))
        entry = self.env['phone.blacklist'].with_context(active_test=False).search([('number', '=', number)])
        self.assertFalse(entry.active)
        self.assertTrue(entry.message_ids.filtered(lambda m: 'Opted back in' in str(m.body)))
        self.post_twilio(number, "Yes")
        self.assertFalse(self.blacklisted(number))
        # Twilio's Advanced Opt-Out recognised a keyword of its own
        self.post_twilio(number, "Arrête tout", OptOutType='STOP')
        self.assertTrue(self.blacklisted(number))
        self.post_twilio(number, "Reprendre", OptOutType='START')
        self.assertFalse(self.blacklisted(number))

    def test_help_keywords_are_answered(self):
        response = self.post_twilio('+14155550220', "help")
        self.assertEqual(response.content.decode(), '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
                         'Reply STOP to unsubscribe, START to subscribe again.</Message></Response>')
        response = self.post_twilio('+14155550220', "Aide")
        self.assertIn('<Message>Répondez STOP pour vous désabonner', response.content.decode())
        thread = self.env['sms.message'].search([('number', '=', '+14155550220')], order='id')
        self.assertEqual(thread.mapped('direction'), ['inbound', 'outbound', 'inbound', 'outbound'])
        self.assertFalse(self.blacklisted('+14155550220'))
        # Twilio answered its own HELP already: no second answer
        response = self.post_twilio('+14155550220', "HELP", OptOutType='HELP')
        self.assertEqual(response.content, TWIML_EMPTY)
        # the answer is configurable
        self.env.ref('sms_connector.sms_keyword_info').reply = "Call us at 555-0100."
        self.assertIn('<Message>Call us at 555-0100.</Message>', self.post_twilio('+14155550220', "INFO").content.decode())
        self.env.ref('sms_connector.sms_keyword_info').reply = False
        self.assertEqual(self.post_twilio('+14155550220', "info").content, TWIML_EMPTY)
        # Octopush cannot answer in the webhook: the answer is sent through the same gateway
        self.post_octopush({'message_id': 'sms_1', 'number': '+33612345601', 'text': 'aide',
                            'sim_card_number': '+33700000001', 'reception_date': '2026-11-21 10:00:00'})
        # queued by the request, sent after its commit (test cursors drop post-commit hooks)
        self.send_now(self.env['sms.sms'].search([('number', '=', '+33612345601')]))
        (request,) = self.fake.octopush_requests
        self.assertEqual([r['phone_number'] for r in request['payload']['recipients']], ['+33612345601'])
        self.assertTrue(request['payload']['text'].startswith('Répondez STOP'))

    def test_opted_out_number_gets_no_marketing(self):
        customer = self.partner('Hal', '+14155550230')
        other = self.partner('Ida', '+14155550231')
        self.post_twilio('+14155550230', "Stop")
        self.send_mass(customer | other, body="Summer sale: -20%")
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], ['+14155550231'])
        logs = self.env['sms.message'].search([('direction', '=', 'outbound'), ('number', '=', '+14155550230')])
        self.assertEqual(logs.mapped('state'), ['canceled'])
        # and an SMS mailing skips it too
        mailing = self.env['mailing.mailing'].create({
            'subject': 'Promo', 'mailing_type': 'sms', 'body_plaintext': 'Promo for you',
            'mailing_model_id': self.env['ir.model']._get_id('res.partner'),
            'mailing_domain': repr([('id', 'in', (customer | other).ids)]), 'sms_allow_unsubscribe': False,
        })
        self.fake.reset()
        mailing.action_send_sms()  # queues the SMS for the queue cron
        self.send_now(self.env['sms.sms'].search([('mailing_id', '=', mailing.id), ('state', '=', 'outgoing')]))
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], ['+14155550231'])
        trace = mailing.mailing_trace_ids.filtered(lambda t: t.sms_number == '+14155550230')
        self.assertEqual(trace.trace_status, 'cancel')

    def test_provider_blacklist_errors_opt_the_number_out(self):
        customer = self.partner('Jon', '+14155550240')
        log = self.send_single(customer, "Reminder")
        status_path = f"/sms_connector/status/{self.twilio.id}/{self.twilio.webhook_token}"
        params = {'MessageSid': log.provider_message_id, 'MessageStatus': 'undelivered', 'ErrorCode': '21610'}
        signature = self.twilio_signature(self.base_url() + status_path, params)
        self.assertEqual(self.url_open(status_path, data=params, headers={'X-Twilio-Signature': signature}).status_code, 200)
        self.assertTrue(self.blacklisted('+14155550240'))

        french = self.partner('Léa', '06 12 34 56 98', country='base.fr')
        log = self.send_single(french, "Bonjour")
        body = {'message_id': log.provider_message_id, 'number': '+33612345698', 'status': 'BLACKLISTED_NUMBER',
                'delivery_date': '2026-11-21 10:00:00'}
        path = f"/sms_connector/status/{self.octopush.id}/{self.octopush.webhook_token}"
        self.assertEqual(self.url_open(path, data=json.dumps(body), headers={'Content-Type': 'application/json'}).status_code, 200)
        self.assertTrue(self.blacklisted('+33612345698'))

    # replying --------------------------------------------------------------------
    def test_replies_leave_from_the_gateway_and_number_the_sms_came_in_on(self):
        gateway_b = self.env['sms.gateway'].create({
            'name': 'Twilio B', 'provider': 'twilio', 'base_url': self.fake.url, 'sequence': 30,
            'account': TWILIO_SID_B, 'secret': TWILIO_TOKEN_B, 'sender': '+15005550007'})
        path_b = f"/sms_connector/inbound/{gateway_b.id}/{gateway_b.webhook_token}"
        customer = self.partner('Kim', '+14155550250')
        stranger = self.partner('Lou', '+14155550251')
        self.post_twilio('+14155550250', "Is my order ready?", path=path_b, to='+15005550008', token=TWILIO_TOKEN_B)

        # from the chatter composer on the record
        self.send_single(customer, "Yes, come by at 5pm")
        sent = self.fake.twilio_messages[-1]
        self.assertEqual((sent['account_sid'], sent['from'], sent['to']), (TWILIO_SID_B, '+15005550008', '+14155550250'))
        self.assertEqual(self.log_of(customer).filtered(lambda m: m.direction == 'outbound').gateway_id, gateway_b)
        # somebody who never wrote to us: the normal routing
        self.send_single(stranger, "Hello")
        sent = self.fake.twilio_messages[-1]
        self.assertEqual((sent['account_sid'], sent['from']), (TWILIO_SID, '+15005550006'))

        # from the inbox, on an SMS nobody was matched to
        self.post_twilio('+14155550252', "Call me", path=path_b, to='+15005550009', token=TWILIO_TOKEN_B)
        unmatched = self.inbound('+14155550252')
        self.assertFalse(unmatched.res_id)
        wizard = self.env['sms.inbound.reply'].with_context(unmatched.action_reply()['context']).create({'body': "Sure, when?"})
        wizard.action_send()
        self.run_postcommit()
        sent = self.fake.twilio_messages[-1]
        self.assertEqual((sent['account_sid'], sent['from'], sent['to'], sent['body']),
                         (TWILIO_SID_B, '+15005550009', '+14155550252', "Sure, when?"))
        # from the inbox on a matched SMS: posted in the chatter too
        message = self.inbound('+14155550250')
        self.env['sms.inbound.reply'].create({'message_id': message.id, 'body': "See you"}).action_send()
        self.run_postcommit()
        self.assertEqual((self.fake.twilio_messages[-1]['from'], self.fake.twilio_messages[-1]['body']), ('+15005550008', "See you"))
        self.assertIn("See you", str(self.sms_posts(customer)[0].body))

        # the gateway the SMS came in on is archived: the normal routing takes over
        gateway_b.action_archive()
        self.send_single(customer, "We moved to a new number")
        sent = self.fake.twilio_messages[-1]
        self.assertEqual((sent['account_sid'], sent['from']), (TWILIO_SID, '+15005550006'))
