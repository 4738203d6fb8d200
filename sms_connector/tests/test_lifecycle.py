"""The send lifecycle and the retry policy, table-driven, without a database."""
import itertools

from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.engine.lifecycle import (
    FINAL_STATES,
    ODOO_VIEW,
    RANK,
    REASONS,
    TRANSITIONS,
    IllegalTransition,
    State,
    can_move,
    check_move,
    reason_for,
)
from odoo.addons.sms_connector.engine.policy import Action, RetryPolicy
from odoo.addons.sms_connector.providers import FAILED, RETRY, SENT, UNKNOWN, Failure, SendResult

S = State
LEGAL = {
    (S.QUEUED, S.QUEUED), (S.QUEUED, S.SENDING), (S.QUEUED, S.FAILED), (S.QUEUED, S.CANCELED),
    (S.QUEUED, S.OPTED_OUT),
    (S.SENDING, S.SENDING), (S.SENDING, S.SENT), (S.SENDING, S.QUEUED), (S.SENDING, S.FAILED),
    (S.SENDING, S.OPTED_OUT), (S.SENDING, S.UNKNOWN),
    (S.UNKNOWN, S.SENDING), (S.UNKNOWN, S.SENT), (S.UNKNOWN, S.QUEUED), (S.UNKNOWN, S.FAILED),
    (S.UNKNOWN, S.UNKNOWN),
    (S.SENT, S.SENT), (S.SENT, S.DELIVERED), (S.SENT, S.FAILED), (S.SENT, S.CANCELED),
}
# Odoo's selections (sms/models: sms_sms, mail_notification; mass_mailing_sms: mailing_trace)
SMS_FAILURES = {False, 'unknown', 'sms_number_missing', 'sms_number_format', 'sms_country_not_supported',
                'sms_registration_needed', 'sms_credit', 'sms_server', 'sms_acc', 'sms_blacklist',
                'sms_duplicate', 'sms_optout'}
NOTIFICATION_FAILURES = {False, 'unknown', 'sms_number_missing', 'sms_number_format', 'sms_credit',
                         'sms_country_not_supported', 'sms_registration_needed', 'sms_server', 'sms_acc',
                         'sms_expired', 'sms_invalid_destination', 'sms_not_allowed', 'sms_not_delivered',
                         'sms_rejected'}
TRACE_FAILURES = SMS_FAILURES | NOTIFICATION_FAILURES
ODOO_SMS_STATES = {'outgoing', 'process', 'pending', 'sent', 'error', 'canceled'}


@tagged('post_install', '-at_install')
class TestLifecycle(BaseCase):

    def test_every_transition(self):
        for current, target in itertools.product(State, State):
            with self.subTest(current=current, target=target):
                self.assertEqual(can_move(current, target), (current, target) in LEGAL)
                if (current, target) in LEGAL:
                    check_move(current, target)
                else:
                    with self.assertRaises(IllegalTransition):
                        check_move(current, target)

    def test_final_states_have_no_way_out_and_rank_highest(self):
        for state in FINAL_STATES:
            self.assertEqual(TRANSITIONS[state], set())
            self.assertEqual(RANK[state], max(RANK.values()))
        self.assertEqual(set(RANK), set(State))

    def test_odoo_views_are_storable(self):
        for state in set(State) - {S.RECEIVED}:
            view = ODOO_VIEW[state]
            self.assertIn(view.sms_state, ODOO_SMS_STATES, state)
            self.assertIn(view.tracker_state, ODOO_SMS_STATES | {None}, state)

    def test_every_reason_is_storable_by_each_odoo_model(self):
        self.assertEqual(set(Failure) - set(REASONS), set())
        for key, reason in REASONS.items():
            with self.subTest(reason=key):
                self.assertIn(reason.sms_failure, SMS_FAILURES)
                self.assertIn(reason.notification_failure, NOTIFICATION_FAILURES)
                self.assertIn(reason.trace_failure, TRACE_FAILURES)
        self.assertEqual(reason_for('blacklisted').state, S.OPTED_OUT)
        self.assertEqual(reason_for(Failure.OPTED_OUT).notification_failure, 'sms_not_allowed')
        with self.assertRaises(KeyError):
            reason_for('no-such-reason')


@tagged('post_install', '-at_install')
class TestRetryPolicy(BaseCase):

    def test_from_params(self):
        params = {'sms_connector.max_attempts': '3', 'sms_connector.retry_base_seconds': 'garbage',
                  'sms_connector.recheck_after_seconds': '-5'}
        policy = RetryPolicy.from_params(params.get)
        self.assertEqual((policy.max_attempts, policy.base_seconds, policy.recheck_after_seconds), (3, 30.0, 0))

    def test_decisions(self):
        policy = RetryPolicy(max_attempts=3, base_seconds=10)
        rand = lambda: 0.0  # noqa: E731 - no jitter
        cases = [
            (SendResult('k', SENT), 1, Action.RECORD_SENT, 0, False),
            (SendResult('k', FAILED, failure=Failure.NUMBER_FORMAT), 1, Action.FAIL, 0, False),
            (SendResult('k', UNKNOWN), 1, Action.TO_CHECK, 0, False),
            (SendResult('k', RETRY, failure=Failure.SERVER), 1, Action.RETRY, 10, True),
            (SendResult('k', RETRY, failure=Failure.SERVER), 2, Action.RETRY, 20, True),
            (SendResult('k', RETRY, failure=Failure.SERVER, maybe_accepted=True), 1, Action.RETRY, 10, False),
            (SendResult('k', RETRY, failure=Failure.RATE_LIMITED, retry_after=120), 1, Action.RETRY, 120, False),
            (SendResult('k', RETRY, failure=Failure.SERVER), 3, Action.FAIL, 0, False),
        ]
        for result, attempts, action, delay, failover in cases:
            with self.subTest(result=result, attempts=attempts):
                decision = policy.decide(result, attempts, rand=rand)
                self.assertEqual((decision.action, decision.delay, decision.failover), (action, delay, failover))

    def test_backoff_is_capped_and_jittered(self):
        policy = RetryPolicy(base_seconds=30, cap_seconds=3600)
        self.assertEqual(policy.delay(20, rand=lambda: 0.0), 3600)
        self.assertEqual(policy.delay(1, rand=lambda: 1.0), 45)
