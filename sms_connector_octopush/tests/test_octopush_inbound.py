"""Octopush inbound reply and STOP callbacks, without a database."""
from datetime import datetime

from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.providers import GatewayConfig, MalformedCallback
from odoo.addons.sms_connector_octopush.providers.octopush import OctopushProvider


def provider():
    return OctopushProvider(GatewayConfig(provider='octopush', base_url='http://127.0.0.1:9', sender='Shop'))


@tagged('post_install', '-at_install')
class TestOctopushInbound(BaseCase):

    def test_parse_reply(self):
        data = {'message_id': 'sms_5fec89fe97109', 'number': '33612345678', 'text': 'Oui merci',
                'sim_card_number': '+33700000001', 'reception_date': '2026-11-21 10:00:00'}
        (sms,) = provider().parse_inbound(data)
        self.assertEqual((sms.sender, sms.recipient, sms.body, sms.keyword),
                         ('+33612345678', '+33700000001', 'Oui merci', None))
        self.assertEqual(sms.received_at, datetime(2026, 11, 21, 10, 0, 0))
        self.assertTrue(sms.provider_message_id.startswith('sms_5fec89fe97109:+33612345678:2026-11-21 10:00:00:'))
        (again,) = provider().parse_inbound(dict(data))
        self.assertEqual(again.provider_message_id, sms.provider_message_id, "a replay has the same id")
        (other,) = provider().parse_inbound({**data, 'reception_date': '2026-11-21 10:00:01'})
        self.assertNotEqual(other.provider_message_id, sms.provider_message_id)

    def test_callbacks_in_the_same_second_are_told_apart_by_content(self):
        reply = {'message_id': 'sms_1', 'number': '33612345678', 'text': 'Oui',
                 'sim_card_number': '+33700000001', 'reception_date': '2026-11-21 10:00:00'}
        stop = {'message_id': 'sms_1', 'number': '33612345678', 'text': 'STOP', 'stop_date': '2026-11-21 10:00:00'}
        ids = {provider().parse_inbound(data)[0].provider_message_id
               for data in (reply, {**reply, 'text': 'Et demain ?'}, stop)}
        self.assertEqual(len(ids), 3, "another text or a STOP in the same second is another SMS")
        (replay,) = provider().parse_inbound({key: reply[key] for key in reversed(list(reply))})
        self.assertIn(replay.provider_message_id, ids, "the same fields in another order are a replay")

    def test_parse_stop_callback(self):
        (sms,) = provider().parse_inbound({'message_id': 'sms_1', 'number': '+33612345678', 'text': 'STOP',
                                           'stop_date': '2026-11-21 11:00:00'})
        self.assertEqual((sms.keyword, sms.sender, sms.body), ('stop', '+33612345678', 'STOP'))
        (sms,) = provider().parse_inbound({'message_id': 'sms_1', 'number': '+33612345678', 'stop_date': '2026-11-21 11:00:00'})
        self.assertEqual((sms.keyword, sms.body), ('stop', ''))

    def test_malformed(self):
        good = {'message_id': 'sms_1', 'number': '+33612345678', 'text': 'hi', 'reception_date': '2026-11-21 10:00:00'}
        for bad in ({}, {**good, 'message_id': ''}, {**good, 'number': ''},
                    {k: v for k, v in good.items() if k != 'reception_date'},
                    {k: v for k, v in good.items() if k != 'text'},
                    {**good, 'reception_date': 'yesterday'}):
            with self.assertRaises(MalformedCallback, msg=bad):
                provider().parse_inbound(bad)

    def test_answer_is_empty(self):
        self.assertFalse(provider().inline_replies)
        self.assertEqual(provider().inbound_answer([]), ('', None))
