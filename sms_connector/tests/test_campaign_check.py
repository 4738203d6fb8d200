import csv
import io

from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.tools.campaign_check import check_recipient, neutralize_cell, report_csv

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
        self.assertEqual(codes(check_recipient("a" * 490, '+14155552671', max_length=489)), ['too_long'])
        self.assertEqual(codes(check_recipient("a" * 489, '+14155552671', max_length=489)), [])
        self.assertEqual(codes(check_recipient("Hi", '')), ['no_number'])
        self.assertEqual(codes(check_recipient("Hi", '0612345678')), ['invalid_number'], "national without country")
        self.assertEqual(codes(check_recipient("Hi", '+33612345678', stop_mention=STOP)), ['stop_missing'])
        self.assertEqual(codes(check_recipient("Hi", '+33612345678', stop_mention=STOP, marketing=False)), [])
        self.assertEqual(codes(check_recipient("Hi stop AU 30101", '+33612345678', stop_mention=STOP)), [])

    def test_report_csv(self):
        text = report_csv([('ok', '', '+33612345678', 'Zoé', 'res.partner,1', 'Hi; "you"\nthere'),
                           ('error', 'Empty text', '+1415', 'Ann', 'res.partner,2', '')])
        rows = list(csv.reader(io.StringIO(text), delimiter=';'))
        self.assertEqual(rows[0], ['status', 'detail', 'number', 'name', 'record', 'sms'])
        self.assertEqual(rows[1], ['ok', '', "'+33612345678", 'Zoé', 'res.partner,1', 'Hi; "you"\nthere'])
        self.assertEqual(len(rows), 3)
        self.assertTrue(all(line.startswith('"') for line in text.splitlines()[:2]), "every field is quoted")

    def test_report_csv_neutralises_formulas(self):
        """OWASP CSV injection: cells starting with = + - @ tab CR are prefixed with ', all quoted."""
        for value in ('=HYPERLINK("http://evil","x")', '+1+2', '-2+3', '@SUM(A1)', '\tx', '\rx'):
            self.assertEqual(neutralize_cell(value), "'" + value)
        self.assertEqual(neutralize_cell('Zoé = ok'), 'Zoé = ok')
        self.assertEqual(neutralize_cell(None), '')
        text = report_csv([('ok', '', '+14155550100', 'Eve\r=HYPERLINK("http://evil")', 'res.partner,3',
                            '=1+1')])
        rows = list(csv.reader(io.StringIO(text, newline=''), delimiter=';'))
        self.assertEqual(len(rows), 2, "a CR in a name does not inject a row")
        self.assertEqual(rows[1][3], 'Eve\r=HYPERLINK("http://evil")')
        self.assertEqual(rows[1][5], "'=1+1")
        self.assertNotIn('\n=', text)
