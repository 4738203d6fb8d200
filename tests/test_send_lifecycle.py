"""Never twice, never lost, in one process: fault tests for poison SMS, opt-out refusals,
failed lookups, identical SMS, parked delivery reports, recovery, retries, SMS to check and failover.

Every scenario goes through the entry points a user or a provider uses (composer, automation,
``sms.send()`` then the commit, the queue cron, webhooks over HTTP) and counts what the fake
provider received, independently of our log (``tests/stats.py``).
"""
import collections
import contextlib
import json
import time
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import TWILIO_SID, TWILIO_SID_B, TWILIO_TOKEN_B, FakeProviderCase
from .stats import record

OPTED_OUT_AT_TWILIO = '+15005550004'  # the fake answers Twilio error 21610 (recipient replied STOP)


@tagged('post_install', '-at_install')
class LifecycleCase(FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        icp = cls.env['ir.config_parameter'].sudo()
        icp.set_param('sms_connector.retry_base_seconds', 0)
        icp.set_param('sms_connector.recheck_after_seconds', 0)
        cls.twilio.timeout = 1.0  # stalls beyond it look like "no answer in time"
        cls.sms_user = new_test_user(cls.env, login='sms_user_lifecycle', groups='sms_connector.group_sms_user')
        cls.sms_manager = new_test_user(
            cls.env, login='sms_manager_lifecycle', groups='sms_connector.group_sms_manager')

    def setUp(self):
        super().setUp()
        self.expected = set()  # numbers that had to reach the provider (assert_each_once)
        self.other_sms_to = collections.Counter()  # numbers that also got another, distinct SMS

    def tearDown(self):
        # counted at the provider, failed scenarios included; faults the fake actually applied
        counts = collections.Counter(self.received())
        record('messages', sum(counts.values()))
        record('duplicates', sum(max(0, n - 1 - self.other_sms_to[number]) for number, n in counts.items()))
        record('lost', len(self.expected - set(counts)))
        record('faults_injected', sum(1 for request in self.fake.requests_log if request['fault']))
        super().tearDown()

    # helpers -----------------------------------------------------------------
    def inject(self, kind, count=1, **options):
        self.fake.inject_faults(kind, count=count, **options)

    def compose(self, record_, body, **vals):
        """"Send SMS" on ``record_`` (comment mode: chatter message and notification), not committed yet."""
        composer = self.env['sms.composer'].with_context(
            active_model=record_._name, active_id=record_.id, default_composition_mode='comment',
        ).create({'body': body, **vals})
        composer.action_send_sms()
        return composer

    def wait_for_posts(self, count, timeout=10):
        """Wait until the fake has finished handling ``count`` send requests (stalled ones included)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len([r for r in self.fake.requests_log if r['method'] == 'POST']) >= count:
                return
            time.sleep(0.05)
        self.fail(f"the fake provider did not finish {count} send request(s)")

    def cron(self, runs=1):
        """The queue cron, as scheduled (``runs`` times); its progress commits stay in the test transaction."""
        def progress_without_commit(cron, *args, **kwargs):
            cron.env.flush_all()
            return float('inf')

        with patch.object(self.registry['ir.cron'], '_commit_progress', progress_without_commit):
            for _run in range(runs):
                self.env.flush_all()
                self.env['sms.sms']._process_queue()
                self.env.invalidate_all()

    def queue(self, number, body):
        """An SMS queued by code (no chatter), sent after the commit."""
        return self.send_now(self.env['sms.sms'].create({'number': number, 'body': body}))

    def log(self, sms):
        return self.env['sms.message'].search([('sms_uuid', '=', sms.uuid)])

    def received(self):
        return [m['to'] for m in self.fake.twilio_messages] + [
            r['phone_number'] for req in self.fake.octopush_requests if not req['simulation']
            for r in req['payload']['recipients']]

    def assert_each_once(self, expected, not_sent=()):
        """Count at the provider: ``expected`` numbers exactly once, ``not_sent`` never."""
        self.expected |= set(expected)
        counts = collections.Counter(self.received())
        duplicates = sum(n - 1 for n in counts.values())
        lost = len(set(expected) - set(counts))
        self.assertEqual(duplicates, 0, f"sent more than once: { {n: c for n, c in counts.items() if c > 1} }")
        self.assertEqual(lost, 0, f"never reached the provider: {set(expected) - set(counts)}")
        self.assertFalse(set(not_sent) & set(counts), "an SMS that must not go out reached the provider")

    def stuck(self, sms):
        """Those of ``sms`` still waiting to be sent or sending."""
        return sms.exists().filtered(lambda s: s.state in ('outgoing', 'process'))

    def post_twilio_status(self, sid, status, gateway=None, token=None):
        gateway = gateway or self.twilio
        path = f"/sms_connector/status/{gateway.id}/{gateway.sudo().webhook_token}"
        params = {'MessageSid': sid, 'MessageStatus': status, 'AccountSid': TWILIO_SID}
        headers = {'X-Twilio-Signature': self.twilio_signature(self.base_url() + path, params, **(
            {'token': token} if token else {}))}
        response = self.url_open(path, data=params, headers=headers)
        self.assertEqual(response.status_code, 200, response.text)
        return response

    def post_octopush_status(self, ticket, number, status='DELIVERED'):
        path = f"/sms_connector/status/{self.octopush.id}/{self.octopush.sudo().webhook_token}"
        body = {'message_id': ticket, 'number': number, 'status': status,
                'delivery_date': '2026-11-21 10:00:00', 'channel': 'sms_premium'}
        response = self.url_open(path, data=json.dumps(body), headers={'Content-Type': 'application/json'})
        self.assertEqual(response.status_code, 200, response.text)
        return response


@tagged('post_install', '-at_install')
class TestPoisonSms(LifecycleCase):
    """10.1: an SMS whose outcome Odoo cannot store must not block the others, nor the queue."""

    def setUp(self):
        super().setUp()
        self.twilio.opt_out_policy = 'skip'
        self.stopped = self.partner('Stopped Poison', '+14155550300')
        self.other = self.partner('Other Customer', '+14155550301')
        self.env['phone.blacklist'].sudo()._add([self.stopped.phone])

    def check_outcome(self):
        self.assert_each_once([self.other.phone], not_sent=[self.stopped.phone])
        stopped_log, other_log = self.log_of(self.stopped), self.log_of(self.other)
        self.assertEqual(other_log.state, 'sent', other_log.error_message)
        self.assertEqual(stopped_log.state, 'opted_out', stopped_log.error_message)
        stopped_sms = self.env['sms.sms'].search([('uuid', '=', stopped_log.sms_uuid)])
        self.assertIn(stopped_sms.state, ('canceled', False), "canceled (or already cleaned up)")
        self.cron()  # no exception, nothing left behind
        self.assertFalse(self.stuck(self.env['sms.sms'].search([('number', 'in', [self.stopped.phone, self.other.phone])])))
        self.assert_each_once([self.other.phone], not_sent=[self.stopped.phone])

    def test_automation_sms_to_opted_out_number_with_another_customer(self):
        template = self.env['sms.template'].create({
            'name': 'Order update', 'model_id': self.env['ir.model']._get_id('res.partner'),
            'body': "Order update for {{ object.name }}"})
        automation = self.env['base.automation'].create({
            'name': 'Order update SMS', 'model_id': self.env['ir.model']._get_id('res.partner'),
            'trigger': 'on_create_or_write',
            'trigger_field_ids': [(6, 0, self.env['ir.model.fields']._get('res.partner', 'category_id').ids)],
            'filter_domain': "[('category_id', '!=', False)]",
        })
        self.env['ir.actions.server'].create({
            'name': 'Order update SMS', 'model_id': self.env['ir.model']._get_id('res.partner'),
            'base_automation_id': automation.id, 'usage': 'base_automation', 'state': 'sms',
            'sms_method': 'comment', 'sms_template_id': template.id,
        })
        tag = self.env['res.partner.category'].create({'name': 'Order'})
        (self.stopped | self.other).write({'category_id': [(4, tag.id)]})  # one transaction
        self.run_postcommit()
        self.check_outcome()

    def test_send_anyway_with_published_marketing_template(self):
        template = self.env['sms.template'].create({
            'name': 'Promo', 'model_id': self.env['ir.model']._get_id('res.partner'), 'body': "Promo",
            'sms_connector_purpose': 'marketing', 'sms_connector_state': 'published'})
        composer = self.env['sms.composer'].with_context(
            active_model='res.partner', active_id=self.stopped.id, default_composition_mode='comment',
        ).create({'template_id': template.id})
        self.assertTrue(composer.sms_connector_opted_out_numbers)
        composer.sms_connector_confirm_opted_out = True
        composer.action_send_sms()
        self.compose(self.other, "Your order shipped")  # same transaction
        self.run_postcommit()
        self.check_outcome()


@tagged('post_install', '-at_install')
class TestTwilioOptOutRefusal(LifecycleCase):
    """10.2: a 21610 refusal in a batch must not lose the results of the SMS Twilio accepted."""

    def test_21610_in_a_batch_with_accepted_ones(self):
        accepted = [self.partner(f'Batch {i}', f'+1415555031{i}') for i in range(3)]
        refused = self.partner('Refused', OPTED_OUT_AT_TWILIO)
        for partner in (accepted[0], refused, *accepted[1:]):  # one transaction, one batch
            self.compose(partner, "Your appointment is tomorrow")
        self.run_postcommit()
        self.assert_each_once([p.phone for p in accepted])
        sid_by_number = {m['to']: m['sid'] for m in self.fake.twilio_messages}
        for partner in accepted:
            log = self.log_of(partner)
            self.assertEqual((log.state, log.provider_message_id), ('sent', sid_by_number[partner.phone]),
                             f"accepted by Twilio: sent with its id right away ({log.error_message})")
        refused_log = self.log_of(refused)
        self.assertEqual(refused_log.state, 'opted_out', refused_log.error_message)
        self.assertTrue(self.env['phone.blacklist'].sudo().search([('number', '=', OPTED_OUT_AT_TWILIO)]),
                        "the number Twilio refused as opted out is blacklisted")


@tagged('post_install', '-at_install')
class TestFailedLookupNeverResends(LifecycleCase):
    """10.3: "could not look up" is not "not there": only the second may resend."""

    def check_never_resent(self, lookup_fault, **options):
        self.inject('drop_after_accept')  # accepted, the answer is lost
        self.inject(lookup_fault, count=20, on='lookup', **options)  # and the look-ups fail
        sms = self.queue('+14155550320', "Your code is 1234")
        self.cron(runs=3)
        self.assertEqual(len(self.fake.twilio_messages), 1, "resent although the look-up could not tell")
        log = self.log(sms)
        self.assertIn(log.state, ('sending', 'unknown'), log.error_message)
        self.fake.clear_faults()  # look-ups answer again
        self.cron()
        self.assert_each_once(['+14155550320'])
        log.invalidate_recordset()
        self.assertEqual((log.state, log.provider_message_id), ('sent', self.fake.twilio_messages[0]['sid']),
                         log.error_message)

    def test_lookup_429(self):
        self.check_never_resent('http_429', retry_after=0)

    def test_lookup_503(self):
        self.check_never_resent('http_503')

    def test_lookup_timeout(self):
        self.check_never_resent('stall', seconds=1.5)

    def test_lookup_connection_reset(self):
        self.check_never_resent('connection_reset')


@tagged('post_install', '-at_install')
class TestEarlierIdenticalSms(LifecycleCase):
    """10.4: an earlier identical SMS must not confirm one the provider never accepted."""

    def test_second_identical_code_never_confirmed_by_the_first(self):
        first = self.queue('+14155550330', "Your code is 0000")
        self.other_sms_to['+14155550330'] += 1  # same number and text, but another SMS
        first_sid = self.log(first).provider_message_id
        self.assertEqual(self.log(first).state, 'sent')
        self.inject('drop_before_accept')  # the second one never reaches Twilio's books
        second = self.queue('+14155550330', "Your code is 0000")
        self.cron(runs=2)
        log = self.log(second)
        self.assertNotEqual(log.provider_message_id, first_sid, "confirmed by the earlier SMS's id")
        sids = [m['sid'] for m in self.fake.twilio_messages]
        if log.state == 'unknown':
            self.assertEqual(sids, [first_sid], "To check: not sent again meanwhile")
        else:
            self.assertEqual(log.state, 'sent', log.error_message)
            self.assertEqual(len(sids), 2, "resent once")
            self.assertEqual(log.provider_message_id, sids[1])
        self.assertEqual(self.log(first).provider_message_id, first_sid)
        self.expected.add('+14155550330')
        self.assertLessEqual(len(self.received()), 2)


@tagged('post_install', '-at_install')
class TestParkedDeliveryReports(LifecycleCase):
    """10.5: reports that came before their message's result are applied, stored once, and expire."""

    def parked(self, sid):
        return self.env['sms.delivery.report'].search([('provider_message_id', '=', sid)])

    def test_parked_report_applied_by_the_cron(self):
        sms = self.queue('+14155550340', "Parked")
        log = self.log(sms)
        # what the race leaves: the report was parked while the result transaction was open,
        # and committed after it
        self.env['sms.delivery.report'].create({
            'gateway_id': self.twilio.id, 'provider_message_id': log.provider_message_id, 'status': 'delivered',
            'raw_status': 'delivered'})
        self.cron()
        log.invalidate_recordset()
        self.assertEqual(log.state, 'delivered')
        self.assertFalse(self.parked(log.provider_message_id))

    def test_report_before_the_result_applied_when_the_result_commits(self):
        """Also needs 10.9: the outcome is settled by the cron's second look-up."""
        # no answer in time: the outcome is unknown; the provider accepts the SMS after the stall
        self.inject('stall', seconds=3)
        sms = self.queue('+14155550341', "Late")
        log = self.log(sms)
        self.assertNotEqual(log.state, 'sent')
        self.wait_for_posts(1)
        (accepted,) = self.fake.twilio_messages
        self.post_twilio_status(accepted['sid'], 'delivered')  # before we know the sid
        self.assertEqual(len(self.parked(accepted['sid'])), 1)
        self.cron()  # the look-up records the result; the parked report follows
        log.invalidate_recordset()
        self.assertEqual((log.provider_message_id, log.state), (accepted['sid'], 'delivered'))
        self.assertFalse(self.parked(accepted['sid']))
        self.assert_each_once(['+14155550341'])

    def test_replayed_unknown_report_stored_once(self):
        sid = 'SM' + 'e' * 32
        for _replay in range(6):
            self.post_twilio_status(sid, 'delivered')
        self.assertEqual(len(self.parked(sid)), 1)
        self.post_twilio_status(sid, 'sent')  # another status is another report
        self.assertEqual(len(self.parked(sid)), 2)

    def test_expired_parked_reports_are_deleted(self):
        old, fresh = ('SM' + c * 32 for c in 'cd')
        self.post_twilio_status(old, 'delivered')
        self.post_twilio_status(fresh, 'delivered')
        self.env.flush_all()
        self.env.cr.execute("UPDATE sms_delivery_report SET create_date = %s WHERE provider_message_id = %s",
                            [fields.Datetime.now() - timedelta(hours=73), old])
        self.env.invalidate_all()
        self.cron()
        self.assertFalse(self.parked(old), "older than sms_connector.report_expiry_hours (72)")
        self.assertTrue(self.parked(fresh))


@tagged('post_install', '-at_install')
class TestOctopushRecovery(LifecycleCase):
    """10.6: SMS recovered through Octopush's duplicate answer (code 120) keep delivery tracking."""

    def test_duplicate_answer_keeps_reports_and_cost(self):
        numbers = ['+33612340350', '+33612340351', '+33612340352']
        self.octopush.price_per_segment = 0.0333  # the cost of a recovered SMS is estimated from it
        self.inject('drop_after_accept')  # Octopush accepted the request; the answer is lost
        sms = self.send_now(self.env['sms.sms'].create([{'number': n, 'body': 'Bonjour'} for n in numbers]))
        self.cron(runs=2)  # the very same request again: answered 409, code 120
        self.assertEqual([r['status'] for r in self.fake.requests_log if r['method'] == 'POST'], [None, 409])
        self.assert_each_once(numbers)
        (request,) = self.fake.octopush_requests
        logs = self.env['sms.message'].search([('sms_uuid', 'in', sms.mapped('uuid'))])
        self.assertEqual(set(logs.mapped('state')), {'sent'})
        for number in numbers:  # what Octopush posts for each recipient
            self.post_octopush_status(request['sms_ticket'], number)
        logs.invalidate_recordset()
        self.assertEqual(logs.mapped('state'), ['delivered'] * 3, "the recovered SMS receive their reports")
        self.assertEqual(set(logs.mapped('provider_message_id')), {request['sms_ticket']})
        self.assertTrue(all(log.cost for log in logs), "and a cost")


@tagged('post_install', '-at_install')
class TestRetryHistory(LifecycleCase):
    """10.7: the log keeps the attempts and the last error after a successful retry."""

    def test_503_then_success(self):
        self.inject('http_503')
        sms = self.queue('+14155550360', "Retried")
        self.cron()
        self.assert_each_once(['+14155550360'])
        log = self.log(sms)
        self.assertEqual(log.state, 'sent')
        self.assertEqual(log.attempts, 2)
        self.assertIn('503', log.last_error or '')
        self.env['sms.sms'].search([('uuid', '=', sms.uuid)]).unlink()  # Odoo's clean-up of sent SMS
        log.invalidate_recordset()
        self.assertEqual((log.attempts, bool(log.last_error)), (2, True))


@tagged('post_install', '-at_install')
class TestToCheck(LifecycleCase):
    """10.9: "To check" is looked up again by the cron, and managers can settle it."""

    def to_check(self, number, accepted):
        """An SMS whose outcome is unknown: no answer in time, then found or not at the provider."""
        self.inject('stall' if accepted else 'drop_before_accept', seconds=3)
        sms = self.queue(number, "Check me")
        log = self.log(sms)
        self.assertEqual(log.state, 'unknown', log.error_message)
        self.wait_for_posts(1)
        return log

    def test_cron_looks_up_again_and_finds_it(self):
        log = self.to_check('+14155550370', accepted=True)
        (accepted,) = self.fake.twilio_messages
        self.cron()
        log.invalidate_recordset()
        self.assertEqual((log.state, log.provider_message_id), ('sent', accepted['sid']))
        self.assert_each_once(['+14155550370'])

    def test_manager_marks_as_sent(self):
        log = self.to_check('+14155550371', accepted=True)
        log.with_user(self.sms_manager).action_mark_sent()
        log.invalidate_recordset()
        self.assertEqual(log.state, 'sent')
        self.cron()
        self.assert_each_once(['+14155550371'])

    def test_manager_sends_again_exactly_once(self):
        self.env['ir.config_parameter'].sudo().set_param('sms_connector.recheck_after_seconds', 3600)
        log = self.to_check('+14155550372', accepted=False)
        self.assertEqual(self.fake.twilio_messages, [])
        log.with_user(self.sms_manager).action_send_again()
        self.run_postcommit()
        self.cron(runs=2)
        self.assert_each_once(['+14155550372'])
        with contextlib.suppress(UserError):  # a second click (stale form): never a second SMS
            log.with_user(self.sms_manager).action_send_again()
        self.run_postcommit()
        self.cron()
        self.assert_each_once(['+14155550372'])
        log = self.env['sms.message'].search([('number', '=', '+14155550372'), ('state', '=', 'sent')])
        self.assertEqual(log.provider_message_id, self.fake.twilio_messages[0]['sid'])

    def test_only_sms_to_check_can_be_settled(self):
        sms = self.queue('+14155550374', "Already sent")
        log = self.log(sms)
        self.assertEqual(log.state, 'sent')
        for action in ('action_send_again', 'action_mark_sent'):
            with contextlib.suppress(UserError):
                getattr(log.with_user(self.sms_manager), action)()
            self.run_postcommit()
        self.cron()
        self.assert_each_once(['+14155550374'])
        log.invalidate_recordset()
        self.assertEqual(log.state, 'sent')

    def test_sms_user_may_not_settle(self):
        log = self.to_check('+14155550373', accepted=False)
        for action in ('action_mark_sent', 'action_send_again'):
            with self.assertRaises(AccessError, msg=action):
                getattr(log.with_user(self.sms_user), action)()
        self.authenticate('sms_user_lifecycle', 'sms_user_lifecycle')
        for action in ('action_mark_sent', 'action_send_again'):  # over the RPC the UI uses
            with self.assertRaises(Exception, msg=action) as caught:
                self.make_jsonrpc_request(f'/web/dataset/call_kw/sms.message/{action}', {
                    'model': 'sms.message', 'method': action, 'args': [log.ids], 'kwargs': {}})
            self.assertIn('AccessError', str(caught.exception), action)
        log.invalidate_recordset()
        self.assertEqual(log.state, 'unknown')
        self.assertEqual(self.fake.twilio_messages, [])


@tagged('post_install', '-at_install')
class TestFailover(LifecycleCase):
    """Failover: certainly not accepted by the first gateway, sent once by the next one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backup = cls.env['sms.gateway'].create({
            'name': 'Twilio backup', 'provider': 'twilio', 'sequence': 30, 'base_url': cls.fake.url,
            'account': TWILIO_SID_B, 'secret': TWILIO_TOKEN_B, 'sender': '+15005550006', 'timeout': 1.0,
        })

    def check_failover(self, sms, number):
        self.assert_each_once([number])
        (message,) = self.fake.twilio_messages
        self.assertEqual(message['account_sid'], TWILIO_SID_B, "sent by the second gateway")
        log = self.log(sms)
        self.assertEqual((log.state, log.gateway_id), ('sent', self.backup), log.error_message)
        self.assertEqual(log.provider_message_id, message['sid'])
        self.assertIn(self.twilio.name, log.last_error or '', "the hop is visible on the log")

    def test_503_moves_to_the_next_gateway(self):
        self.inject('http_503')
        sms = self.queue('+14155550380', "Failover")
        self.cron()
        self.check_failover(sms, '+14155550380')

    def test_500_moves_to_the_next_gateway(self):
        self.inject('http_500')
        sms = self.queue('+14155550381', "Failover")
        self.cron()
        self.check_failover(sms, '+14155550381')

    def test_connection_refused_moves_to_the_next_gateway(self):
        self.twilio.base_url = 'http://127.0.0.1:9'  # nothing listens there
        record('faults_injected')
        sms = self.queue('+14155550382', "Failover")
        self.cron()
        self.check_failover(sms, '+14155550382')

    def test_never_for_an_sms_the_first_may_have_accepted(self):
        for kind, number in (('drop_after_accept', '+14155550383'), ('stall', '+14155550384')):
            self.inject(kind, seconds=3)
            posts = len([r for r in self.fake.requests_log if r['method'] == 'POST'])
            sms = self.queue(number, "Maybe accepted")
            self.wait_for_posts(posts + 1)
            self.cron(runs=2)
            sent_to = [m for m in self.fake.twilio_messages if m['to'] == number]
            self.assertEqual([m['account_sid'] for m in sent_to], [TWILIO_SID], f"{kind}: never through the backup")
            self.assertNotEqual(self.log(sms).gateway_id, self.backup, kind)
        self.assert_each_once(['+14155550383', '+14155550384'])
