"""Legal sending windows for marketing SMS, no ORM.

Why: some countries forbid marketing SMS at night, on Sundays and public holidays (France:
Monday-Saturday 08:00-20:00). An SMS outside its window is deferred to the next allowed
minute, never dropped; the computation is done in the window's local time so that DST
changes move the UTC instant, not the legal hour.
"""
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS_AHEAD = 400  # a window with no open day at all must not loop forever


@dataclass(frozen=True)
class WindowSpec:
    """Allowed periods of a country: ``ranges`` are (weekday 0=Monday, start, end) in minutes
    from local midnight, end excluded (08:00-20:00 allows 19:59, not 20:00)."""

    tz: str = 'UTC'
    ranges: tuple = field(default_factory=tuple)


def hours_to_minutes(hours):
    """Odoo float_time (8.5 = 08:30) to minutes from midnight."""
    return round((hours or 0.0) * 60)


def _is_holiday(day, holidays):
    """``holidays`` holds dates and (month, day) tuples for holidays recurring every year."""
    return day in holidays or (day.month, day.day) in holidays


def _local(day, minutes, tz):
    """Aware local datetime of ``minutes`` after midnight of ``day``; a time skipped by DST
    (spring forward) moves forward to the first existing minute."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    # fold=0 reads a skipped time with the offset before the change: the roundtrip lands later
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def next_allowed(dt_utc, window_spec, holidays=()):
    """First instant >= ``dt_utc`` inside ``window_spec`` and not on a holiday.

    :param dt_utc: naive UTC (Odoo's convention) or aware datetime
    :param holidays: local dates and/or (month, day) tuples
    :return: ``dt_utc`` itself when already allowed, else the start of the next allowed period,
        naive UTC if ``dt_utc`` was naive; None when the window never opens
    """
    naive_input = dt_utc.tzinfo is None
    aware = dt_utc.replace(tzinfo=UTC) if naive_input else dt_utc.astimezone(UTC)
    tz = ZoneInfo(window_spec.tz or 'UTC')
    local = aware.astimezone(tz)
    now_minutes = local.hour * 60 + local.minute + local.second / 60.0 + local.microsecond / 60e6
    by_weekday = {}
    for weekday, start, end in window_spec.ranges:
        if end > start:
            by_weekday.setdefault(weekday, []).append((start, end))
    if not by_weekday:
        return None
    day = local.date()
    for offset in range(MAX_DAYS_AHEAD):
        current = day + timedelta(days=offset)
        if _is_holiday(current, holidays):
            continue
        for start, end in sorted(by_weekday.get(current.weekday(), ())):
            if offset == 0:
                if now_minutes >= end:
                    continue
                if now_minutes >= start:
                    return dt_utc  # already allowed
            result = _local(current, start, tz).astimezone(UTC)
            return result.replace(tzinfo=None) if naive_input else result
    return None


def is_allowed(dt_utc, window_spec, holidays=()):
    return next_allowed(dt_utc, window_spec, holidays) == dt_utc


def fixed_holidays(rows):
    """Holiday container from (date, recurring) pairs: recurring ones match every year."""
    result = set()
    for day, recurring in rows:
        if isinstance(day, date):
            result.add((day.month, day.day) if recurring else day)
    return result
