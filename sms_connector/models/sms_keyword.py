from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import ormcache

from ..tools.keywords import normalize_keyword


class SmsKeyword(models.Model):
    """A whole-body reply that opts a number out (STOP), back in (START) or asks for help (HELP).

    One record per keyword and language so that admins can add the words their customers use.
    """

    _name = 'sms.keyword'
    _inherit = ['sms.config.cache.mixin']
    _description = 'SMS Opt-out Keyword'
    _order = 'action, sequence, id'
    _rec_name = 'keyword'

    keyword = fields.Char(required=True, help="Matched against the whole SMS, ignoring case, accents and spaces.")
    normalized = fields.Char(compute='_compute_normalized', store=True, index=True)
    action = fields.Selection([
        ('stop', 'Opt out (STOP)'),
        ('start', 'Opt back in (START)'),
        ('help', 'Help (auto-reply)'),
    ], required=True, default='stop')
    language = fields.Char(help="Language of the keyword (informative), e.g. en, fr, nl.")
    reply = fields.Text(
        translate=True,
        help="Sent back to the customer when they send this keyword. Leave empty not to answer "
             "(Twilio already answers its standard keywords itself).")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)

    _normalized_unique = models.Constraint('UNIQUE(normalized)', 'This keyword already exists.')

    @api.depends('keyword')
    def _compute_normalized(self):
        for record in self:
            record.normalized = normalize_keyword(record.keyword)

    @api.constrains('normalized')
    def _check_normalized(self):
        for record in self:
            if not record.normalized:
                raise ValidationError(_("A keyword cannot be empty."))

    @api.model
    @ormcache()
    def _active_keyword_ids(self):
        """{normalized keyword: id} of the active keywords.

        Every inbound SMS is looked up, keywords change rarely: cached, cleared when one changes.
        """
        keywords = self.sudo().search_fetch([('active', '=', True)], ['normalized'])
        return {keyword.normalized: keyword.id for keyword in keywords}

    @api.model
    def _match(self, body):
        """The active keyword the whole ``body`` is, or an empty recordset."""
        key = normalize_keyword(body)
        if not key or len(key) > 40:
            return self.browse()
        return self.browse(self._active_keyword_ids().get(key))
