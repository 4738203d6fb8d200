"""Sending from every kind of document, routing by company and country, provider errors.

Provider traffic goes over real HTTP to the loopback fake provider (tests/fake_providers).
"""
from odoo.tests import tagged

from .common import TWILIO_SID, TWILIO_SID_B, TWILIO_TOKEN_B, FakeProviderCase


@tagged('post_install', '-at_install')
class TestSendPaths(FakeProviderCase):

    def test_single_send_from_partner_goes_through_twilio(self):
        partner = self.partner('Ann', '(415) 555-2671')
        log = self.send_single(partner, "Your order is ready")
        self.assertEqual(len(self.fake.twilio_messages), 1)
        sent = self.fake.twilio_messages[0]
        self.assertEqual((sent['account_sid'], sent['to'], sent['from'], sent['body']),
                         (TWILIO_SID, '+14155552671', '+15005550006', "Your order is ready"))
        self.assertEqual(sent['status_callback'], self.twilio._webhook_url('status'))
        self.assertRecordValues(log, [{
            'state': 'sent', 'gateway_id': self.twilio.id, 'provider_message_id': sent['sid'],
            'number': '+14155552671', 'partner_id': partner.id, 'segments': 1, 'user_id': self.env.uid,
        }])
        notification = self.env['mail.notification'].search([('mail_message_id.res_id', '=', partner.id),
                                                             ('mail_message_id.model', '=', 'res.partner'),
                                                             ('notification_type', '=', 'sms')])
        self.assertEqual(notification.notification_status, 'pending')

    def test_single_send_from_lead_order_and_invoice(self):
        customer = self.partner('Bob', '+1 415 555 2672')
        lead = self.env['crm.lead'].create({'name': 'Big deal', 'partner_id': customer.id, 'phone': '+14155552673'})
        order = self.env['sale.order'].create({'partner_id': customer.id})
        invoice = self.env['account.move'].create({'move_type': 'out_invoice', 'partner_id': customer.id})
        for record in (lead, order, invoice):
            log = self.send_single(record, f"About {record.display_name}")
            self.assertEqual(len(log), 1, record._name)
            self.assertEqual(log.state, 'sent', f"{record._name}: {log.error_message}")
            self.assertEqual(log.gateway_id, self.twilio)
            self.assertEqual(record.sms_message_count, 1)
        self.assertEqual(len(self.fake.twilio_messages), 3, "exactly one provider request per message")
        self.assertEqual(self.fake.twilio_messages[0]['to'], '+14155552673', "the lead's own number")
        self.assertEqual(customer.sms_message_count, 3, "the lead, order and invoice SMS show on the customer")

    def test_mass_send_routes_by_country_and_batches_octopush(self):
        french = self.env['res.partner'].browse([
            self.partner(f'FR {i}', f'06 12 34 56 7{i}', country='base.fr').id for i in range(3)])
        americans = self.env['res.partner'].browse([
            self.partner(f'US {i}', f'415 555 267{i}').id for i in range(2)])
        self.send_mass(french | americans, body="Sale starts today")
        self.assertEqual(len(self.fake.octopush_requests), 1, "one Octopush request for the same text")
        payload = self.fake.octopush_requests[0]['payload']
        self.assertEqual(sorted(r['phone_number'] for r in payload['recipients']),
                         ['+33612345670', '+33612345671', '+33612345672'])
        self.assertEqual((payload['type'], payload['purpose'], payload['sender']), ('sms_premium', 'alert', 'MyShop'))
        self.assertEqual(len(self.fake.twilio_messages), 2)
        logs = self.env['sms.message'].search([('partner_id', 'in', (french | americans).ids)])
        self.assertEqual(set(logs.mapped('state')), {'sent'})
        self.assertEqual(logs.filtered(lambda m: m.number.startswith('+33')).gateway_id, self.octopush)
        ticket = self.fake.octopush_requests[0]['sms_ticket']
        self.assertEqual(set(logs.filtered(lambda m: m.number.startswith('+33')).mapped('provider_message_id')), {ticket})
        self.assertTrue(all(log.res_model == 'res.partner' and log.res_id for log in logs),
                        "mass sends are tracked to their document too")

    def test_octopush_carries_500_recipients_per_request(self):
        sms = self.env['sms.sms'].create([
            {'number': f'+3361{i:07d}', 'body': 'Flash sale', 'partner_id': False} for i in range(1201)])
        self.send_now(sms)
        sizes = sorted(len(r['payload']['recipients']) for r in self.fake.octopush_requests)
        self.assertEqual(sizes, [201, 500, 500])
        self.assertEqual(len({r['request_id'] for r in self.fake.octopush_requests}), 3)
        self.assertEqual(self.fake.twilio_messages, [])
        self.assertEqual(self.env['sms.message'].search_count(
            [('sms_uuid', 'in', sms.mapped('uuid')), ('state', '=', 'sent')]), 1201)

    def test_first_claim_is_short_but_a_full_provider_request(self):
        """A run starts sending after claiming a quarter of a batch, at least a first wave of full requests."""
        self.env['ir.config_parameter'].sudo().set_param('sms_connector.batch_size', 100)
        self.env['sms.sms'].create([{'number': f'+1415555{i:04d}', 'body': 'Hi'} for i in range(130)])
        self.env['sms.sms'].create([{'number': f'+3361{i:07d}', 'body': 'Hi'} for i in range(10)])
        self.env.flush_all()
        engine = self.env['sms.send.engine']
        self.assertEqual(engine._claim(None, set(), share=4).count, 100, "Octopush takes 500 per request")
        self.octopush.action_archive()
        self.assertEqual(engine._claim(None, set(), share=4).count, 25)
        self.assertEqual(engine._claim(None, set(), share=20).count, 8, "Twilio's first wave: 8 requests")
        self.assertEqual(engine._claim(None, set()).count, 7)

    def test_costs_recorded_in_bulk_match_the_orm_rules(self):
        """The engine sets currency and company-currency cost in SQL: the same as recomputing them."""
        eur = self.env.ref('base.EUR')
        self.env['res.currency.rate'].create({'currency_id': eur.id, 'rate': 0.8, 'name': '2020-01-01'})
        self.octopush.currency_id = eur
        sms = self.env['sms.sms'].create([{'number': f'+3361{i:07d}', 'body': 'Promo'} for i in range(3)])
        self.send_now(sms)
        logs = self.env['sms.message'].search([('sms_uuid', 'in', sms.mapped('uuid'))])
        self.assertEqual(set(logs.mapped('state')), {'sent'})
        self.assertTrue(all(log.cost > 0 for log in logs))
        bulk = [(log.currency_id, log.cost_company) for log in logs]
        logs.modified(['cost', 'cost_currency', 'gateway_id', 'sent_date'])
        logs.flush_recordset()
        self.assertEqual([(log.currency_id, log.cost_company) for log in logs], bulk)
        self.assertAlmostEqual(logs[0].cost_company, logs[0].cost * 1.25, places=4)

    def test_queue_cron_groups_companies_and_gateways(self):
        company_b = self.env['res.company'].create({'name': 'Company B', 'country_id': self.env.ref('base.us').id})
        gateway_b = self.env['sms.gateway'].create({
            'name': 'Twilio B', 'provider': 'twilio', 'company_id': company_b.id, 'base_url': self.fake.url,
            'account': TWILIO_SID_B, 'secret': TWILIO_TOKEN_B, 'sender': '+15005550006',
        })
        partner_a = self.partner('A', '+14155550101')
        partner_b = self.partner('B', '+14155550102', company_id=company_b.id)
        queued = self.send_mass(partner_a, force_send=False) | self.send_mass(partner_b, force_send=False)
        queued |= self.env['sms.sms'].create({'number': '+33612345699', 'body': 'fr', 'record_company_id': company_b.id})
        self.assertEqual(set(queued.mapped('state')), {'outgoing'})
        self.env.flush_all()
        self.env['sms.send.engine']._process()  # the queue cron's engine, over mixed companies
        self.env.invalidate_all()
        by_account = {m['to']: m['account_sid'] for m in self.fake.twilio_messages}
        self.assertEqual(by_account, {'+14155550101': TWILIO_SID, '+14155550102': TWILIO_SID_B,
                                      '+33612345699': TWILIO_SID_B},
                         "company B's French SMS uses company B's only gateway, not company A's Octopush")
        self.assertEqual(self.fake.octopush_requests, [])
        self.assertEqual(self.log_of(partner_b).gateway_id, gateway_b)

    def test_no_gateway_for_country_fails_clearly(self):
        self.twilio.active = False
        try:
            log = self.send_mass(self.partner('Far', '+14155550199'))
        finally:
            self.twilio.active = True
        log = self.env['sms.message'].search([('sms_uuid', '=', log.uuid)])
        self.assertEqual(log.state, 'failed')
        self.assertIn('No active SMS gateway', log.error_message)
        self.assertEqual(self.fake.requests_log, [])

    def test_invalid_number_fails_before_any_provider_call(self):
        partner = self.partner('Typo', '12', country='base.fr')
        sms = self.send_mass(partner)
        sms = self.env['sms.sms'].search([('id', 'in', sms.ids)])
        log = self.env['sms.message'].search([('partner_id', '=', partner.id)])
        self.assertEqual(log.state, 'canceled', "Odoo's composer cancels numbers it cannot format")
        raw = self.env['sms.sms'].create({'number': '0612', 'body': 'x'})
        self.send_now(raw)
        self.assertEqual(raw.failure_type, 'sms_number_format')
        raw_log = self.env['sms.message'].search([('sms_uuid', '=', raw.uuid)])
        self.assertEqual(raw_log.state, 'failed')
        self.assertIn('Invalid phone number', raw_log.error_message)
        self.assertEqual(self.fake.requests_log, [], "no provider request for unusable numbers")

    def test_twilio_error_codes_map_to_odoo_failures(self):
        sms = self.env['sms.sms'].create([
            {'number': '+15005550004', 'body': 'opted out'},  # 21610
            {'number': '+15005550009', 'body': 'landline'},  # 21614
            {'number': '+14155550123', 'body': 'fine'},
        ])
        self.send_now(sms)
        by_number = {s.number: s for s in sms}
        self.assertEqual(by_number['+15005550004'].failure_type, 'sms_optout')
        self.assertEqual(by_number['+15005550009'].failure_type, 'sms_number_format')
        self.assertEqual(by_number['+14155550123'].state, 'pending')
        logs = {m.number: m for m in self.env['sms.message'].search([('sms_uuid', 'in', sms.mapped('uuid'))])}
        self.assertEqual((logs['+15005550004'].state, logs['+15005550004'].error_code), ('opted_out', '21610'))
        self.assertTrue(self.env['phone.blacklist'].search([('number', '=', '+15005550004')]),
                        "a provider opt-out refusal blacklists the number")
        self.assertTrue(logs['+15005550004'].error_message)

    def test_one_bad_reply_only_affects_its_message(self):
        """A 502 page for the 3rd request: the 9 accepted SMS are sent, the 10th waits for a retry."""
        self.fake.inject_faults('http_502_html', count=1)
        sms = self.env['sms.sms'].create([{'number': f'+1415555{i:04d}', 'body': f'n{i}'} for i in range(10)])
        self.send_now(sms)
        self.assertEqual(len(self.fake.twilio_messages), 9)
        self.assertEqual(sorted(sms.mapped('state')), ['outgoing'] + ['pending'] * 9)
        waiting = sms.filtered(lambda s: s.state == 'outgoing')
        self.assertEqual(waiting.sms_connector_attempts, 1)
        self.assertTrue(waiting.sms_connector_next_attempt)
        log = self.env['sms.message'].search([('sms_uuid', '=', waiting.uuid)])
        self.assertEqual(log.state, 'queued')
        self.assertIn('Twilio answered HTTP 502', log.error_message)
        # once due, the retry sends it exactly once
        waiting.sms_connector_next_attempt = '2000-01-01 00:00:00'
        self.env.flush_all()
        self.env['sms.send.engine']._process()
        self.env.invalidate_all()
        self.assertEqual(waiting.state, 'pending')
        self.assertEqual(sorted(m['to'] for m in self.fake.twilio_messages), sorted(sms.mapped('number')))

    def test_octopush_wrong_credentials(self):
        self.octopush.secret = 'wrong'
        sms = self.env['sms.sms'].create({'number': '+33612345678', 'body': 'x'})
        self.send_now(sms)
        self.assertEqual(sms.failure_type, 'sms_acc')
        self.assertEqual(self.fake.octopush_requests, [])

    def test_gateway_buttons(self):
        self.assertEqual(self.twilio.action_check_balance()['params']['message'],
                         'Twilio test: 42.5 USD left.')
        self.assertIn('active', self.twilio.action_test_connection()['params']['message'])
        self.assertIn('12.54 EUR', self.octopush.action_check_balance()['params']['message'])
        self.octopush.secret = 'wrong'
        with self.assertRaisesRegex(Exception, 'Octopush FR test'):
            self.octopush.action_test_connection()
