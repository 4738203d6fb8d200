from odoo import fields, models


class SmsGatewaySender(models.Model):
    """A sender used for one destination country (local numbers deliver better and cost less)."""

    _name = 'sms.gateway.sender'
    _description = 'SMS Gateway Sender per Country'
    _order = 'gateway_id, country_id'

    gateway_id = fields.Many2one('sms.gateway', required=True, ondelete='cascade', index=True)
    country_id = fields.Many2one('res.country', required=True)
    sender = fields.Char(required=True, help="From number (E.164) or alphanumeric sender name.")

    _country_unique = models.Constraint(
        'UNIQUE(gateway_id, country_id)', 'One sender per country and gateway.')
