"""The Octopush adapter without a database: batching, idempotency keys, delivery receipts."""
from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.providers import GatewayConfig, MalformedCallback, OutboundSms
from odoo.addons.sms_connector.tests.common import ProviderContractCase
from odoo.addons.sms_connector_octopush.providers.octopush import OctopushProvider, request_id_for


def provider(**options):
    return OctopushProvider(GatewayConfig(provider='octopush', base_url='http://127.0.0.1:9', sender='Shop', options=options))


@tagged('post_install', '-at_install')
class TestOctopushContract(ProviderContractCase, BaseCase):
    provider_code = 'octopush'
    config_values = {'account': 'shop@example.com', 'secret': 'key', 'sender': 'Shop'}


@tagged('post_install', '-at_install')
class TestOctopushAdapter(BaseCase):

    def test_requests_group_same_text_up_to_500(self):
        batch = [OutboundSms(str(i), f'+336{i:08d}', 'promo' if i % 2 else 'alert') for i in range(1100)]
        chunks = provider().split_requests(batch)
        self.assertEqual(sorted(len(c) for c in chunks), [50, 50, 500, 500])
        self.assertTrue(all(len({sms.body for sms in chunk}) == 1 for chunk in chunks))

    def test_payload_and_stable_request_id(self):
        chunk = [OutboundSms('b', '+33612345678', 'Hi', purpose='marketing'), OutboundSms('a', '+33612345679', 'Hi', purpose='marketing')]
        payload = provider(sms_type='sms_low_cost').build_payload(chunk)
        self.assertEqual(payload['purpose'], 'wholesale')
        self.assertEqual(payload['type'], 'sms_low_cost')
        self.assertEqual(payload['sender'], 'Shop')
        self.assertEqual(payload['request_id'], request_id_for(list(reversed(chunk))), "order must not matter")
        self.assertNotEqual(payload['request_id'], request_id_for(chunk[:1]))

    def test_reply_sender_from_the_number_written_to_else_the_default(self):
        reply = [OutboundSms('a', '+33612345678', 'Bien reçu', sender='+33700000001')]
        self.assertEqual(provider().build_payload(reply)['sender'], '33700000001', "Octopush senders have no '+'")
        too_long = [OutboundSms('a', '+33612345678', 'Bien reçu', sender='+3370000000199')]
        self.assertEqual(provider().build_payload(too_long)['sender'], 'Shop', "unusable: the gateway's sender")

    def test_parse_delivery_receipt(self):
        (report,) = provider().parse_status({'message_id': 'sms_5fec89fe97109', 'number': '33612345678', 'status': 'BLACKLISTED_NUMBER'})
        self.assertEqual((report.number, report.status, report.error_code), ('+33612345678', 'failed', 'BLACKLISTED_NUMBER'))
        (report,) = provider().parse_status({'message_id': 'sms_1', 'number': '+33612345678', 'status': 'delivered'})
        self.assertEqual(report.status, 'delivered')
        for bad in ({}, {'message_id': 'sms_1', 'status': 'DELIVERED'}, {'message_id': 'sms_1', 'number': '+33', 'status': 'LOST'}):
            with self.assertRaises(MalformedCallback):
                provider().parse_status(bad)
