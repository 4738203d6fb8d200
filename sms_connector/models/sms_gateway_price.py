from odoo import fields, models


class SmsGatewayPrice(models.Model):
    """Price of one SMS part to a country on a gateway: providers price by destination."""

    _name = 'sms.gateway.price'
    _description = 'SMS Gateway Price per Country'
    _order = 'gateway_id, country_id'

    gateway_id = fields.Many2one('sms.gateway', required=True, ondelete='cascade', index=True)
    country_id = fields.Many2one('res.country', required=True, ondelete='cascade')
    price = fields.Float("Price per SMS part", digits=(16, 4))

    _gateway_country_unique = models.UniqueIndex('(gateway_id, country_id)')
