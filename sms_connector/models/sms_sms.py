import dataclasses
import logging
import random
import time
from collections import defaultdict
from datetime import UTC, timedelta

import psycopg2.errors

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..providers import RETRY, SENT, UNKNOWN, OutboundSms, SendResult
from ..tools.phone import E164_RE, country_of, normalize_number
from ..tools.retry import backoff_delay
from ..tools.segments import count_segments
from ..tools.send_plan import SendGroup, SendPlan

_logger = logging.getLogger(__name__)


# Normalised provider failure -> Odoo sms.sms / mail.notification failure type.
FAILURE_TO_FAILURE_TYPE = {
    'number_format': 'sms_number_format',
    'opted_out': 'sms_optout',
    'credit': 'sms_credit',
    'auth': 'sms_acc',
    'config': 'sms_acc',
    'country': 'sms_country_not_supported',
    'server': 'sms_server',
    'rate_limited': 'sms_server',
}


def _chunks_keeping_request_keys(provider, outbound):
    """Provider requests for ``outbound``; a retried request keeps its exact composition and key."""
    kept, fresh = defaultdict(list), []
    for sms in outbound:
        if sms.request_key:
            kept[sms.request_key].append(sms)
        else:
            fresh.append(sms)
    chunks = list(kept.values())
    for chunk in provider.split_requests(fresh):
        key = provider.request_key(chunk)
        chunks.append([dataclasses.replace(sms, request_key=key) for sms in chunk])
    return chunks

