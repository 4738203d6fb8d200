import logging
from collections import defaultdict
from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.tools import SQL

from ..engine.lifecycle import FROM_ODOO_SMS_STATE, State
from ..tools.phone import E164_RE, normalize_number
from ..tools.segments import count_segments
from ..tools.trusted_context import trusted_value

_logger = logging.getLogger(__name__)


class SmsSms(models.Model):
    """Route Odoo's SMS queue through our gateways, grouped by company and gateway."""

    _inherit = 'sms.sms'

    record_company_id = fields.Many2one('res.company', 'Company', ondelete='set null')
    sms_connector_res_model = fields.Char("Source model")
    sms_connector_res_id = fields.Integer("Source record ID")
    sms_connector_attempts = fields.Integer("Send attempts", default=0, readonly=True)
    sms_connector_next_attempt = fields.Datetime("Next attempt", readonly=True)
    sms_connector_claimed_at = fields.Datetime("Sending since", readonly=True)
    sms_connector_opt_out_confirmed = fields.Boolean(
        "Sent despite opt-out", readonly=True, help="A user confirmed sending to a number that replied STOP.")
    sms_connector_request_key = fields.Char(
        "Provider request key", readonly=True, copy=False,
        help="Identity of the provider request this SMS went out in; a retry repeats it exactly.")
    sms_connector_gateway_id = fields.Many2one(
        'sms.gateway', "Reply gateway", ondelete='set null',
        help="Gateway forced for this SMS: a reply goes through the gateway the customer's SMS came in on.")
    sms_connector_sender = fields.Char("Reply from", help="Number of ours the customer's SMS arrived on.")
    sms_connector_custom_sender = fields.Char(
        "Custom sender", readonly=True, help="Sender chosen by the user, instead of the gateway's.")
    sms_connector_skipped_gateway_ids = fields.Many2many(
        'sms.gateway', 'sms_sms_skipped_gateway_rel', 'sms_id', 'gateway_id', string="Gateways failed over",
        readonly=True, help="Gateways that were down for this SMS: it is routed to the next one.")

    # The queue: claims walk it in id order; without it they skip every SMS sent before (kept until
    # Odoo's clean-up), which grows with the campaign
    _sms_connector_queue_idx = models.Index("(id) WHERE state = 'outgoing' AND to_delete IS NOT TRUE")

    # CRUD ---------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        """Options chosen in the composer (send later, sender, message type, "Send anyway") and the log."""
        self._sms_connector_prepare_vals(vals_list)
        records = super().create(vals_list)
        self.env['sms.send.engine']._log_created(records, self._sms_connector_log_options())
        return records

    @api.model
    def _sms_connector_prepare_vals(self, vals_list):
        """Complete the values of new SMS with the composer's options, company, source and route.

        A later date only delays the caller's own SMS: a plain context value is enough. The sender,
        the purpose (which decides opt-out and sending-window rules) and the opt-out confirmation
        come from checked code only (``Trusted`` values, which JSON-RPC cannot produce).
        """
        ctx = self.env.context
        scheduled = ctx.get('sms_connector_scheduled_date')
        sender = trusted_value(ctx, 'sms_connector_custom_sender')
        confirmed = trusted_value(ctx, 'sms_connector_opt_out_confirmed')  # the composer's "Send anyway"
        for vals in vals_list:
            if confirmed:
                vals.setdefault('sms_connector_opt_out_confirmed', True)
            if scheduled:  # the engine does not claim an SMS before its next attempt
                vals.setdefault('sms_connector_next_attempt', scheduled)
            if sender:
                vals.setdefault('sms_connector_custom_sender', sender)
        self._sms_connector_complete_vals(vals_list)
        self._sms_connector_reply_route(vals_list)

    @api.model
    def _sms_connector_log_options(self):
        """Values of every log row of SMS created in this context (the composer's purpose, planned date)."""
        options = {'purpose': trusted_value(self.env.context, 'sms_connector_purpose'),
                   'scheduled_date': self.env.context.get('sms_connector_scheduled_date')}
        return {key: value for key, value in options.items() if value}

    @api.model
    def _sms_connector_create_mass(self, vals_list):
        """Queue a mailing's SMS with their trace, tracker and log row: one INSERT per table.

        What Odoo's composer and ``create`` do (our options and log, the mailing trace and its
        tracker, the tracked short links of mass_mailing_sms, the queue cron's trigger), without
        the ORM's per-record work: it costs more than the rest of queueing a recipient.
        :param vals_list: the composer's values, each with one trace holding one tracker to create
        :return: the SMS, or None when a value needs the ORM (the caller creates them with it)
        """
        sms_vals, traces, trackers = [], [], []
        for vals in vals_list:
            commands = vals.get('mailing_trace_ids')
            if not (commands and len(commands) == 1 and commands[0][0] == Command.CREATE) or not vals.get('uuid'):
                return None  # defaults are read once for a bulk insert: each SMS brings its own UUID
            trace = dict(commands[0][2])
            tracker_commands = trace.pop('sms_tracker_ids', None)
            if not (tracker_commands and len(tracker_commands) == 1 and tracker_commands[0][0] == Command.CREATE) \
                    or not trace.get('sms_code') or 'mail_mail_id' in trace:  # set by mailing.trace's create
                return None
            sms_vals.append({key: value for key, value in vals.items() if key != 'mailing_trace_ids'})
            traces.append(trace)
            trackers.append(dict(tracker_commands[0][2]))
        Trace, Tracker = self.env['mailing.trace'].sudo(), self.env['sms.tracker'].sudo()
        # the campaign a trace relates to, given rather than recomputed for each trace
        campaigns = {mailing.id: mailing.campaign_id.id for mailing in self.env['mailing.mailing'].sudo().browse(
            {trace.get('mass_mailing_id') for trace in traces} - {None, False})}
        for trace in traces:
            if 'campaign_id' not in trace and trace.get('mass_mailing_id'):
                trace['campaign_id'] = campaigns[trace['mass_mailing_id']]
        self._sms_connector_prepare_vals(sms_vals)
        if not (self._sms_connector_can_bulk_insert(sms_vals) and Trace._sms_connector_can_bulk_insert(traces, ['sms_id_int'])
                and Tracker._sms_connector_can_bulk_insert(trackers, ['mailing_trace_id'])):
            return None
        self.env.ref('sms.ir_cron_sms_scheduler_action')._trigger()
        sms_all = self._sms_connector_bulk_insert(sms_vals)
        linked = sms_all.browse(sms.id for sms, vals in zip(sms_all, sms_vals, strict=True) if '/r/' in (vals['body'] or ''))
        if linked:  # mass_mailing_sms's click tracking: short links carry the SMS id
            bodies = linked._update_body_short_links()
            for sms, vals in zip(sms_all, sms_vals, strict=True):
                vals['body'] = bodies.get(sms.id, vals['body'])
            self.env.cr.execute(SQL(
                "UPDATE sms_sms s SET body = v.body FROM (SELECT UNNEST(%s::int[]) AS id, UNNEST(%s::text[]) AS body) v"
                " WHERE s.id = v.id", list(bodies), list(bodies.values())))
            linked.invalidate_recordset(['body'])
        for trace, sms in zip(traces, sms_all, strict=True):
            trace['sms_id_int'] = sms.id
        for tracker, trace in zip(trackers, Trace._sms_connector_bulk_insert(traces), strict=True):
            tracker['mailing_trace_id'] = trace.id
        Tracker._sms_connector_bulk_insert(trackers)
        self.env['sms.send.engine']._log_values(self._sms_connector_log_values_from(sms_vals), self._sms_connector_log_options())
        return sms_all

    @api.model
    def _sms_connector_complete_vals(self, vals_list):
        """Fill company and source document, and store numbers in E.164.

        National numbers are read with the recipient's country, then the document's,
        then the company's; numbers that cannot be normalised are kept and fail at send time.
        """
        message_ids = {vals['mail_message_id'] for vals in vals_list if vals.get('mail_message_id')}
        messages = {
            msg['id']: msg for msg in self.env['mail.message'].sudo().browse(message_ids).read(
                ['model', 'res_id', 'record_company_id'], load=None)
        } if message_ids else {}
        for vals in vals_list:
            msg = messages.get(vals.get('mail_message_id'))
            if msg:
                vals.setdefault('sms_connector_res_model', msg['model'])
                vals.setdefault('sms_connector_res_id', msg['res_id'])
                if not vals.get('record_company_id') and msg['record_company_id']:
                    vals['record_company_id'] = msg['record_company_id']
            vals.setdefault('record_company_id', self.env.company.id)

        # Country look-ups only for national numbers: mailings mostly carry E.164 already.
        todo = [vals for vals in vals_list if vals.get('number') and not E164_RE.fullmatch(vals['number'])]
        for vals, country in zip(todo, self._sms_connector_default_countries(todo), strict=True):
            normalized = normalize_number(vals['number'], country)
            if normalized.e164:
                vals['number'] = normalized.e164

    @api.model
    def _sms_connector_default_countries(self, vals_list):
        """Country code to read each national number with (partner, document, company)."""
        partner_ids = {vals['partner_id'] for vals in vals_list if vals.get('partner_id')}
        partner_country = {
            p['id']: p['country_code'] for p in self.env['res.partner'].sudo().browse(partner_ids).read(['country_code'])
        } if partner_ids else {}
        doc_ids = defaultdict(set)
        for vals in vals_list:
            model = vals.get('sms_connector_res_model')
            if model and vals.get('sms_connector_res_id') and model in self.env:
                doc_ids[model].add(vals['sms_connector_res_id'])
        doc_country = {}
        for model, ids in doc_ids.items():
            records = self.env[model].sudo().browse(ids).exists()
            for record in records:
                partner = record.partner_id if 'partner_id' in record._fields else None
                code = (record.country_id.code if 'country_id' in record._fields else None) or \
                    (partner.country_id.code if partner is not None and partner._name == 'res.partner' else None)
                doc_country[model, record.id] = code
        company_country = {c.id: c.country_id.code for c in self.env['res.company'].sudo().search([])}
        return [
            partner_country.get(vals.get('partner_id'))
            or doc_country.get((vals.get('sms_connector_res_model'), vals.get('sms_connector_res_id')))
            or company_country.get(vals.get('record_company_id'))
            for vals in vals_list
        ]

    def _sms_connector_log_values(self):
        """Values of the ``sms.message`` logging each SMS, in the state Odoo created it in."""
        has_mailing = 'mailing_id' in self._fields
        return self._sms_connector_log_values_from([{
            'uuid': sms.uuid, 'number': sms.number, 'body': sms.body, 'partner_id': sms.partner_id.id,
            'mailing_id': sms.mailing_id.id if has_mailing else False,
            'sms_connector_res_model': sms.sms_connector_res_model, 'sms_connector_res_id': sms.sms_connector_res_id,
            'record_company_id': sms.record_company_id.id, 'state': sms.state, 'failure_type': sms.failure_type,
        } for sms in self])

    @api.model
    def _sms_connector_log_values_from(self, sms_vals_list):
        """Log values of SMS given by their ``sms.sms`` values (as created: no read back)."""
        failure_labels = dict(self._fields['failure_type']._description_selection(self.env))
        mailing_ids = {vals['mailing_id'] for vals in sms_vals_list if vals.get('mailing_id')}
        # a mailing is marketing unless its author chose "transactional"
        purposes = {mailing.id: mailing.sms_connector_purpose or 'marketing'
                    for mailing in self.env['mailing.mailing'].sudo().browse(mailing_ids)} if mailing_ids else {}
        segments = {}  # a mailing's SMS mostly share one text
        vals_list = []
        for sms in sms_vals_list:
            body = sms.get('body') or ''
            info = segments.get(body) or segments.setdefault(body, count_segments(body))
            mailing_id = sms.get('mailing_id') or False
            failure = sms.get('failure_type')
            vals_list.append({
                'sms_uuid': sms['uuid'],
                'number': sms.get('number'),
                'body': sms.get('body'),
                'segments': info.segments,
                'encoding': info.encoding,
                'purpose': purposes[mailing_id] if mailing_id else 'transactional',
                'partner_id': sms.get('partner_id') or False,
                'res_model': sms.get('sms_connector_res_model'),
                'res_id': sms.get('sms_connector_res_id'),
                'mailing_id': mailing_id,
                'user_id': self.env.uid,
                'company_id': sms.get('record_company_id') or self.env.company.id,
                'state': FROM_ODOO_SMS_STATE.get(sms.get('state') or 'outgoing', State.QUEUED).value,
                'error_message': failure and failure_labels.get(failure),
            })
        return vals_list

    # routing ------------------------------------------------------------------
    def _get_sms_company(self):
        return self.mail_message_id.record_company_id or self.record_company_id or super()._get_sms_company()

    def _sms_connector_route(self):
        """Pick each SMS's gateway: its company's first active gateway serving the destination.

        :return: (dict gateway -> sms, sms for Odoo's own path, sms no gateway can serve)
        """
        company_of = {sms.id: sms._get_sms_company()[:1] for sms in self}
        gateways = self.env['sms.gateway'].sudo().search(
            [('company_id', 'in', list({c.id for c in company_of.values()}))])
        by_company = defaultdict(list)
        for gateway in gateways:
            by_company[gateway.company_id.id].append((gateway, set(gateway.country_ids.mapped('code'))))
        # parsing a number is the costly step of routing: only where a gateway is limited to countries
        restricted = {company_id for company_id, candidates in by_company.items() if any(c for _g, c in candidates)}
        routed, native, unroutable = defaultdict(list), [], []  # ids: unions per SMS are quadratic
        for sms in self:
            if forced := sms._sms_connector_forced_gateway(company_of[sms.id]):
                routed[forced].append(sms.id)  # a reply leaves through the gateway the SMS came in on
                continue
            candidates = by_company.get(company_of[sms.id].id)
            if not candidates:
                native.append(sms.id)
                continue
            country = normalize_number(sms.number).country_code \
                if company_of[sms.id].id in restricted and (sms.number or '').startswith('+') else None
            serving = [gw for gw, codes in candidates if not codes or country in codes]
            # after a failover, the next gateway serving the country (back to the first when all failed)
            gateway = next((gw for gw in serving if gw not in sms.sms_connector_skipped_gateway_ids),
                           serving[0] if serving else None)
            if gateway is None and country is None:
                gateway = candidates[0][0]  # the number is unusable: let the gateway fail it clearly
            if gateway is None:
                unroutable.append(sms.id)
            else:
                routed[gateway].append(sms.id)
        return ({gateway: self.browse(ids) for gateway, ids in routed.items()}, self.browse(native),
                self.browse(unroutable))

    # sending: Odoo's entry points ------------------------------------------------------
    def send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Send gateway SMS right after the commit; keep Odoo's own path for the others.

        Calling a provider inside the caller's transaction would send again when that
        transaction is retried, or leave a ghost SMS when it rolls back.
        """
        to_send = self.filtered(lambda sms: sms.state == 'outgoing' and not sms.to_delete)
        routed, native, unroutable = to_send._sms_connector_route()
        self.env['sms.send.engine']._fail_unroutable(unroutable)
        ours = self.browse([sms_id for group in routed.values() for sms_id in group.ids])
        if ours:
            ours._sms_connector_send_after_commit()
        if native:
            super(SmsSms, native).send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception)

    def _sms_connector_send_after_commit(self):
        postcommit = self.env.cr.postcommit
        pending = postcommit.data.setdefault('sms_connector.send_ids', set())
        if not pending:
            engine = self.env['sms.send.engine']  # keeps the registry, user and context; the cursor is not reused

            @postcommit.add
            def _send_committed_sms():
                try:
                    engine._process(ids=sorted(pending))
                except Exception:
                    # the queue cron sends what is left; never fail the user's committed request
                    _logger.exception("SMS connector: sending after commit failed")
        pending.update(self.ids)

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        # Odoo's cron path mixes companies in one batch and builds the API with the cron
        # user's company: send each company's SMS with that company's API.
        if self.env.context.get('sms_api') or not self:
            return super()._send(unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception)
        for company, sms in self.grouped(lambda s: s._get_sms_company()[:1]).items():
            super(SmsSms, sms.with_company(company) if company else sms)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception)

    @api.model
    def _process_queue(self):
        """Queue cron: our gateways' SMS through the engine, the others through Odoo's path."""
        engine = self.env['sms.send.engine']
        icp = self.env['ir.config_parameter'].sudo()
        handled = engine._process(time_budget=float(icp.get_param('sms_connector.cron_time_budget', 300)))
        handled += engine._reconcile_stale()
        self.env['sms.delivery.report']._cron_apply_and_expire()
        gateway_companies = self.env['sms.gateway'].sudo().search([]).company_id.ids
        domain = [('state', '=', 'outgoing'), ('to_delete', '!=', True)]
        native_domain = [*domain, '|', ('record_company_id', '=', False), ('record_company_id', 'not in', gateway_companies)]
        batch_size = self._get_send_batch_size()
        records = self.search(native_domain, limit=batch_size, order='id').try_lock_for_update()
        if records:
            records._send(unlink_failed=False, unlink_sent=True, raise_exception=False)
        due = [*domain, '|', ('sms_connector_next_attempt', '=', False), ('sms_connector_next_attempt', '<=', fields.Datetime.now())]
        # the engine's work is progress too: a cron that sent SMS did not "process no record"
        self.env['ir.cron']._commit_progress(len(records) + handled, remaining=self.search_count(due))

    # results of Odoo's own path ----------------------------------------------------------
    def _handle_call_result_hook(self, results):
        super()._handle_call_result_hook(results)
        self.env['sms.send.engine'].sudo()._record_native_results(results)

    def _update_sms_state_and_trackers(self, new_state, failure_type=None):
        super()._update_sms_state_and_trackers(new_state, failure_type=failure_type)
        self.env['sms.send.engine'].sudo()._sync_from_odoo(self, new_state)

    # two-way: replies leave from the number the customer wrote to -------------------------
    @api.model
    def _sms_connector_reply_route(self, vals_list):
        """Send to a number that wrote to us recently through the gateway and number it wrote to.

        With ``sms_connector_reply_to`` (an inbound sms.message id) in the context, answer that SMS.
        Marketing SMS (mailings) keep the normal routing.
        """
        todo = [vals for vals in vals_list if vals.get('number') and not vals.get('sms_connector_gateway_id')
                and not vals.get('mailing_id')]
        if not todo:
            return
        Message = self.env['sms.message'].sudo()
        reply_to = trusted_value(self.env.context, 'sms_connector_reply_to')
        if reply_to:
            inbound = Message.browse(reply_to).exists().filtered(lambda m: m.direction == 'inbound')
        else:
            days = self.env['sms.match.rule']._conversation_days()
            if days <= 0:
                return
            inbound = Message.search([
                ('direction', '=', 'inbound'), ('number', 'in', list({vals['number'] for vals in todo})),
                ('create_date', '>=', fields.Datetime.now() - timedelta(days=days)),
            ], order='id desc')
        last_by_number = {}
        for message in inbound:
            last_by_number.setdefault(message.number, message)
        for vals in todo:
            message = last_by_number.get(vals['number'])
            if message and message.gateway_id and message.company_id.id == vals.get('record_company_id'):
                vals['sms_connector_gateway_id'] = message.gateway_id.id
                vals['sms_connector_sender'] = message.gateway_number or False

    def _sms_connector_forced_gateway(self, company):
        """The gateway this SMS must leave through (a reply), if still active and of its company."""
        self.ensure_one()
        gateway = self.sms_connector_gateway_id.sudo()
        if gateway and gateway.active and gateway.company_id == company:
            return gateway
        return None

    def _sms_connector_forced_sender(self, gateway):
        """The From number a reply must use when it leaves through ``gateway``; '' otherwise."""
        self.ensure_one()
        if self.sms_connector_sender and self.sms_connector_gateway_id == gateway:
            return self.sms_connector_sender
        return self.sms_connector_custom_sender or ''
