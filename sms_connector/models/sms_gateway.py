import logging
import secrets
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import plaintext2html
from odoo.tools.urls import urljoin as url_join

from ..providers import GatewayConfig, ProviderError, get_provider_class
from ..tools.phone import country_of

_logger = logging.getLogger(__name__)
_ADAPTERS = {}  # (database, gateway id) -> provider adapter of this process


class SmsGateway(models.Model):
    """A provider account SMS are routed through (a company may have several)."""

    _name = 'sms.gateway'
    _inherit = ['mail.thread', 'mail.activity.mixin']
    _description = 'SMS Gateway'
    _order = 'sequence, id'

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    sequence = fields.Integer(default=10, help="Gateways are tried in this order when routing an SMS.")
    provider = fields.Selection(selection=[], required=True, tracking=True)
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company, index=True,
                                 tracking=True)
    base_url = fields.Char(
        "API base URL", compute='_compute_base_url', store=True, readonly=False, required=True, precompute=True,
        tracking=True,
        help="Provider API root. Defaults to the provider's public endpoint; change it for sandboxes and tests.")
    account = fields.Char("Account ID / Login", groups='base.group_system', copy=False, tracking=True)
    secret = fields.Char("Auth token / API key", groups='base.group_system', copy=False)
    sender = fields.Char("Default sender", tracking=True, help="From number (E.164) or alphanumeric sender name.")
    sender_ids = fields.One2many('sms.gateway.sender', 'gateway_id', string="Senders per country")
    country_ids = fields.Many2many(
        'res.country', string="Destination countries",
        help="Countries this gateway serves. Leave empty to serve all countries.")
    max_concurrency = fields.Integer(
        "Max concurrent requests", default=64, required=True,
        help="Ceiling of the requests in flight to the provider, across all Odoo processes. Concurrency "
             "starts at the provider's documented safe level and adapts: it grows while the provider keeps "
             "up and halves when it answers \"too many requests\".")
    rate_limit = fields.Float(
        "Max messages per second", default=0.0, help="0 means no limit on our side.")
    timeout = fields.Float("Request timeout (s)", default=15.0, required=True)
    opt_out_policy = fields.Selection(
        [('send', "Send transactional SMS anyway"), ('skip', "Skip all SMS")], string="Opted-out numbers",
        default='send', required=True,
        help="Marketing SMS never go to numbers that replied STOP. Choose whether transactional ones "
             "(order, invoice, automation messages) still do. A user can always confirm a single manual SMS.")
    # campaigns: legal opt-out mention and prices for the cost estimate
    opt_out_mention = fields.Char(
        "Opt-out mention", default="STOP au 30101",
        help="Text marketing SMS to France must contain (\"Test campaign\" checks it).")
    price_per_segment = fields.Float("Price per SMS part", digits=(16, 4), help="Used to estimate campaign costs.")
    currency_id = fields.Many2one(
        'res.currency', default=lambda self: self.env.company.currency_id, string="Currency")
    price_ids = fields.One2many('sms.gateway.price', 'gateway_id', string="Prices per country")
    throttled_until = fields.Datetime(
        readonly=True, copy=False,
        help="The provider answered 429 (too many requests): concurrency is reduced until then.")
    webhook_token = fields.Char(
        groups='base.group_system', copy=False, readonly=True,
        default=lambda self: secrets.token_urlsafe(24),
        help="Secret part of the webhook URLs: only the provider knows it.")
    status_url = fields.Char("Delivery report URL", compute='_compute_webhook_urls', groups='base.group_system')
    inbound_url = fields.Char("Inbound SMS URL", compute='_compute_webhook_urls', groups='base.group_system')

    _max_concurrency_positive = models.Constraint(
        'CHECK(max_concurrency > 0)', 'The number of concurrent requests must be positive.')
    _rate_limit_positive = models.Constraint(
        'CHECK(rate_limit >= 0)', 'The rate limit cannot be negative.')

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            default = vals.get('provider') and get_provider_class(vals['provider']).default_base_url
            if vals.get('base_url') and vals['base_url'] != default:
                self._check_may_redirect_credentials()
        return super().create(vals_list)

    def write(self, vals):
        if 'base_url' in vals and any(gateway.base_url != vals['base_url'] for gateway in self):
            self._check_may_redirect_credentials()
        res = super().write(vals)
        if 'secret' in vals:  # traced without its value (tracking would show it)
            for gateway in self:
                gateway.message_post(body=_("Auth token / API key changed (the value is not shown)."),
                                     subtype_xmlid='mail.mt_note')
        return res

    def _check_may_redirect_credentials(self):
        """The API URL is where the secret is sent: whoever may not read it may not redirect it."""
        if not self.env.is_system():
            raise AccessError(_("Only administrators, who manage the gateways' credentials, may change the "
                                "API base URL they are sent to."))

    @api.depends('provider')
    def _compute_base_url(self):
        for gateway in self:
            if gateway.provider and not gateway.base_url:
                gateway.base_url = get_provider_class(gateway.provider).default_base_url

    @api.depends('webhook_token')
    def _compute_webhook_urls(self):
        for gateway in self:
            gateway.status_url = gateway._webhook_url('status')
            gateway.inbound_url = gateway._webhook_url('inbound')

    def _webhook_url(self, kind):
        """Public URL the provider must call for ``kind`` ('status' or 'inbound')."""
        self.ensure_one()
        if not self.id or not self.sudo().webhook_token:
            return False
        return url_join(self.get_base_url(), f'/sms_connector/{kind}/{self.id}/{self.sudo().webhook_token}')

    def action_regenerate_webhook_token(self):
        """Invalidate URLs that leaked; they must be pasted again in the provider's console.

        The token is readable by administrators only: only they may change it (and read the new URLs).
        """
        if not self.env.is_system():
            raise AccessError(_("Only administrators may regenerate the webhook URLs of an SMS gateway."))
        self.check_access('write')
        for gateway in self:
            gateway.sudo().webhook_token = secrets.token_urlsafe(24)
            gateway.message_post(body=_(
                "Webhook URLs regenerated: paste the new delivery report and inbound SMS URLs in the provider's "
                "console, the old ones are refused."), subtype_xmlid='mail.mt_note')

    # provider access ---------------------------------------------------------
    def _provider_options(self):
        """Provider specific settings passed to the adapter; extended by provider addons."""
        return {}

    def _get_provider(self):
        """Instantiate the plain-Python adapter with this gateway's settings (credentials in sudo)."""
        self.ensure_one()
        gateway = self.sudo()
        concurrency = gateway.max_concurrency
        if gateway.throttled_until and gateway.throttled_until > fields.Datetime.now():
            concurrency = max(1, concurrency // 4)
        config = GatewayConfig(
            provider=gateway.provider,
            base_url=(gateway.base_url or '').rstrip('/'),
            account=gateway.account or '',
            secret=gateway.secret or '',
            sender=gateway.sender or '',
            status_url=gateway._webhook_url('status') or '',
            max_concurrency=concurrency,
            rate_limit=gateway.rate_limit,
            timeout=gateway.timeout,
            options=gateway._provider_options(),
        )
        # one adapter per gateway and process while its settings hold: its thread pool, keep-alive
        # connections and learned concurrency window outlive the batch
        key = (self.env.cr.dbname, gateway.id)
        cached = _ADAPTERS.get(key)
        if cached is not None and cached.config == config:
            return cached
        adapter = get_provider_class(gateway.provider)(config)
        _ADAPTERS[key] = adapter
        if cached is not None:
            cached.close()
        return adapter

    def _skips_opted_out(self, purpose, confirmed):
        """Whether an SMS of ``purpose`` to an opted-out number must not be sent by this gateway."""
        self.ensure_one()
        if purpose == 'marketing':
            return True
        return not confirmed and self.opt_out_policy == 'skip'

    def _throttle(self, seconds):
        """Lower this gateway's concurrency for a while after the provider said "too many requests"."""
        until = fields.Datetime.now() + timedelta(seconds=max(float(seconds or 0), 30.0))
        self.sudo().write({'throttled_until': until})

    @api.model
    def _for_destination(self, company, country_code):
        """Gateway an SMS of ``company`` to ``country_code`` would most likely leave through.

        For estimates (cost, preview): the company's first gateway serving the country, else its first.
        """
        gateways = self.sudo().search([('company_id', '=', company.id)])
        return next((gw for gw in gateways if gw._serves_country(country_code)), gateways[:1])

    def _price_for_country(self, country_code):
        """Price of one SMS part to ``country_code``: the country's price, else the default one."""
        self.ensure_one()
        for line in self.price_ids:
            if line.country_id.code == country_code:
                return line.price
        return self.price_per_segment

    def _capabilities(self):
        """What this gateway's provider adapter can do (simulation, lengths, lookups...)."""
        self.ensure_one()
        return get_provider_class(self.provider).capabilities

    def _failover_for(self, sms):
        """The next active gateway of ``sms``'s company serving its destination, after this one."""
        self.ensure_one()
        country = country_of(sms.number) if (sms.number or '').startswith('+') else None
        skipped = sms.sms_connector_skipped_gateway_ids | self
        gateways = self.sudo().search([('company_id', '=', self.company_id.id), ('id', 'not in', skipped.ids)])
        return next((gateway for gateway in gateways if gateway._serves_country(country)), None)

    def _serves_country(self, country_code):
        self.ensure_one()
        return not self.country_ids or country_code in self.country_ids.mapped('code')

    def action_test_connection(self):
        """Tell the admin at once whether the provider answers and accepts the credentials."""
        self.ensure_one()
        self.check_access('write')  # calls the provider with the credentials: gateway managers only
        provider = self._get_provider()
        try:
            message = provider.check()
        except ProviderError as exc:
            raise UserError(_("Connection to %(gateway)s failed: %(error)s", gateway=self.name,
                              error=provider.redact(exc.message))) from exc
        return self._notify(_("Connection OK"), message or _("The provider accepted the credentials."))

    def action_check_balance(self):
        """Show the remaining credit so the admin can top up before sending fails."""
        self.ensure_one()
        self.check_access('write')  # calls the provider with the credentials: gateway managers only
        provider = self._get_provider()
        try:
            balance = provider.balance()
        except ProviderError as exc:
            raise UserError(_("Balance check on %(gateway)s failed: %(error)s", gateway=self.name,
                              error=provider.redact(exc.message))) from exc
        return self._notify(
            _("Balance"),
            _("%(gateway)s: %(amount)s %(currency)s left.", gateway=self.name, amount=balance.amount, currency=balance.currency))

    def _notify(self, title, message):
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {'title': title, 'message': message, 'type': 'success', 'sticky': False},
        }

    # low-credit alert: warn SMS managers before sending starts failing ----------------------
    @api.model
    def _cron_check_low_credit(self):
        threshold = float(self.env['ir.config_parameter'].sudo().get_param('sms_connector.low_credit_threshold') or 0)
        if threshold <= 0:
            return
        managers = self.env.ref('sms_connector.group_sms_manager').sudo().all_user_ids.filtered(
            lambda user: user.active and not user.share)
        for gateway in self.sudo().search([]):
            try:
                balance = gateway._get_provider().balance()
            except ProviderError as exc:
                _logger.warning("SMS gateway %s: balance check failed: %s", gateway.id, exc.message)
                continue
            except Exception:
                _logger.exception("SMS gateway %s: balance check failed", gateway.id)
                continue
            if balance is None or balance.amount is None or float(balance.amount) >= threshold:
                continue
            gateway._alert_low_credit(balance, threshold, managers)

    def _alert_low_credit(self, balance, threshold, managers):
        self.ensure_one()
        todo = self.env.ref('mail.mail_activity_data_todo')
        open_for = self.activity_ids.filtered(lambda act: act.activity_type_id == todo).user_id
        for user in managers - open_for:
            self.activity_schedule(
                activity_type_id=todo.id, user_id=user.id,
                summary=_("Low SMS credit on %(gateway)s", gateway=self.name),
                note=plaintext2html(_(  # the currency comes from the provider's answer: text, never HTML
                    "%(amount)s %(currency)s left (alert below %(threshold)s): top up the provider account.",
                    amount=balance.amount, currency=balance.currency or '', threshold=threshold)))
