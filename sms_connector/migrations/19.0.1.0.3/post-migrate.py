"""Indexes of ``sms.message`` that Odoo keeps when their field is no longer declared ``index=...``.

The number's index now orders each number's rows by direction and id, ``(number, direction, id)``;
the replies to triage are indexed alone (``WHERE to_triage IS TRUE``), not every received SMS.
"""


def migrate(cr, version):
    for index in ('sms_message__number_index', 'sms_message__to_triage_index'):
        cr.execute(f"DROP INDEX IF EXISTS {index}")
