"""Campaign simulation ("Test campaign") checks per recipient and the CSV report, no ORM.

Why: a campaign refused by the provider or the law (missing opt-out mention, text too long,
bad numbers) costs money and reputation; the marketer fixes it before sending, from a report.
Which recipients the mailing skips (opted out, duplicates, unusable numbers) is Odoo's decision:
the model asks Odoo's SMS composer, these checks only judge what would actually be sent.
"""
import csv
import io
from dataclasses import dataclass, field

from .phone import normalize_number

DEFAULT_MAX_LENGTH = 1600  # longest concatenated SMS providers commonly accept; adapters declare theirs
STOP_MENTION_COUNTRIES = frozenset({'FR'})
REPORT_HEADER = ('status', 'detail', 'number', 'name', 'record', 'sms')
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ('=', '+', '-', '@', '\t', '\r')


@dataclass
class RecipientCheck:
    number: str  # E.164 when valid, else the raw number
    country_code: str | None
    body: str
    errors: list = field(default_factory=list)  # (code, params) tuples

    @property
    def ok(self):
        return not self.errors


def check_recipient(body, raw_number, *, default_country=None, max_length=DEFAULT_MAX_LENGTH,
                    marketing=True, stop_mention='', normalized=None):
    """Check one rendered SMS; error codes: empty, too_long, no_number, invalid_number,
    stop_missing (marketing SMS to France without the opt-out mention).

    :param normalized: ``normalize_number(raw_number, default_country)`` when the caller has it already
    """
    body = body or ''
    normalized = normalized or normalize_number(raw_number, default_country)
    result = RecipientCheck(normalized.e164 or (raw_number or ''), normalized.country_code, body)
    if not body.strip():
        result.errors.append(('empty', {}))
    elif len(body) > max_length:
        result.errors.append(('too_long', {'length': len(body), 'max': max_length}))
    if not (raw_number or '').strip():
        result.errors.append(('no_number', {}))
    elif not normalized.e164:
        result.errors.append(('invalid_number', {}))
    elif (marketing and stop_mention and normalized.country_code in STOP_MENTION_COUNTRIES
            and stop_mention.casefold() not in body.casefold()):
        result.errors.append(('stop_missing', {'mention': stop_mention}))
    return result


def neutralize_cell(value):
    """Text of a CSV cell that a spreadsheet shows as text: a leading ' disarms formulas (OWASP)."""
    text = '' if value is None or value is False else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def report_csv(rows):
    """CSV (semicolon separated, as spreadsheets in France expect) of rows in ``REPORT_HEADER`` order.

    Names and texts come from whoever can edit a contact: every cell is neutralised and quoted, so
    neither a formula nor a line break in a name reaches the marketer's spreadsheet as such.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=';', quoting=csv.QUOTE_ALL, lineterminator='\r\n')
    writer.writerow(REPORT_HEADER)
    writer.writerows([neutralize_cell(value) for value in row] for row in rows)
    return out.getvalue()