ODOO_STATE_TO_LOG_STATE = {
    'outgoing': 'queued', 'process': 'sending', 'pending': 'sent', 'sent': 'delivered',
    'error': 'failed', 'canceled': 'canceled',
}


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

    # CRUD ---------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        if self.env.context.get('sms_connector_opt_out_confirmed'):
            for vals in vals_list:
                vals.setdefault('sms_connector_opt_out_confirmed', True)
        self._sms_connector_complete_vals(vals_list)
        self._sms_connector_reply_route(vals_list)
        records = super().create(vals_list)
        records._sms_connector_create_log()
        return records

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

    def _sms_connector_create_log(self):
        """One durable ``sms.message`` per SMS, whatever path queued it."""
        has_mailing = 'mailing_id' in self._fields
        vals_list = []
        for sms in self:
            info = count_segments(sms.body or '')
            mailing_id = sms.mailing_id.id if has_mailing else False
            vals_list.append({
                'sms_uuid': sms.uuid,
                'number': sms.number,
                'body': sms.body,
                'segments': info.segments,
                'encoding': info.encoding,
                # a mailing is marketing unless its author chose "transactional" (campaigns, issue 4)
                'purpose': (sms.mailing_id.sms_connector_purpose or 'marketing') if mailing_id else 'transactional',
                'partner_id': sms.partner_id.id,
                'res_model': sms.sms_connector_res_model,
                'res_id': sms.sms_connector_res_id,
                'mailing_id': mailing_id,
                'user_id': self.env.uid,
                'company_id': sms.record_company_id.id or self.env.company.id,
                'state': ODOO_STATE_TO_LOG_STATE.get(sms.state, 'queued'),
                'error_message': sms.failure_type and dict(
                    self._fields['failure_type']._description_selection(self.env)).get(sms.failure_type),
            })
        self.env['sms.message'].sudo().create(vals_list)

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
        routed, native, unroutable = defaultdict(self.browse), self.browse(), self.browse()
        for sms in self:
            if forced := sms._sms_connector_forced_gateway(company_of[sms.id]):
                routed[forced] |= sms  # a reply leaves through the gateway the SMS came in on
                continue
            candidates = by_company.get(company_of[sms.id].id)
            if not candidates:
                native |= sms
                continue
            country = country_of(sms.number) if (sms.number or '').startswith('+') else None
            gateway = next((gw for gw, codes in candidates if not codes or country in codes), None)
            if gateway is None and country is None:
                gateway = candidates[0][0]  # the number is unusable: let the gateway fail it clearly
            if gateway is None:
                unroutable |= sms
            else:
                routed[gateway] |= sms
        return routed, native, unroutable

    def _sms_connector_fail_unroutable(self):
        def reason(sms):
            return _("No active SMS gateway of %(company)s serves %(country)s.",
                     company=sms._get_sms_company()[:1].name, country=country_of(sms.number) or sms.number)

        for text, group in self.grouped(reason).items():  # one write per company and country
            group._sms_connector_fail('sms_country_not_supported', text)

    def _sms_connector_fail(self, failure_type, reason, log_state='failed', sms_state='error'):
        """Fail (or cancel) SMS before any provider call, with a reason on the log and chatter."""
        if not self:
            return
        self.write({'state': sms_state, 'failure_type': failure_type})
        self.sms_tracker_id.sudo()._action_update_from_sms_state(
            sms_state, failure_type=failure_type, failure_reason=reason)
        self.env['sms.message'].sudo().search([('sms_uuid', 'in', self.mapped('uuid'))]).write(
            {'state': log_state, 'error_message': reason})
        self.mail_message_id._notify_message_notification_update()

    # sending: Odoo's entry points ------------------------------------------------------
    def send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Send gateway SMS right after the commit; keep Odoo's own path for the others.

        Calling a provider inside the caller's transaction would send again when that
        transaction is retried, or leave a ghost SMS when it rolls back.
        """
        to_send = self.filtered(lambda sms: sms.state == 'outgoing' and not sms.to_delete)
        routed, native, unroutable = to_send._sms_connector_route()
        unroutable._sms_connector_fail_unroutable()
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
            engine = self.browse()  # keeps the registry, user and context; the cursor is not reused

            @postcommit.add
            def _send_committed_sms():
                try:
                    engine._sms_connector_process(ids=sorted(pending))
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
        icp = self.env['ir.config_parameter'].sudo()
        self._sms_connector_process(time_budget=float(icp.get_param('sms_connector.cron_time_budget', 300)))
        self._sms_connector_reconcile_stale()
        gateway_companies = self.env['sms.gateway'].sudo().search([]).company_id.ids
        domain = [('state', '=', 'outgoing'), ('to_delete', '!=', True)]
        native_domain = [*domain, '|', ('record_company_id', '=', False), ('record_company_id', 'not in', gateway_companies)]
        batch_size = self._get_send_batch_size()
        records = self.search(native_domain, limit=batch_size, order='id').try_lock_for_update()
        if records:
            records._send(unlink_failed=False, unlink_sent=True, raise_exception=False)
        due = [*domain, '|', ('sms_connector_next_attempt', '=', False), ('sms_connector_next_attempt', '<=', fields.Datetime.now())]
        self.env['ir.cron']._commit_progress(len(records), remaining=self.search_count(due))

    # the engine ------------------------------------------------------------------------
    @api.model
    def _sms_connector_process(self, ids=None, time_budget=None):
        """Send due SMS of our gateways, batch after batch, until none is left.

        Each batch: claim rows (row locks, SKIP LOCKED) and commit the "sending" state; call
        the providers with no transaction open; commit the results. A crash in between leaves
        rows "sending" for ``_sms_connector_reconcile_stale``: never a blind resend.
        :return: number of SMS handled
        """
        deadline = time.monotonic() + time_budget if time_budget else None
        skipped, handled = set(), 0
        while True:
            plan = self._sms_connector_retry_on_conflict(
                lambda engine, skipped=skipped: engine._sms_connector_claim(ids, skipped))
            if plan is None:
                break
            skipped |= plan.skipped_ids
            if plan.groups:
                self._sms_connector_record(plan.run())
            handled += plan.count
            if deadline and time.monotonic() >= deadline:
                break
        return handled

    @api.model
    def _sms_connector_claim(self, ids, skipped):
        """Lock the next due batch, fail what cannot be sent, mark the rest "sending"."""
        gateways = self.env['sms.gateway'].search([])
        if not gateways:
            return None
        now = fields.Datetime.now()
        batch_size = int(self.env['ir.config_parameter'].get_param('sms_connector.batch_size', 500))
        where = [
            SQL("state = 'outgoing'"), SQL("to_delete IS NOT TRUE"),
            SQL("(sms_connector_next_attempt IS NULL OR sms_connector_next_attempt <= %s)", now),
            SQL("record_company_id = ANY(%s)", gateways.company_id.ids),
        ]
        if ids is not None:
            where.append(SQL("id = ANY(%s)", list(ids)))
        if skipped:
            where.append(SQL("id != ALL(%s)", list(skipped)))
        self.env.cr.execute(SQL(
            "SELECT id FROM sms_sms WHERE %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            SQL(" AND ").join(where), batch_size))
        claimed = self.browse([row[0] for row in self.env.cr.fetchall()])
        if not claimed:
            return None
        # A retried provider request is resent whole, never split: its id would make the
        # provider drop the part that was never delivered as a duplicate.
        keys = [key for key in claimed.mapped('sms_connector_request_key') if key]
        if keys:
            self.env.cr.execute(SQL(
                "SELECT id FROM sms_sms WHERE state = 'outgoing' AND to_delete IS NOT TRUE"
                " AND sms_connector_request_key = ANY(%s) AND id != ALL(%s) ORDER BY id FOR UPDATE",
                keys, claimed.ids))
            claimed |= self.browse([row[0] for row in self.env.cr.fetchall()])
        routed, native, unroutable = claimed._sms_connector_route()
        unroutable._sms_connector_fail_unroutable()
        plan = SendPlan(claimed_at=now, skipped_ids=set(native.ids), count=len(claimed))
        purpose = {log.sms_uuid: log.purpose for log in self.env['sms.message'].search_fetch(
            [('sms_uuid', 'in', claimed.mapped('uuid'))], ['sms_uuid', 'purpose'])}
        blacklisted = set(self.env['phone.blacklist'].search([('number', 'in', claimed.mapped('number'))]).mapped('number'))
        # Legal sending windows: marketing SMS outside their country's hours wait, never dropped.
        window_deferral, deferred = self.env['sms.sending.window']._deferral_checker(now), []
        sending, keys, gateway_of = self.browse(), {}, {}
        for gateway, group in routed.items():
            outbound = []
            sender_by_country = {line.country_id.code: line.sender for line in gateway.sender_ids}
            for sms in group:
                normalized = normalize_number(sms.number)
                if not normalized.e164:
                    sms._sms_connector_fail('sms_number_format', _(
                        "Invalid phone number %(number)s: it must be in international format (+country code).",
                        number=sms.number or ''))
                elif normalized.e164 in blacklisted and gateway._skips_opted_out(
                        purpose.get(sms.uuid, 'transactional'), sms.sms_connector_opt_out_confirmed):
                    sms._sms_connector_fail('sms_blacklist', _("Opted out: the number replied STOP (blacklist)."),
                                            log_state='opted_out', sms_state='canceled')
                elif purpose.get(sms.uuid) == 'marketing' and (at := window_deferral(normalized.country_code)):
                    deferred.append((sms, at, normalized.country_code))  # stays 'outgoing', due at ``at``
                else:
                    outbound.append(OutboundSms(
                        key=sms.uuid, number=normalized.e164, body=sms.body or '',
                        purpose=purpose.get(sms.uuid, 'transactional'),
                        sender=sms._sms_connector_forced_sender(gateway) or sms.mailing_id.sms_connector_sender
                        or sender_by_country.get(normalized.country_code) or gateway.sender or '',
                        request_key=sms.sms_connector_request_key or ''))
                    sending |= sms
                    gateway_of[sms.uuid] = gateway.id
            if outbound:
                provider = gateway._get_provider()
                chunks = _chunks_keeping_request_keys(provider, outbound)
                keys.update((sms.key, sms.request_key) for chunk in chunks for sms in chunk)
                plan.groups.append(SendGroup(gateway.id, provider, chunks))
        if sending:
            self._sms_connector_mark_sending(sending, keys, gateway_of, now)
        self._sms_connector_defer(deferred)
        return plan

    def _sms_connector_defer(self, deferred):
        """Postpone SMS outside their sending window: due again at the next allowed time.

        :param deferred: (sms.sms, naive UTC datetime, destination country code) tuples
        """
        windows = {w.country_id.code: w for w in self.env['sms.sending.window'].sudo().search([])}
        by_time = defaultdict(lambda: (self.browse(), None))
        for sms, at, country_code in deferred:
            records, _code = by_time[at]
            by_time[at] = (records | sms, country_code)
        for at, (records, country_code) in by_time.items():
            records.write({'sms_connector_next_attempt': at})
            label = windows[country_code]._local_label(at) if country_code in windows else str(at)
            self.env['sms.message'].sudo().search([('sms_uuid', 'in', records.mapped('uuid'))]).write({
                'state': 'queued', 'error_message': _("Deferred to %(date)s (sending window)", date=label)})

    def _sms_connector_mark_sending(self, sending, keys, gateway_of, now):
        uuids = sending.mapped('uuid')
        self.env.flush_all()
        self.env.cr.execute(SQL(
            """
            UPDATE sms_sms s
               SET state = 'process', sms_connector_attempts = COALESCE(s.sms_connector_attempts, 0) + 1,
                   sms_connector_claimed_at = %(now)s, sms_connector_request_key = v.key
              FROM (SELECT UNNEST(%(uuids)s::varchar[]) AS uuid, UNNEST(%(keys)s::varchar[]) AS key) v
             WHERE s.uuid = v.uuid
            """, now=now, uuids=uuids, keys=[keys[uuid] for uuid in uuids]))
        self.env.cr.execute(SQL(
            """
            UPDATE sms_message m SET state = 'sending', gateway_id = v.gateway_id
              FROM (SELECT UNNEST(%(uuids)s::varchar[]) AS uuid, UNNEST(%(gateways)s::int[]) AS gateway_id) v
             WHERE m.sms_uuid = v.uuid
            """, uuids=uuids, gateways=[gateway_of[uuid] for uuid in uuids]))
        self.env.invalidate_all()

    @api.model
    def _sms_connector_record(self, results):
        """Commit provider outcomes in a transaction of their own."""
        self._sms_connector_retry_on_conflict(lambda engine: engine._sms_connector_apply_results(results))

    @api.model
    def _sms_connector_retry_on_conflict(self, step, attempts=5):
        """Run ``step(engine)`` in a new committed transaction, again after a serialization conflict.

        Odoo's cursors are REPEATABLE READ: locking a row another worker committed after our
        snapshot, or racing a webhook on the same log row, fails the transaction; both steps
        of the engine are safe to repeat from scratch.
        """
        for attempt in range(attempts):
            try:
                with self.env.registry.cursor() as cr:
                    return step(self.with_env(self.env(cr=cr)).sudo())
            except psycopg2.errors.SerializationFailure:
                if attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
        return None

    @api.model
    def _sms_connector_apply_results(self, results):
        icp = self.env['ir.config_parameter']
        max_attempts = int(icp.get_param('sms_connector.max_attempts', 5))
        retry_base = float(icp.get_param('sms_connector.retry_base_seconds', 30))
        now = fields.Datetime.now()
        in_flight = {sms.uuid: sms for sms in self.search([('uuid', 'in', list(results)), ('state', '=', 'process')])}
        sent, retries, failed, payloads, throttled = self.browse(), [], defaultdict(self.browse), [], {}
        for uuid, (group, res) in results.items():
            sms = in_flight.get(uuid)
            if sms is None:  # handled meanwhile (reconciled by another worker)
                continue
            payload = {
                'gateway_id': group.gateway_id, 'provider_message_id': res.provider_message_id,
                'segments': res.segments, 'cost': res.cost, 'cost_currency': res.currency,
                'error_code': res.error_code, 'error_message': res.error_message,
            }
            if res.state == SENT:
                sent |= sms
                payload['state'] = 'sent'
            elif res.state == RETRY and sms.sms_connector_attempts < max_attempts:
                delay = backoff_delay(sms.sms_connector_attempts, retry_base, retry_after=res.retry_after)
                retries.append((sms, now + timedelta(seconds=delay)))
                payload.update(state='queued', error_message=_(
                    "Attempt %(attempt)s of %(max)s failed (%(error)s); next attempt in %(delay)s s.",
                    attempt=sms.sms_connector_attempts, max=max_attempts, error=res.error_message, delay=int(delay)))
                if res.failure == 'rate_limited':
                    throttled[group.gateway_id] = max(throttled.get(group.gateway_id, 0), res.retry_after or 30)
            elif res.state == UNKNOWN:
                reason = _("The provider may have accepted this SMS (%(error)s) and it was not found there: "
                           "check at the provider before sending it again.", error=res.error_message)
                failed['unknown', reason] |= sms
                payload.update(state='unknown', error_message=reason)
            else:
                failure_type = FAILURE_TO_FAILURE_TYPE.get(res.failure, 'unknown')
                reason = res.error_message or _("The provider refused the SMS.")
                failed[failure_type, reason] |= sms
                payload.update(state='failed', error_message=reason)
            payloads.append({'uuid': uuid, 'connector': payload})

        if sent:
            sent.write({'state': 'pending', 'failure_type': False, 'to_delete': True})
            sent.sms_tracker_id._action_update_from_sms_state('pending')
        for (failure_type, reason), group_sms in failed.items():
            group_sms.write({'state': 'error', 'failure_type': failure_type})
            group_sms.sms_tracker_id._action_update_from_sms_state('error', failure_type=failure_type, failure_reason=reason)
        if retries:
            self.env.flush_all()
            self.env.cr.execute(SQL(
                """
                UPDATE sms_sms s SET state = 'outgoing', sms_connector_next_attempt = v.at
                  FROM (SELECT UNNEST(%(ids)s::int[]) AS id, UNNEST(%(ats)s::timestamp[]) AS at) v
                 WHERE s.id = v.id
                """, ids=[sms.id for sms, _at in retries], ats=[at for _sms, at in retries]))
            self.env['sms.sms'].invalidate_model()
        self.env['sms.message']._record_send_results(payloads)
        opted_out = [sms.number for (failure_type, _reason), group in failed.items() if failure_type == 'sms_optout'
                     for sms in group]
        if opted_out:  # e.g. Twilio 21610: the recipient replied STOP to the provider
            self.env['sms.message']._sms_connector_opt_out(opted_out, _("the provider refused the SMS: opted out"))
        for gateway_id, seconds in throttled.items():
            self.env['sms.gateway'].browse(gateway_id)._throttle(seconds)
        done = sent | self.browse([sms.id for group_sms in failed.values() for sms in group_sms])
        done.mail_message_id._notify_message_notification_update()

    @api.model
    def _sms_connector_reconcile_stale(self):
        """SMS left "sending" by a crashed worker: confirm at the provider, never resend blindly.

        Providers with idempotent requests get the very same request again (a duplicate is
        dropped by the provider); others are looked up, and flagged "to check" when not found.
        """
        icp = self.env['ir.config_parameter'].sudo()
        stale_before = fields.Datetime.now() - timedelta(seconds=int(icp.get_param('sms_connector.stale_after_seconds', 3600)))
        total = 0
        while True:
            with self.env.registry.cursor() as cr:
                count = self.with_env(self.env(cr=cr)).sudo()._sms_connector_reconcile_batch(stale_before)
            if not count:
                return total
            total += count

    @api.model
    def _sms_connector_reconcile_batch(self, stale_before):
        stale = self.search([('state', '=', 'process'), ('sms_connector_claimed_at', '<', stale_before)],
                            limit=500).try_lock_for_update()
        if not stale:
            return 0
        routed, _native, unroutable = stale._sms_connector_route()
        unroutable._sms_connector_fail_unroutable()
        results = {}
        for gateway, group in routed.items():
            provider = gateway._get_provider()
            send_group = SendGroup(gateway.id, provider, [])
            for sms in group:
                if provider.idempotent_requests:
                    res = SendResult(sms.uuid, RETRY, error_message=_("interrupted while sending"), retry_after=0)
                else:
                    outbound = OutboundSms(key=sms.uuid, number=sms.number, body=sms.body or '')
                    since = sms.sms_connector_claimed_at.replace(tzinfo=UTC) - timedelta(minutes=1)
                    # long after the crash nothing is in flight any more: not found means not sent
                    res = provider.lookup(outbound, since) or SendResult(
                        sms.uuid, RETRY, error_message=_("interrupted while sending, not found at the provider"),
                        retry_after=0)
                results[sms.uuid] = (send_group, res)
        self._sms_connector_apply_results(results)
        return len(stale)

    # results ------------------------------------------------------------------
    def _handle_call_result_hook(self, results):
        super()._handle_call_result_hook(results)
        for result in results:
            if 'connector' not in result:  # Odoo's own path (IAP, sms_twilio)
                ok = result['state'] in self.IAP_TO_SMS_STATE_SUCCESS
                result['connector'] = {
                    'state': 'sent' if ok else 'failed',
                    'error_message': False if ok else (result.get('failure_reason') or result['state']),
                }
        self.env['sms.message'].sudo()._record_send_results(results)

    def _update_sms_state_and_trackers(self, new_state, failure_type=None):
        super()._update_sms_state_and_trackers(new_state, failure_type=failure_type)
        self.env['sms.message'].sudo().search([('sms_uuid', 'in', self.mapped('uuid'))]).write(
            {'state': ODOO_STATE_TO_LOG_STATE[new_state]})

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
        reply_to = self.env.context.get('sms_connector_reply_to')
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
        return ''
