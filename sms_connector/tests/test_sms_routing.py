from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged


@tagged('post_install', '-at_install')
class TestSmsLogAndRouting(TransactionCase):
    """Without any gateway: numbers are normalised, every SMS is logged, Odoo's path is kept."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env['sms.gateway'].search([]).action_archive()
        cls.fr = cls.env.ref('base.fr')
        cls.partner = cls.env['res.partner'].create({'name': 'Amélie', 'phone': '06 12 34 56 78', 'country_id': cls.fr.id})

    def _queue_mass(self, records, body="Hello {{ object.name }}"):
        composer = self.env['sms.composer'].with_context(
            active_model=records._name, default_res_ids=repr(records.ids), default_composition_mode='mass',
        ).create({'body': body, 'mass_keep_log': False})
        return composer._action_send_sms()

    def test_mass_send_is_logged_with_document_and_e164(self):
        sms = self._queue_mass(self.partner)
        self.assertEqual(sms.number, '+33612345678')
        log = self.env['sms.message'].search([('sms_uuid', '=', sms.uuid)])
        self.assertEqual(len(log), 1)
        self.assertRecordValues(log, [{
            'number': '+33612345678', 'state': 'queued', 'direction': 'outbound', 'res_model': 'res.partner',
            'res_id': self.partner.id, 'partner_id': self.partner.id, 'company_id': self.env.company.id,
            'segments': 1, 'encoding': 'gsm7', 'purpose': 'transactional', 'body': 'Hello Amélie',
        }])
        self.assertEqual(self.partner.sms_message_count, 1)

    def test_without_gateway_odoo_path_is_kept(self):
        sms = self._queue_mass(self.partner)
        routed, native, unroutable = sms._sms_connector_route()
        self.assertFalse(routed)
        self.assertFalse(unroutable)
        self.assertEqual(native, sms)

    def test_log_survives_sms_cleanup(self):
        sms = self._queue_mass(self.partner)
        uuid = sms.uuid
        sms.to_delete = True
        self.env.flush_all()
        sms._gc_device()
        self.env.invalidate_all()
        self.assertFalse(sms.exists())
        self.assertTrue(self.env['sms.message'].search([('sms_uuid', '=', uuid)]))

    def test_canceled_sms_updates_log(self):
        sms = self._queue_mass(self.partner)
        sms.action_set_canceled()
        self.assertEqual(self.env['sms.message'].search([('sms_uuid', '=', sms.uuid)]).state, 'canceled')

    def test_user_without_sms_right_gets_clear_error(self):
        self.env['res.config.settings'].create({'sms_connector_restrict_sending': True}).execute()
        user = new_test_user(self.env, login='no_sms', groups='base.group_user')
        composer = self.env['sms.composer'].with_user(user).with_context(
            active_model='res.partner', active_id=self.partner.id, default_composition_mode='comment',
        ).create({'body': 'Hi'})
        with self.assertRaisesRegex(AccessError, 'SMS / User'):
            composer.action_send_sms()

    def test_sms_user_cannot_touch_gateways_but_reads_log(self):
        user = new_test_user(self.env, login='sms_user', groups='sms_connector.group_sms_user')
        self._queue_mass(self.partner)
        self.assertTrue(self.env['sms.message'].with_user(user).search_count([]))
        with self.assertRaises(AccessError):
            self.env['sms.gateway'].with_user(user).create({'name': 'x', 'provider': False})
