"""Static quality gates of the addons (`make lint`), no database needed.

- every addon XML file is well-formed (lxml);
- security/*.csv: header present, known columns, every row has the header's column count;
- manifest: version matches ^19.0.x.y.z$, license LGPL-3, `maintainers` (GitHub logins) and an
  OCA `development_status`, every data/demo file it lists exists, the same version in every addon;
- readme/ fragments and the icon OCA's readme generator and the Apps store need.

Usage: python scripts/check_addons.py [addon_dir ...]   (default: every sms_connector*/ addon)
"""
import ast
import csv
import re
import sys
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.addons import addon_dirs  # noqa: E402  (the one rule that finds our addons)

VERSION_RE = re.compile(r'^19\.0\.\d+\.\d+\.\d+$')
DEVELOPMENT_STATUSES = ('Alpha', 'Beta', 'Production/Stable', 'Mature')  # OCA's maturity levels
SKIP_DIRS = {'__pycache__', 'node_modules', 'build', 'dist'}
ACCESS_HEADER = ['id', 'name', 'model_id:id', 'group_id:id', 'perm_read', 'perm_write', 'perm_create', 'perm_unlink']


def rel(path, addon_dir):
    """``path`` as <addon>/..., for messages."""
    return f'{addon_dir.name}/{path.relative_to(addon_dir).as_posix()}'


def addon_files(addon_dir, suffix):
    return sorted(p for p in addon_dir.rglob(f'*{suffix}') if not SKIP_DIRS & set(p.relative_to(addon_dir).parts))


def check_xml(addon_dir):
    errors = []
    for path in addon_files(addon_dir, '.xml'):
        try:
            etree.parse(str(path))
        except etree.XMLSyntaxError as exc:
            errors.append(f'{rel(path, addon_dir)}: XML not well-formed: {exc}')
    return errors


def check_csv(addon_dir):
    errors = []
    for path in sorted((addon_dir / 'security').glob('*.csv')):
        name = rel(path, addon_dir)
        with open(path, newline='', encoding='utf-8') as handle:
            rows = list(csv.reader(handle))
        if not rows or not any(rows[0]):
            errors.append(f'{name}: empty file or no header')
            continue
        header = rows[0]
        if path.name == 'ir.model.access.csv' and header != ACCESS_HEADER:
            errors.append(f'{name}: header {header} is not {ACCESS_HEADER}')
        if 'id' not in header:
            errors.append(f'{name}: no "id" column in the header')
        ids = set()
        for lineno, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            if len(row) != len(header):
                errors.append(f'{name}:{lineno}: {len(row)} columns, the header has {len(header)}')
                continue
            record_id = row[header.index('id')] if 'id' in header else None
            if record_id is not None:
                if not record_id:
                    errors.append(f'{name}:{lineno}: empty id')
                elif record_id in ids:
                    errors.append(f'{name}:{lineno}: duplicate id {record_id}')
                ids.add(record_id)
            for col, value in zip(header, row, strict=True):
                if col.startswith('perm_') and value not in ('0', '1'):
                    errors.append(f'{name}:{lineno}: {col}={value!r}, expected 0 or 1')
    return errors


def read_manifest(addon_dir):
    return ast.literal_eval((addon_dir / '__manifest__.py').read_text(encoding='utf-8'))


def check_manifest(addon_dir):
    name = f'{addon_dir.name}/__manifest__.py'
    try:
        manifest = read_manifest(addon_dir)
    except (OSError, SyntaxError, ValueError) as exc:
        return [f'{name}: cannot read the manifest: {exc}']
    errors = []
    version = manifest.get('version', '')
    if not VERSION_RE.match(version):
        errors.append(f'{name}: version {version!r} does not match {VERSION_RE.pattern}')
    if manifest.get('license') != 'LGPL-3':
        errors.append(f"{name}: license {manifest.get('license')!r}, expected 'LGPL-3'")
    maintainers = manifest.get('maintainers')
    if not maintainers or not isinstance(maintainers, list) or not all(isinstance(m, str) and m for m in maintainers):
        errors.append(f"{name}: 'maintainers' must be a non-empty list of GitHub logins, got {maintainers!r}")
    if manifest.get('development_status') not in DEVELOPMENT_STATUSES:
        errors.append(f"{name}: development_status {manifest.get('development_status')!r}, "
                      f"expected one of {', '.join(DEVELOPMENT_STATUSES)}")
    for key in ('data', 'demo'):
        for filename in manifest.get(key, []):
            if not (addon_dir / filename).is_file():
                errors.append(f'{name}: {key} file {filename} does not exist')
    if not (addon_dir / 'static' / 'description' / 'icon.png').is_file():
        errors.append(f'{addon_dir.name}: static/description/icon.png is missing')
    for fragment in ('DESCRIPTION.md', 'CONFIGURE.md', 'USAGE.md', 'CONTRIBUTORS.md'):
        if not (addon_dir / 'readme' / fragment).is_file():
            errors.append(f'{addon_dir.name}: readme/{fragment} is missing')
    return errors


def main(argv):
    dirs = [Path(arg).resolve() for arg in argv] or addon_dirs()
    errors = []
    versions = {}
    for addon_dir in dirs:
        errors += check_xml(addon_dir) + check_csv(addon_dir) + check_manifest(addon_dir)
        try:
            versions[addon_dir.name] = read_manifest(addon_dir).get('version')
        except (OSError, SyntaxError, ValueError):
            pass
    if len(set(versions.values())) > 1:
        errors.append(f'manifest versions differ: {versions}')
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f'check_addons: {len(errors)} problem(s)', file=sys.stderr)
        return 1
    print(f"check_addons: {', '.join(d.name for d in dirs)}: XML, security CSV and manifests OK")
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
