import hmac
import json
import logging

from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge

from odoo.http import Controller, Response, request, route

from ..providers import MalformedCallback

_logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024


class SmsConnectorWebhooks(Controller):
    """Provider callbacks: authenticate, parse, hand over to the models, answer fast."""

    def _authenticated_gateway(self, gateway_id, token):
        """The gateway the URL names, once its token (and the provider's signature) are checked."""
        gateway = request.env['sms.gateway'].sudo().browse(gateway_id).exists()
        if not gateway or not gateway.active or not hmac.compare_digest(
                (gateway.webhook_token or '').encode(), (token or '').encode()):
            _logger.warning("SMS webhook: unknown gateway or wrong token for gateway id %s", gateway_id)
            raise Forbidden()
        return gateway

    def _payload(self):
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > MAX_WEBHOOK_BYTES:
            raise RequestEntityTooLarge()
        if httprequest.mimetype == 'application/json':
            try:
                data = json.loads(httprequest.get_data(cache=True) or b'{}')
            except ValueError as exc:
                raise BadRequest("Malformed JSON") from exc
            if not isinstance(data, dict):
                raise BadRequest("Expected a JSON object")
            return data
        return httprequest.form.to_dict()

    @route('/sms_connector/status/<int:gateway_id>/<string:token>', type='http', auth='public',
           methods=['POST'], csrf=False, save_session=False)
    def delivery_status(self, gateway_id, token, **kwargs):
        gateway = self._authenticated_gateway(gateway_id, token)
        params = self._payload()
        provider = gateway._get_provider()
        urls = {request.httprequest.url, gateway._webhook_url('status')}
        if not any(provider.verify_signature(url, params, request.httprequest.headers) for url in urls):
            _logger.warning("SMS webhook: invalid provider signature on gateway %s", gateway.id)
            raise Forbidden()
        try:
            reports = provider.parse_status(params)
        except MalformedCallback as exc:
            _logger.warning("SMS webhook: malformed delivery report on gateway %s: %s", gateway.id, exc)
            raise BadRequest(str(exc)) from exc
        request.env['sms.message'].sudo()._apply_status_reports(gateway, reports)
        return Response(status=200)
