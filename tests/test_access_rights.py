"""Who may do what: SMS User vs Manager vs portal/public, per model, field and route."""
import logging

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import TWILIO_TOKEN, FakeProviderCase


@tagged('post_install', '-at_install')
class TestAccessRights(FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sms_user = new_test_user(cls.env, login='sms_user_acl', groups='sms_connector.group_sms_user')
        cls.sms_manager = new_test_user(cls.env, login='sms_manager_acl', groups='sms_connector.group_sms_manager')
        cls.employee = new_test_user(cls.env, login='employee_acl', groups='base.group_user')
        cls.portal = new_test_user(cls.env, login='portal_acl', groups='base.group_portal')
        cls.public = cls.env.ref('base.public_user')

    def test_models(self):
        log = self.send_single(self.partner('Acl', '+14155550170'))
        report = self.env['sms.delivery.report'].create({
            'gateway_id': self.twilio.id, 'provider_message_id': 'SM' + '1' * 32, 'status': 'delivered'})
        # SMS user: reads gateways (no secrets) and the log; changes nothing
        self.assertEqual(self.twilio.with_user(self.sms_user).name, 'Twilio test')
        self.assertEqual(log.with_user(self.sms_user).state, 'sent')
        for record, vals in ((self.twilio, {'name': 'x'}), (log, {'state': 'failed'})):
            with self.assertRaises(AccessError):
                record.with_user(self.sms_user).write(vals)
        with self.assertRaises(AccessError):
            self.env['sms.gateway'].with_user(self.sms_user).create({'name': 'x', 'provider': 'twilio'})
        with self.assertRaises(AccessError):
            report.with_user(self.sms_user).read(['status'])
        # SMS manager: configures gateways and manages the log, still no credentials
        self.twilio.with_user(self.sms_manager).write({'max_concurrency': 9})
        log.with_user(self.sms_manager).write({'error_message': 'checked'})
        with self.assertRaises(AccessError):
            self.twilio.with_user(self.sms_manager).read(['secret'])
        with self.assertRaises(AccessError):
            self.twilio.with_user(self.sms_manager).read(['webhook_token'])
        # employees without the SMS rights ("Only SMS users may send SMS"), portal and public users see nothing
        self.env['res.config.settings'].create({'sms_connector_restrict_sending': True}).execute()
        for user in (self.employee, self.portal, self.public):
            for model in ('sms.gateway', 'sms.message', 'sms.delivery.report', 'sms.gateway.sender'):
                with self.assertRaises(AccessError, msg=f"{user.login} on {model}"):
                    self.env[model].with_user(user).search([])

    def test_users_see_sms_of_documents_they_can_read(self):
        salesman = new_test_user(self.env, login='salesman_acl',
                                 groups='sms_connector.group_sms_user,sales_team.group_sale_salesman')
        colleague = new_test_user(self.env, login='colleague_acl', groups='sales_team.group_sale_salesman')
        customer = self.partner('Mine', '+14155550173')
        mine = self.env['crm.lead'].create({'name': 'Mine', 'phone': '+14155550174', 'user_id': salesman.id,
                                            'partner_id': customer.id})
        theirs = self.env['crm.lead'].create({'name': 'Theirs', 'phone': '+14155550175', 'user_id': colleague.id})
        self.send_single(mine)
        self.send_single(theirs)
        visible = self.env['sms.message'].with_user(salesman).search([('res_model', '=', 'crm.lead')])
        self.assertEqual(visible.mapped('res_id'), [mine.id], "a salesman only sees his own leads' SMS")
        self.assertEqual(mine.with_user(salesman).sms_message_count, 1)
        self.assertEqual(len(self.env['sms.message'].with_user(self.sms_manager).search(
            [('res_model', '=', 'crm.lead')])), 2, "managers see the whole log")

    def test_company_isolation(self):
        company_b = self.env['res.company'].create({'name': 'Other company'})
        other_log = self.env['sms.message'].create({'number': '+14155550171', 'company_id': company_b.id})
        self.assertNotIn(other_log, self.env['sms.message'].with_user(self.sms_manager).search([]))

    def test_routes_for_anonymous_callers(self):
        path = f"/sms_connector/status/{self.twilio.id}/{self.twilio.webhook_token}"
        self.assertEqual(self.url_open(path, data={'MessageSid': 'x'}).status_code, 403, "no signature")
        self.assertEqual(self.url_open(path).status_code, 405, "POST only")
        self.assertIn(self.url_open('/sms_connector/status/abc/def', data={}).status_code, (403, 404))

    def test_credentials_never_in_logs_errors_or_chatter(self):
        self.twilio.secret = 'wrong-secret-value'
        self.octopush.secret = 'wrong-octopush-key'
        partner = self.partner('Leak', '+14155550172')
        with self.assertLogs(level=logging.DEBUG) as logs:
            logging.getLogger('odoo.addons.sms_connector').debug("start")
            log = self.send_single(partner, "check")
            sms = self.env['sms.sms'].create({'number': '+33612345670', 'body': 'x'})
            self.send_now(sms)
            with self.assertRaises(Exception) as raised:
                self.octopush.action_test_connection()
        texts = [*logs.output, str(raised.exception), log.error_message or '',
                 *self.env['sms.message'].search([]).mapped('error_message'),
                 *partner.message_ids.mapped('body'), *self.env['mail.notification'].search([]).mapped('failure_reason')]
        for secret in ('wrong-secret-value', 'wrong-octopush-key', TWILIO_TOKEN, self.twilio.webhook_token):
            self.assertFalse([t for t in texts if t and secret in str(t)], secret)
        self.assertEqual(log.state, 'failed')
        self.assertEqual(log.error_code, '20003')
