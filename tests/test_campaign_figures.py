"""SMS campaigns as the marketer sees them: test report, skipped recipients, cost estimate, statistics, money.

Every test runs as a marketer (SMS marketing user with SMS / User, not an administrator) and reaches
features the way the mailing form does: its buttons and fields.
"""
import base64
import csv
import io
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.sms_connector.providers import InboundSms, StatusReport

from .common import FakeProviderCase

STOP = "STOP au 30101"


@tagged('post_install', '-at_install')
class TestCampaignFigures(FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marketer = new_test_user(
            cls.env, 'campaign_marketer', name="Marketer",
            groups='base.group_user,mass_mailing.group_mass_mailing_user,sms_connector.group_sms_user')

    def mailing(self, partners, body, **vals):
        """A draft SMS mailing the marketer created on contacts."""
        return self.env['mailing.mailing'].with_user(self.marketer).create({
            'subject': 'Promo', 'mailing_type': 'sms', 'body_plaintext': body,
            'mailing_model_id': self.env['ir.model']._get_id('res.partner'),
            'mailing_domain': repr([('id', 'in', partners.ids)]), 'sms_allow_unsubscribe': False, **vals,
        })

    def run_test_campaign(self, mailing):
        """Click "Test campaign"; the rows of the CSV report attached to the chatter message."""
        with freeze_time('2026-03-04 10:00:00', tick=True):  # Wednesday 11:00 in Paris
            mailing.action_sms_connector_test_campaign()
        attachment = mailing.message_ids[:1].attachment_ids
        self.assertEqual(len(attachment), 1)
        text = base64.b64decode(attachment.sudo().datas).decode()
        return list(csv.reader(io.StringIO(text, newline=''), delimiter=';')), text

    def send(self, mailing):
        """Click "Send" (queue the mailing), then what the crons do: render, then send."""
        mailing.action_put_in_queue()
        mailing.sudo().action_send_sms()  # the mass mailing cron (it commits, so called directly)
        self.env.flush_all()
        self.env['sms.send.engine'].sudo()._process()
        self.env.invalidate_all()

    def log(self, mailing, **domain):
        return self.env['sms.message'].with_user(self.marketer).search(
            [('mailing_id', '=', mailing.id)] + [(k, '=', v) for k, v in domain.items()], order='id')

    # test campaign report ----------------------------------
    def test_report_skips_what_odoo_skips_one_reason_per_line(self):
        ann = self.partner('Ann', '+14155550401')
        ann_again = self.partner('Ann again', '+1 415-555-0401')  # the same number: Odoo sends once
        zoe = self.partner('Zoé', '06 12 34 56 90', country='base.fr')
        bad = self.partner('Bad', '12', country='base.fr')
        none = self.partner('Nobody', False)
        hugo = self.partner('Hugo', '06 98 76 54 90', country='base.fr')  # opted out, French
        self.env['phone.blacklist'].sudo().add('+33698765490')
        mailing = self.mailing(ann | ann_again | zoe | bad | none | hugo, f"Hello {{{{ object.name }}}} {STOP}")
        self.assertEqual(mailing.sms_connector_invalid_numbers, 'skip', "as Odoo does by default")

        rows, _text = self.run_test_campaign(mailing)
        self.assertEqual(rows[0], ['status', 'detail', 'number', 'name', 'record', 'sms'])
        by_name = {row[3]: row for row in rows[1:]}
        self.assertEqual(by_name['Ann'][:5], ['ok', '', "'+14155550401", 'Ann', f'res.partner,{ann.id}'])
        self.assertEqual(by_name['Ann again'][:2], ['skipped', "Skipped (duplicate: this number already receives the SMS)"])
        self.assertEqual(by_name['Zoé'][0], 'ok')
        self.assertEqual(by_name['Bad'][:3], ['skipped', 'Skipped (invalid phone number)', '12'])
        self.assertEqual(by_name['Nobody'][:2], ['skipped', 'Skipped (no phone number)'])
        self.assertEqual(by_name['Hugo'][:2], ['skipped', 'Skipped (opted out)'])
        self.assertRecordValues(mailing, [{'sms_connector_test_recipients': 2, 'sms_connector_test_errors': 0,
                                           'sms_connector_test_summary': "2 recipients, 0 errors"}])
        self.assertIn("Test campaign: 2 recipients, 0 errors. Skipped recipients: 1 duplicates, "
                      "1 with an invalid number, 1 without a number, 1 opted out. ", mailing.message_ids[:1].body)

        # the marketer chooses that invalid numbers block the send instead
        mailing.sms_connector_invalid_numbers = 'block'
        rows, _text = self.run_test_campaign(mailing)
        by_name = {row[3]: row for row in rows[1:]}
        self.assertEqual(by_name['Bad'][:2], ['error', 'Invalid phone number'])
        self.assertEqual(by_name['Nobody'][:2], ['error', 'No phone number'])
        self.assertEqual(mailing.sms_connector_test_summary, "4 recipients, 2 errors")
        with self.assertRaisesRegex(UserError, "found 2 errors"):
            mailing.action_put_in_queue()
        mailing.sms_connector_invalid_numbers = 'skip'
        self.run_test_campaign(mailing)
        mailing.action_put_in_queue()  # skipped, not blocking
        self.assertEqual(mailing.state, 'in_queue')

    def test_blocking_invalid_numbers_holds_sending_even_untested(self):
        ann = self.partner('Ann', '+14155550410')
        bad = self.partner('Bad', '12', country='base.fr')
        mailing = self.mailing(ann | bad, "Sale today", sms_connector_invalid_numbers='block')
        with self.assertRaisesRegex(UserError, "1 recipients of Promo have no valid phone number"):
            mailing.action_put_in_queue()
        mailing.sms_connector_invalid_numbers = 'skip'
        mailing.action_put_in_queue()
        self.assertEqual(mailing.state, 'in_queue')

    def test_opted_out_recipient_is_skipped_not_a_missing_mention_error(self):
        hugo = self.partner('Hugo', '06 98 76 54 91', country='base.fr')
        self.env['phone.blacklist'].sudo().add('+33698765491')
        mailing = self.mailing(hugo, "Soldes sans mention")
        rows, _text = self.run_test_campaign(mailing)
        self.assertEqual(rows[1][:4], ['skipped', 'Skipped (opted out)', "'+33698765491", 'Hugo'])
        self.assertEqual(mailing.sms_connector_test_errors, 0)

    def test_report_neutralises_formulas_and_line_breaks(self):
        evil = self.partner('=HYPERLINK("evil.example/x";"click")', '+14155550402')
        crlf = self.partner('Eve\r\n=1+1;"x"', '+14155550403')
        tab = self.partner('\t@SUM(A1)', '+14155550404')
        mailing = self.mailing(evil | crlf | tab, "{{ object.name }}")
        rows, text = self.run_test_campaign(mailing)
        self.assertEqual(len(rows), 4, "a line break in a name does not inject a row")
        by_number = {row[2]: row for row in rows[1:]}
        self.assertEqual(by_number["'+14155550402"][3], '\'=HYPERLINK("evil.example/x";"click")')
        self.assertEqual(by_number["'+14155550402"][5], '\'=HYPERLINK("evil.example/x";"click")')
        self.assertEqual(by_number["'+14155550403"][3].replace('\r', ''), 'Eve\n=1+1;"x"')
        self.assertEqual(by_number["'+14155550404"][3], "'@SUM(A1)")  # the name is stripped
        self.assertTrue(text.startswith('"status";"detail"'), "every field is quoted")
        self.assertEqual(text.count('"\r\n"'), 3, "rows end only where a row ends")
        self.assertNotIn(';=', text)

    def test_preview_recipient_is_a_record_picker(self):
        ann = self.partner('Ann', '+14155550405')
        bob = self.partner('Bob', '+14155550406')
        mailing = self.mailing(ann | bob, "Hi {{ object.name }}")
        field = mailing.fields_get(['sms_connector_preview_res_id'])['sms_connector_preview_res_id']
        self.assertEqual((field['type'], field['model_field']), ('many2one_reference', 'mailing_model_real'))
        arch = self.env['mailing.mailing'].with_user(self.marketer).get_views([(False, 'form')])['views']['form']['arch']
        self.assertIn('name="sms_connector_preview_res_id" widget="many2one_reference"', arch)
        with Form(mailing) as form:
            form.sms_connector_preview_res_id = bob.id
        self.assertEqual(mailing.sms_connector_preview_body, "Hi Bob")
        # the client reads it as a record (name shown), like a many2one
        data = mailing.web_read({'sms_connector_preview_res_id': {'fields': {'display_name': {}}},
                                 'mailing_model_real': {}})[0]
        self.assertEqual(data['sms_connector_preview_res_id'], {'id': bob.id, 'display_name': 'Bob'})
        # another recipient model: the preview record is reset
        mailing.mailing_model_id = self.env['ir.model']._get_id('crm.lead')
        self.assertFalse(mailing.sms_connector_preview_res_id)

    def test_marketer_picks_preview_recipient_and_tests_in_the_browser(self):
        self.twilio.price_per_segment = 0.05
        ann = self.partner('Ann Tour', '+14155550407')
        bob = self.partner('Bob Tour', '+14155550408')
        ann_again = self.partner('Ann Tour again', '+14155550407')
        hugo = self.partner('Hugo Tour', '+14155550409')
        self.env['phone.blacklist'].sudo().add('+14155550409')
        mailing = self.mailing(ann | bob | ann_again | hugo, "Hi {{ object.name }}")
        self.start_tour(f'/odoo/action-mass_mailing_sms.mailing_mailing_action_sms/{mailing.id}',
                        'sms_connector_campaign_tour', login=self.marketer.login, timeout=60)
        self.env.invalidate_all()
        self.assertEqual(mailing.sms_connector_preview_res_id, bob.id)
        self.assertEqual(mailing.sms_connector_test_summary, "2 recipients, 0 errors")

    # cost estimate -------------------------------------------------------
    def test_estimate_per_destination_country_and_gateway(self):
        eur, usd = self.env.ref('base.EUR'), self.env.ref('base.USD')
        self.env['res.currency.rate'].create({'currency_id': eur.id, 'rate': 0.5, 'name': '2020-01-01'})
        self.octopush.write({'price_per_segment': 0.045, 'currency_id': eur.id})
        self.twilio.write({'price_per_segment': 0.05, 'currency_id': usd.id, 'price_ids': [Command.create({
            'country_id': self.env.ref('base.ca').id, 'price': 0.03})]})
        fr = self.env['res.partner'].browse([self.partner(f'FR {i}', f'06 12 34 56 {70 + i}', country='base.fr').id
                                             for i in range(3)])
        us = self.env['res.partner'].browse([self.partner(f'US {i}', f'+1415555041{i}').id for i in range(7)])
        ca = self.partner('CA', '+14165550123', country='base.ca')
        dup = self.partner('US 0 again', '+14155550410')
        opted_out = self.partner('Opted out', '+14155550420')
        self.env['phone.blacklist'].sudo().add('+14155550420')
        mailing = self.mailing(fr | us | ca | dup | opted_out, "Sale today")
        self.assertEqual(mailing.sms_connector_preview_segments, 1)
        # 3 FR x 0.045 EUR (= 0.27 USD at 1 EUR = 2 USD) + 7 US x 0.05 USD + 1 CA x 0.03 USD
        self.assertAlmostEqual(mailing.sms_connector_estimated_cost, 3 * 0.045 * 2 + 7 * 0.05 + 0.03)
        self.assertEqual(mailing.sms_connector_currency_id, usd)
        detail = mailing.sms_connector_estimate_detail
        self.assertIn("France via Octopush FR test: 3 SMS of 1 part(s) at 0.045 EUR", detail)
        self.assertIn("United States via Twilio test: 7 SMS of 1 part(s) at 0.05 USD", detail)
        self.assertIn("Canada via Twilio test: 1 SMS of 1 part(s) at 0.03 USD", detail)
        self.assertIn("converted to USD with Odoo's currency rates", detail)
        # one currency: no conversion
        mailing.mailing_domain = repr([('id', 'in', us.ids)])
        self.assertAlmostEqual(mailing.sms_connector_estimated_cost, 0.35)
        self.assertNotIn("converted", mailing.sms_connector_estimate_detail)

    def test_estimate_is_grouped_sql_not_per_recipient(self):
        self.twilio.price_per_segment = 0.05
        few = self.env['res.partner'].browse([self.partner(f'A{i}', f'+1415555050{i}').id for i in range(3)])
        many = self.env['res.partner'].browse([self.partner(f'B{i}', f'+141555506{i:02d}').id for i in range(60)])
        counts = []
        for partners in (few, few, many):  # the first run warms the caches up
            mailing = self.mailing(partners, "Sale today")
            mailing.invalidate_recordset()
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            self.assertAlmostEqual(mailing.sms_connector_estimated_cost, len(partners) * 0.05)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[1], counts[2], "the number of queries does not grow with the audience")

    # skipped recipients in SMS Activity and statistics ----------------
    def test_skipped_recipients_are_logged_with_reason_and_counted(self):
        ann = self.partner('Ann', '+14155550430')
        ann_again = self.partner('Ann again', '+14155550430')
        bad = self.partner('Bad', '12', country='base.fr')
        hugo = self.partner('Hugo', '+14155550431')
        self.env['phone.blacklist'].sudo().add('+14155550431')
        mailing = self.mailing(ann | ann_again | bad | hugo, "Sale today")
        self.send(mailing)
        sent = self.log(mailing, state='sent')
        self.assertEqual(sent.mapped('number'), ['+14155550430'])
        opted_out = self.log(mailing, state='opted_out')
        self.assertRecordValues(opted_out, [{
            'number': '+14155550431', 'partner_id': hugo.id, 'res_model': 'res.partner', 'res_id': hugo.id,
            'error_message': "Skipped: the recipient opted out (STOP).", 'body': "Sale today"}])
        skipped = self.log(mailing, state='canceled')
        self.assertEqual(sorted(skipped.mapped('error_message')), [
            "Skipped: duplicate, this number already receives this mailing.", "Skipped: invalid phone number."])
        self.assertEqual(sorted(skipped.mapped('res_id')), sorted([ann_again.id, bad.id]))
        mailing.invalidate_recordset()
        self.assertRecordValues(mailing, [{
            'sms_connector_stat_sent': 1, 'sms_connector_stat_opted_out': 1, 'sms_connector_stat_skipped': 2}])
        self.assertEqual((mailing.sent, mailing.canceled), (1, 3), "Odoo's banner agrees")
        # the "SMS Activity" button of the mailing lists them all, for the marketer
        action = mailing.action_sms_connector_view_log()
        rows = self.env[action['res_model']].with_user(self.marketer).search_read(action['domain'], ['state', 'res_id'])
        self.assertEqual(sorted((row['state'], row['res_id']) for row in rows), sorted([
            ('sent', ann.id), ('canceled', ann_again.id), ('canceled', bad.id), ('opted_out', hugo.id)]))

    def test_skipped_recipients_are_logged_in_one_insert(self):
        counts = []
        for size in (5, 6, 50):  # the first run warms the caches up
            values = [{'state': 'canceled', 'failure_type': 'sms_duplicate', 'number': f'+1415555{i:04d}',
                       'body': 'x', 'uuid': f'{size}-{i}'} for i in range(size)]
            mailing = self.mailing(self.env['res.partner'], "x")
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            mailing._sms_connector_log_skipped(values)
            self.env.flush_all()
            counts.append(self.env.cr.sql_log_count - before)
            self.assertEqual(self.env['sms.message'].search_count([('mailing_id', '=', mailing.id)]), size)
        self.assertEqual(counts[1], counts[2], "the number of queries does not grow with the skipped recipients")

    def test_replies_count_only_answers_to_this_mailing(self):
        numbers = [f'+1415555044{i}' for i in range(4)]
        partners = self.env['res.partner'].browse([self.partner(f'R{i}', n).id for i, n in enumerate(numbers)])
        Message = self.env['sms.message'].sudo()
        mailing = self.mailing(partners, "Sale today")
        self.send(mailing)
        self.assertEqual(len(self.log(mailing, state='sent')), 4)
        sent_at = datetime(2026, 3, 4, 10, 0)
        self.log(mailing).sudo().write({'sent_date': sent_at})
        # R1 gets another SMS after the mailing, before answering: the answer is about that one
        other = self.send_single(partners[1], "Your order shipped").filtered(lambda message: not message.mailing_id)
        self.assertEqual(other.state, 'sent')
        other.sudo().write({'sent_date': sent_at + timedelta(hours=1)})
        replies = {
            'SMbefore': (numbers[3], sent_at - timedelta(hours=1)),  # before the mailing
            'SMr0': (numbers[0], sent_at + timedelta(hours=2)),
            'SMr0b': (numbers[0], sent_at + timedelta(hours=3)),  # the same recipient counts once
            'SMr1': (numbers[1], sent_at + timedelta(hours=2)),
            'SMother': ('+14155550499', sent_at + timedelta(hours=2)),  # not a recipient
        }
        for key, (number, at) in replies.items():
            Message._receive_inbound(self.twilio, [InboundSms(key, number, '+15005550006', "Hello")])
            Message.search([('provider_message_id', '=', key)]).write({'received_date': at})
        mailing.invalidate_recordset()
        self.assertEqual(mailing.with_user(self.marketer).sms_connector_stat_replied, 1)

    # money -----------------------------------------------------------------
    def test_costs_carry_their_currency_and_totals_do_not_mix(self):
        eur, usd = self.env.ref('base.EUR'), self.env.ref('base.USD')
        self.env['res.currency.rate'].create({'currency_id': eur.id, 'rate': 0.5, 'name': '2020-01-01'})
        self.octopush.currency_id = eur
        zoe = self.partner('Zoé', '06 12 34 56 95', country='base.fr')
        ann = self.partner('Ann', '+14155550450')
        mailing = self.mailing(zoe | ann, f"Promo {STOP}", sms_connector_purpose='transactional')
        self.send(mailing)
        fr_log, us_log = self.log(mailing, number='+33612345695'), self.log(mailing, number='+14155550450')
        self.assertEqual(fr_log.state, 'sent')
        self.assertEqual(fr_log.currency_id, eur, "Octopush reported the cost in EUR (engine's bulk update)")
        self.assertGreater(fr_log.cost, 0)
        self.env['sms.send.engine'].sudo()._apply_reports(self.twilio, [
            StatusReport(us_log.provider_message_id, 'delivered', cost=0.0079, currency='USD')])
        self.assertEqual((us_log.cost, us_log.currency_id), (0.0079, usd))
        self.assertAlmostEqual(fr_log.cost_company, fr_log.cost * 2, msg="converted with Odoo's rates")
        self.assertAlmostEqual(us_log.cost_company, 0.0079)

        # SMS Activity pivot: per currency, or one total in the company currency
        Log = self.env['sms.message'].with_user(self.marketer)
        groups = Log.read_group([('mailing_id', '=', mailing.id)], ['cost_company:sum'], ['currency_id'])
        self.assertEqual({g['currency_id'][1] for g in groups}, {'EUR', 'USD'})
        self.assertNotIn('cost', Log.fields_get(['cost'], ['aggregator'])['cost'].get('aggregator') or '')
        pivot = self.env['sms.message'].get_views([(False, 'pivot')])['views']['pivot']['arch']
        self.assertIn('name="cost_company" type="measure"', pivot)
        self.assertNotIn('name="cost" type="measure"', pivot)

        mailing.invalidate_recordset()
        as_marketer = mailing.with_user(self.marketer)
        self.assertAlmostEqual(as_marketer.sms_connector_actual_cost, fr_log.cost * 2 + 0.0079)
        self.assertEqual(as_marketer.sms_connector_actual_currency_id, usd)
        self.assertIn(f"{round(fr_log.cost, 4)} EUR", as_marketer.sms_connector_actual_cost_detail)
        self.assertIn("0.0079 USD", as_marketer.sms_connector_actual_cost_detail)
        self.assertIn("converted with Odoo's currency rates", as_marketer.sms_connector_actual_cost_detail)

    def test_scheduled_estimate_uses_marketer_rights(self):
        """The marketer reads the estimate though gateways and prices are for SMS managers."""
        self.twilio.price_per_segment = 0.05
        mailing = self.mailing(self.partner('Ann', '+14155550460'), "Hi",
                               schedule_type='scheduled', schedule_date=datetime.now() + timedelta(days=1))
        self.assertAlmostEqual(mailing.sms_connector_estimated_cost, 0.05)
