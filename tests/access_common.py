"""Users of each role and a JSON-RPC helper for the access tests (tests/test_access_*.py)."""
from odoo.tests import new_test_user
from odoo.tests.common import JsonRpcException

from .common import FakeProviderCase


class AccessCase(FakeProviderCase):
    """Fake providers plus one user per role; ``rpc`` calls a method as the web client does."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(cls.env, login='acc_salesman', groups='sales_team.group_sale_salesman')
        cls.sms_user = new_test_user(
            cls.env, login='acc_sms_user', groups='sms_connector.group_sms_user,sales_team.group_sale_salesman')
        cls.sms_manager = new_test_user(
            cls.env, login='acc_sms_manager', groups='sms_connector.group_sms_manager,sales_team.group_sale_salesman')
        cls.admin_user = new_test_user(cls.env, login='acc_admin', groups='base.group_system')
        cls.portal = new_test_user(cls.env, login='acc_portal', groups='base.group_portal')

    def restrict_sending(self, restrict=True):
        """Settings ▸ SMS ▸ "Only SMS users may send SMS", saved by an administrator."""
        self.env['res.config.settings'].with_user(self.env.ref('base.user_admin')).create(
            {'sms_connector_restrict_sending': restrict}).execute()
        self.env.invalidate_all()

    def allow_user_triage(self, allow=True):
        """Settings ▸ SMS ▸ "SMS users triage unmatched replies"."""
        self.env['res.config.settings'].with_user(self.env.ref('base.user_admin')).create(
            {'group_sms_connector_user_triage': allow}).execute()
        self.env.invalidate_all()

    def send_queued(self):
        """Send what requests made over HTTP queued (their after-commit hooks ran on their own cursor)."""
        self.env['sms.sms'].sudo().search([('state', '=', 'outgoing')]).send()
        self.run_postcommit()

    def rpc(self, user, model, method, *args, **kwargs):
        """``/web/dataset/call_kw`` as ``user`` (password = login); the error's class name on failure."""
        self.authenticate(user.login, user.login)
        try:
            return self.make_jsonrpc_request(f'/web/dataset/call_kw/{model}/{method}', {
                'model': model, 'method': method, 'args': list(args), 'kwargs': kwargs})
        except JsonRpcException as exc:
            return exc
        finally:
            self.env.invalidate_all()
