"""Every public method of the product's models refuses users without SMS rights.

Any logged-in user can call a public method (no leading underscore) over JSON-RPC. The methods
are found by introspecting the registry: every method defined in the three addons' code. Each is
called by a portal user and by an internal user without SMS groups ("Only SMS users may send SMS"
on); it must raise AccessError/UserError, or be in ALLOWED with the reason it is harmless (checked
to have no effect).
"""
import inspect

from odoo import fields
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.tests import tagged

from .access_common import AccessCase

ADDONS = ('sms_connector', 'sms_connector_twilio', 'sms_connector_octopush')

ALLOWED = {
    'action_view_sms_messages': "returns the SMS log action; the list it opens applies sms.message's rules",
    'action_sms_connector_open_gateways': "returns the gateways action; the list applies sms.gateway's ACL",
    'action_reschedule': "sms.message: returns the reschedule wizard action; the wizard (SMS users only) lets "
                         "the author or a manager move the SMS",
}
# Arguments a method needs; the others are called without any.
ARGS = {
    ('sms.sms', 'create'): lambda case: ([{'number': '+14155550299', 'body': 'by RPC'}],),
    ('base.automation', 'write'): lambda case: ({'active': True},),
    ('sms.gateway', 'create'): lambda case: ([{'name': 'By RPC', 'provider': 'twilio', 'base_url': 'http://127.0.0.1:9'}],),
    ('sms.gateway', 'write'): lambda case: ({'base_url': 'http://127.0.0.1:9'},),
    ('sms.keyword', 'create'): lambda case: ([{'keyword': 'ARRET RPC', 'action': 'stop'}],),
    ('sms.keyword', 'write'): lambda case: ({'active': False},),
    ('sms.match.rule', 'create'): lambda case: ([{
        'name': 'By RPC', 'model_id': case.env.ref('base.model_res_partner').id, 'phone_fields': 'phone_sanitized'}],),
    ('sms.match.rule', 'write'): lambda case: ({'active': False},),
}


def product_methods(env):
    """{(model, method)} for the public methods defined in the addons' code, on concrete models."""
    found = set()
    for name in env.registry:
        model = env[name]
        if model._abstract:
            continue
        for klass in type(model).__mro__:
            module = getattr(klass, '__module__', '') or ''
            if not module.startswith(tuple(f'odoo.addons.{addon}.' for addon in ADDONS)):
                continue
            for attr, value in vars(klass).items():
                if attr.startswith('_') or isinstance(value, fields.Field) or not inspect.isfunction(value):
                    continue
                found.add((name, attr))
    return found


