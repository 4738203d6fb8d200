from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.tools.segments import count_segments


def triple(text):
    info = count_segments(text)
    return info.encoding, info.length, info.segments


@tagged('post_install', '-at_install')
class TestSegments(BaseCase):

    def test_gsm7_single_and_limits(self):
        self.assertEqual(triple("Hello"), ("gsm7", 5, 1))
        self.assertEqual(count_segments("a" * 160).segments, 1)
        self.assertEqual(count_segments("a" * 161).segments, 2)
        self.assertEqual(count_segments("a" * 306).segments, 2)
        self.assertEqual(count_segments("a" * 307).segments, 3)
        self.assertEqual(count_segments("").segments, 0)

    def test_extension_table_counts_double(self):
        self.assertEqual(triple("€" * 80), ("gsm7", 160, 1))
        self.assertEqual(count_segments("€" * 81).segments, 2)
        # 152 plain + one escape pair: the pair must not be split across parts
        self.assertEqual(count_segments("a" * 152 + "{" + "a" * 10).segments, 2)

    def test_ucs2(self):
        self.assertEqual(count_segments("ç").encoding, "ucs2")
        self.assertEqual(count_segments("Привет" * 11 + "П" * 4).segments, 1)  # 70 units
        self.assertEqual(count_segments("П" * 71).segments, 2)
        self.assertEqual(triple("🙂" * 35), ("ucs2", 70, 1))
        self.assertEqual(count_segments("🙂" * 36).segments, 2)
