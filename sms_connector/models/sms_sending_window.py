from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from ..tools.sending_window import WindowSpec, fixed_holidays, hours_to_minutes, next_allowed


class SmsSendingWindow(models.Model):
    """Hours when marketing SMS may be sent to a country; outside them they wait (legal duty)."""

    _name = 'sms.sending.window'
    _description = 'SMS Sending Window'
    _order = 'country_id'

    name = fields.Char(compute='_compute_name', store=True)
    active = fields.Boolean(default=True)
    country_id = fields.Many2one('res.country', required=True, ondelete='cascade')
    tz = fields.Selection(_tz_get, string="Timezone", required=True, default='Europe/Paris')
    line_ids = fields.One2many('sms.sending.window.line', 'window_id', string="Allowed periods", copy=True)

    _country_unique = models.UniqueIndex('(country_id) WHERE active IS TRUE')

    @api.depends('country_id')
    def _compute_name(self):
        for window in self:
            window.name = _("Sending window: %(country)s", country=window.country_id.name or '')

    def _spec(self):
        self.ensure_one()
        ranges = []
        for line in self.line_ids:
            first, last = int(line.day_from), int(line.day_to)
            days = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
            ranges.extend((day, hours_to_minutes(line.hour_from), hours_to_minutes(line.hour_to)) for day in days)
        return WindowSpec(self.tz, tuple(ranges))

    @api.model
    def _deferral_checker(self, now):
        """Function country code -> next allowed naive UTC datetime if ``now`` is outside its window, else None.

        Read once per batch of the send engine: a handful of rows.
        """
        windows = {w.country_id.code: w._spec() for w in self.sudo().search([])}
        if not windows:
            return lambda country_code: None
        holiday_rows = self.env['sms.sending.holiday'].sudo().search_fetch(
            [('country_id.code', 'in', list(windows))], ['date', 'recurring', 'country_id'])
        holidays = {code: fixed_holidays([(h.date, h.recurring) for h in holiday_rows if h.country_id.code == code])
                    for code in windows}
        cache = {}

        def deferral(country_code):
            if country_code not in windows:
                return None
            if country_code not in cache:
                at = next_allowed(now, windows[country_code], holidays[country_code])
                # a window that never opens would hold the SMS forever: send it rather than lose it
                cache[country_code] = at if at and at > now else None
            return cache[country_code]
        return deferral

    def _local_label(self, at_utc):
        """'2026-03-05 08:00 (Europe/Paris)' for messages shown to users."""
        self.ensure_one()
        local = fields.Datetime.context_timestamp(self.with_context(tz=self.tz), at_utc)
        return f"{local:%Y-%m-%d %H:%M} ({self.tz})"

    @api.constrains('line_ids')
    def _check_lines(self):
        for window in self:
            if not window.line_ids:
                raise ValidationError(_("A sending window needs at least one allowed period."))