@tagged('post_install', '-at_install')
class TestPublicMethods(AccessCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        customer = env['res.partner'].create({'name': 'RPC target', 'phone': '+14155550290'})
        inbound = env['sms.message'].create({
            'direction': 'inbound', 'state': 'received', 'number': '+14155550291', 'body': 'unmatched',
            'gateway_id': cls.twilio.id, 'company_id': cls.company.id})
        failed = env['sms.message'].create({
            'number': '+14155550292', 'body': 'failed', 'state': 'failed', 'company_id': cls.company.id})
        template = env['sms.template'].create({
            'name': 'RPC template', 'model_id': env.ref('base.model_res_partner').id, 'body': 'x'})
        cls.records = {
            'res.partner': customer,
            'crm.lead': env['crm.lead'].create({'name': 'RPC lead', 'phone': '+14155550293'}),
            'sale.order': env['sale.order'].create({'partner_id': customer.id}),
            'account.move': env['account.move'].create({'move_type': 'out_invoice', 'partner_id': customer.id}),
            'mailing.mailing': env['mailing.mailing'].create({
                'subject': 'RPC mailing', 'mailing_type': 'sms', 'body_plaintext': 'Hello',
                'mailing_model_id': env.ref('base.model_res_partner').id}),
            'res.config.settings': env['res.config.settings'],
            'sms.composer': env['sms.composer'].with_context(
                active_model='res.partner', active_id=customer.id, default_composition_mode='comment',
            ).create({'body': 'by RPC'}),
            'sms.gateway': cls.twilio,
            'sms.keyword': env['sms.keyword'].search([('action', '=', 'stop')], limit=1),
            'sms.match.rule': env['sms.match.rule'].search([], limit=1),
            'sms.inbound.link': env['sms.inbound.link'].create({
                'message_id': inbound.id, 'record_ref': f'res.partner,{customer.id}'}),
            'sms.inbound.reply': env['sms.inbound.reply'].create({'message_id': inbound.id, 'body': 'by RPC'}),
            'sms.conversation': env['sms.conversation'].create({'number': '+14155550291', 'body': 'by RPC'}),
            'sms.message': inbound,
            'sms.sms': env['sms.sms'].create({'number': '+14155550294', 'body': 'queued', 'state': 'outgoing'}),
            'sms.template': template,
            'sms.message.reschedule': env['sms.message.reschedule'].create({
                'message_ids': failed.ids, 'scheduled_date': fields.Datetime.add(fields.Datetime.now(), days=1)}),
            'base.automation': env['base.automation'].with_context(active_test=False).search(
                [('sms_connector_sms_only', '=', True)], limit=1),
        }
        cls.special_records = {('sms.message', 'action_retry'): failed}

    def snapshot(self):
        """What a harmful call would change: tokens, settings, queues, log, documents, contacts."""
        self.env.invalidate_all()
        env = self.env
        return {
            'tokens': env['sms.gateway'].sudo().search([]).mapped('webhook_token'),
            'gateways': env['sms.gateway'].sudo().search_read([], ['base_url', 'active', 'sender']),
            'params': env['ir.config_parameter'].sudo().search_read([('key', 'like', 'sms')], ['key', 'value']),
            'implied': env.ref('base.group_user').implied_ids.ids,
            'sms': env['sms.sms'].sudo().search_read([], ['state', 'number']),
            'log': env['sms.message'].sudo().search_read([], ['state', 'res_model', 'res_id', 'partner_id', 'retry_id']),
            'partners': env['res.partner'].sudo().search_count([]),
            'leads': env['crm.lead'].sudo().search_count([]),
            'templates': env['sms.template'].sudo().search_read([], ['sms_connector_state']),
            'mailings': env['mailing.mailing'].sudo().search_read([], ['state', 'sms_connector_test_date']),
            'automations': env['base.automation'].sudo().with_context(active_test=False).search_read([], ['active']),
            'keywords': env['sms.keyword'].sudo().with_context(active_test=False).search_read([], ['normalized', 'active']),
            'rules': env['sms.match.rule'].sudo().with_context(active_test=False).search_read([], ['model', 'active']),
        }

    def record_for(self, user, model, method):
        """The record to call on; wizards are created by the caller (one only reaches one's own)."""
        record = self.special_records.get((model, method), self.records[model])
        if record._transient and record:
            vals = record.copy_data()[0]
            return record.with_user(user).with_context(
                active_model='res.partner', active_id=self.records['res.partner'].id).create(vals)
        return record.with_user(user)

    def call_as(self, user, model, method):
        args = ARGS.get((model, method), lambda case: ())(self)
        with self.env.cr.savepoint(flush=True) as savepoint:
            try:
                result = getattr(self.record_for(user, model, method), method)(*args)
                self.env.flush_all()
                return 'returned', result
            except (AccessError, UserError, MissingError) as exc:
                return 'refused', exc
            finally:
                savepoint.rollback()
                self.env.invalidate_all()

    def test_enumeration_finds_the_product_methods(self):
        methods = product_methods(self.env)
        for expected in (('sms.gateway', 'action_regenerate_webhook_token'), ('sms.message', 'action_create_partner'),
                         ('sms.message', 'action_retry'), ('sms.sms', 'create'), ('sms.composer', 'action_send_sms')):
            self.assertIn(expected, methods)
        self.assertEqual({model for model, _method in methods} - set(self.records), set(),
                         "every model with public methods has a record to call them on")
        self.assertEqual([model for model, record in self.records.items() if not record],
                         ['res.config.settings'], "settings are called on an empty recordset, as over RPC")

    def test_portal_and_employee_without_sms_rights_are_refused(self):
        self.restrict_sending()
        self.assertFalse(self.salesman.has_group('sms_connector.group_sms_user'))
        before = self.snapshot()
        allowed_seen, refused = set(), {}
        for user in (self.portal, self.salesman):
            for model, method in sorted(product_methods(self.env)):
                outcome, detail = self.call_as(user, model, method)
                if outcome == 'refused':
                    refused[user.login, model, method] = detail
                    continue
                self.assertIn(method, ALLOWED, f"{user.login} called {model}.{method}() and got {detail!r}")
                allowed_seen.add(method)
                self.assertTrue(detail is False or isinstance(detail, dict), f"{model}.{method}: {detail!r}")
                self.assertEqual(self.snapshot(), before, f"{user.login}: {model}.{method}() changed something")
        self.assertIn(('acc_portal', 'sms.gateway', 'action_regenerate_webhook_token'), refused)
        self.assertIn(('acc_salesman', 'sms.gateway', 'action_regenerate_webhook_token'), refused)
        self.assertIn('SMS / User', str(refused['acc_salesman', 'sms.composer', 'action_send_sms']),
                      "the salesman's own composer is refused by the sending right, not by the ACL")
        self.assertEqual(set(ALLOWED) - allowed_seen, set(), "allow-list entries that no longer apply")

    def test_regenerate_webhook_token_over_rpc(self):
        """The reported attack: a portal user regenerates every gateway's token over call_kw."""
        token = self.twilio.webhook_token
        for user in (self.portal, self.salesman, self.sms_user, self.sms_manager):
            error = self.rpc(user, 'sms.gateway', 'action_regenerate_webhook_token',
                             self.env['sms.gateway'].sudo().search([]).ids)
            self.assertEqual(str(error), 'odoo.exceptions.AccessError', user.login)
        self.assertEqual(self.twilio.webhook_token, token)
        path = f"/sms_connector/status/{self.twilio.id}/{token}"
        self.assertNotEqual(self.url_open(path, data={'MessageSid': 'x'}).status_code, 404, "the URL still works")
        self.rpc(self.env.ref('base.user_admin'), 'sms.gateway', 'action_regenerate_webhook_token', self.twilio.ids)
        self.assertNotEqual(self.twilio.webhook_token, token, "administrators still can")
