"""The addons of this repository, found rather than listed (same rule as scripts/addons.sh).

Every ``sms_connector*/`` directory at the root holding a ``__manifest__.py`` is one of ours, so a
new provider addon is tested, linted and packaged without an edit outside its folder.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def addon_dirs(root=ROOT):
    """Our addon directories, the core ``sms_connector`` first."""
    return sorted(manifest.parent for manifest in Path(root).glob('sms_connector*/__manifest__.py'))


def addon_names(root=ROOT):
    """Our addon names, the core ``sms_connector`` first."""
    return [path.name for path in addon_dirs(root)]
