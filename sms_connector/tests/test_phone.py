from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.tools.phone import country_of, normalize_number


@tagged('post_install', '-at_install')
class TestPhone(BaseCase):

    def test_national_numbers_use_country(self):
        self.assertEqual(normalize_number("06 12 34 56 78", "FR").e164, "+33612345678")
        self.assertEqual(normalize_number("06-12345678", "NL").e164, "+31612345678")
        self.assertEqual(normalize_number("(415) 555-2671", "US").e164, "+14155552671")
        self.assertEqual(normalize_number("0033 6 12 34 56 78").e164, "+33612345678")
        self.assertEqual(normalize_number("+48 512 345 678", "FR").e164, "+48512345678")

    def test_unusable_numbers_have_reasons(self):
        missing = normalize_number("  ")
        self.assertIsNone(missing.e164)
        self.assertIn("missing", missing.error)
        no_country = normalize_number("0612345678")
        self.assertIsNone(no_country.e164)
        self.assertIn("international format", no_country.error)
        self.assertIsNone(normalize_number("+33 12", "FR").e164)
        self.assertIsNone(normalize_number("hello", "FR").e164)

    def test_country_of(self):
        self.assertEqual(country_of("+33612345678"), "FR")
        self.assertEqual(country_of("+380501234567"), "UA")
        self.assertIsNone(country_of("garbage"))
