"""Quality gate needing a database: the committed .pot templates are up to date.

Odoo's own exporter (the code behind `odoo-bin i18n export` / Settings ▸ Translations ▸ Export)
extracts every translatable term of each addon from the installed database and its source; each
of those msgids must be in the addon's committed i18n/<addon>.pot, otherwise translators cannot
translate it. To fix a failure, regenerate the templates from an up-to-date database:
  odoo-bin i18n export -c .odoo.conf -d <db> $(bash scripts/addons.sh ' ')
"""
import io

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import trans_export

from .addons import ROOT, addon_names


def msgids(po):
    return {entry.msgid for entry in po if entry.msgid and not entry.obsolete}


@tagged('post_install', '-at_install')
class TestPotUpToDate(TransactionCase):

    def export_pot(self, addon):
        buffer = io.BytesIO()
        trans_export(None, [addon], buffer, 'po', self.env)  # lang None: the .pot template
        return polib.pofile(buffer.getvalue().decode('utf-8'))

    def test_pot_files_up_to_date(self):
        problems = []
        for addon in addon_names():
            pot_path = ROOT / addon / 'i18n' / f'{addon}.pot'
            if not pot_path.is_file():
                problems.append(f'{addon}: {pot_path.relative_to(ROOT)} is missing')
                continue
            exported = msgids(self.export_pot(addon))
            self.assertTrue(exported, f'{addon}: the export found no term at all')
            missing = sorted(exported - msgids(polib.pofile(str(pot_path))))
            if missing:
                listing = '\n'.join(f'    {msgid!r}' for msgid in missing)
                problems.append(f'{addon}: {len(missing)} msgid(s) missing from {pot_path.relative_to(ROOT)}:\n{listing}')
        self.assertFalse(problems, 'The .pot templates are out of date (regenerate them):\n' + '\n'.join(problems))
