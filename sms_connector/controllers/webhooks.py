import hmac
import json
import logging

from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge

from odoo.http import Controller, Response, request, route

from ..providers import MalformedCallback
from ..tools.redact import redact

_logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024
MAX_FIELD_CHARS = 4096  # an SMS body is at most 1,600 characters; ids are far shorter


def _storable(text):
    """Whether PostgreSQL can store ``text`` and it fits a callback field."""
    if len(text) > MAX_FIELD_CHARS or '\x00' in text:
        return False
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:  # lone surrogates from JSON escapes
        return False
    return True


class _WebhookTokenFilter(logging.Filter):
    """Keeps the secret token of our webhook URLs out of the request log (werkzeug's access lines)."""

    def filter(self, record):
        if isinstance(record.args, tuple) and any('/sms_connector/' in str(arg) for arg in record.args):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


logging.getLogger('werkzeug').addFilter(_WebhookTokenFilter())


class SmsConnectorWebhooks(Controller):
    """Provider callbacks: authenticate, parse, hand over to the models, answer fast."""

    def _authenticated_gateway(self, gateway_id, token):
        """The gateway the URL names, once its token (and the provider's signature) are checked."""
        Gateway = request.env['sms.gateway'].sudo()
        # one query for the gateway and the settings its adapter reads (active ones only)
        gateway = Gateway.search_fetch(
            [('id', '=', gateway_id)], [name for name, field in Gateway._fields.items() if field.column_type])
        if not gateway or not hmac.compare_digest(
                (gateway.webhook_token or '').encode(), (token or '').encode()):
            _logger.warning("SMS webhook: unknown gateway or wrong token for gateway id %s", gateway_id)
            raise Forbidden()
        return gateway

    def _payload(self):
        """The callback's fields, refused (400/413) before any write when they cannot be stored."""
        httprequest = request.httprequest
        # forms larger than this were refused before parsing (route's max_content_length): JSON here
        if (httprequest.content_length or 0) > MAX_WEBHOOK_BYTES:
            raise RequestEntityTooLarge()
        if httprequest.mimetype == 'application/json':
            raw = httprequest.get_data(cache=True)
            if len(raw) > MAX_WEBHOOK_BYTES:  # a chunked body carries no Content-Length
                raise RequestEntityTooLarge()
            try:
                data = json.loads(raw or b'{}')
            except (ValueError, RecursionError) as exc:
                raise BadRequest("Malformed JSON") from exc
            if not isinstance(data, dict):
                raise BadRequest("Expected a JSON object")
        else:
            # werkzeug caches the body, so the form is still parsed from it afterwards
            if len(httprequest.get_data(cache=True)) > MAX_WEBHOOK_BYTES:
                raise RequestEntityTooLarge()
            form = httprequest.form  # may have been parsed (and the body consumed) before us
            if sum(len(key) + len(value) for key, value in form.items(multi=True)) > MAX_WEBHOOK_BYTES:
                raise RequestEntityTooLarge()
            data = form.to_dict()
        for key, value in data.items():
            if isinstance(value, str) and not _storable(value):
                _logger.warning("SMS webhook: unusable value for %r (NUL, broken Unicode or oversized)", key[:64])
                raise BadRequest(f"Unusable value for {key[:64]!r}")
        return data

    def _verified_callback(self, gateway_id, token, kind, parse):
        """Authenticate the URL token and the provider's signature, then parse: nothing is written before.

        :param kind: 'status' or 'inbound' (the gateway URL the provider was given)
        :param parse: ``lambda provider, params: ...`` raising MalformedCallback when unusable
        :return: (gateway, provider, parsed items)
        """
        gateway = self._authenticated_gateway(gateway_id, token)
        params = self._payload()
        provider = gateway._get_provider()
        urls = {request.httprequest.url, gateway._webhook_url(kind)}
        if not any(provider.verify_signature(url, params, request.httprequest.headers) for url in urls):
            _logger.warning("SMS webhook: invalid provider signature on %s callback for gateway %s", kind, gateway.id)
            raise Forbidden()
        try:
            return gateway, provider, parse(provider, params)
        except MalformedCallback as exc:
            _logger.warning("SMS webhook: malformed %s callback on gateway %s: %s", kind, gateway.id, exc)
            raise BadRequest(str(exc)) from exc

    @route('/sms_connector/status/<int:gateway_id>/<string:token>', type='http', auth='public',
           methods=['POST'], csrf=False, save_session=False, max_content_length=MAX_WEBHOOK_BYTES)
    def delivery_status(self, gateway_id, token, **kwargs):
        """Delivery reports: applied when the message is known, kept until it is otherwise."""
        gateway, _provider, reports = self._verified_callback(
            gateway_id, token, 'status', lambda provider, params: provider.parse_status(params))
        request.env['sms.send.engine'].sudo()._apply_reports(gateway, reports)
        return Response(status=200)

    @route('/sms_connector/inbound/<int:gateway_id>/<string:token>', type='http', auth='public',
           methods=['POST'], csrf=False, save_session=False, max_content_length=MAX_WEBHOOK_BYTES)
    def inbound_sms(self, gateway_id, token, **kwargs):
        """SMS sent to one of our numbers: verified before anything is written, replays acknowledged."""
        gateway, provider, inbounds = self._verified_callback(
            gateway_id, token, 'inbound', lambda provider, params: provider.parse_inbound(params))
        replies = request.env['sms.message'].sudo()._receive_inbound(
            gateway, inbounds, inline_replies=provider.inline_replies)
        body, content_type = provider.inbound_answer(replies if provider.inline_replies else [])
        return Response(body or None, status=200, content_type=content_type)
