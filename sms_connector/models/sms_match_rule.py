from datetime import datetime, timedelta
from typing import NamedTuple

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, ormcache

DEFAULT_CONVERSATION_DAYS = 30


class InboundMatch(NamedTuple):
    """Where an inbound SMS belongs and who must hear of it."""

    record: object  # the document (sudo), or None
    rule: object  # the sms.match.rule that found it, may be empty
    texter: object  # res.users who last texted the number within the conversation window, may be empty


class SmsMatchRule(models.Model):
    """Where an inbound SMS belongs: the first rule (by sequence) with a record whose number matches.

    Numbers are compared for equality with the sender's E.164 number on stored, indexed,
    normalised columns (``phone_sanitized``), so that matching stays fast with millions of contacts.
    """

    _name = 'sms.match.rule'
    _inherit = ['sms.config.cache.mixin']
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

    @api.model
    @ormcache('company_id')
    def _rule_specs(self, company_id):
        """(id, model, phone paths) of the active rules applying to ``company_id``, in order.

        Read on every inbound SMS, changed rarely: cached, the cache is cleared when a rule changes.
        """
        rules = self.sudo().search([('active', '=', True), ('company_id', 'in', [False, company_id])])
        return tuple((rule.id, rule.model, tuple(rule._phone_paths())) for rule in rules)

    def _phone_paths(self):
        self.ensure_one()
        return [path.strip() for path in (self.phone_fields or '').split(',') if path.strip()]

    @api.model
    def _find_records(self, model, paths, number, company, limit=1):
        """Records of ``model`` whose number is ``number`` (E.164) in one of ``paths``, most recent first.

        One search per path, each through its own index: one search over an OR of a column and a
        many2one's column made PostgreSQL read the whole table (250 ms with 300,000 leads).
        """
        Model = self.env[model].sudo()
        shared = Domain.TRUE
        if 'company_id' in Model._fields and Model._fields['company_id'].store:
            shared = Domain('company_id', 'in', [False, company.id])
        dated = 'create_date' in Model._fields
        found = Model.browse()
        for path in paths:
            found |= Model.search(Domain(path, '=', number) & shared,
                                  order='create_date desc, id desc' if dated else 'id desc', limit=limit)
        if len(paths) > 1:  # the most recent of each path's most recent
            def recency(record):
                return (record.create_date if dated else None) or datetime.min, record.id
            found = found.sorted(recency, reverse=True)[:limit]
        return found

    @api.model
    def _match(self, number, company):
        """The record an SMS from ``number`` belongs to, the rule that found it, and who texted the number.

        A reply belongs to the conversation it answers: the document the last outbound SMS to
        this number was sent from wins when it is recent. Otherwise the first rule that matches.
        """
        if not number:
            return InboundMatch(None, self.browse(), self.env['res.users'])
        record, texter = self._recent_conversation(number, company)
        if record is not None:
            return InboundMatch(record, self._rule_for(record._name, company), texter)
        for rule_id, model, paths in self._rule_specs(company.id):
            if model not in self.env:
                continue
            found = self._find_records(model, paths, number, company)
            if found:
                return InboundMatch(found, self.browse(rule_id), texter)
        return InboundMatch(None, self.browse(), texter)

    @api.model
    def _rule_for(self, model, company):
        """The first active rule of ``company`` for ``model`` (empty if none)."""
        rule_id = next((rule_id for rule_id, name, _paths in self._rule_specs(company.id) if name == model), None)
        return self.browse(rule_id)

    @api.model
    def _recent_conversation(self, number, company):
        """The document the last SMS to ``number`` was sent from, and the last user who texted it.

        Within the conversation window (the user: ever, when the window is off). One query for
        both: every inbound SMS needs them.
        :return: (record in sudo or None, res.users in sudo, may be empty)
        """
        self.env['sms.message'].flush_model(
            ['direction', 'number', 'company_id', 'create_date', 'res_model', 'res_id', 'user_id'])
        self.env['res.users'].flush_model(['active', 'share'])
        self.env.cr.execute(self._recent_conversation_query(number, company))
        last_document, texter_id = self.env.cr.fetchone()
        record = None
        if last_document and last_document[0] in self.env:
            record = self.env[last_document[0]].sudo().browse(int(last_document[1])).exists() or None
        return record, self.env['res.users'].sudo().browse(texter_id)

    @api.model
    def _recent_conversation_query(self, number, company):
        """The SQL of _recent_conversation: both lookups read the number's outbound rows newest first."""
        days = self._conversation_days()
        if days > 0:
            recent = SQL("m.create_date >= %s", fields.Datetime.now() - timedelta(days=days))
            document = SQL("m.res_model IS NOT NULL AND m.res_id IS NOT NULL")
        else:  # window off: no document is a conversation, any past author still hears of the reply
            recent, document = SQL("TRUE"), SQL("FALSE")
        sent_to = SQL("m.direction = 'outbound' AND m.number = %s AND m.company_id = %s AND %s",
                      number, company.id, recent)
        return SQL("""
            SELECT (SELECT ARRAY[m.res_model, m.res_id::varchar] FROM sms_message m
                     WHERE %(sent_to)s AND %(document)s ORDER BY m.id DESC LIMIT 1),
                   (SELECT m.user_id FROM sms_message m JOIN res_users u ON u.id = m.user_id
                     WHERE %(sent_to)s AND m.user_id != %(superuser)s AND u.active AND u.share IS NOT TRUE
                     ORDER BY m.id DESC LIMIT 1)
        """, sent_to=sent_to, document=document, superuser=SUPERUSER_ID)

    @api.model
    def _conversation_days(self):
        """How long a reply is still considered an answer to the last SMS sent to its number."""
        value = self.env['ir.config_parameter'].sudo().get_param(
            'sms_connector.conversation_days', DEFAULT_CONVERSATION_DAYS)
        try:
            return int(value)
        except (TypeError, ValueError):
            return DEFAULT_CONVERSATION_DAYS
