import contextlib
import logging
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg2.errors

import odoo
from odoo import _, api, fields, models
from odoo.tools import SQL

from ..engine.lifecycle import (
    FINAL_STATES,
    FROM_ODOO_SMS_STATE,
    ODOO_VIEW,
    RANK,
    REPORT_STATUS,
    TRANSITIONS,
    State,
    can_move,
    reason_for,
)
from ..engine.plan import SendGroup, SendPlan, resolve_unknown
from ..engine.policy import Action, RetryPolicy
from ..providers import RETRY, SENT, UNKNOWN, Failure, OutboundSms, SendResult, get_provider_class
from ..tools.phone import country_of, normalize_number

_logger = logging.getLogger(__name__)

# slots this process holds per (database, gateway): {'users', 'slots', 'cr'}
_SLOTS = {}
_SLOTS_LOCK = threading.Lock()
# pg_advisory_lock namespace of the gateways' concurrency slots ("SMS")
SLOT_LOCK_NAMESPACE = 0x534D53
SLOT_WAIT_SECONDS = 0.05
# SMS claimed, sent and recorded together (`sms_connector.batch_size`): each batch costs a few dozen
# statements whatever its size, so larger batches record a campaign faster.
BATCH_SIZE = 1000
# The first batch of a run is this fraction of the batch size (at least a first wave of full provider
# requests): sending starts as soon as a few SMS are claimed, the next batch is claimed while they are out.
FIRST_BATCH_SHARE = 4

# sms_message columns the engine writes, with their SQL type. Error columns are overwritten
# (a success clears the error shown); the others keep their value when the new one is NULL.
LOG_COLUMNS = {
    'gateway_id': 'int', 'provider_message_id': 'varchar', 'segments': 'int', 'cost': 'numeric',
    'cost_currency': 'varchar', 'attempts': 'int', 'last_error': 'text', 'request_key': 'varchar',
    'error_code': 'varchar', 'error_message': 'text', 'gateway_number': 'varchar',
}
OVERWRITTEN_COLUMNS = ('error_code', 'error_message')
# written with the costs (sms.message._cost_columns): what the log's stored computes would give
COST_COLUMNS = {'currency_id': 'int', 'cost_company': 'numeric'}
# sms.sms fields a claim writes in SQL
SENDING_FIELDS = ['state', 'sms_connector_attempts', 'sms_connector_claimed_at', 'sms_connector_request_key']


