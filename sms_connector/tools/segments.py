"""SMS encoding and segment counting (3GPP TS 23.038 / 23.040), no ORM.

Why: the number of parts decides the price and the composer's counter; a message that
contains a single non GSM-7 character switches entirely to UCS-2.
"""
from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # 'gsm7' or 'ucs2'
    length: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def _gsm7_parts(text):
    """Count GSM-7 parts without ever splitting an escape pair across two parts."""
    septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    if septets <= GSM7_SINGLE:
        return septets, (1 if text else 0)
    parts, used = 1, 0
    for ch in text:
        width = 2 if ch in GSM7_EXTENSION else 1
        if used + width > GSM7_PART:
            parts, used = parts + 1, 0
        used += width
    return septets, parts


def _ucs2_parts(text):
    """Count UCS-2 parts in UTF-16 units without splitting a surrogate pair."""
    # surrogatepass: a lone surrogate (broken input) still counts as one unit instead of crashing
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    if units <= UCS2_SINGLE:
        return units, 1
    parts, used = 1, 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > UCS2_PART:
            parts, used = parts + 1, 0
        used += width
    return units, parts


def count_segments(text):
    """Return the encoding, length in units and number of SMS parts for ``text``."""
    text = text or ""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        length, parts = _gsm7_parts(text)
        return SegmentInfo("gsm7", length, parts)
    length, parts = _ucs2_parts(text)
    return SegmentInfo("ucs2", length, parts)
