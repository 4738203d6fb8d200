from odoo import api, models
from odoo.models import MAGIC_COLUMNS
from odoo.tools import SQL, OrderedSet

# column types a bulk insert passes as typed arrays (not jsonb: translations, properties, company-dependent)
PLAIN_COLUMN_TYPES = {'int4', 'int8', 'varchar', 'text', 'bool', 'timestamp', 'date', 'numeric', 'float8'}


class Base(models.AbstractModel):
    _inherit = 'base'

    def _sms_get_recipients_info(self, force_field=False, partner_fallback=True):
        """A company without a number of its own is texted on its main contact's number.

        Octopush and the CRMs our users come from do the same; Odoo would give up instead.
        """
        result = super()._sms_get_recipients_info(force_field=force_field, partner_fallback=partner_fallback)
        for record in self:
            info = result.get(record.id)
            partner = info and info['partner']
            if not info or info['sanitized'] or not partner or not partner.is_company:
                continue
            contact = partner.child_ids.filtered(lambda child: child.type == 'contact' and child.phone_sanitized)[:1]
            if contact:
                info.update(partner=contact, sanitized=contact.phone_sanitized, number=contact.phone,
                            partner_store=True, field_store='phone')
        return result

    @api.model
    def _sms_connector_bulk_defaults(self, vals_list):
        """Default values of the fields some of ``vals_list`` leave out, read once for the batch."""
        given = {fname for vals in vals_list for fname in vals}
        missing = [fname for fname in self._fields
                   if fname not in MAGIC_COLUMNS and (fname not in given or any(fname not in vals for vals in vals_list))]
        return self.default_get(missing)

    @api.model
    def _sms_connector_can_bulk_insert(self, vals_list, extra_fields=()):
        """Whether ``vals_list`` (plus ``extra_fields`` set later) and the defaults are all plain columns."""
        fnames = {fname for vals in vals_list for fname in vals} | set(extra_fields)
        fnames |= set(self._sms_connector_bulk_defaults(vals_list))
        return all(self._sms_connector_plain_column(fname) for fname in fnames)

    @api.model
    def _sms_connector_plain_column(self, fname):
        field = self._fields.get(fname)
        return bool(field and field.store and field.column_type and not field.inverse
                    and field.column_type[0] in PLAIN_COLUMN_TYPES and fname not in MAGIC_COLUMNS)

    @api.model
    def _sms_connector_bulk_insert(self, vals_list):
        """Insert records from plain column values in one statement (see ``_sms_connector_can_bulk_insert``).

        Queueing a mailing creates an SMS, a trace, a tracker and a log row per recipient: the
        ORM's create costs more per row (defaults, cache, commands) than all the rest of queueing.
        As ``create`` does: the defaults of missing fields, log columns, stored fields computed from
        the inserted ones, Python constraints. Defaults are read once for the batch: callers pass
        every value that must differ per record (e.g. a UUID). Nothing is put in cache.
        :return: the new records, in the order of ``vals_list``
        """
        if not vals_list:
            return self.browse()
        defaults = self._sms_connector_bulk_defaults(vals_list)
        columns = list(OrderedSet(fname for vals in vals_list for fname in vals)) + \
            [fname for fname in defaults if not any(fname in vals for vals in vals_list)]
        arrays = []
        for fname in columns:
            field = self._fields[fname]
            arrays.append(SQL("%s::%s[]", [
                field.convert_to_column_insert(vals[fname] if fname in vals else defaults.get(fname), self, vals)
                for vals in vals_list], SQL(field.column_type[0])))
        now = self.env.cr.now()
        self.env.cr.execute(SQL(
            "INSERT INTO %(table)s (%(columns)s, create_uid, write_uid, create_date, write_date)"
            " SELECT *, %(uid)s, %(uid)s, %(now)s, %(now)s FROM UNNEST(%(arrays)s) RETURNING id",
            table=SQL.identifier(self._table), columns=SQL(", ").join(map(SQL.identifier, columns)),
            uid=self.env.uid, now=now, arrays=SQL(", ").join(arrays)))
        records = self.browse([row[0] for row in self.env.cr.fetchall()])
        given = {fname for vals in vals_list for fname in vals}
        with self.env.protecting([self._fields[fname] for fname in given if self._fields[fname].compute], records):
            records.modified(self._fields, create=True)
        records._validate_fields(columns)
        return records
