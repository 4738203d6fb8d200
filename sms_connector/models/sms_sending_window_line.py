from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

WEEKDAYS = [('0', 'Monday'), ('1', 'Tuesday'), ('2', 'Wednesday'), ('3', 'Thursday'), ('4', 'Friday'),
            ('5', 'Saturday'), ('6', 'Sunday')]


class SmsSendingWindowLine(models.Model):
    """One allowed period: days from/to (inclusive) and hours from/to (end excluded), local time."""

    _name = 'sms.sending.window.line'
    _description = 'SMS Sending Window Period'
    _order = 'window_id, day_from, hour_from'

    window_id = fields.Many2one('sms.sending.window', required=True, ondelete='cascade', index=True)
    day_from = fields.Selection(WEEKDAYS, "From day", required=True, default='0')
    day_to = fields.Selection(WEEKDAYS, "To day", required=True, default='4')
    hour_from = fields.Float("From", required=True, default=8.0)
    hour_to = fields.Float("To", required=True, default=20.0, help="Excluded: 20:00 allows sending until 19:59.")

    @api.constrains('hour_from', 'hour_to')
    def _check_hours(self):
        for line in self:
            if not 0 <= line.hour_from < line.hour_to <= 24:
                raise ValidationError(_("Sending hours must be between 00:00 and 24:00, start before end."))
