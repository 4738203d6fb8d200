"""Reach features over the JSON-RPC routes Odoo's web client uses, logged in as a given user."""
from odoo.tools.safe_eval import safe_eval


class RpcError(Exception):
    """The server answered with an error: its class name and message, as the web client shows them."""

    def __init__(self, error):
        data = error.get('data', {})
        self.name = data.get('name', '')
        super().__init__(f"{self.name}: {data.get('message', error.get('message'))}\n{data.get('debug', '')}")


class WebClientMixin:
    """For HttpCase tests: what the browser sends when a user clicks, without the browser."""

    def jsonrpc(self, route, params):
        response = self.opener.post(f'{self.base_url()}{route}', json={
            'id': 0, 'jsonrpc': '2.0', 'method': 'call', 'params': params}, timeout=30)
        response.raise_for_status()
        decoded = response.json()
        if 'error' in decoded:
            raise RpcError(decoded['error'])
        return decoded.get('result')

    def rpc(self, model, method, *args, **kwargs):
        return self.jsonrpc(f'/web/dataset/call_kw/{model}.{method}', {
            'model': model, 'method': method, 'args': list(args), 'kwargs': kwargs})

    def click_button(self, model, method, ids, context=None):
        """A ``type="object"`` button: ``call_button`` on the saved record."""
        return self.jsonrpc(f'/web/dataset/call_button/{model}.{method}', {
            'model': model, 'method': method, 'args': [ids], 'kwargs': {'context': context or {}}})

    def load_action(self, action, records):
        """An action opened from ``records`` (Action menu or header button): its dict and evaluated context."""
        action_dict = self.jsonrpc('/web/action/load', {'action_id': action.id})
        active = {'active_id': records[:1].id, 'active_ids': records.ids, 'active_model': records._name}
        context = dict(active, **safe_eval(action_dict.get('context') or '{}', active))
        return action_dict, context

    def toolbar_actions(self, model, view_type):
        """Ids of the actions the user finds in the Action menu of ``view_type``."""
        views = self.rpc(model, 'get_views', [[False, view_type]], options={'toolbar': True})
        return [action['id'] for action in views['views'][view_type]['toolbar'].get('action', [])]

    def form_arch(self, model):
        return self.rpc(model, 'get_views', [[False, 'form']])['views']['form']['arch']

    def open_wizard(self, model, context, fields):
        """A wizard's first load: default values computed by ``onchange`` (what the dialog shows)."""
        result = self.rpc(model, 'onchange', [], {}, [], {name: {} for name in fields}, context=context)
        return result['value']

    def save_and_click(self, model, values, method, context):
        """Fill the dialog, save it (``web_save``) and click ``method``."""
        saved = self.rpc(model, 'web_save', [], values, specification={'id': {}}, context=context)
        record_id = saved[0]['id']
        return record_id, self.click_button(model, method, [record_id], context=context)
