"""The number's index of ``sms.message`` now orders each number's rows by direction and id.

Odoo keeps the index of a field that is no longer declared ``index=True``: drop the old one, the
model's ``(number, direction, id)`` index replaces it.
"""


def migrate(cr, version):
    cr.execute("DROP INDEX IF EXISTS sms_message__number_index")
