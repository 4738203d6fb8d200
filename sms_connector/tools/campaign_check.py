"""Campaign simulation ("Test campaign") checks per recipient and the CSV report, no ORM.

Why: a campaign refused by the provider or the law (missing opt-out mention, text too long,
bad numbers) costs money and reputation; the marketer fixes it before sending, from a report.
"""
import csv
import io
from dataclasses import dataclass, field

from .phone import normalize_number

DEFAULT_MAX_LENGTH = 489  # Octopush's limit for a campaign text
STOP_MENTION_COUNTRIES = frozenset({'FR'})


@dataclass
class RecipientCheck:
    number: str  # E.164 when valid, else the raw number
    country_code: str | None
    body: str
    errors: list = field(default_factory=list)  # (code, params) tuples
    opted_out: bool = False  # Odoo skips it when sending: reported, not an error

    @property
    def ok(self):
        return not self.errors


def check_recipient(body, raw_number, *, default_country=None, max_length=DEFAULT_MAX_LENGTH,
                    blacklisted=frozenset(), marketing=True, stop_mention=''):
    """Check one rendered SMS; error codes: empty, too_long, no_number, invalid_number,
    stop_missing (marketing SMS to France without the opt-out mention). Opted-out numbers are
    flagged apart: the mailing skips them, so they do not block it."""
    body = body or ''
    normalized = normalize_number(raw_number, default_country)
    result = RecipientCheck(normalized.e164 or (raw_number or ''), normalized.country_code, body)
    if not body.strip():
        result.errors.append(('empty', {}))
    elif len(body) > max_length:
        result.errors.append(('too_long', {'length': len(body), 'max': max_length}))
    if not (raw_number or '').strip():
        result.errors.append(('no_number', {}))
    elif not normalized.e164:
        result.errors.append(('invalid_number', {'error': normalized.error}))
    else:
        result.opted_out = normalized.e164 in blacklisted
        if (marketing and stop_mention and normalized.country_code in STOP_MENTION_COUNTRIES
                and stop_mention.casefold() not in body.casefold()):
            result.errors.append(('stop_missing', {'mention': stop_mention}))
    return result


def report_csv(rows):
    """CSV (semicolon separated, as spreadsheets in France expect) of (status, detail, number, sms) rows."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=';', lineterminator='\n')
    writer.writerow(['status', 'detail', 'number', 'sms'])
    writer.writerows(rows)
    return out.getvalue()
