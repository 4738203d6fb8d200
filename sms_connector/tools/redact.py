"""Credential redaction for texts people may read, no ORM.

Why: provider errors quote the request URL (Twilio's carries the Account SID), libraries echo
headers and our webhook URLs carry a secret token; these texts end up in the SMS log, the
chatter, notifications, *Test connection* and the server log, which are not only for admins.
"""
import re

REDACTED = '[redacted]'
MIN_SECRET_LENGTH = 4  # shorter "secrets" would blank out ordinary words

_PATTERNS = (
    # Twilio account and API key SIDs, also inside URLs (/Accounts/AC…/Messages.json)
    (re.compile(r'\b(?:AC|SK)[0-9a-fA-F]{32}\b'), REDACTED),
    # user:password@host in URLs
    (re.compile(r'(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@'), r'\1' + REDACTED + '@'),
    # credentials in query strings, headers and dict reprs: api-key=…, 'api-key': '…', Authorization: Basic …
    (re.compile(
        r'(?i)\b((?:api[-_]?key|api[-_]?login|auth[-_]?token|access[-_]?token|token|secret|password|authorization)'
        r'["\']?\s*[:=]\s*["\']?)(?:(?:basic|bearer)\s+)?[^\s"\'&,;}]+'), r'\1' + REDACTED),
    # our webhook URLs: /sms_connector/<kind>/<gateway id>/<token>
    (re.compile(r'(/sms_connector/(?:status|inbound)/\d+/)[^/\s?#"\']+'), r'\1' + REDACTED),
)


def redact(text, secrets=()):
    """``text`` without the given ``secrets`` nor anything that looks like a credential.

    :param secrets: exact values to remove (a gateway's account, secret, webhook token)
    """
    if not text:
        return text
    text = str(text)
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
