from odoo import api, models


class SmsConfigCacheMixin(models.AbstractModel):
    """Settings every inbound SMS reads, cached per process (``ormcache``) since they rarely change.

    Any change clears the registry cache; other workers clear theirs at their next request.
    """

    _name = 'sms.config.cache.mixin'
    _description = 'SMS settings cached per process'

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
