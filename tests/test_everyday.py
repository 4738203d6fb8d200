"""Everyday SMS: log reports and retry, templates, composer counter and options, settings, automations."""
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import FakeProviderCase


@tagged('post_install', '-at_install')
class TestEverydayLog(FakeProviderCase):

    def test_log_has_pivot_and_graph_views(self):
        action = self.env.ref('sms_connector.sms_message_action')
        self.assertIn('pivot', action.view_mode)
        self.assertIn('graph', action.view_mode)
        result = self.env['sms.message'].formatted_read_group(
            [], ['create_date:day', 'gateway_id', 'state'], ['cost:sum', '__count'])
        self.assertIsInstance(result, list)

    def _failed_before_acceptance(self, partner):
        """The provider refuses the SMS (no sender configured): it certainly did not leave."""
        sender = self.twilio.sender
        self.twilio.sender = False
        log = self.send_single(partner, body="Your order shipped")
        self.twilio.sender = sender
        self.assertEqual(log.state, 'failed')
        self.assertFalse(log.provider_message_id)
        return log

    def test_retry_resends_only_certainly_failed(self):
        partner = self.partner('Retry', '+14155550170')
        failed = self._failed_before_acceptance(partner)
        self.assertEqual(self.fake.twilio_messages, [])
        common = {'direction': 'outbound', 'number': '+14155550171', 'body': 'x', 'company_id': self.company.id}
        unknown = self.env['sms.message'].create({**common, 'state': 'unknown', 'error_message': 'lost'})
        sent = self.env['sms.message'].create({**common, 'state': 'sent', 'provider_message_id': 'SM1'})
        delivered = self.env['sms.message'].create({**common, 'state': 'delivered', 'provider_message_id': 'SM2'})
        undelivered = self.env['sms.message'].create(
            {**common, 'state': 'failed', 'provider_message_id': 'SM3', 'error_message': 'carrier'})
        opted_out = self.env['sms.message'].create({**common, 'state': 'opted_out', 'error_code': '21610'})
        selection = failed | unknown | sent | delivered | undelivered | opted_out
        self.assertEqual(selection.filtered('can_retry'), failed)

        selection.action_retry()
        self.run_postcommit()
        self.assertEqual(len(self.fake.twilio_messages), 1, "only the certainly-failed SMS is sent again")
        self.assertEqual(self.fake.twilio_messages[0]['to'], '+14155550170')
        self.assertEqual(failed.retry_id.state, 'sent')
        self.assertIn('resent after a failure', partner.message_ids[:1].body)

        with self.assertRaises(UserError):
            failed.action_retry()  # already resent: never twice
        with self.assertRaises(UserError):
            (unknown | sent).action_retry()
        self.run_postcommit()
        self.assertEqual(len(self.fake.twilio_messages), 1)


