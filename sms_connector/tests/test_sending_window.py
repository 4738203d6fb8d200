from datetime import UTC, date, datetime

from odoo.tests import BaseCase, tagged

from odoo.addons.sms_connector.tools.sending_window import WindowSpec, fixed_holidays, is_allowed, next_allowed

# France by default: Monday-Saturday 08:00-20:00 Europe/Paris
FRANCE = WindowSpec('Europe/Paris', tuple((weekday, 8 * 60, 20 * 60) for weekday in range(6)))
HOLIDAYS = fixed_holidays([(date(2020, 1, 1), True), (date(2020, 5, 1), True), (date(2026, 5, 14), False)])


def utc(*args):
    return datetime(*args)  # naive UTC, as Odoo stores datetimes


@tagged('post_install', '-at_install')
class TestSendingWindow(BaseCase):

    def test_inside_window_is_unchanged(self):
        now = utc(2026, 3, 4, 10, 0, 17)  # Wednesday 11:00 in Paris (UTC+1)
        self.assertEqual(next_allowed(now, FRANCE, HOLIDAYS), now)
        self.assertTrue(is_allowed(now, FRANCE, HOLIDAYS))

    def test_night_goes_to_next_morning(self):
        # Wednesday 22:00 Paris -> Thursday 08:00 Paris = 07:00 UTC
        self.assertEqual(next_allowed(utc(2026, 3, 4, 21, 0), FRANCE, HOLIDAYS), utc(2026, 3, 5, 7, 0))
        # 03:00 Paris: same day 08:00
        self.assertEqual(next_allowed(utc(2026, 3, 5, 2, 0), FRANCE, HOLIDAYS), utc(2026, 3, 5, 7, 0))

    def test_edge_minutes(self):
        self.assertEqual(next_allowed(utc(2026, 3, 5, 6, 59, 59), FRANCE), utc(2026, 3, 5, 7, 0))  # 07:59:59
        self.assertEqual(next_allowed(utc(2026, 3, 5, 7, 0), FRANCE), utc(2026, 3, 5, 7, 0))  # 08:00 opens
        self.assertEqual(next_allowed(utc(2026, 3, 5, 18, 59), FRANCE), utc(2026, 3, 5, 18, 59))  # 19:59 allowed
        self.assertEqual(next_allowed(utc(2026, 3, 5, 19, 0), FRANCE), utc(2026, 3, 6, 7, 0))  # 20:00 closed

    def test_sunday_goes_to_monday(self):
        # Saturday 20:30 and Sunday noon -> Monday 08:00
        self.assertEqual(next_allowed(utc(2026, 3, 7, 19, 30), FRANCE), utc(2026, 3, 9, 7, 0))
        self.assertEqual(next_allowed(utc(2026, 3, 8, 11, 0), FRANCE), utc(2026, 3, 9, 7, 0))

    def test_holidays_recurring_and_dated(self):
        # Friday 1 May 2026 (recurring Labour Day) -> Saturday 2 May 08:00 CEST = 06:00 UTC
        self.assertEqual(next_allowed(utc(2026, 5, 1, 9, 0), FRANCE, HOLIDAYS), utc(2026, 5, 2, 6, 0))
        # Wednesday evening before Ascension (14 May 2026, dated) -> Friday 15 May
        self.assertEqual(next_allowed(utc(2026, 5, 13, 19, 0), FRANCE, HOLIDAYS), utc(2026, 5, 15, 6, 0))
        # 1 January 2027 is recurring too
        self.assertEqual(next_allowed(utc(2026, 12, 31, 20, 0), FRANCE, HOLIDAYS), utc(2027, 1, 2, 7, 0))

    def test_dst_changes_move_the_utc_instant(self):
        # Saturday 28 March 2026 22:00 CET; Sunday 29 March is the spring change: Monday 08:00 CEST = 06:00 UTC
        self.assertEqual(next_allowed(utc(2026, 3, 28, 21, 0), FRANCE), utc(2026, 3, 30, 6, 0))
        # autumn: Saturday 24 October 2026 21:00 CEST -> Monday 26 October 08:00 CET = 07:00 UTC
        self.assertEqual(next_allowed(utc(2026, 10, 24, 19, 0), FRANCE), utc(2026, 10, 26, 7, 0))
        # a window opening at a skipped hour (02:30 on 29 March) opens at 03:30 local
        night = WindowSpec('Europe/Paris', ((6, 150, 300),))
        self.assertEqual(next_allowed(utc(2026, 3, 28, 23, 0), night), utc(2026, 3, 29, 1, 30))

    def test_aware_input_and_closed_window(self):
        aware = datetime(2026, 3, 4, 21, 0, tzinfo=UTC)
        self.assertEqual(next_allowed(aware, FRANCE), datetime(2026, 3, 5, 7, 0, tzinfo=UTC))
        self.assertIsNone(next_allowed(utc(2026, 3, 4, 21, 0), WindowSpec('Europe/Paris', ())))
        # several ranges in one day: lunch break
        split = WindowSpec('Europe/Paris', ((2, 8 * 60, 12 * 60), (2, 14 * 60, 18 * 60)))
        self.assertEqual(next_allowed(utc(2026, 3, 4, 11, 30), split), utc(2026, 3, 4, 13, 0))
