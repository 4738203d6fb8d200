"""Indexes of ``sms.message`` that cost every update of the log and found most of the table.

Odoo creates the index of a field declared ``index=True`` but keeps it when the declaration goes:
drop the ones the model no longer declares (a partial index on rare states replaces the state one,
one on (res_model, res_id) the two on those columns).
"""
from odoo.tools import SQL

DROPPED = ('direction', 'state', 'gateway_id', 'res_model', 'res_id', 'company_id')


def migrate(cr, version):
    for column in DROPPED:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(f'sms_message__{column}_index')))
