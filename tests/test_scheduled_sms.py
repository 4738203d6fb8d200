"""Scheduled SMS show their planned date; their author or a manager cancels or
reschedules them before they leave, another SMS user may not.

Each user acts over the web client's JSON-RPC: the composer's *Send on*, SMS Activity's list,
its *Cancel* and *Reschedule* buttons and the reschedule dialog.
"""
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from .common import FakeProviderCase
from .web_client import RpcError, WebClientMixin

NUMBER = '+14155550140'


@tagged('post_install', '-at_install')
class TestScheduledSms(WebClientMixin, FakeProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # SMS users who, like Odoo's default internal users, may edit contacts (post in their chatter)
        groups = cls.env.ref('sms_connector.group_sms_user') | cls.env.ref('base.group_partner_manager')
        cls.author, cls.colleague = cls.env['res.users'].create([{
            'name': name, 'login': login, 'password': login, 'email': f'{login}@example.com',
            'group_ids': [Command.set(groups.ids)],
        } for name, login in (('Ada Author', 'sms_sched_author'), ('Carl Colleague', 'sms_sched_colleague'))])
        cls.manager = cls.env['res.users'].create({
            'name': 'Max Manager', 'login': 'sms_sched_manager', 'password': 'sms_sched_manager',
            'group_ids': [Command.set([cls.env.ref('sms_connector.group_sms_manager').id])],
        })

    def setUp(self):
        super().setUp()
        self.contact = self.partner('Paula Planned', NUMBER)
        self.when = (fields.Datetime.now() + timedelta(hours=2)).replace(microsecond=0)

    def schedule_as_author(self):
        self.authenticate('sms_sched_author', 'sms_sched_author')
        context = {'active_model': 'res.partner', 'active_id': self.contact.id, 'default_composition_mode': 'comment'}
        self.save_and_click('sms.composer', {
            'body': "See you tomorrow", 'recipient_single_number_itf': NUMBER,
            'sms_connector_scheduled_date': fields.Datetime.to_string(self.when),
        }, 'action_send_sms', context)
        self.env.invalidate_all()
        return self.log_of(self.contact)

    def activity_row(self, log):
        rows = self.rpc('sms.message', 'web_search_read', [('id', '=', log.id)], {
            'state': {}, 'scheduled_date': {}, 'can_change_schedule': {}})['records']
        return rows[0]

    def sms_of(self, log):
        return self.env['sms.sms'].sudo().search([('uuid', '=', log.sms_uuid)])

    def reschedule(self, log, when):
        context = {'active_model': 'sms.message', 'active_ids': log.ids}
        action = self.click_button('sms.message', 'action_reschedule', log.ids)
        context.update(action.get('context') or {})
        return self.save_and_click('sms.message.reschedule', {
            'scheduled_date': fields.Datetime.to_string(when)}, 'action_reschedule', context)

    def time_passes(self, log):
        self.sms_of(log).sms_connector_next_attempt = fields.Datetime.now() - timedelta(seconds=1)
        self.env.flush_all()
        self.env['sms.send.engine']._process()
        self.env.invalidate_all()

    def test_author_sees_the_planned_date_and_reschedules(self):
        log = self.schedule_as_author()
        row = self.activity_row(log)
        self.assertEqual((row['state'], row['scheduled_date'], row['can_change_schedule']),
                         ('queued', fields.Datetime.to_string(self.when), True))
        later = self.when + timedelta(days=1)
        self.reschedule(log, later)
        self.env.invalidate_all()
        self.assertEqual(log.scheduled_date, later)
        self.assertEqual(self.sms_of(log).sms_connector_next_attempt, later, "the queue waits for the new date")
        with self.assertRaises(RpcError, msg="a date in the past is refused"):
            self.reschedule(log, fields.Datetime.now() - timedelta(hours=1))
        self.time_passes(log)
        self.assertEqual([m['to'] for m in self.fake.twilio_messages], [NUMBER])

    def test_author_cancels_before_it_leaves(self):
        log = self.schedule_as_author()
        self.click_button('sms.message', 'action_cancel_scheduled', log.ids)
        self.env.invalidate_all()
        self.assertEqual(log.state, 'canceled')
        self.assertIn('Ada Author', log.error_message)
        self.assertEqual(self.sms_of(log).state, 'canceled')
        notification = self.contact.message_ids.filtered(lambda m: m.message_type == 'sms').notification_ids
        self.assertEqual(notification.notification_status, 'canceled', "the chatter shows it cancelled")
        self.time_passes(log)
        self.assertEqual(self.fake.twilio_messages, [], "never sent")

    def test_other_sms_user_may_not_cancel_or_reschedule(self):
        log = self.schedule_as_author()
        self.authenticate('sms_sched_colleague', 'sms_sched_colleague')
        self.assertFalse(self.activity_row(log)['can_change_schedule'])
        with self.assertRaises(RpcError) as caught:
            self.click_button('sms.message', 'action_cancel_scheduled', log.ids)
        self.assertIn('AccessError', caught.exception.name)
        with self.assertRaises(RpcError):
            self.reschedule(log, self.when + timedelta(hours=1))
        self.env.invalidate_all()
        self.assertEqual((log.state, log.scheduled_date), ('queued', self.when))

        self.authenticate('sms_sched_manager', 'sms_sched_manager')
        self.assertTrue(self.activity_row(log)['can_change_schedule'])
        self.click_button('sms.message', 'action_cancel_scheduled', log.ids)
        self.env.invalidate_all()
        self.assertEqual(log.state, 'canceled')

    def test_too_late_once_it_left(self):
        log = self.schedule_as_author()
        self.time_passes(log)
        self.assertEqual(log.state, 'sent')
        self.authenticate('sms_sched_author', 'sms_sched_author')
        self.assertFalse(self.activity_row(log)['can_change_schedule'])
        with self.assertRaises(RpcError) as caught:
            self.click_button('sms.message', 'action_cancel_scheduled', log.ids)
        self.assertIn('UserError', caught.exception.name)
        self.assertEqual(len(self.fake.twilio_messages), 1)
