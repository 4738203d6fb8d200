"""Indexes of ``sms.message`` that Odoo keeps when their field is no longer declared ``index=...``.

The number's index now orders each number's rows by direction and id, ``(number, direction, id)``;
the replies to triage are indexed alone (``WHERE to_triage IS TRUE``), not every received SMS.
"""
from odoo.tools import SQL

DROPPED = ('number', 'to_triage')


def migrate(cr, version):
    for column in DROPPED:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(f'sms_message__{column}_index')))
