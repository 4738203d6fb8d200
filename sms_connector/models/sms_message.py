import logging
from datetime import timedelta

import psycopg2.errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tools import SQL, plaintext2html

from ..engine.lifecycle import State
from ..tools.phone import normalize_number
from ..tools.segments import count_segments
from ..tools.trusted_context import Trusted

_logger = logging.getLogger(__name__)

# Distinct document models of the log: one index probe per model (a "loose index scan") instead of
# reading the whole res_model index or table; run on every search of an SMS user.
LOGGED_MODELS_SQL = SQL("""
    WITH RECURSIVE models(name) AS (
        (SELECT res_model FROM sms_message WHERE res_model IS NOT NULL ORDER BY res_model LIMIT 1)
        UNION ALL
        SELECT (SELECT m.res_model FROM sms_message m WHERE m.res_model > models.name ORDER BY m.res_model LIMIT 1)
          FROM models WHERE models.name IS NOT NULL
    )
    SELECT name FROM models WHERE name IS NOT NULL
""")


class SmsMessage(models.Model):
    """Durable log of every SMS: it outlives Odoo's clean-up of sent ``sms.sms`` rows."""

    _name = 'sms.message'
    _description = 'SMS Activity'
    _order = 'id desc'
    _rec_name = 'number'

    direction = fields.Selection(
        [('outbound', 'Outbound'), ('inbound', 'Inbound')], required=True, default='outbound')
    state = fields.Selection([
        (State.QUEUED.value, 'Queued'),
        (State.SENDING.value, 'Sending'),
        (State.SENT.value, 'Sent'),
        (State.DELIVERED.value, 'Delivered'),
        (State.FAILED.value, 'Failed'),
        (State.UNKNOWN.value, 'To check'),
        (State.CANCELED.value, 'Canceled'),
        (State.OPTED_OUT.value, 'Opted out'),
        (State.RECEIVED.value, 'Received'),
    ], required=True, default='queued', readonly=True,
        help="Changed by the send engine only (engine/lifecycle.py lists the transitions).")
    attempts = fields.Integer("Attempts", readonly=True, help="Provider calls made for this SMS, retries included.")
    last_error = fields.Text(
        "Last error", readonly=True, help="Latest failure, kept when a later attempt succeeds.")
    request_key = fields.Char(
        "Provider request", readonly=True, copy=False, index='btree_not_null',
        help="Provider request this SMS left in (several SMS share one with batching providers).")
    number = fields.Char("Number", help="E.164 when the number could be normalised.")
    body = fields.Text()
    segments = fields.Integer()
    encoding = fields.Selection([('gsm7', 'GSM-7'), ('ucs2', 'UCS-2 (Unicode)')])
    purpose = fields.Selection(
        [('transactional', 'Transactional'), ('marketing', 'Marketing')], default='transactional', required=True)
    gateway_id = fields.Many2one('sms.gateway', ondelete='set null')
    # precompute: the ORM computes these before its INSERT (one statement per inbound SMS, not two)
    provider = fields.Selection(related='gateway_id.provider', store=True, precompute=True, string="Provider")
    provider_message_id = fields.Char("Provider message ID", index='btree_not_null', copy=False)
    cost = fields.Float(digits=(16, 4), aggregator=False, help="As the provider billed it, in the SMS's currency.")
    cost_currency = fields.Char("Currency code", help="Currency the provider reported the cost in.")
    currency_id = fields.Many2one(
        'res.currency', "Currency", compute='_compute_currency_id', store=True, precompute=True,
        help="Currency of the cost: the provider's, else the gateway's.")
    cost_company = fields.Float(
        "Cost (company currency)", digits=(16, 4), compute='_compute_cost_company', store=True, precompute=True,
        help="The cost converted to the company's currency with Odoo's rates of the day it was sent, "
             "so that totals add up in one currency.")
    company_currency_id = fields.Many2one(related='company_id.currency_id', string="Company currency")
    error_code = fields.Char()
    error_message = fields.Text("Failure reason")
    partner_id = fields.Many2one('res.partner', index='btree_not_null', ondelete='set null')
    res_model = fields.Char("Document model")
    res_id = fields.Many2oneReference("Document ID", model_field='res_model')
    record_name = fields.Char("Document", compute='_compute_record_name')
    mailing_id = fields.Many2one('mailing.mailing', index='btree_not_null', ondelete='set null')
    user_id = fields.Many2one('res.users', "Author", ondelete='set null')
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    sms_uuid = fields.Char("SMS UUID", readonly=True, copy=False)
    sent_date = fields.Datetime("Sent on", readonly=True)
    delivered_date = fields.Datetime("Delivered on", readonly=True)
    scheduled_date = fields.Datetime(
        "Planned for", readonly=True, copy=False, help="Chosen with *Send on*: the SMS waits in the queue until then.")
    can_change_schedule = fields.Boolean(
        "May be cancelled or rescheduled", compute='_compute_can_change_schedule',
        help="A scheduled SMS not sent yet that you may cancel or reschedule.")
    gateway_number = fields.Char(
        "Our number", readonly=True,
        help="Inbound: the number of ours it arrived on (replies are sent from it). Outbound: the sender it left with.")
    received_date = fields.Datetime("Received on", readonly=True)
    document_readable = fields.Boolean(
        "Document readable", compute='_compute_document_readable',
        search='_search_document_readable',
        help="The current user may read the document this SMS was sent from or filed on (record rules).")
    keyword = fields.Selection(
        [('stop', 'STOP (opt-out)'), ('start', 'START (opt-in)'), ('help', 'HELP')], readonly=True,
        help="Opt-out keyword this inbound SMS was recognised as.")
    auto_answered = fields.Boolean(readonly=True, help="An automatic answer was sent to this keyword SMS.")
    to_triage = fields.Boolean(
        "To triage", readonly=True, copy=False,
        help="Unmatched reply nobody has answered, filed or marked as read yet (counted on the Inbox).")

    _sms_uuid_unique = models.UniqueIndex('(sms_uuid) WHERE sms_uuid IS NOT NULL')
    # The engine updates each outbound row twice (sending, sent) and every index costs each update:
    # direction, state, gateway and company have a few values each, an index on them would find most
    # of the table. Only the states a user looks for among millions of sent SMS are indexed (inbound
    # rows are found through _inbound_unique); model and document share one index.
    _state_attention_idx = models.Index("(state) WHERE state IN ('unknown', 'failed')")
    # a document's SMS newest first, and the loose index scan of the models SMS were sent from (visibility rule)
    _document_idx = models.Index("(res_model, res_id, id)")
    # the SMS to or from a number, newest first: the last one sent to a number is read from that
    # number's rows. With the number alone, a number that texted often made PostgreSQL expect many
    # rows and walk the whole log backwards by id instead (78 ms at 360,000 rows, growing with the log).
    _number_idx = models.Index("(number, direction, id)")
    # A provider retrying an inbound webhook must not create the reply twice.
    _inbound_unique = models.UniqueIndex("(gateway_id, provider_message_id) WHERE direction = 'inbound'")
    # hourly budgets of automatic answers, counted on every keyword SMS: small partial indexes
    # (IS TRUE as the ORM writes it, so that PostgreSQL can use them)
    _auto_answered_number_idx = models.Index("(number, received_date) WHERE auto_answered IS TRUE")
    _auto_answered_gateway_idx = models.Index("(gateway_id, received_date) WHERE auto_answered IS TRUE")
    # the Inbox's replies to triage: a few among all received SMS, the others are not indexed
    _to_triage_idx = models.Index("(direction, id) WHERE to_triage IS TRUE")

    # visibility (record rules in security/sms_connector_rules.xml) ---------------------
    @api.depends('res_model', 'res_id')
    @api.depends_context('uid')
    def _compute_document_readable(self):
        """As the real user even in sudo: record rules evaluate this field on sudo-ed records."""
        user_env = self.env(su=False)
        readable = set()
        for model, messages in self.grouped('res_model').items():
            if model and model in user_env and user_env[model].has_access('read'):
                documents = user_env[model].browse({m.res_id for m in messages if m.res_id}).exists()
                readable.update((model, res_id) for res_id in documents._filtered_access('read').ids)
        for message in self:
            message.document_readable = (message.res_model, message.res_id) in readable

    def _search_document_readable(self, operator, value):
        """SMS whose document the user may read: one indexed sub-select per model of the log.

        Record rules are applied in sudo: the readable documents are those of the real user.
        """
        if operator != 'in' or set(value) != {True}:
            return NotImplemented
        user_env = self.env(su=False)
        conditions = []
        for model in self._logged_models():
            if model in user_env and user_env[model].has_access('read'):
                conditions.append((model, user_env[model]._search([])))
        if not conditions:
            return Domain.FALSE

        def to_sql(model, alias, query):
            return SQL("(%s)", SQL(" OR ").join(
                SQL("(%s = %s AND %s IN %s)", SQL.identifier(alias, 'res_model'), name,
                    SQL.identifier(alias, 'res_id'), readable.subselect())
                for name, readable in conditions))

        return Domain.custom(to_sql=to_sql)

    @api.model
    def _logged_models(self):
        """Distinct ``res_model`` of the log, by a loose index scan (no scan of a large table)."""
        self.env.cr.execute(LOGGED_MODELS_SQL)
        return [name for (name,) in self.env.cr.fetchall()]

    @api.depends('cost_currency', 'gateway_id')
    def _compute_currency_id(self):
        codes = {code.upper() for code in self.mapped('cost_currency') if code}
        by_code = {currency.name: currency for currency in self.env['res.currency'].sudo().with_context(
            active_test=False).search([('name', 'in', list(codes))])} if codes else {}
        for message in self.sudo():
            message.currency_id = by_code.get((message.cost_currency or '').upper()) \
                or message.gateway_id.currency_id or message.company_id.currency_id

    @api.depends('cost', 'currency_id', 'company_id', 'sent_date')
    def _compute_cost_company(self):
        """Converted with one rate per currency, company and day (a campaign is a handful of rates)."""
        def key(message):
            return message.currency_id, message.company_id, (message.sent_date or message.create_date
                                                             or fields.Datetime.now()).date()

        costless = self.filtered(lambda message: not message.cost)  # received, queued: no rate to look up
        costless.cost_company = 0.0
        for (currency, company, day), messages in (self - costless).sudo().grouped(key).items():
            target = company.currency_id
            rate = currency._get_conversion_rate(currency, target, company, day) if currency and target else 1.0
            for message in messages:
                message.cost_company = (message.cost or 0.0) * rate

    @api.model
    def _cost_columns(self, rows, sent_now=False):
        """Currency and company-currency amount of the costs the send engine is about to record.

        The values ``_compute_currency_id`` and ``_compute_cost_company`` give (one rate per
        currency, company and day, rounded as the ORM stores it), computed before the engine's
        UPDATE so that one statement writes state, cost and these: every update of a log row
        writes a new version of the row and of each of its indexes.
        :param rows: {uuid: LOG_COLUMNS values}; all are priced (with their logged cost when they
            bring none) as soon as one brings a cost
        :param sent_now: the UPDATE sets the sent date of the messages not sent before to now
        :return: {uuid: {'currency_id': id, 'cost_company': amount}}
        """
        if all(row.get('cost') is None for row in rows.values()):
            return {}
        priced = rows
        self.env.flush_all()
        today = SQL("NOW() AT TIME ZONE 'UTC'")
        self.env.cr.execute(SQL(
            """
            SELECT m.sms_uuid, m.gateway_id, m.cost_currency, m.cost, m.company_id, co.currency_id,
                   COALESCE(m.sent_date, %s, m.create_date, NOW() AT TIME ZONE 'UTC')::date
              FROM sms_message m
              LEFT JOIN res_company co ON co.id = m.company_id
             WHERE m.sms_uuid = ANY(%s)
            """, today if sent_now else SQL("NULL"), list(priced)))
        logged = {uuid: values for uuid, *values in self.env.cr.fetchall()}
        Currency = self.env['res.currency'].sudo().with_context(active_test=False)
        code_of = {uuid: (row.get('cost_currency') or logged.get(uuid, (None, None))[1] or '').upper()
                   for uuid, row in priced.items()}
        codes = set(code_of.values()) - {''}
        by_code = {currency.name: currency.id for currency in Currency.search([('name', 'in', list(codes))])}
        gateway_ids = {row.get('gateway_id') or logged[uuid][0] for uuid, row in priced.items() if uuid in logged}
        gateway_currency = {gateway.id: gateway.currency_id.id for gateway in
                            self.env['sms.gateway'].sudo().with_context(active_test=False).browse(gateway_ids - {None})}
        Company, rates, columns = self.env['res.company'].sudo(), {}, {}
        for uuid, row in priced.items():
            if uuid not in logged:
                continue  # no log row (queued before the addon was installed, log deleted)
            gateway_id, _code, logged_cost, company_id, target_id, day = logged[uuid]
            cost = row['cost'] if row.get('cost') is not None else logged_cost
            currency_id = by_code.get(code_of[uuid]) \
                or gateway_currency.get(row.get('gateway_id') or gateway_id) or target_id
            key = (currency_id, company_id, day)
            if key not in rates:
                currency, target = Currency.browse(currency_id), Currency.browse(target_id)
                rates[key] = currency._get_conversion_rate(currency, target, Company.browse(company_id), day) \
                    if currency and target else 1.0
            columns[uuid] = {'currency_id': currency_id or None, 'cost_company': self._fields[
                'cost_company'].convert_to_column((cost or 0.0) * rates[key], self)}
        return columns

    @api.depends('res_model', 'res_id')
    def _compute_record_name(self):
        for message in self:
            record = message._get_record()
            message.record_name = record.display_name if record else False

    def _get_record(self):
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        record = self.env[self.res_model].browse(self.res_id).exists()
        return record if record and record.has_access('read') else None

    def action_open_record(self):
        """Jump from the log to the document the SMS was sent from."""
        self.ensure_one()
        if not self._get_record():
            return False
        return {
            'type': 'ir.actions.act_window',
            'res_model': self.res_model,
            'res_id': self.res_id,
            'views': [(False, 'form')],
        }

    # delivery reports -------------------------------------------------------------
    @api.model
    def _find_for_report(self, gateway, report):
        domain = [('gateway_id', '=', gateway.id), ('provider_message_id', '=', report.provider_message_id),
                  ('direction', '=', 'outbound')]
        if report.number:
            domain.append(('number', '=', report.number))
        return self.search(domain)

    # "To check" SMS ------------------------------------------------------------------
    def _check_manager(self):
        if not (self.env.su or self.env.user.has_group('sms_connector.group_sms_manager')):
            raise AccessError(_("Only SMS managers can settle SMS that are to check."))
        if self.filtered(lambda message: message.state != State.UNKNOWN or message.direction != 'outbound'):
            raise UserError(_("Only outbound SMS that are to check can be marked as sent or sent again."))

    def action_mark_sent(self):
        """The manager found the SMS at the provider: it left, never send it again."""
        self._check_manager()
        self.env['sms.send.engine'].sudo()._mark_sent_by_manager(self.sudo())
        return True

    def action_send_again(self):
        """The manager checked that the provider never accepted the SMS: queue it once more."""
        self._check_manager()
        engine = self.env['sms.send.engine'].sudo()
        moved = engine._send_again_by_manager(self.sudo())
        if not moved:
            raise UserError(_("These SMS can no longer be sent again (Odoo removed them from its queue): "
                              "use Retry or send a new SMS."))
        moved.send()
        return True

    # inbound SMS (two-way) --------------------------------------------------------
    @api.model
    def _receive_inbound(self, gateway, inbounds, inline_replies=False):
        """Log, match and post SMS received on ``gateway``, and apply their opt-out keywords.

        Replays of an SMS already received are ignored.
        :param inbounds: InboundSms list from the provider adapter
        :param inline_replies: whether auto-replies go back in the webhook answer (else they are queued)
        :return: texts to answer in the webhook response
        """
        # in the gateway's company: its contacts, its chatter alias domain (and no read of the caller's)
        self = self.with_company(gateway.company_id)  # noqa: PLW0642
        gateway = gateway.with_env(self.env)
        replies = []
        for inbound in inbounds:
            message, match = self._log_inbound(gateway, inbound)
            if not message:
                _logger.info("SMS gateway %s: inbound SMS %s already received, ignored", gateway.id,
                             inbound.provider_message_id)
                continue
            reply = message._apply_keyword(provider_detected=bool(inbound.keyword))
            if not message._post_on_record(match.record, match.rule, match.texter):
                message._alert_unmatched(match.texter)
            if reply and inline_replies:
                replies.append(reply)
                message._log_inline_reply(reply)
            elif reply:
                message._send_reply(reply, post=False)
        return replies

    @api.model
    def _already_received(self, gateway, provider_message_id):
        """Whether ``gateway`` delivered this inbound SMS before (providers retry their webhooks)."""
        self.flush_model(['gateway_id', 'provider_message_id', 'direction'])
        self.env.cr.execute(SQL(
            "SELECT 1 FROM sms_message WHERE gateway_id = %s AND provider_message_id = %s AND direction = 'inbound'",
            gateway.id, provider_message_id))
        return bool(self.env.cr.rowcount)

    @api.model
    def _log_inbound(self, gateway, inbound):
        """The sms.message of one inbound SMS and its InboundMatch; an empty message if already received."""
        if self._already_received(gateway, inbound.provider_message_id):
            return self.browse(), None
        number = normalize_number(inbound.sender).e164 or inbound.sender
        keyword = inbound.keyword or self.env['sms.keyword'].sudo()._match(inbound.body).action or False
        match = self.env['sms.match.rule']._match(number, gateway.company_id)
        partner = self._partner_for(match.record, number, gateway.company_id)
        info = count_segments(inbound.body or '')
        vals = {
            'direction': 'inbound',
            'state': 'received',
            'gateway_id': gateway.id,
            'provider_message_id': inbound.provider_message_id,
            'number': number,
            'gateway_number': inbound.recipient or False,
            'body': inbound.body,
            'segments': inbound.segments or info.segments,
            'encoding': info.encoding,
            'partner_id': partner.id,
            'res_model': match.record._name if match.record is not None else False,
            'res_id': match.record.id if match.record is not None else False,
            'company_id': gateway.company_id.id,
            'received_date': fields.Datetime.now(),
            'keyword': keyword,
            'to_triage': match.record is None and not keyword,
        }
        try:
            with self.env.cr.savepoint():
                return self.create(vals), match
        except psycopg2.errors.UniqueViolation:
            return self.browse(), None  # the same SMS received concurrently by another worker

    @api.model
    def _partner_for(self, record, number, company):
        """The contact who sent the SMS: the matched contact, the record's customer, or by number.

        Only contacts ``company`` may see (its own or shared ones): another company's private
        contact must not show on this company's log.
        """
        Partner = self.env['res.partner'].sudo()
        shared = Domain('company_id', 'in', [False, company.id])
        if record is not None:
            partner = Partner
            if record._name == 'res.partner':
                partner = record
            elif (field := record._fields.get('partner_id')) and field.comodel_name == 'res.partner':
                partner = record.partner_id
            if partner := partner.sudo().filtered(lambda p: p.company_id.id in (False, company.id)):
                return partner
        if not number:
            return Partner
        return Partner.search(Domain('phone_sanitized', '=', number) & shared,
                              order='create_date desc, id desc', limit=1)

    def _apply_keyword(self, provider_detected=False):
        """STOP blacklists the number, START removes it; the text to answer, if any."""
        self.ensure_one()
        if not self.keyword:
            return False
        source = _("replied \"%(body)s\" to %(number)s (%(gateway)s)",
                   body=(self.body or '').strip() or self.keyword.upper(),
                   number=self.gateway_number or '-', gateway=self.gateway_id.name)
        if self.keyword == 'stop':
            self._opt_out([self.number], source)
        elif self.keyword == 'start':
            self._opt_in([self.number], source)
        if provider_detected:
            return False  # the provider answered its own keyword already
        reply = self.env['sms.keyword'].sudo()._match(self.body).reply
        if not reply or not self._may_auto_answer():
            return False
        self.auto_answered = True
        return reply

    def _may_auto_answer(self):
        """Whether the hourly budgets of automatic answers (per number, per gateway) allow one more.

        Anyone holding a webhook URL could otherwise make the company text arbitrary numbers at its cost.
        """
        self.ensure_one()
        icp = self.env['ir.config_parameter'].sudo()
        recent = [('direction', '=', 'inbound'), ('auto_answered', '=', True),
                  ('received_date', '>=', fields.Datetime.now() - timedelta(hours=1))]
        for param, default, scope in (('sms_connector.auto_reply_max_per_number', 5, ('number', '=', self.number)),
                                      ('sms_connector.auto_reply_max_per_gateway', 100,
                                       ('gateway_id', '=', self.gateway_id.id))):
            limit = int(icp.get_param(param, default))
            if self.sudo().search_count([*recent, scope], limit=limit) >= limit:
                _logger.warning("SMS gateway %s: automatic answer to %s not sent, %s reached",
                                self.gateway_id.id, self.number, param)
                return False
        return True

    @api.model
    def _opt_out(self, numbers, source):
        """Blacklist ``numbers`` (they asked to stop), noting when and how on the blacklist entry."""
        return self._blacklist(numbers, _("Opted out: %(source)s.", source=source), add=True)

    @api.model
    def _opt_in(self, numbers, source):
        """Take ``numbers`` off the blacklist (they asked to receive SMS again)."""
        return self._blacklist(numbers, _("Opted back in: %(source)s.", source=source), add=False)

    @api.model
    def _blacklist(self, numbers, note, add):
        numbers = list(dict.fromkeys(
            e164 for e164 in (normalize_number(number).e164 for number in numbers or []) if e164))
        Blacklist = self.env['phone.blacklist'].sudo()
        if not numbers:
            return Blacklist
        entries = Blacklist._add(numbers) if add else Blacklist._remove(numbers)
        when = fields.Datetime.to_string(fields.Datetime.now())
        for entry in entries:
            entry.with_context(mail_post_autofollow_author_skip=True).message_post(
                body=_("%(note)s (%(date)s UTC)", note=note, date=when), subtype_xmlid='mail.mt_note')
        return entries

    def _post_on_record(self, record=None, rule=None, texter=None):
        """Show the reply in the record's chatter as an incoming SMS and tell its responsible user.

        ``record``, ``rule`` and ``texter`` are the InboundMatch when the caller has it (else looked up).
        """
        self.ensure_one()
        if record is None:
            record = self._record_sudo()
        if record is None or not hasattr(record, 'message_post'):
            return False
        record = record.with_context(mail_create_nosubscribe=True, mail_post_autofollow_author_skip=True)
        responsible = self.env['res.users']
        field = record._fields.get('user_id')
        if field and field.comodel_name == 'res.users' and record.user_id.active:
            responsible = record.user_id
        if responsible and responsible.partner_id not in record.message_partner_ids:
            record.message_subscribe(partner_ids=responsible.partner_id.ids)
        partner = self.partner_id
        told = self._reply_recipient(record, texter)
        # message_post reads these fields only: fetched alone, not the hundred columns of the company
        (self.env.company | self.company_id).fetch(['alias_domain_id', 'name'])
        self.env.user.fetch(['share'])
        posted = record.message_post(
            body=self.body or '', message_type='sms', subtype_xmlid='mail.mt_comment',
            author_id=partner.id or False, email_from=None if partner else self.number)
        # not in partner_ids: Odoo would text them the customer's SMS (message_type 'sms')
        self._put_in_inbox(posted, told)
        if responsible and hasattr(record, 'activity_schedule'):
            rule = rule or self.env['sms.match.rule']._rule_for(record._name, self.company_id)
            if rule.create_activity:
                record.activity_schedule(
                    activity_type_id=rule.activity_type_id.id or self.env.ref('mail.mail_activity_data_todo').id,
                    summary=_("Answer the SMS from %(number)s", number=self.number),
                    note=plaintext2html(self.body or ''), user_id=responsible.id)  # their text, never HTML
        return True

    def _reply_recipient(self, record=None, texter=None):
        """Who must hear of this reply: the user who last texted the number, else the record's responsible.

        :param texter: that user (res.users, may be empty) when the caller looked them up already
        """
        self.ensure_one()
        if texter is None:
            texter = self.env['sms.match.rule']._recent_conversation(self.number, self.company_id)[1]
        if texter:
            return texter
        field = record._fields.get('user_id') if record is not None else None
        if field and field.comodel_name == 'res.users' and record.user_id.active and not record.user_id.share:
            return self.env['res.users'].sudo().browse(record.user_id.id)
        return self.env['res.users'].sudo()

    def _alert_unmatched(self, texter=None):
        """A reply no record took: tell the user who texted that number in their Inbox (opens this SMS)."""
        self.ensure_one()
        told = self._reply_recipient(texter=texter)
        if not told:
            return
        posted = self.env['mail.thread'].sudo().message_notify(
            model=self._name, res_id=self.id, partner_ids=told.partner_id.ids,
            author_id=self.partner_id.id or False, email_from=None if self.partner_id else self.number,
            subject=_("SMS from %(number)s", number=self.number), body=self.body or '',
            subtype_xmlid='mail.mt_comment', record_name=_("SMS from %(number)s", number=self.number))
        self._put_in_inbox(posted, told)

    @api.model
    def _put_in_inbox(self, posted, users):
        """Put ``posted`` in the users' Inbox (messaging menu) whatever their e-mail preference.

        Odoo marks e-mail notifications read at once: a customer's answer still needs an action.
        """
        if not posted or not users:
            return
        Notification = self.env['mail.notification'].sudo()
        existing = Notification.search([('mail_message_id', 'in', posted.ids), ('res_partner_id', 'in', users.partner_id.ids)])
        existing.filtered('is_read').write({'is_read': False, 'read_date': False})
        Notification.create([{
            'mail_message_id': message.id, 'res_partner_id': partner.id, 'author_id': message.author_id.id,
            'notification_type': 'inbox', 'notification_status': 'sent',
        } for message in posted for partner in users.partner_id
            if not existing.filtered(lambda n, m=message, p=partner: n.mail_message_id == m and n.res_partner_id == p)])

    def action_mark_triaged(self):
        """Take replies off the Inbox's count once read (they stay in the Inbox)."""
        if not self:
            return True
        self.check_access('read')
        if not self.env.user.has_group('sms_connector.group_sms_triage'):
            raise AccessError(_("Only those who triage received SMS may mark them as read."))
        self.sudo().write({'to_triage': False})
        return True

    def _record_sudo(self):
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        return self.env[self.res_model].sudo().browse(self.res_id).exists() or None

    def _log_inline_reply(self, body):
        """Keep the auto-reply sent in the webhook answer in the conversation."""
        self.ensure_one()
        info = count_segments(body)
        return self.create({
            'direction': 'outbound', 'state': 'sent', 'number': self.number, 'body': body,
            'segments': info.segments, 'encoding': info.encoding, 'gateway_id': self.gateway_id.id,
            'gateway_number': self.gateway_number, 'partner_id': self.partner_id.id,
            'res_model': self.res_model, 'res_id': self.res_id, 'company_id': self.company_id.id,
            'sent_date': fields.Datetime.now(),
        })

    def _send_reply(self, body, post=True):
        """Answer this inbound SMS through the gateway and from the number it arrived on.

        :param post: also post the answer in the linked record's chatter (user replies)
        :return: the sms.sms created
        """
        self.ensure_one()
        sms_model = self.env['sms.sms'].sudo().with_context(sms_connector_reply_to=Trusted(self.id))
        record = self._record_sudo()
        if post and record is not None and hasattr(record, '_message_sms'):
            posted = record.with_context(sms_connector_reply_to=Trusted(self.id))._message_sms(
                body, partner_ids=False, sms_numbers=[self.number], put_in_queue=False)
            return sms_model.search([('mail_message_id', '=', posted.id)])
        sms = sms_model.create({
            'number': self.number, 'body': body, 'partner_id': self.partner_id.id,
            'record_company_id': self.company_id.id, 'state': 'outgoing',
            'sms_connector_res_model': self.res_model or False, 'sms_connector_res_id': self.res_id or False,
        })
        sms.send()
        return sms

    # scheduled SMS -------------------------------------------------------------------
    @api.depends('state', 'scheduled_date', 'user_id')
    @api.depends_context('uid')
    def _compute_can_change_schedule(self):
        is_manager = self.env.user.has_group('sms_connector.group_sms_manager')
        for message in self:
            message.can_change_schedule = bool(message._is_waiting() and (
                is_manager or message.user_id == self.env.user))

    def _is_waiting(self):
        self.ensure_one()
        return self.direction == 'outbound' and self.state == 'queued' and bool(self.scheduled_date)

    def _lock_scheduled(self):
        """The queued sms.sms of these scheduled SMS, locked, after checking the caller may change them.

        Only their author or an SMS manager may; the row lock keeps the queue from sending an SMS
        while it is being cancelled or moved (one already being sent is refused).
        """
        self.check_access('read')
        if not self.env.user.has_group('sms_connector.group_sms_manager') and self.user_id != self.env.user:
            raise AccessError(_("Only the author of a scheduled SMS or an SMS manager may cancel or reschedule it."))
        if not all(message._is_waiting() for message in self):
            raise UserError(_("Only scheduled SMS that have not been sent yet can be cancelled or rescheduled."))
        queued = self.env['sms.sms'].sudo().search([('uuid', 'in', self.mapped('sms_uuid')), ('state', '=', 'outgoing')])
        locked = queued.try_lock_for_update()
        if len(locked) != len(self):
            raise UserError(_("Too late: the SMS is being sent."))
        return locked

    def action_cancel_scheduled(self):
        """Cancel scheduled SMS before they leave; the chatter shows them cancelled."""
        sms = self._lock_scheduled()
        self.env['sms.send.engine'].sudo()._fail(
            sms, 'canceled', _("Cancelled by %(user)s before sending.", user=self.env.user.name))
        return True

    def action_reschedule(self):
        return {
            'type': 'ir.actions.act_window',
            'name': _("Reschedule SMS"),
            'res_model': 'sms.message.reschedule',
            'view_mode': 'form',
            'target': 'new',
            'context': {'default_message_ids': self.ids},
        }

    def _reschedule(self, when):
        if when <= fields.Datetime.now():
            raise UserError(_("The sending date must be in the future."))
        sms = self._lock_scheduled()
        sms.write({'sms_connector_next_attempt': when})
        self.sudo().write({'scheduled_date': when})

    # inbox actions ------------------------------------------------------------------
    def action_view_conversation(self):
        """All SMS exchanged with this number, oldest first, like a phone's thread, with a reply box."""
        self.ensure_one()
        return self.env['sms.conversation']._open(self.number, self._get_record())

    def action_reply(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'name': _("Reply to %(number)s", number=self.number),
            'res_model': 'sms.inbound.reply',
            'view_mode': 'form',
            'target': 'new',
            'context': {'default_message_id': self.id},
        }

    def _check_triage(self):
        """Filing received SMS is for those who triage them: managers, and SMS users of the
        message's company when the setting lets them (only unmatched SMS for them)."""
        if self.env.su:
            return
        self.check_access('read')
        user = self.env.user
        if not user.has_group('sms_connector.group_sms_triage'):
            raise AccessError(_("Only SMS managers may file received SMS (or SMS users, when the SMS settings allow it)."))
        if any(message.direction != 'inbound' for message in self):
            raise UserError(_("Only received SMS can be filed on a record."))
        if not user.has_group('sms_connector.group_sms_manager') and any(message.res_model for message in self):
            raise AccessError(_("Only SMS managers may file again an SMS already filed on a record."))

    def action_link_record(self):
        self.ensure_one()
        self._check_triage()
        return {
            'type': 'ir.actions.act_window',
            'name': _("Link to a record"),
            'res_model': 'sms.inbound.link',
            'view_mode': 'form',
            'target': 'new',
            'context': {'default_message_id': self.id},
        }

    def action_create_partner(self):
        """Unknown sender: make them a contact and file the SMS on it."""
        self.ensure_one()
        self._check_triage()
        partner = self.env['res.partner'].create({'name': self.number, 'phone': self.number})
        self._file_on(partner)
        return {'type': 'ir.actions.act_window', 'res_model': 'res.partner', 'res_id': partner.id,
                'views': [(False, 'form')]}

    def action_create_lead(self):
        """Unknown sender asking about an offer: open a lead with the SMS."""
        self.ensure_one()
        self._check_triage()
        lead = self.env['crm.lead'].create({
            'name': _("SMS from %(number)s", number=self.number), 'phone': self.number,
            'partner_id': self.partner_id.id, 'description': self.body, 'type': 'lead',
        })
        self._file_on(lead)
        return {'type': 'ir.actions.act_window', 'res_model': 'crm.lead', 'res_id': lead.id,
                'views': [(False, 'form')]}

    def _file_on(self, record):
        """File inbound SMS on ``record`` (from the inbox) and post them in its chatter."""
        self._check_triage()
        for message in self:
            partner = message.partner_id or self._partner_for(record, message.number, message.company_id)
            message.sudo().write({'res_model': record._name, 'res_id': record.id, 'partner_id': partner.id,
                                  'to_triage': False})
            message.sudo()._post_on_record()

    # retry: resend SMS that certainly never left ------------------------------------------

    # indexed: deleting log rows looks up the rows resent as them (without, each deletion scans the log)
    retry_id = fields.Many2one('sms.message', "Resent as", readonly=True, copy=False, ondelete='set null',
                               index='btree_not_null', help="The new SMS sent when this failed one was retried.")
    can_retry = fields.Boolean("Can be resent", compute='_compute_can_retry')

    def _compute_can_retry(self):
        for message in self:
            message.can_retry = message._certainly_failed()

    def _certainly_failed(self):
        """Failed and refused by the provider before it accepted anything.

        A provider message id means the provider accepted the SMS (a delivery failure came
        later): resending could deliver it twice. 'To check' (unknown) SMS may have left;
        opted-out ones would be refused again.
        """
        self.ensure_one()
        return (self.direction == 'outbound' and self.state == 'failed' and not self.provider_message_id
                and not self.retry_id)

    def _hand_over_tracking(self, new_sms):
        """The chatter notification and mailing trace of the failed SMS follow its retry.

        The red bubble and the "SMS Failure" counter clear at once, and the retry's outcome
        (sent, delivered, failed again) shows where the failure was shown.
        """
        self.ensure_one()
        Tracker = self.env['sms.tracker'].sudo()
        tracker = Tracker.search([('sms_uuid', '=', self.sms_uuid)], limit=1) if self.sms_uuid else Tracker
        if not tracker:
            return
        Tracker.create({'sms_uuid': new_sms.uuid, 'mail_notification_id': tracker.mail_notification_id.id,
                        'mailing_trace_id': tracker.mailing_trace_id.id})
        notification = tracker.mail_notification_id
        if notification:
            notification.write({'notification_status': 'ready', 'failure_type': False, 'failure_reason': False,
                                'sms_id_int': new_sms.id})
            notification.mail_message_id._notify_message_notification_update()
        if tracker.mailing_trace_id:
            tracker.mailing_trace_id.write({'trace_status': 'outgoing', 'failure_type': False, 'failure_reason': False,
                                            'sms_id_int': new_sms.id})

    def action_retry(self):
        """Resend the certainly-failed messages of the selection; the others are left untouched.

        Whoever may send SMS and see these messages may retry them: the new SMS and the log
        rows are then written as superuser (SMS users only read the log).
        """
        if not self.env.su:
            self.env.user._sms_connector_check_can_send()
            self.check_access('read')
        to_retry = self.filtered(lambda message: message._certainly_failed())
        if not to_retry:
            raise UserError(_(
                "None of the selected SMS can be resent: only failed SMS the provider refused can be "
                "(not sent, delivered or 'To check' ones, which may have reached the recipient)."))
        Sms = self.env['sms.sms'].sudo()
        new_sms = Sms
        for message in to_retry.sudo():
            sms = Sms.create({
                'number': message.number,
                'body': message.body,
                'partner_id': message.partner_id.id,
                'record_company_id': message.company_id.id,
                'sms_connector_res_model': message.res_model or False,
                'sms_connector_res_id': message.res_id or False,
                'state': 'outgoing',
            })
            new_log = message.search([('sms_uuid', '=', sms.uuid)], limit=1)
            new_log.write({'purpose': message.purpose, 'mailing_id': message.mailing_id.id})
            message.retry_id = new_log
            message._hand_over_tracking(sms)
            record = message._record_sudo()
            if record is not None and hasattr(record, 'message_post'):
                record.message_post(
                    body=_("SMS to %(number)s resent after a failure (%(reason)s).",
                           number=message.number, reason=message.error_message or message.error_code or '-'),
                    subtype_xmlid='mail.mt_note')
            new_sms |= sms
        new_sms.send()
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'title': _("SMS resent"),
                'message': _("%(count)s SMS queued again; %(skipped)s could not be resent safely.",
                             count=len(to_retry), skipped=len(self) - len(to_retry)),
                'type': 'success', 'sticky': False,
                'next': {'type': 'ir.actions.act_window_close'},
            },
        }
