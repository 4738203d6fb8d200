"""Fields renamed so one concept has one name: keep the data of an installed database.

Before the new code loads, rename each column and the field's ``ir.model.fields`` row with its
external ids (field and selection values), so Odoo finds the renamed field with its data instead
of creating an empty one and dropping the old. The rules and setting that name these fields are
renamed too (the rules are ``noupdate``: the module update would not rewrite them), and our views
extending those models are emptied: the update reloads each from its file, but validates it with
the others of the model, still naming the old fields until their turn comes.
"""
import logging

from odoo.tools import SQL
from odoo.tools.sql import column_exists, rename_column

_logger = logging.getLogger(__name__)

# (model, or None for every model having the field (``_inherits`` children of ir.actions.server), old, new);
# only fields this module created are renamed
FIELDS = [
    ('sms.template', 'state', 'sms_connector_state'),
    ('sms.template', 'message_type', 'sms_connector_purpose'),
    ('sms.template', 'sender', 'sms_connector_sender'),
    (None, 'sms_connector_message_type', 'sms_connector_purpose'),  # ir.actions.server, sms.composer
    (None, 'sms_connector_can_choose_type', 'sms_connector_can_choose_purpose'),
    (None, 'sms_connector_allow_message_type', 'sms_connector_allow_purpose'),
    ('sms.message', 'sms_connector_document_readable', 'document_readable'),
]
TABLES = {'ir.actions.server': 'ir_act_server'}  # models whose table is not named after them
RULE_DOMAINS = {
    'sms_template_published_rule': ("('state', '=', 'published')", "('sms_connector_state', '=', 'published')"),
    'sms_message_user_rule': ("('sms_connector_document_readable',", "('document_readable',"),
}
PARAMETERS = {'sms_connector.allow_message_type': 'sms_connector.allow_purpose'}


def rename_field(cr, field_id, model, old, new):
    table = TABLES.get(model, model.replace('.', '_'))
    if column_exists(cr, table, old) and not column_exists(cr, table, new):
        rename_column(cr, table, old, new)
    cr.execute("UPDATE ir_model_fields SET name = %s WHERE id = %s", [new, field_id])
    xmodel = model.replace('.', '_')
    cr.execute("""
        UPDATE ir_model_data SET name = %s
         WHERE model = 'ir.model.fields' AND res_id = %s AND name = %s
    """, [f'field_{xmodel}__{new}', field_id, f'field_{xmodel}__{old}'])
    old_prefix, new_prefix = f'selection__{xmodel}__{old}__', f'selection__{xmodel}__{new}__'
    cr.execute("""
        UPDATE ir_model_data SET name = %s || substr(name, %s)
         WHERE model = 'ir.model.fields.selection' AND name LIKE %s
           AND res_id IN (SELECT id FROM ir_model_fields_selection WHERE field_id = %s)
    """, [new_prefix, len(old_prefix) + 1, old_prefix.replace('_', r'\_') + '%', field_id])
    _logger.info("sms_connector: field %s.%s renamed to %s", model, old, new)


def migrate(cr, version):
    models = set()
    for model, old, new in FIELDS:
        cr.execute(SQL(
            """ SELECT old.id, old.model FROM ir_model_fields old
                 WHERE old.name = %s %s
                   AND EXISTS (SELECT 1 FROM ir_model_data d WHERE d.model = 'ir.model.fields'
                                  AND d.res_id = old.id AND d.module = 'sms_connector')
                   AND NOT EXISTS (SELECT 1 FROM ir_model_fields new WHERE new.model = old.model AND new.name = %s)
            """, old, SQL("AND old.model = %s", model) if model else SQL(), new))
        for field_id, field_model in cr.fetchall():
            rename_field(cr, field_id, field_model, old, new)
            models.add(field_model)
    if models:
        cr.execute("""
            UPDATE ir_ui_view SET arch_db = jsonb_build_object('en_US', '<data/>')
             WHERE mode = 'extension' AND inherit_id IS NOT NULL AND model IN %s
               AND id IN (SELECT res_id FROM ir_model_data WHERE module = 'sms_connector' AND model = 'ir.ui.view')
        """, [tuple(models)])
    for xmlid, (old, new) in RULE_DOMAINS.items():
        cr.execute("""
            UPDATE ir_rule SET domain_force = replace(domain_force, %s, %s)
             WHERE id IN (SELECT res_id FROM ir_model_data
                           WHERE module = 'sms_connector' AND model = 'ir.rule' AND name = %s)
        """, [old, new, xmlid])
    for old, new in PARAMETERS.items():
        cr.execute("""
            UPDATE ir_config_parameter SET key = %s
             WHERE key = %s AND NOT EXISTS (SELECT 1 FROM ir_config_parameter WHERE key = %s)
        """, [new, old, new])
