from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_datetime

from ..tools.phone import normalize_number

THREAD_LIMIT = 200  # the latest SMS shown; the SMS log keeps the rest


class SmsConversation(models.TransientModel):
    """The exchange with one number as a phone shows it, with a reply box under the latest SMS."""

    _name = 'sms.conversation'
    _description = 'SMS conversation'

    number = fields.Char(required=True, readonly=True)
    res_model = fields.Char("Document model", readonly=True)
    res_id = fields.Many2oneReference("Document ID", model_field='res_model', readonly=True)
    thread = fields.Html(compute='_compute_thread', sanitize=True)
    body = fields.Text("Your answer")
    confirm_opted_out = fields.Boolean(
        "Send anyway", help="This number replied STOP: send this one message all the same.")
    opted_out = fields.Boolean(compute='_compute_opted_out')

    @api.model
    def _open(self, number, record=None):
        """Action opening the thread with ``number``, replies filed on ``record`` when given."""
        wizard = self.create({
            'number': normalize_number(number).e164 or number,
            'res_model': record._name if record else False,
            'res_id': record.id if record else False,
        })
        return wizard._action_reopen()

    def _action_reopen(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'name': _("Conversation with %(number)s", number=self.number),
            'res_model': self._name,
            'res_id': self.id,
            'view_mode': 'form',
            'views': [(False, 'form')],
            'target': 'new',
        }

    def _messages(self):
        """The SMS exchanged with this number that the user may see, oldest first (in the order logged)."""
        self.ensure_one()
        return self.env['sms.message'].search(
            [('number', '=', self.number)], order='id desc', limit=THREAD_LIMIT).sorted('id')

    @api.depends('number')
    def _compute_thread(self):
        states = dict(self.env['sms.message']._fields['state']._description_selection(self.env))
        for wizard in self:
            bubbles = []
            for message in wizard._messages() if wizard.number else []:
                inbound = message.direction == 'inbound'
                text = Markup('<br/>').join(escape(line) for line in (message.body or '').splitlines())
                meta = format_datetime(self.env, message.create_date, dt_format='short')
                if not inbound:
                    meta = f"{meta} · {message.user_id.name or _('Automatic')} · {states.get(message.state, '')}"
                bubbles.append(Markup(
                    '<div class="d-flex mb-2 {side}"><div class="o_sms_bubble_{kind} w-75 rounded-3 p-2 {colors}">'
                    '<div class="small opacity-75">{meta}</div><div>{text}</div></div></div>'
                ).format(side='justify-content-start' if inbound else 'justify-content-end',
                         kind='inbound' if inbound else 'outbound',
                         colors='bg-200 text-900' if inbound else 'bg-primary text-white',
                         meta=meta, text=text))
            wizard.thread = Markup('').join(bubbles) or Markup('<p class="text-muted">%s</p>') % _("No SMS yet.")

    @api.depends('number')
    def _compute_opted_out(self):
        for wizard in self:
            wizard.opted_out = bool(wizard.number) and bool(
                self.env['phone.blacklist'].sudo().search_count([('number', '=', wizard.number)], limit=1))

    def _record(self):
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        record = self.env[self.res_model].browse(self.res_id).exists()
        if not record:
            return None
        record.check_access('read')
        return record

    def action_send(self):
        """Send the answer as "Send SMS" would (rights, opt-out, reply routing), then show the thread again."""
        self.ensure_one()
        if not (self.body or '').strip():
            raise UserError(_("Write your answer first."))
        record = self._record()
        Composer = self.env['sms.composer']
        if record is not None and hasattr(record, '_message_sms'):
            composer = Composer.with_context(
                active_model=record._name, active_id=record.id, default_composition_mode='comment',
            ).create({'body': self.body, 'recipient_single_number_itf': self.number, 'number_field_name': False,
                      'sms_connector_confirm_opted_out': self.confirm_opted_out})
        else:
            composer = Composer.with_context(default_composition_mode='numbers').create({
                'body': self.body, 'numbers': self.number,
                'sms_connector_confirm_opted_out': self.confirm_opted_out})
        composer.action_send_sms()
        self.env['sms.message'].search([('direction', '=', 'inbound'), ('number', '=', self.number),
                                        ('to_triage', '=', True)]).action_mark_triaged()
        self.write({'body': False, 'confirm_opted_out': False})
        return self._action_reopen()
