import csv
import io

from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.tools.campaign_check import check_recipient, report_csv

STOP = "STOP au 30101"


def codes(result):
    return [code for code, _params in result.errors]


@tagged('post_install', '-at_install')
class TestCampaignCheck(BaseCase):

    def test_good_french_and_foreign_recipients(self):
        ok = check_recipient(f"Sale today {STOP}", '06 12 34 56 78', default_country='FR', stop_mention=STOP)
        self.assertTrue(ok.ok)
        self.assertEqual((ok.number, ok.country_code), ('+33612345678', 'FR'))
        us = check_recipient("Sale today", '+14155552671', stop_mention=STOP)
        self.assertTrue(us.ok, "the STOP mention is only required for France")

    def test_errors(self):
        self.assertEqual(codes(check_recipient("  ", '+14155552671')), ['empty'])
        self.assertEqual(codes(check_recipient("a" * 490, '+14155552671')), ['too_long'])
        self.assertEqual(codes(check_recipient("a" * 489, '+14155552671')), [])
        self.assertEqual(codes(check_recipient("Hi", '')), ['no_number'])
        self.assertEqual(codes(check_recipient("Hi", '0612345678')), ['invalid_number'], "national without country")
        opted_out = check_recipient("Hi", '+14155552671', blacklisted={'+14155552671'})
        self.assertEqual((codes(opted_out), opted_out.opted_out), ([], True))
        self.assertEqual(codes(check_recipient("Hi", '+33612345678', stop_mention=STOP)), ['stop_missing'])
        self.assertEqual(codes(check_recipient("Hi", '+33612345678', stop_mention=STOP, marketing=False)), [])
        self.assertEqual(codes(check_recipient("Hi stop AU 30101", '+33612345678', stop_mention=STOP)), [])

    def test_report_csv(self):
        text = report_csv([('ok', '', '+33612345678', 'Hi; "you"\nthere'), ('error', 'Empty text', '+1415', '')])
        rows = list(csv.reader(io.StringIO(text), delimiter=';'))
        self.assertEqual(rows[0], ['status', 'detail', 'number', 'sms'])
        self.assertEqual(rows[1], ['ok', '', '+33612345678', 'Hi; "you"\nthere'])
        self.assertEqual(len(rows), 3)