@tagged('post_install', '-at_install')
class TestEverydayTemplates(FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls.env['res.users'].create({
            'name': 'Sam User', 'login': 'sms_everyday_user', 'email': 'sam@example.com',
            'group_ids': [Command.set([cls.env.ref('sms_connector.group_sms_user').id])],
        })
        cls.manager = cls.env['res.users'].create({
            'name': 'Mia Manager', 'login': 'sms_everyday_manager', 'email': 'mia@example.com',
            'group_ids': [Command.set([cls.env.ref('sms_connector.group_sms_manager').id])],
        })
        model = cls.env['ir.model']._get_id('res.partner')
        cls.published = cls.env['sms.template'].create({'name': 'Hello pub', 'model_id': model, 'body': 'Hi {{ object.name }}'})
        cls.draft = cls.env['sms.template'].create(
            {'name': 'Hello draft', 'model_id': model, 'body': 'Draft', 'sms_connector_state': 'draft'})

    def test_existing_and_data_templates_stay_published(self):
        self.assertEqual(self.published.sms_connector_state, 'published')
        self.assertFalse(self.env['sms.template'].search([('sms_connector_state', '=', 'draft'), ('id', '!=', self.draft.id)]))

    def test_users_only_see_published_templates(self):
        Template = self.env['sms.template']
        user_names = Template.with_user(self.user).search([('name', 'like', 'Hello ')]).mapped('name')
        self.assertEqual(user_names, ['Hello pub'])
        manager_names = Template.with_user(self.manager).search([('name', 'like', 'Hello ')]).mapped('name')
        self.assertCountEqual(manager_names, ['Hello pub', 'Hello draft'])
        picker = Template.with_user(self.user).name_search('Hello', domain=[('model', '=', 'res.partner')])
        self.assertEqual([name for _id, name in picker], ['Hello pub'])
        with self.assertRaises(AccessError):
            self.draft.with_user(self.user).read(['body'])

    def test_manager_publishes(self):
        self.draft.with_user(self.manager).action_sms_connector_publish()
        self.assertEqual(self.draft.sms_connector_state, 'published')
        self.assertIn(self.draft, self.env['sms.template'].with_user(self.user).search([]))

    def test_preview_renders_for_a_chosen_record(self):
        partner = self.partner('Preview Pete', '+14155550172')
        preview = self.env['sms.template.preview'].with_user(self.user).with_context(
            default_sms_template_id=self.published.id).create({
                'sms_template_id': self.published.id, 'resource_ref': f'res.partner,{partner.id}'})
        self.assertEqual(preview.body, 'Hi Preview Pete')

    def test_template_type_and_sender_reach_the_composer(self):
        self.published.write({'sms_connector_purpose': 'marketing', 'sms_connector_sender': 'ACME'})
        partner = self.partner('Tina', '+14155550173')
        composer = self.env['sms.composer'].with_context(
            active_model='res.partner', active_id=partner.id, default_composition_mode='comment',
        ).create({'template_id': self.published.id})
        self.assertEqual((composer.sms_connector_purpose, composer.sms_connector_sender), ('marketing', 'ACME'))
        self.assertEqual(composer.body, 'Hi Tina')


@tagged('post_install', '-at_install')
class TestEverydayComposer(FakeProviderCase):

    def composer(self, body, partner=None, **vals):
        partner = partner or self.partner('Carl', '+14155550180')
        return self.env['sms.composer'].with_context(
            active_model='res.partner', active_id=partner.id, default_composition_mode='comment',
        ).create({'body': body, **vals})

    def counter(self, body):
        composer = self.composer(body)
        return composer.sms_connector_length, composer.sms_connector_encoding, composer.sms_connector_segments

    def test_counters(self):
        self.assertEqual(self.counter("Hello"), (5, 'gsm7', 1))
        self.assertEqual(self.counter("a" * 160), (160, 'gsm7', 1))
        self.assertEqual(self.counter("a" * 161), (161, 'gsm7', 2))
        self.assertEqual(self.counter("Price: 5€ [ok]"), (17, 'gsm7', 1), "€ [ ] count double")
        self.assertEqual(self.counter("€" * 80), (160, 'gsm7', 1))
        self.assertEqual(self.counter("€" * 81), (162, 'gsm7', 2))
        self.assertEqual(self.counter("Привет"), (6, 'ucs2', 1))
        self.assertEqual(self.counter("ok 😀"), (5, 'ucs2', 1), "an emoji is two UCS-2 units")
        self.assertEqual(self.counter("😀" * 36), (72, 'ucs2', 2))

    def test_cost_estimate_from_the_gateway_price(self):
        self.assertFalse(self.composer("Hello").sms_connector_cost_estimate, "no price, no estimate")
        if 'price_per_segment' not in self.twilio._fields:
            return  # pricing not installed: nothing else to show
        self.twilio.write({'price_per_segment': 0.0079, 'currency_id': self.env.ref('base.USD').id})
        self.octopush.write({'price_per_segment': 0.05, 'currency_id': self.env.ref('base.EUR').id})
        self.assertEqual(self.composer("a" * 161).sms_connector_cost_estimate, "≈ 0.0158 USD", "2 parts to the US")
        french = self.partner('Fabien', '+33612345678', country='base.fr')
        self.assertEqual(self.composer("Bonjour", french).sms_connector_cost_estimate, "≈ 0.05 EUR")

    def test_scheduled_send_waits_for_its_date(self):
        partner = self.partner('Later', '+14155550181')
        when = fields.Datetime.now() + timedelta(hours=2)
        self.composer("See you tomorrow", partner, sms_connector_scheduled_date=when).action_send_sms()
        self.run_postcommit()
        self.assertEqual(self.fake.twilio_messages, [], "not sent before its date")
        sms = self.env['sms.sms'].search([('number', '=', '+14155550181')])
        self.assertEqual(sms.sms_connector_next_attempt, when)
        self.assertEqual(self.log_of(partner).state, 'queued')
        sms.sms_connector_next_attempt = fields.Datetime.now() - timedelta(seconds=1)  # time passes
        self.env.flush_all()
        self.env['sms.send.engine']._process()
        self.assertEqual(len(self.fake.twilio_messages), 1)
        with self.assertRaises(UserError):
            self.composer("too late", partner, sms_connector_scheduled_date=fields.Datetime.now()
                          - timedelta(hours=1)).action_send_sms()

    def test_type_and_sender_only_when_allowed(self):
        partner = self.partner('Opt', '+14155550182')
        composer = self.composer("Promo", partner, sms_connector_purpose='marketing', sms_connector_sender='ACME')
        self.assertFalse(composer.sms_connector_can_choose_purpose)
        composer.action_send_sms()
        self.run_postcommit()
        self.assertEqual(self.fake.twilio_messages[-1]['from'], '+15005550006', "the user may not change the sender")
        self.assertEqual(self.log_of(partner).purpose, 'transactional')

        settings = self.env['res.config.settings'].create({
            'sms_connector_allow_purpose': True, 'sms_connector_allow_sender': True})
        settings.execute()
        composer = self.composer("Promo 2", partner, sms_connector_purpose='marketing', sms_connector_sender='ACME')
        self.assertTrue(composer.sms_connector_can_choose_purpose and composer.sms_connector_can_choose_sender)
        composer.action_send_sms()
        self.run_postcommit()
        self.assertEqual(self.fake.twilio_messages[-1]['from'], 'ACME')
        self.assertEqual(self.log_of(partner)[-1].purpose, 'marketing')


@tagged('post_install', '-at_install')
class TestEverydaySettings(FakeProviderCase):

    def test_settings_show_gateways(self):
        settings = self.env['res.config.settings'].create({})
        self.assertEqual(settings.sms_connector_gateway_count, 2)
        action = settings.action_sms_connector_open_gateways()
        self.assertEqual(action['res_model'], 'sms.gateway')

    def test_low_credit_alert_once_per_manager(self):
        self.octopush.action_archive()  # only the Twilio account (42.50 USD) is checked here
        manager = self.env['res.users'].create({
            'name': 'Credit Manager', 'login': 'sms_credit_manager', 'email': 'cm@example.com',
            'group_ids': [Command.set([self.env.ref('sms_connector.group_sms_manager').id])],
        })
        Gateway = self.env['sms.gateway']
        self.env['ir.config_parameter'].set_param('sms_connector.low_credit_threshold', 40)
        Gateway._cron_check_low_credit()
        self.assertFalse(self.twilio.activity_ids, "42.50 is above 40")

        settings = self.env['res.config.settings'].create({'sms_connector_low_credit_threshold': 50})
        settings.execute()
        Gateway._cron_check_low_credit()
        activities = self.twilio.activity_ids
        self.assertIn(manager, activities.user_id)
        self.assertEqual(len(activities.filtered(lambda a: a.user_id == manager)), 1)
        self.assertIn('42.5', activities[0].note)
        Gateway._cron_check_low_credit()
        self.assertEqual(self.twilio.activity_ids, activities, "no duplicate while one is open")

    def test_low_credit_errors_are_logged_not_raised(self):
        self.env['ir.config_parameter'].set_param('sms_connector.low_credit_threshold', 50)
        self.twilio.sudo().secret = 'wrong-token'
        self.octopush.sudo().secret = 'wrong-key'
        with self.assertLogs('odoo.addons.sms_connector.models.sms_gateway', level='WARNING'):
            self.env['sms.gateway']._cron_check_low_credit()
        self.assertFalse(self.twilio.activity_ids)


@tagged('post_install', '-at_install')
class TestEverydayAutomations(FakeProviderCase):
    """Each shipped automation texts once on its event, never on unrelated writes."""

    def activate(self, name):
        automation = self.env.ref(f'sms_connector.base_automation_{name}')
        self.assertFalse(automation.active, "shipped inactive")
        automation.active = True
        return automation

    def sent_bodies(self):
        self.run_postcommit()
        return [message['body'] for message in self.fake.twilio_messages]

    def run_time_based(self, automation):
        """What the automation cron does for ``automation`` (without its commits)."""
        now = self.env.cr.now()
        for record in automation._search_time_based_automation_records(until=now):
            automation._process(record)
        automation.last_run = now
        self.env.flush_all()

    def test_shipped_inactive_with_templates(self):
        automations = self.env['base.automation'].browse(self.env['ir.model.data'].search(
            [('module', '=', 'sms_connector'), ('model', '=', 'base.automation')]).mapped('res_id'))
        self.assertEqual(len(automations), 11)
        self.assertFalse(automations.filtered('active'))
        for automation in automations:
            action = automation.action_server_ids
            self.assertEqual(action.state, 'sms')
            self.assertEqual(action.sms_template_id.model_id, automation.model_id)

    def test_sale_order_events(self):
        for name in ('quotation_sent', 'order_confirmed', 'order_cancelled'):
            self.activate(name)
        salesman = self.env['res.users'].create({
            'name': 'Sally Sales', 'login': 'sms_everyday_salesman', 'email': 'sally@example.com',
            'group_ids': [Command.set([self.env.ref('sales_team.group_sale_salesman').id])],
        })
        customer = self.partner('Olga Order', '+14155550190')
        product = self.env['product.product'].create({'name': 'Widget', 'list_price': 10})
        order = self.env['sale.order'].create({
            'partner_id': customer.id, 'user_id': salesman.id,
            'order_line': [Command.create({'product_id': product.id})]})
        self.assertEqual(self.sent_bodies(), [])

        order.write({'state': 'sent'})
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 1)
        self.assertIn('your quotation', bodies[0])
        self.assertIn('/r/', bodies[0], "the portal link is a tracked short link")
        self.assertNotIn('/my/orders', bodies[0])
        self.assertTrue(self.env['link.tracker'].search([('url', 'like', f'/my/orders/{order.id}')]))

        order.write({'client_order_ref': 'PO-1'})
        self.assertEqual(len(self.sent_bodies()), 1, "unrelated write: no SMS")

        order.with_user(salesman).action_confirm()  # a salesman without SMS rights: automations still send
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 2)
        self.assertIn('is confirmed', bodies[1])
        order.write({'client_order_ref': 'PO-2'})
        self.assertEqual(len(self.sent_bodies()), 2)

        order._action_cancel()
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 3)
        self.assertIn('has been cancelled', bodies[2])
        self.assertEqual({m['to'] for m in self.fake.twilio_messages}, {'+14155550190'})
        sms_bodies = ' '.join(order.message_ids.filtered(lambda m: m.message_type == 'sms').mapped('body'))
        self.assertIn('is confirmed', sms_bodies, "posted in the chatter as an SMS")

    def _invoice(self, partner, **vals):
        if not self.env['account.account'].search_count([('company_ids', 'in', self.company.id)], limit=1):
            self.env['account.chart.template'].try_loading('generic_coa', company=self.company, install_demo=False)
        return self.env['account.move'].create({
            'move_type': 'out_invoice', 'partner_id': partner.id,
            'invoice_line_ids': [Command.create({'name': 'Service', 'quantity': 1, 'price_unit': 100})],
            **vals,
        })

    def test_invoice_posted_and_paid(self):
        self.activate('invoice_posted')
        self.activate('invoice_paid')
        invoice = self._invoice(self.partner('Ivan Invoice', '+14155550191'))
        self.assertEqual(self.sent_bodies(), [])
        invoice.action_post()
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 1)
        self.assertIn('is due on', bodies[0])
        invoice.write({'ref': 'customer ref'})
        self.assertEqual(len(self.sent_bodies()), 1)

        self.env['account.payment.register'].with_context(
            active_model='account.move', active_ids=invoice.ids).create({})._create_payments()
        self.assertIn(invoice.payment_state, ('paid', 'in_payment'))
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 2)
        self.assertIn('we received your payment', bodies[1])
        invoice.write({'narration': 'thanks'})
        self.assertEqual(len(self.sent_bodies()), 2)

    def test_invoice_overdue_once(self):
        automation = self.activate('invoice_overdue')
        today = fields.Date.context_today(self.env['res.partner'])
        overdue = self._invoice(self.partner('Olly Overdue', '+14155550192'),
                                invoice_date=today - timedelta(days=40), invoice_date_due=today - timedelta(days=8))
        recent = self._invoice(self.partner('Rita Recent', '+14155550193'),
                               invoice_date=today - timedelta(days=3), invoice_date_due=today - timedelta(days=2))
        (overdue | recent).action_post()
        overdue.invoice_date_due = today - timedelta(days=8)
        self.assertEqual(self.sent_bodies(), [])
        self.run_time_based(automation)
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 1)
        self.assertIn(overdue.name, bodies[0])
        self.run_time_based(automation)
        self.assertEqual(len(self.sent_bodies()), 1, "once per invoice")

    def test_lead_assigned_texts_the_salesperson(self):
        self.activate('lead_assigned')
        group = self.env.ref('sales_team.group_sale_salesman')
        first = self.env['res.users'].create({'name': 'Ann Sales', 'login': 'sms_ann', 'phone': '+14155550194',
                                              'group_ids': [Command.set([group.id])]})
        second = self.env['res.users'].create({'name': 'Bob Sales', 'login': 'sms_bob', 'phone': '+14155550195',
                                               'group_ids': [Command.set([group.id])]})
        lead = self.env['crm.lead'].create({'name': 'Big deal', 'contact_name': 'Carla', 'phone': '+14155550196',
                                            'user_id': first.id})
        self.sent_bodies()
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], ['+14155550194'])
        self.assertIn('Big deal', self.fake.twilio_messages[0]['body'])
        lead.write({'description': 'call back'})
        self.assertEqual(len(self.sent_bodies()), 1)
        lead.write({'user_id': second.id})
        self.sent_bodies()
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], ['+14155550194', '+14155550195'])

    def test_opportunity_won(self):
        self.activate('opportunity_won')
        lead = self.env['crm.lead'].create({'name': 'Deal', 'type': 'opportunity', 'contact_name': 'Wendy',
                                            'phone': '+14155550197'})
        lead.write({'description': 'x'})
        self.assertEqual(self.sent_bodies(), [])
        lead.action_set_won()
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 1)
        self.assertIn('thank you for your trust', bodies[0])
        lead.write({'description': 'y'})
        self.assertEqual(len(self.sent_bodies()), 1)

    def test_welcome_new_contact_with_phone(self):
        self.activate('contact_welcome')
        partner = self.partner('Nina New', '+14155550198')
        self.env['res.partner'].create({'name': 'No Phone'})
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 1)
        self.assertIn('Welcome Nina New', bodies[0])
        partner.write({'phone': '+14155550199'})
        self.assertEqual(len(self.sent_bodies()), 1)

    def test_inactive_contact(self):
        automation = self.activate('contact_inactive')
        dormant = self.partner('Dora Dormant', '+14155550200')
        self.partner('Ada Active', '+14155550201')
        self.env.flush_all()
        self.env.cr.execute("UPDATE res_partner SET write_date = NOW() - INTERVAL '91 days' WHERE id = %s", [dormant.id])
        self.env.invalidate_all()
        self.run_time_based(automation)
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 1)
        self.assertEqual(self.fake.twilio_messages[0]['to'], '+14155550200')
        self.run_time_based(automation)
        self.assertEqual(len(self.sent_bodies()), 1)
        self.assertEqual(self.log_of(dormant).purpose, 'marketing')

    def test_meeting_reminder(self):
        automation = self.activate('meeting_reminder')
        guest = self.partner('Gus Guest', '+14155550202')
        now = fields.Datetime.now()
        self.env['calendar.event'].create({'name': 'Demo', 'start': now + timedelta(hours=1),
                                           'stop': now + timedelta(hours=2), 'partner_ids': [Command.link(guest.id)]})
        self.env['calendar.event'].create({'name': 'Later', 'start': now + timedelta(days=2),
                                           'stop': now + timedelta(days=2, hours=1),
                                           'partner_ids': [Command.link(guest.id)]})
        self.run_time_based(automation)
        bodies = self.sent_bodies()
        self.assertEqual(len(bodies), 1)
        self.assertIn('Reminder: Demo', bodies[0])
        self.run_time_based(automation)
        self.assertEqual(len(self.sent_bodies()), 1)

    def test_manual_sms_links_are_tracked(self):
        partner = self.partner('Link Lou', '+14155550203')
        self.send_single(partner, body="Track it: https://example.com/offer?id=1")
        body = self.fake.twilio_messages[0]['body']
        self.assertNotIn('example.com', body)
        link = self.env['link.tracker'].search([('url', '=', 'https://example.com/offer?id=1')])
        self.assertTrue(link)
        self.assertIn(link.short_url, body)
