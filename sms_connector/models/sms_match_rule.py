from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain

DEFAULT_CONVERSATION_DAYS = 30


class SmsMatchRule(models.Model):
    """Where an inbound SMS belongs: the first rule (by sequence) with a record whose number matches.

    Numbers are compared for equality with the sender's E.164 number on stored, indexed,
    normalised columns (``phone_sanitized``), so that matching stays fast with millions of contacts.
    """

    _name = 'sms.match.rule'
    _description = 'SMS Reply Matching Rule'
    _order = 'sequence, id'

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    model_id = fields.Many2one('ir.model', "Model", required=True, ondelete='cascade',
                               domain=[('transient', '=', False)])
    model = fields.Char(related='model_id.model', string="Model name", store=True)
    phone_fields = fields.Char(
        "Phone fields", required=True, default='phone_sanitized',
        help="Comma separated field names or paths (e.g. partner_id.phone_sanitized) holding an E.164 "
             "number. Use stored, indexed, normalised fields: they are compared for equality.")
    company_id = fields.Many2one('res.company', help="Leave empty to apply to every company.")
    create_activity = fields.Boolean(
        "Schedule an activity", help="Schedule an activity for the record's responsible user on each reply.")
    activity_type_id = fields.Many2one('mail.activity.type', "Activity type")

    @api.constrains('model_id', 'phone_fields')
    def _check_phone_fields(self):
        for rule in self:
            if rule.model not in self.env:
                continue
            paths = rule._phone_paths()
            if not paths:
                raise ValidationError(_("Rule %(rule)s needs at least one phone field.", rule=rule.name))
            for path in paths:
                model = self.env[rule.model]
                names = path.split('.')
                for index, name in enumerate(names):
                    field = model._fields.get(name)
                    last = index == len(names) - 1
                    if not field or not field.store or (not last and field.type != 'many2one') \
                            or (last and field.type != 'char'):
                        raise ValidationError(_(
                            "%(path)s is not a stored phone field (or many2one path to one) of %(model)s.",
                            path=path, model=rule.model))
                    if not last:
                        model = self.env[field.comodel_name]

    def _phone_paths(self):
        self.ensure_one()
        return [path.strip() for path in (self.phone_fields or '').split(',') if path.strip()]

    def _find_records(self, number, company, limit=1):
        """Records of this rule whose number is ``number`` (E.164), most recent first."""
        self.ensure_one()
        Model = self.env[self.model].sudo()
        domain = Domain.OR(Domain(path, '=', number) for path in self._phone_paths())
        if 'company_id' in Model._fields and Model._fields['company_id'].store:
            domain &= Domain('company_id', 'in', [False, company.id])
        order = 'create_date desc, id desc' if 'create_date' in Model._fields else 'id desc'
        return Model.search(domain, order=order, limit=limit)

    @api.model
    def _match(self, number, company):
        """The record an SMS from ``number`` belongs to, and the rule that found it.

        A reply belongs to the conversation it answers: the document the last outbound SMS to
        this number was sent from wins when it is recent. Otherwise the first rule that matches.
        :return: (record or None, rule or empty recordset)
        """
        if not number:
            return None, self.browse()
        record = self._last_outbound_record(number, company)
        rules = self.sudo().search([('company_id', 'in', [False, company.id])])
        if record is not None:
            return record, rules.filtered(lambda rule: rule.model == record._name)[:1]
        for rule in rules:
            if rule.model not in self.env:
                continue
            found = rule._find_records(number, company)
            if found:
                return found, rule
        return None, self.browse()

    @api.model
    def _last_outbound_record(self, number, company):
        days = self._conversation_days()
        if days <= 0:
            return None
        last = self.env['sms.message'].sudo().search([
            ('direction', '=', 'outbound'), ('number', '=', number), ('company_id', '=', company.id),
            ('res_model', '!=', False), ('res_id', '!=', False),
            ('create_date', '>=', fields.Datetime.now() - timedelta(days=days)),
        ], order='id desc', limit=1)
        if not last or last.res_model not in self.env:
            return None
        record = self.env[last.res_model].sudo().browse(last.res_id).exists()
        return record or None

    @api.model
    def _conversation_days(self):
        """How long a reply is still considered an answer to the last SMS sent to its number."""
        value = self.env['ir.config_parameter'].sudo().get_param(
            'sms_connector.conversation_days', DEFAULT_CONVERSATION_DAYS)
        try:
            return int(value)
        except (TypeError, ValueError):
            return DEFAULT_CONVERSATION_DAYS