class _Done:
    """A result already there, with the interface of a Future."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _sources(target):
    """States an SMS may leave for ``target``."""
    return [state.value for state, targets in TRANSITIONS.items() if State(target) in targets]


class SmsSendEngine(models.AbstractModel):
    """Sends our gateways' SMS and is the only writer of their states.

    Claim (row locks, committed "sending") → provider calls with no transaction open → record
    the outcomes in a transaction of their own, one message's failing bookkeeping never rolling
    back another's. Every state change goes through ``_move``, which only performs transitions
    the lifecycle (``engine/lifecycle.py``) allows and mirrors them on Odoo's ``sms.sms``,
    chatter notifications and mailing traces.
    """

    _name = 'sms.send.engine'
    _description = 'SMS Send Engine'

    # running ------------------------------------------------------------------------
    def _sql(self, query):
        """Run an engine statement; a serialization conflict with another worker or a webhook is
        expected and retried by ``_in_new_transaction``: not an error for the server log."""
        self.env.cr.execute(query, log_exceptions=False)

    def _policy(self):
        return RetryPolicy.from_params(self.env['ir.config_parameter'].sudo().get_param)

    @api.model
    def _process(self, ids=None, time_budget=None):
        """Send due SMS of our gateways, batch after batch, until none is left.

        Pipelined: the next batch is claimed while the current one is with the providers, then
        recorded, in a thread and transaction of its own (no transaction is open during the provider
        calls): claiming and recording use both cores, the database working for one while Python
        works for the other. Batches are recorded one at a time: two would update the same
        mailings and traces, and one would have to start again.
        :return: number of SMS handled
        """
        deadline = time.monotonic() + time_budget if time_budget else None
        skipped, handled, sending, share = set(), 0, None, FIRST_BATCH_SHARE
        recording = threading.Lock()
        # Odoo's test cursors belong to the test's thread: in-process tests send in it
        pipelined = not odoo.modules.module.current_test
        with ThreadPoolExecutor(max_workers=2 if pipelined else 1, thread_name_prefix='sms-batch') as runner:
            while True:
                plan = None
                if not (deadline and time.monotonic() >= deadline):
                    plan = self._in_new_transaction(
                        lambda engine, skipped=skipped, share=share: engine._claim(ids, skipped, share))
                    share = 1
                next_sending = None
                if plan is not None:
                    skipped |= plan.skipped_ids
                    handled += plan.count
                    if plan.groups and pipelined:
                        next_sending = runner.submit(self._send_and_record, plan, recording)
                    elif plan.groups:
                        next_sending = _Done(self._send_and_record(plan, recording))
                if sending is not None:
                    sending.result()  # at most two batches out: the previous one is recorded
                sending = next_sending
                if plan is None:
                    break
        return handled

    def _send_and_record(self, plan, recording):
        results = plan.run(slots=self._gateway_slots)
        with recording:
            self._record(results)

    @api.model
    def _in_new_transaction(self, step, attempts=5):
        """Run ``step(engine)`` in a new committed transaction, again after a serialization conflict.

        Odoo's cursors are REPEATABLE READ: locking a row another worker committed after our
        snapshot, or racing a webhook on the same log row, fails the transaction; every step of
        the engine is safe to repeat from scratch.
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

    @contextlib.contextmanager
    def _gateway_slots(self, group):
        """Hold a share of the gateway's concurrency slots, shared by every Odoo process.

        Each slot is a session advisory lock on a connection of its own, held while the
        requests run (no transaction stays open); a crashed process releases them with its
        connection. Batches of one process that overlap (pipelining) share the slots it holds,
        so that the next batch fills the waves the current one leaves empty.
        Yields (workers, rate): the slots held and the matching share of the rate.
        """
        key = (self.env.cr.dbname, group.gateway_id)
        limit = max(1, group.provider.config.max_concurrency)
        wanted = min(limit, max(1, len(group.chunks)))
        with _SLOTS_LOCK:
            holder = _SLOTS.get(key)
            if holder is not None:
                holder['users'] += 1
        if holder is None:
            holder = {'users': 1, 'slots': [], 'cr': self.env.registry.cursor(), 'lock': threading.Lock()}
            with holder['lock']:
                self._acquire_slots(holder, group.gateway_id, limit, wanted, wait=True)
            with _SLOTS_LOCK:
                _SLOTS[key] = holder
        elif len(holder['slots']) < wanted:
            with holder['lock']:  # a larger batch joins: take the free slots it needs too
                self._acquire_slots(holder, group.gateway_id, limit, wanted, wait=False)
        try:
            yield len(holder['slots']), group.provider.config.rate_limit * len(holder['slots']) / limit
        finally:
            with _SLOTS_LOCK:
                holder['users'] -= 1
                last = not holder['users']
                if last and _SLOTS.get(key) is holder:
                    del _SLOTS[key]
            if last:
                with holder['lock']:
                    cr = holder['cr']
                    cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s + slot) FROM UNNEST(%s::int[]) slot",
                                   SLOT_LOCK_NAMESPACE, group.gateway_id * 1000, holder['slots']))
                    cr.commit()  # pylint: disable=invalid-commit
                    cr.close()

    @staticmethod
    def _acquire_slots(holder, gateway_id, limit, wanted, wait):
        """Take free slots of the gateway up to ``wanted``; with ``wait``, until at least one is held.

        One statement tries every slot not held yet (in the select list: each is tried once, and
        every lock taken is returned), one more gives back those beyond ``wanted``.
        """
        cr = holder['cr']
        while True:
            need = wanted - len(holder['slots'])
            if need > 0:
                cr.execute(SQL("SELECT slot, pg_try_advisory_lock(%s, %s + slot) FROM UNNEST(%s::int[]) slot",
                               SLOT_LOCK_NAMESPACE, gateway_id * 1000,
                               [slot for slot in range(limit) if slot not in holder['slots']]))
                taken = [slot for slot, locked in cr.fetchall() if locked]
                holder['slots'].extend(taken[:need])
                if taken[need:]:
                    cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s + slot) FROM UNNEST(%s::int[]) slot",
                                   SLOT_LOCK_NAMESPACE, gateway_id * 1000, taken[need:]))
            # a connection of its own: it holds the locks, not a transaction
            cr.commit()  # pylint: disable=invalid-commit
            if holder['slots'] or not wait:
                return
            time.sleep(SLOT_WAIT_SECONDS)

    # claiming ----------------------------------------------------------------------
    @api.model
    def _claim(self, ids, skipped, share=1):
        """Lock the next due batch, settle what cannot be sent, mark the rest "sending".

        :param share: claim this fraction (1/share) of the batch size
        """
        gateways = self.env['sms.gateway'].search([])
        if not gateways:
            return None
        now = fields.Datetime.now()
        batch_size = int(self.env['ir.config_parameter'].get_param('sms_connector.batch_size', BATCH_SIZE))
        if share > 1:  # a smaller batch, but at least a first wave of full provider requests
            capabilities = [get_provider_class(provider).capabilities for provider in set(gateways.mapped('provider'))]
            first_wave = max(caps.max_recipients_per_request * caps.safe_concurrency for caps in capabilities)
            batch_size = min(batch_size, max(1, batch_size // share, first_wave))
        where = [
            SQL("state = 'outgoing'"), SQL("to_delete IS NOT TRUE"),
            SQL("(sms_connector_next_attempt IS NULL OR sms_connector_next_attempt <= %s)", now),
            SQL("record_company_id = ANY(%s)", gateways.company_id.ids),
        ]
        if ids is not None:
            where.append(SQL("id = ANY(%s)", list(ids)))
        if skipped:
            where.append(SQL("id != ALL(%s)", list(skipped)))
        self._sql(SQL(
            "SELECT id FROM sms_sms WHERE %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            SQL(" AND ").join(where), batch_size))
        Sms = self.env['sms.sms']
        claimed = Sms.browse([row[0] for row in self.env.cr.fetchall()])
        if not claimed:
            return None
        # A retried provider request is resent whole, never split: its id would make the
        # provider drop the part that was never delivered as a duplicate.
        keys = [key for key in claimed.mapped('sms_connector_request_key') if key]
        if keys:
            self._sql(SQL(
                "SELECT id FROM sms_sms WHERE state = 'outgoing' AND to_delete IS NOT TRUE"
                " AND sms_connector_request_key = ANY(%s) AND id != ALL(%s) ORDER BY id FOR UPDATE",
                keys, claimed.ids))
            claimed |= Sms.browse([row[0] for row in self.env.cr.fetchall()])
        routed, native, unroutable = claimed._sms_connector_route()
        self._fail_unroutable(unroutable)
        plan = SendPlan(claimed_at=now, skipped_ids=set(native.ids), count=len(claimed))
        purpose = {log.sms_uuid: log.purpose for log in self.env['sms.message'].search_fetch(
            [('sms_uuid', 'in', claimed.mapped('uuid'))], ['sms_uuid', 'purpose'])}
        # numbers are stored in E.164, as the blacklist stores them: no re-formatting per number
        self._sql(SQL("SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)",
                                [number for number in claimed.mapped('number') if number]))
        blacklisted = {row[0] for row in self.env.cr.fetchall()}
        # Legal sending windows: marketing SMS outside their country's hours wait, never dropped.
        window_deferral, deferred = self.env['sms.sending.window']._deferral_checker(now), []
        invalid, opted_out_ids = [], []
        sending_ids, request_keys, gateway_of, sender_of = [], {}, {}, {}
        for gateway, group in routed.items():
            outbound = []
            sender_by_country = {line.country_id.code: line.sender for line in gateway.sender_ids}
            default_sender = gateway.sender or ''
            for sms in group:
                uuid = sms.uuid
                normalized = normalize_number(sms.number)
                sms_purpose = purpose.get(uuid, 'transactional')
                if not normalized.e164:
                    invalid.append(sms)
                elif normalized.e164 in blacklisted and gateway._skips_opted_out(
                        sms_purpose, sms.sms_connector_opt_out_confirmed):
                    opted_out_ids.append(sms.id)
                elif sms_purpose == 'marketing' and (at := window_deferral(normalized.country_code)):
                    deferred.append((sms, at, normalized.country_code))  # stays queued, due at ``at``
                else:
                    sender_of[uuid] = (
                        sms._sms_connector_forced_sender(gateway) or sms.mailing_id.sms_connector_sender
                        or sender_by_country.get(normalized.country_code) or default_sender)
                    outbound.append(OutboundSms(
                        key=uuid, number=normalized.e164, body=sms.body or '', purpose=sms_purpose,
                        sender=sender_of[uuid], request_key=sms.sms_connector_request_key or ''))
                    sending_ids.append(sms.id)
                    gateway_of[uuid] = gateway.id
            if outbound:
                provider = gateway._get_provider()
                chunks = self._chunks_keeping_request_keys(provider, outbound)
                request_keys.update((sms.key, sms.request_key) for chunk in chunks for sms in chunk)
                plan.groups.append(SendGroup(gateway.id, provider, chunks))
        for sms in invalid:
            self._fail(sms, Failure.NUMBER_FORMAT, _(
                "Invalid phone number %(number)s: it must be in international format (+country code).",
                number=sms.number or ''))
        self._fail(Sms.browse(opted_out_ids), 'blacklisted', _("Opted out: the number replied STOP (blacklist)."))
        if sending_ids:
            self._set_sending(Sms.browse(sending_ids), request_keys, gateway_of, now, sender_of)
        self._defer(deferred)
        return plan

    @api.model
    def _chunks_keeping_request_keys(self, provider, outbound):
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
            chunks.append([OutboundSms(**{**sms.__dict__, 'request_key': key}) for sms in chunk])
        return chunks

    def _fail_unroutable(self, sms_records):
        def reason(sms):
            return _("No active SMS gateway of %(company)s serves %(country)s.",
                     company=sms._get_sms_company()[:1].name, country=country_of(sms.number) or sms.number)

        for text, group in sms_records.grouped(reason).items():  # one write per company and country
            self._fail(group, 'unroutable', text)

    # recording outcomes ------------------------------------------------------------------
    @api.model
    def _record(self, results):
        """Commit provider outcomes in a transaction of their own, each message isolated.

        The batch is recorded in a few statements; if that fails, message by message under
        savepoints; a message whose bookkeeping still fails is parked "To check" with the
        reason (its SMS left the queue: it is never resent blindly).
        """
        def step(engine):
            try:
                with engine.env.cr.savepoint():
                    engine._apply_results(results)
                return
            except psycopg2.errors.SerializationFailure:
                raise
            except Exception:
                _logger.exception("SMS engine: recording %d outcomes at once failed; recording them one by one",
                                  len(results))
            broken = {}
            for uuid, item in results.items():
                try:
                    with engine.env.cr.savepoint():
                        engine._apply_results({uuid: item})
                except psycopg2.errors.SerializationFailure:
                    raise
                except Exception as exc:
                    _logger.exception("SMS engine: recording the outcome of SMS %s failed", uuid)
                    broken[uuid] = (item, exc)
            if broken:
                engine._park(broken)

        self._in_new_transaction(step)
        self._in_new_transaction(lambda engine: engine.env['sms.delivery.report']._apply_pending(
            list({group.gateway_id for group, _res in results.values()})))

    @api.model
    def _park(self, broken):
        """Last resort for outcomes Odoo refused to record: "To check", with the provider's answer."""
        uuids = list(broken)
        texts = [_("Recording the outcome failed (%(error)s); the provider said: %(state)s %(id)s %(message)s",
                   error=exc, state=res.state, id=res.provider_message_id or '', message=res.error_message or '')
                 for (_group, res), exc in broken.values()]
        pids = [res.provider_message_id for (_group, res), _exc in broken.values()]
        self._sql(SQL(
            """
            UPDATE sms_message m SET state = 'unknown', error_message = v.text,
                   provider_message_id = COALESCE(v.pid, m.provider_message_id)
              FROM (SELECT UNNEST(%(uuids)s::varchar[]) AS uuid, UNNEST(%(texts)s::text[]) AS text,
                           UNNEST(%(pids)s::varchar[]) AS pid) v
             WHERE m.sms_uuid = v.uuid
            """, uuids=uuids, texts=texts, pids=pids))
        self._sql(SQL(
            "UPDATE sms_sms SET state = 'error', failure_type = 'unknown' WHERE uuid = ANY(%s)", uuids))
        self.env.invalidate_all()

    @api.model
    def _apply_results(self, results):
        """Turn provider outcomes into state changes, following the retry policy."""
        policy = self._policy()
        Sms = self.env['sms.sms']
        in_flight = {sms.uuid: sms for sms in Sms.search([('uuid', 'in', list(results)), ('state', '=', 'process')])}
        self._resolve_lookups({uuid: item for uuid, item in results.items() if uuid in in_flight})
        sent, retries, failures, to_check, throttled = [], [], defaultdict(lambda: Sms), defaultdict(lambda: Sms), {}
        for uuid, (group, res) in results.items():
            sms = in_flight.get(uuid)
            if sms is None:  # handled meanwhile (reconciled by another worker)
                continue
            decision = policy.decide(res, sms.sms_connector_attempts)
            if decision.action == Action.RECORD_SENT:
                sent.append((sms, group, res))
            elif decision.action == Action.RETRY:
                retries.append((sms, group, res, decision))
                if res.failure == Failure.RATE_LIMITED:
                    throttled[group.gateway_id] = max(throttled.get(group.gateway_id, 0), res.retry_after or 30)
            elif decision.action == Action.TO_CHECK:
                to_check[self._to_check_text(res)] |= sms
            else:
                failures[res.failure or Failure.UNKNOWN, res.error_message or _("The provider refused the SMS."),
                         res.error_code or False] |= sms
        self._set_sent(sent)
        self._set_retry(retries, policy)
        for (failure, text, code), group_sms in failures.items():
            self._fail(group_sms, failure, text, error_code=code, attempts=True)
        for text, group_sms in to_check.items():
            self._fail(group_sms, 'to_check', text, attempts=True)
        for gateway_id, seconds in throttled.items():
            self.env['sms.gateway'].browse(gateway_id)._throttle(seconds)

    def _to_check_text(self, res):
        if res.lookup_error:
            return _("The provider may have accepted this SMS (%(error)s) and could not be asked (%(lookup)s): "
                     "it will be looked up again.", error=res.error_message, lookup=res.lookup_error)
        if res.candidates and len(res.candidates) > 1:
            return _("The provider may have accepted this SMS (%(error)s) and several identical messages match "
                     "it there: check at the provider.", error=res.error_message)
        return _("The provider may have accepted this SMS (%(error)s) and it was not found there yet: "
                 "it will be looked up again.", error=res.error_message)

    @api.model
    def _resolve_lookups(self, results):
        """Decide UNKNOWN outcomes from what the provider's lookup found.

        Messages already recorded for other SMS are not candidates (an identical SMS sent
        earlier must not confirm this one). One candidate: sent. Several: to check. None: not
        sent, retried, unless the request may still be in flight.
        """
        pending = [(group, res) for group, res in results.values() if res.state == UNKNOWN and res.candidates is not None]
        if not pending:
            return
        pids = {cand.provider_message_id for _group, res in pending for cand in res.candidates}
        taken = set(self.env['sms.message'].search_fetch(
            [('provider_message_id', 'in', list(pids))], ['provider_message_id']).mapped('provider_message_id'))
        for _group, res in pending:
            matches = [cand for cand in res.candidates if cand.provider_message_id not in taken]
            if len(matches) == 1:
                found = matches[0]
                taken.add(found.provider_message_id)
                res.state, res.provider_message_id, res.segments = SENT, found.provider_message_id, found.segments
                res.error_message = None
            elif not matches and not res.maybe_in_flight:
                # the provider answers for what it accepted: not there means not sent
                res.state, res.failure, res.retry_after = RETRY, Failure.SERVER, 0
            res.candidates = matches

    # reconciliation ------------------------------------------------------------------------
    @api.model
    def _reconcile_stale(self):
        """SMS left "sending" by a crashed worker, and "To check" SMS due for a new look-up.

        Never a blind resend: idempotent providers get the very same request again, others
        are looked up; a failed look-up proves nothing and the SMS waits for the next run.
        """
        policy = self._policy()
        now = fields.Datetime.now()
        stale_before = now - timedelta(seconds=policy.stale_after_seconds)
        recheck_before = now - timedelta(seconds=policy.recheck_after_seconds)
        done = set()  # each SMS once per run, however short the recheck interval
        while True:
            batch = self._in_new_transaction(
                lambda engine: engine._claim_stale(stale_before, recheck_before, done))
            if not batch:
                return len(done)
            plan, results = batch
            done.update(results)
            resolve_unknown(results, plan.groups, plan.since())
            self._record(results)

    @api.model
    def _claim_stale(self, stale_before, recheck_before, done):
        """Lock a batch of stale "sending" and due "To check" SMS, mark them "sending" again.

        :param done: uuids already handled in this run
        """
        self._sql(SQL(
            """
            SELECT s.id FROM sms_sms s
              JOIN sms_message m ON m.sms_uuid = s.uuid
             WHERE ((s.state = 'process' AND s.sms_connector_claimed_at < %(stale)s)
                    OR (s.state = 'error' AND m.state = 'unknown' AND s.to_delete IS NOT TRUE
                        AND COALESCE(s.sms_connector_claimed_at, s.create_date) <= %(recheck)s))
               AND s.uuid != ALL(%(done)s)
             ORDER BY s.id LIMIT 500 FOR UPDATE OF s SKIP LOCKED
            """, stale=stale_before, recheck=recheck_before, done=list(done)))
        stale = self.env['sms.sms'].browse([row[0] for row in self.env.cr.fetchall()])
        if not stale:
            return None
        # long after its claim nothing is in flight any more: "not found" then means "not sent"
        in_flight = {sms.uuid for sms in stale if (sms.sms_connector_claimed_at or sms.create_date) >= stale_before}
        routed, _native, unroutable = stale._sms_connector_route()
        self._fail(unroutable, 'to_check', _("Interrupted while sending and no gateway serves it any more: "
                                              "check at the provider."))
        now = fields.Datetime.now()
        plan, results = SendPlan(claimed_at=min(stale.mapped('create_date'))), {}
        for gateway, group in routed.items():
            provider = gateway._get_provider()
            outbound = [OutboundSms(key=sms.uuid, number=sms.number, body=sms.body or '',
                                    request_key=sms.sms_connector_request_key or '') for sms in group]
            send_group = SendGroup(gateway.id, provider, [outbound])
            plan.groups.append(send_group)
            for sms in group:
                results[sms.uuid] = (send_group, SendResult(
                    sms.uuid, UNKNOWN, error_message=_("interrupted while sending"), failure=Failure.SERVER,
                    maybe_in_flight=sms.uuid in in_flight))
        # back to "sending" (a recheck) and re-stamped so that no other worker takes them meanwhile
        self.env.flush_all()
        self._sql(SQL(
            "UPDATE sms_sms SET state = 'process', failure_type = NULL, sms_connector_claimed_at = %s WHERE id = ANY(%s)",
            now, [sms.id for group in routed.values() for sms in group]))
        self._move(self.env['sms.sms'].browse([sms.id for group in routed.values() for sms in group]),
                   State.SENDING, sync_odoo=False)
        self.env.invalidate_all()
        return plan, results

    # state writers: the only place outbound states change ---------------------------------
    @api.model
    def _move(self, sms_records, target, rows=None, sms_vals=None, reason=None, text=False, sync_odoo=True,
              from_states=None):
        """Move the log of ``sms_records`` to ``target`` where the lifecycle allows it.

        :param rows: per-uuid dicts of LOG_COLUMNS values
        :param sms_vals: extra ``sms.sms`` values
        :param reason: lifecycle Reason (failure types for Odoo's models)
        :return: the sms.sms actually moved (illegal moves are skipped and logged)
        """
        if not sms_records:
            return sms_records
        self.env.flush_all()
        uuids = sms_records.mapped('uuid')
        sources = {str(state) for state in (from_states or _sources(target))}
        # Two statements, each on one index whatever the statistics say. Right after a campaign is
        # queued the planner believes no log row is "sending" or "sent": one UPDATE joining the new
        # values and filtering on the state was planned as a scan of those rows, each compared with
        # every value of the batch. A row changed by another transaction after this one's snapshot
        # makes the UPDATE fail with a serialization error, and the whole step is started again.
        self._sql(SQL("SELECT id, sms_uuid, state FROM sms_message WHERE sms_uuid = ANY(%s)", uuids))
        logged = {uuid: (log_id, state) for log_id, uuid, state in self.env.cr.fetchall()}
        movable = [uuid for uuid in uuids if uuid in logged and logged[uuid][1] in sources]
        if movable:
            self._update_log(movable, [logged[uuid][0] for uuid in movable], target, rows or {})
        # an SMS without log (queued before the addon was installed, log deleted) follows Odoo's state alone
        moved_uuids = set(movable) | (set(uuids) - set(logged))
        self.env['sms.message'].invalidate_model()
        moved = sms_records.filtered(lambda sms: sms.uuid in moved_uuids)
        if len(moved) != len(sms_records):
            _logger.warning("SMS engine: %d SMS could not become %s (their state changed meanwhile)",
                            len(sms_records) - len(moved), target)
        if sync_odoo and moved:
            view = ODOO_VIEW[State(target)]
            moved.write({'state': view.sms_state, 'failure_type': reason.sms_failure if reason else False,
                         **(sms_vals or {})})
            if view.tracker_state:
                self._update_trackers(moved, view.tracker_state, reason, text)
            moved.mail_message_id._notify_message_notification_update()
        return moved

    def _update_log(self, uuids, log_ids, target, rows):
        """Write ``target`` and the LOG_COLUMNS ``rows`` on the log rows ``log_ids`` (of ``uuids``)."""
        costs = self.env['sms.message']._cost_columns(rows, sent_now=target == State.SENT)
        types = {**LOG_COLUMNS, **(COST_COLUMNS if costs else {})}
        columns = {column: [{**rows.get(uuid, {}), **costs.get(uuid, {})}.get(column) for uuid in uuids]
                   for column in types}
        assignments = [
            SQL("%s = v.%s", SQL.identifier(column), SQL.identifier(column)) if column in OVERWRITTEN_COLUMNS
            else SQL("%s = COALESCE(v.%s, m.%s)", SQL.identifier(column), SQL.identifier(column), SQL.identifier(column))
            for column in types
        ]
        if target == State.SENT:
            assignments.append(SQL("sent_date = COALESCE(m.sent_date, NOW() AT TIME ZONE 'UTC')"))
        unnest = SQL(", ").join(
            SQL("UNNEST(%s::%s[]) AS %s", values, SQL(types[column]), SQL.identifier(column))
            for column, values in columns.items())
        self._sql(SQL(
            """
            UPDATE sms_message m
               SET state = %(target)s, %(assignments)s,
                   write_date = NOW() AT TIME ZONE 'UTC', write_uid = %(uid)s
              FROM (SELECT UNNEST(%(ids)s::int[]) AS id, %(unnest)s) v
             WHERE m.id = v.id
            """,
            target=str(target), assignments=SQL(", ").join(assignments), uid=self.env.uid, ids=log_ids,
            unnest=unnest))

    def _update_trackers(self, sms_records, tracker_state, reason, text):
        """Chatter notifications and mailing traces, each with a failure type it can store."""
        trackers = sms_records.sms_tracker_id.sudo()
        if not trackers:
            return
        Tracker = self.env['sms.tracker']
        trackers._update_sms_notifications(
            Tracker.SMS_STATE_TO_NOTIFICATION_STATUS[tracker_state],
            failure_type=reason.notification_failure if reason else False, failure_reason=text or False)
        trace_status = Tracker.SMS_STATE_TO_TRACE_STATUS[tracker_state]
        traces = trackers._update_sms_traces(
            trace_status, failure_type=reason.trace_failure if reason else False, failure_reason=text or False)
        # Odoo looks for the mailings still to mark done through all their traces, for each batch:
        # once done (after a campaign's first batch), there is nothing to look for
        if trace_status == 'process' or any(mailing.state != 'done' for mailing in traces.mass_mailing_id):
            trackers._update_sms_mailings(trace_status, traces)

    # columns of the log row written when an SMS is queued, with their SQL type
    CREATED_COLUMNS = {
        'sms_uuid': 'varchar', 'number': 'varchar', 'body': 'text', 'segments': 'int', 'encoding': 'varchar',
        'purpose': 'varchar', 'partner_id': 'int', 'res_model': 'varchar', 'res_id': 'int', 'mailing_id': 'int',
        'user_id': 'int', 'company_id': 'int', 'state': 'varchar', 'error_message': 'text',
        'scheduled_date': 'timestamp',
    }

    @api.model
    def _log_created(self, sms_records, options=None):
        """One durable ``sms.message`` per SMS, whatever path queued it.

        One INSERT for the whole batch: mailings queue thousands of SMS at once, and the ORM's
        create costs more per row than Odoo's own queueing.
        :param options: values for every row (the composer's purpose, planned date)
        """
        self._log_values(sms_records._sms_connector_log_values(), options)

    @api.model
    def _log_values(self, vals_list, options=None):
        """Insert the log rows ``vals_list`` (see ``sms.sms._sms_connector_log_values_from``)."""
        if not vals_list:
            return
        for vals in vals_list:
            vals.update(options or {})
        self.env.flush_all()
        columns = list(self.CREATED_COLUMNS)
        self._sql(SQL(
            """
            INSERT INTO sms_message (direction, create_uid, write_uid, create_date, write_date, %(columns)s)
            SELECT 'outbound', %(uid)s, %(uid)s, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC', %(columns)s
              FROM (SELECT %(unnest)s) v
            """,
            columns=SQL(", ").join(SQL.identifier(column) for column in columns),
            uid=self.env.uid,
            unnest=SQL(", ").join(
                SQL("UNNEST(%s::%s[]) AS %s", [vals.get(column) or None for vals in vals_list],
                    SQL(self.CREATED_COLUMNS[column]), SQL.identifier(column))
                for column in columns)))
        self.env['sms.message'].invalidate_model()

    @api.model
    def _set_sending(self, sms_records, request_keys, gateway_of, now, sender_of=None):
        self.env.flush_all()
        uuids = sms_records.mapped('uuid')
        self._sql(SQL(
            """
            UPDATE sms_sms s
               SET state = 'process', sms_connector_attempts = COALESCE(s.sms_connector_attempts, 0) + 1,
                   sms_connector_claimed_at = %(now)s, sms_connector_request_key = v.key
              FROM (SELECT UNNEST(%(uuids)s::varchar[]) AS uuid, UNNEST(%(keys)s::varchar[]) AS key) v
             WHERE s.uuid = v.uuid
         RETURNING s.uuid, s.sms_connector_attempts
            """, now=now, uuids=uuids, keys=[request_keys[uuid] for uuid in uuids]))
        attempts = dict(self.env.cr.fetchall())
        self.env['sms.sms'].invalidate_model(SENDING_FIELDS)
        self._move(sms_records, State.SENDING, sync_odoo=False, rows={
            uuid: {'gateway_id': gateway_of[uuid], 'attempts': attempts.get(uuid), 'request_key': request_keys[uuid],
                   # "Our number" of an outbound SMS: the sender it leaves with
                   'gateway_number': (sender_of or {}).get(uuid) or None} for uuid in uuids})

    @api.model
    def _set_sent(self, entries):
        """Accepted by the provider: (sms, SendGroup, SendResult) triples."""
        if not entries:
            return
        sms_records = self.env['sms.sms'].browse([sms.id for sms, _group, _res in entries])
        self._move(sms_records, State.SENT, sms_vals={'to_delete': True}, rows={sms.uuid: {
            'gateway_id': group.gateway_id, 'provider_message_id': res.provider_message_id,
            'segments': res.segments, 'cost': res.cost, 'cost_currency': res.currency,
            'attempts': sms.sms_connector_attempts, 'error_code': None, 'error_message': None,
        } for sms, group, res in entries})

    @api.model
    def _set_retry(self, entries, policy):
        """Certainly not accepted: queued again after a delay, on the next gateway when this one is down.

        :param entries: (sms, SendGroup, SendResult, Decision) tuples
        """
        if not entries:
            return
        now = fields.Datetime.now()
        rows, next_attempt, failover = {}, {}, {}
        gateways = self.env['sms.gateway'].browse({group.gateway_id for _sms, group, _res, _dec in entries})
        for sms, group, res, decision in entries:
            gateway = gateways.browse(group.gateway_id)
            error = f"{res.error_code}: {res.error_message}" if res.error_code else res.error_message
            text = _("Attempt %(attempt)s of %(max)s failed on %(gateway)s (%(error)s).",
                     attempt=sms.sms_connector_attempts, max=policy.max_attempts, gateway=gateway.name, error=error)
            successor = gateway._failover_for(sms) if decision.failover else None
            if successor:
                failover[sms.id] = gateway.id
                next_attempt[sms.id] = now
                message = _("%(text)s Sent through %(next)s instead.", text=text, next=successor.name)
            else:
                next_attempt[sms.id] = now + timedelta(seconds=decision.delay)
                message = _("%(text)s Next attempt in %(delay)s s.", text=text, delay=int(decision.delay))
            rows[sms.uuid] = {'attempts': sms.sms_connector_attempts, 'last_error': message,
                              'error_code': res.error_code, 'error_message': message}
        sms_records = self.env['sms.sms'].browse([sms.id for sms, *_rest in entries])
        moved = self._move(sms_records, State.QUEUED, rows=rows, sync_odoo=False)
        self._sql(SQL(
            """
            UPDATE sms_sms s SET state = 'outgoing', sms_connector_next_attempt = v.at,
                   sms_connector_request_key = CASE WHEN v.failover THEN NULL ELSE s.sms_connector_request_key END
              FROM (SELECT UNNEST(%(ids)s::int[]) AS id, UNNEST(%(ats)s::timestamp[]) AS at,
                           UNNEST(%(failover)s::bool[]) AS failover) v
             WHERE s.id = v.id
            """, ids=moved.ids, ats=[next_attempt[sms_id] for sms_id in moved.ids],
            failover=[sms_id in failover for sms_id in moved.ids]))
        if failover:
            for sms in moved.filtered(lambda s: s.id in failover):
                sms.sms_connector_skipped_gateway_ids = [(4, failover[sms.id])]
        self.env['sms.sms'].invalidate_model()

    @api.model
    def _fail(self, sms_records, failure, text, error_code=False, attempts=False):
        """Settle SMS that will not be sent: refused, opted out, unroutable, or "To check".

        :param failure: a providers.Failure or an engine reason of ``lifecycle.REASONS``
        """
        if not sms_records:
            return sms_records
        reason = reason_for(failure)
        rows = {sms.uuid: {'error_code': error_code or None, 'error_message': text, 'last_error': text,
                           'attempts': sms.sms_connector_attempts if attempts else None} for sms in sms_records}
        moved = self._move(sms_records, reason.state, rows=rows, reason=reason, text=text)
        if failure == Failure.OPTED_OUT:  # e.g. Twilio 21610: the recipient replied STOP to the provider
            self.env['sms.message']._opt_out(
                moved.mapped('number'), _("the provider refused the SMS: opted out"))
        return moved

    @api.model
    def _defer(self, deferred):
        """Postpone SMS outside their sending window: due again at the next allowed time.

        :param deferred: (sms.sms, naive UTC datetime, destination country code) tuples
        """
        windows = {w.country_id.code: w for w in self.env['sms.sending.window'].sudo().search([])}
        by_time = defaultdict(lambda: (self.env['sms.sms'], None))
        for sms, at, country_code in deferred:
            records, _code = by_time[at]
            by_time[at] = (records | sms, country_code)
        for at, (records, country_code) in by_time.items():
            records.write({'sms_connector_next_attempt': at})
            label = windows[country_code]._local_label(at) if country_code in windows else str(at)
            text = _("Deferred to %(date)s (sending window)", date=label)
            self._move(records, State.QUEUED, sync_odoo=False,
                       rows={sms.uuid: {'error_message': text} for sms in records})

    @api.model
    def _mark_sent_by_manager(self, messages):
        """A manager checked at the provider that these "To check" SMS left."""
        sms_records = self.env['sms.sms'].search([('uuid', 'in', messages.mapped('sms_uuid'))])
        moved = self._move(sms_records, State.SENT, sms_vals={'to_delete': True},
                           rows={sms.uuid: {'error_message': None, 'error_code': None} for sms in sms_records})
        without_sms = messages.filtered(lambda m: m.sms_uuid not in set(moved.mapped('uuid')) and m.state == 'unknown')
        if without_sms:  # Odoo's clean-up deleted the sms.sms: only the log remains
            without_sms.write({'state': 'sent', 'error_message': False})
        return moved

    @api.model
    def _send_again_by_manager(self, messages):
        """A manager checked at the provider that these "To check" SMS never left: queue them again."""
        sms_records = self.env['sms.sms'].search([('uuid', 'in', messages.mapped('sms_uuid'))])
        moved = self._move(sms_records, State.QUEUED, rows={sms.uuid: {'error_message': None} for sms in sms_records},
                           sms_vals={'sms_connector_request_key': False, 'sms_connector_next_attempt': False})
        return moved

    # Odoo's own path (IAP, sms_twilio) ------------------------------------------------------
    @api.model
    def _sync_from_odoo(self, sms_records, odoo_state):
        """Follow a state Odoo's own path (or its UI: "Retry", "Cancel") gave to its SMS."""
        self._move(sms_records, FROM_ODOO_SMS_STATE[odoo_state], sync_odoo=False,
                   from_states=[state for state in State if state != State.RECEIVED])

    @api.model
    def _record_native_results(self, results):
        """Outcomes of Odoo's own path (IAP, sms_twilio) on our log."""
        success = self.env['sms.sms'].IAP_TO_SMS_STATE_SUCCESS
        by_state = defaultdict(dict)
        for result in results:
            ok = result['state'] in success
            by_state[State.SENT if ok else State.FAILED][result['uuid']] = {
                'error_message': None if ok else (result.get('failure_reason') or result['state'])}
        for target, rows in by_state.items():
            sms_records = self.env['sms.sms'].search([('uuid', 'in', list(rows))])
            self._move(sms_records, target, rows=rows, sync_odoo=False,
                       from_states=[State.QUEUED, State.SENDING])

    # delivery reports --------------------------------------------------------------------------
    @api.model
    def _apply_reports(self, gateway, reports):
        """Apply delivery reports; park those whose message is not known yet.

        Reports may come twice or out of order: the state only moves forward.
        :return: number of reports applied to an existing message
        """
        applied, pending = 0, []
        for report in reports:
            messages = self._messages_for_report(gateway, report)
            if not messages:
                pending.append(report)
                continue
            applied += 1
            self._apply_report(messages, report)
        if pending:
            self.env['sms.delivery.report']._store(gateway, pending)
        return applied

    @api.model
    def _messages_for_report(self, gateway, report):
        """The log rows a delivery report is about, adopting its ticket for a recovered request."""
        return self.env['sms.message']._find_for_report(gateway, report) or self._adopt_ticket(gateway, report)

    @api.model
    def _adopt_ticket(self, gateway, report):
        """A report for a request whose answer we never read (repeated after a crash, answered
        "duplicate"): give its provider id to the messages sent in that request."""
        if not report.number:
            return self.env['sms.message']
        Message = self.env['sms.message']
        orphan = Message.search([
            ('gateway_id', '=', gateway.id), ('direction', '=', 'outbound'), ('number', '=', report.number),
            ('provider_message_id', '=', False), ('state', '=', 'sent'), ('request_key', '!=', False),
        ], order='id desc', limit=1)
        if not orphan:
            return Message
        request = Message.search([('gateway_id', '=', gateway.id), ('request_key', '=', orphan.request_key),
                                  ('provider_message_id', '=', False)])
        price, currency = gateway._price_for_country(country_of(report.number)), gateway.currency_id.name
        if not price:  # what this gateway's accepted SMS cost per part lately
            self._sql(SQL(
                """SELECT AVG(cost / GREATEST(segments, 1)), MAX(cost_currency) FROM (
                     SELECT cost, segments, cost_currency FROM sms_message
                      WHERE gateway_id = %s AND cost > 0 ORDER BY id DESC LIMIT 100) recent""", gateway.id))
            price, currency = self.env.cr.fetchone()
        for message in request:
            message.write({'provider_message_id': report.provider_message_id,
                           'cost': message.cost or (float(price) * (message.segments or 1) if price else False),
                           'cost_currency': message.cost_currency or currency})
        return Message._find_for_report(gateway, report)

    def _apply_report(self, messages, report):
        target = REPORT_STATUS.get(report.status)
        if target is None:
            return
        for message in messages:
            if message.state in FINAL_STATES or RANK[State(message.state)] > RANK[target]:
                continue
            rows = {'segments': report.segments, 'cost': report.cost, 'cost_currency': report.currency}
            text = False
            if target == State.FAILED:
                text = report.error_message or _("Not delivered (%(status)s).", status=report.raw_status)
                rows.update(error_code=report.error_code or report.raw_status, error_message=text, last_error=text)
                if report.opted_out:
                    self.env['sms.message']._opt_out(
                        [message.number], _("delivery report %(status)s from %(gateway)s",
                                            status=report.error_code or report.raw_status,
                                            gateway=message.gateway_id.name))
            self._move_log_only(message, target, rows)
            self._report_to_odoo(message, target, text)

    def _report_to_odoo(self, message, target, text):
        """Delivery on Odoo's chatter notification and mailing trace (the sms.sms may be gone)."""
        tracker = self.env['sms.tracker'].sudo().search([('sms_uuid', '=', message.sms_uuid)], limit=1) \
            if message.sms_uuid else None
        if not tracker:
            return
        if target == State.FAILED:
            tracker.with_context(sms_known_failure_reason=text)._action_update_from_provider_error('not_delivered')
        elif ODOO_VIEW[target].tracker_state:
            tracker._action_update_from_sms_state(ODOO_VIEW[target].tracker_state)

    def _move_log_only(self, message, target, rows):
        """Reports concern SMS whose ``sms.sms`` Odoo may have deleted: the log is the state."""
        if not can_move(message.state, target):
            return
        vals = {key: value for key, value in rows.items() if value is not None}
        vals['state'] = str(target)
        if target == State.DELIVERED:
            vals['delivered_date'] = fields.Datetime.now()
        message.write(vals)

