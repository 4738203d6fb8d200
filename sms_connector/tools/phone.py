"""Phone number normalisation to E.164, no ORM.

Why: providers reject local formats, and an unusable number must fail with a clear reason
before any provider call instead of costing a request.
"""
import functools
import re
from dataclasses import dataclass

import phonenumbers

E164_RE = re.compile(r'\+[1-9]\d{6,14}')


@dataclass(frozen=True)
class NormalizedNumber:
    e164: str | None
    country_code: str | None  # ISO 3166 alpha-2 of the destination
    error: str | None  # untranslated English reason when e164 is None


@functools.lru_cache(maxsize=65536)
def normalize_number(raw, default_country=None):
    """Normalise ``raw`` to E.164, reading national numbers in ``default_country`` (ISO alpha-2).

    Cached: routing and claiming read the same numbers in the same batch, and parsing is most
    of the CPU an SMS costs us.
    """
    raw = (raw or "").strip()
    if not raw:
        return NormalizedNumber(None, None, "The phone number is missing.")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    region = (default_country or "").upper() or None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        if not region and not raw.startswith("+"):
            reason = "it is not in international format (+country code) and no country is known"
        else:
            reason = str(exc).split(". ", 1)[-1].rstrip(".").lower() or "it cannot be parsed"
        return NormalizedNumber(None, None, f"Invalid phone number {raw!r}: {reason}.")
    if not phonenumbers.is_valid_number(parsed):
        return NormalizedNumber(None, None, f"Invalid phone number {raw!r}: not a valid number for its country.")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not E164_RE.fullmatch(e164):  # short codes and service numbers are not SMS destinations
        return NormalizedNumber(None, None, f"Invalid phone number {raw!r}: too short for a mobile number.")
    return NormalizedNumber(e164, phonenumbers.region_code_for_number(parsed), None)


def country_of(e164):
    """ISO alpha-2 region of an E.164 number, or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
