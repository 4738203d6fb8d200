"""Opt-out keyword matching, no ORM.

Why: customers type "Stop", " stop. ", "ARRÊT" or "arret"; carriers and the law expect all of
them to unsubscribe, while "stop sending me promos please" is an ordinary reply.
"""
import re
import unicodedata

_TRAILING_PUNCTUATION = re.compile(r'[\s.!?;,]+$')
_INNER_SPACES = re.compile(r'\s+')


def normalize_keyword(text):
    """Whole-body comparison key: trimmed, case- and accent-insensitive, trailing punctuation dropped."""
    text = unicodedata.normalize('NFKD', text or '')
    text = ''.join(char for char in text if not unicodedata.combining(char))
    text = _TRAILING_PUNCTUATION.sub('', text.strip())
    return _INNER_SPACES.sub(' ', text).casefold()
