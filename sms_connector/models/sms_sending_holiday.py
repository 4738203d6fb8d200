from odoo import fields, models


class SmsSendingHoliday(models.Model):
    """Public holiday on which no marketing SMS goes to the country (movable ones added yearly by the admin)."""

    _name = 'sms.sending.holiday'
    _description = 'SMS Public Holiday'
    _order = 'country_id, date'

    name = fields.Char(required=True, translate=True)
    country_id = fields.Many2one('res.country', required=True, ondelete='cascade', index=True)
    date = fields.Date(required=True)
    recurring = fields.Boolean("Every year", help="The same day and month every year (fixed-date holiday).")
