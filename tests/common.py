"""Shared set-up for the cross-addon acceptance tests: a loopback fake provider and gateways on it."""
from twilio.request_validator import RequestValidator

from odoo.tests import HttpCase
from odoo.tools import SQL

from .fake_providers import FakeProviderServer

TWILIO_SID = "AC" + "f" * 32  # fake account
TWILIO_TOKEN = "fake-twilio-auth-token"
TWILIO_SID_B = "AC" + "b" * 32
TWILIO_TOKEN_B = "fake-twilio-auth-token-b"
OCTOPUSH_LOGIN = "fake@example.com"
OCTOPUSH_KEY = "fake-octopush-key"


class FakeProviderCase(HttpCase):
    """Odoo with a Twilio gateway (all countries) and an Octopush gateway (France) on a fake server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakeProviderServer(
            twilio_accounts={TWILIO_SID: TWILIO_TOKEN, TWILIO_SID_B: TWILIO_TOKEN_B},
            octopush_accounts={OCTOPUSH_LOGIN: OCTOPUSH_KEY},
            auto_callbacks=False,
        ).start()
        cls.addClassCleanup(cls.fake.stop)
        cls.env['sms.gateway'].search([]).action_archive()
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref('base.us')
        cls.twilio = cls.env['sms.gateway'].create({
            'name': 'Twilio test', 'provider': 'twilio', 'sequence': 20, 'base_url': cls.fake.url,
            'account': TWILIO_SID, 'secret': TWILIO_TOKEN, 'sender': '+15005550006', 'max_concurrency': 8,
        })
        cls.octopush = cls.env['sms.gateway'].create({
            'name': 'Octopush FR test', 'provider': 'octopush', 'sequence': 10,
            'base_url': cls.fake.url + '/v1/public', 'account': OCTOPUSH_LOGIN, 'secret': OCTOPUSH_KEY,
            'sender': 'MyShop', 'country_ids': [(6, 0, cls.env.ref('base.fr').ids)],
        })

    def setUp(self):
        super().setUp()
        self.fake.reset()

    # helpers -----------------------------------------------------------------
    def partner(self, name, phone, country='base.us', **vals):
        return self.env['res.partner'].create({
            'name': name, 'phone': phone, 'country_id': self.env.ref(country).id, **vals})

    def send_single(self, record, body="Hello", user=None):
        """Click "Send SMS" on ``record`` as ``user`` would (comment mode, sent at once)."""
        composer = self.env['sms.composer'].with_user(user or self.env.user).with_context(
            active_model=record._name, active_id=record.id, default_composition_mode='comment',
        ).create({'body': body})
        composer.action_send_sms()
        self.run_postcommit()
        return self.log_of(record)

    def send_mass(self, records, body="Hello {{ object.name }}", force_send=True):
        composer = self.env['sms.composer'].with_context(
            active_model=records._name, default_res_ids=repr(records.ids), default_composition_mode='mass',
        ).create({'body': body, 'mass_keep_log': False, 'mass_force_send': force_send})
        sms = composer._action_send_sms()
        self.run_postcommit()
        return sms

    def query_plan(self, query):
        """PostgreSQL's plan of ``query`` (SQL or text), as EXPLAIN prints it."""
        self.env.cr.execute(SQL("EXPLAIN %s", query if isinstance(query, SQL) else SQL(query)))
        return '\n'.join(row[0] for row in self.env.cr.fetchall())

    def rows_read(self, query, table):
        """Rows of ``table`` PostgreSQL reads to run ``query`` (EXPLAIN ANALYZE), kept or filtered out."""
        def read(node):
            if node.get('Relation Name') == table:
                kept = node['Actual Rows'] + node.get('Rows Removed by Filter', 0)
                yield (kept + node.get('Rows Removed by Index Recheck', 0)) * node.get('Actual Loops', 1)
            for child in node.get('Plans', []):
                yield from read(child)

        self.env.cr.execute(SQL("EXPLAIN (ANALYZE, FORMAT JSON) %s", query))
        return sum(read(self.env.cr.fetchone()[0][0]['Plan']))

    def run_postcommit(self):
        """What the commit of the user's transaction triggers: gateway SMS are sent after it."""
        self.env.flush_all()
        self.env.cr.postcommit.run()
        self.env.invalidate_all()

    def send_now(self, sms):
        sms.send()
        self.run_postcommit()
        return sms

    def log_of(self, record):
        return self.env['sms.message'].search(
            [('res_model', '=', record._name), ('res_id', '=', record.id)], order='id')

    def twilio_signature(self, url, params, token=TWILIO_TOKEN):
        return RequestValidator(token).compute_signature(url, params)
