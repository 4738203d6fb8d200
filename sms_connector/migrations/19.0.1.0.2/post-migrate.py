"""Indexes of ``sms.message`` that cost every update of the log and found most of the table.

Odoo creates the index of a field declared ``index=True`` but keeps it when the declaration goes:
drop the ones the model no longer declares (the partial index on rare states replaces the state one).
"""
from odoo.tools import SQL

DROPPED = ('direction', 'state', 'gateway_id', 'res_model', 'company_id')


def migrate(cr, version):
    for column in DROPPED:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(f'sms_message__{column}_index')))
