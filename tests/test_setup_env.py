"""The fresh-machine branches of scripts/setup_env.sh (`make run` / `make test` step one).

No network, no root, nothing uninstalled and the real PostgreSQL never touched: the script runs
with a PATH made of links to the real tools it needs plus stubs for git, apt-get, sudo, id and
PostgreSQL's client tools. ODOO_SRC is a fake Odoo tree (or nothing), VENV a fake virtualenv that is up to
date, so the script never reaches pip.
"""
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / 'scripts' / 'setup_env.sh'
CLONE = ['clone', '--progress', '--depth', '1', '-b', '19.0', 'https://github.com/odoo/odoo']
# The real tools setup_env.sh and the stubs use; git, apt-get, sudo, id and PostgreSQL are stubbed per test.
TOOLS = ('bash', 'sh', 'env', 'cat', 'sed', 'grep', 'ls', 'mkdir', 'dirname', 'sha1sum', 'cut', 'mktemp',
         'rm', 'seq', 'sleep', 'sort', 'tail', 'python3', 'cp', 'chmod')
PG_TOOLS = ('psql', 'pg_isready', 'createdb', 'dropdb')
ODOO_REQUIREMENTS = 'psycopg2==2.9.9\n'


def make_odoo(path, version='19, 0'):
    """The part of an Odoo checkout the script looks at."""
    (path / 'addons' / 'sms').mkdir(parents=True)
    (path / 'odoo').mkdir()
    (path / 'odoo-bin').write_text('#!/usr/bin/env python3\n')
    (path / 'odoo' / 'release.py').write_text(f"version_info = ({version}, 0, FINAL, 0, '')\n")
    (path / 'requirements.txt').write_text(ODOO_REQUIREMENTS)


class Sandbox:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.bin = tmp_path / 'bin'
        self.bin.mkdir()
        self.calls = tmp_path / 'calls.log'
        self.odoo = tmp_path / 'odoo'
        self.venv = tmp_path / 'venv'
        (self.venv / 'bin').mkdir(parents=True)
        python = self.venv / 'bin' / 'python'
        python.write_text('#!/bin/sh\n')
        python.chmod(0o755)
        for tool in TOOLS:
            self.link(tool)

    def link(self, tool):
        real = shutil.which(tool)
        if real:
            (self.bin / tool).symlink_to(real)

    def stub(self, name, body, log=True):
        """A shell stub that logs its name and arguments (unless ``log`` is false), then runs ``body``."""
        path = self.bin / name
        path.unlink(missing_ok=True)
        logline = f'echo "{name} $*" >> "{self.calls}"\n' if log else ''
        path.write_text(f'#!/bin/sh\n{logline}{body}\n')
        path.chmod(0o755)

    def postgres_ready(self):
        """Client stubs that find the server up and the role there: the real cluster is never touched."""
        for tool in PG_TOOLS:
            self.stub(tool, 'exit 0', log=False)

    def logged(self):
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def venv_up_to_date(self):
        """Write the stamp the script compares with, so the fake venv counts as installed."""
        wanted = ODOO_REQUIREMENTS.encode() + (ROOT / 'requirements.txt').read_bytes()
        (self.venv / '.sms_connector_requirements').write_text(hashlib.sha1(wanted).hexdigest() + '\n')

    def run(self, odoo_src=None):
        env = {
            'PATH': str(self.bin), 'HOME': str(self.tmp), 'VENV': str(self.venv),
            'ODOO_SRC': str(odoo_src or self.odoo),
            **{k: v for k, v in os.environ.items() if k in ('PGUSER', 'PGPASSWORD', 'LANG')},
        }
        return subprocess.run(['bash', str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, check=False)


@pytest.fixture
def sandbox(tmp_path):
    return Sandbox(tmp_path)


def assert_odoo_message(result, odoo_src):
    assert result.returncode == 2, result.stderr
    assert f'ODOO_SRC={odoo_src}' in result.stderr
    assert f'git clone --depth 1 -b 19.0 https://github.com/odoo/odoo "{odoo_src}"' in result.stderr


# -- Odoo source -----------------------------------------------------------------------------


def test_missing_odoo_is_shallow_cloned_with_progress(sandbox):
    # The stub "clones" a fake 19.0 tree where git was asked to.
    make_odoo(sandbox.tmp / 'upstream')
    sandbox.stub('git', f'eval dest=\\${{$#}}; cp -r "{sandbox.tmp}/upstream" "$dest"')
    sandbox.venv_up_to_date()  # ODOO_SRC does not exist: the script must clone it
    sandbox.postgres_ready()

    result = sandbox.run()

    assert result.returncode == 0, result.stderr
    assert sandbox.logged() == ['git ' + ' '.join([*CLONE, str(sandbox.odoo)])]
    assert f'fetching Odoo 19.0 into ODOO_SRC={sandbox.odoo}' in result.stdout
    assert 'environment ready' in result.stdout


def test_clone_failure_stops_with_one_message(sandbox):
    sandbox.stub('git', "echo \"fatal: unable to access 'https://github.com/odoo/odoo/': Could not resolve host\" >&2; "
                        'exit 128')
    result = sandbox.run()
    assert_odoo_message(result, sandbox.odoo)
    assert 'git clone of https://github.com/odoo/odoo failed (no network?)' in result.stderr
    assert sandbox.logged() == ['git ' + ' '.join([*CLONE, str(sandbox.odoo)])]


def test_nonexistent_odoo_src_without_network(sandbox):
    """ODOO_SRC=/nonexistent: cloned as root (the stub fails like an offline git), refused otherwise."""
    sandbox.stub('git', 'exit 128')
    result = sandbox.run(odoo_src='/nonexistent')
    assert_odoo_message(result, '/nonexistent')
    assert not Path('/nonexistent').exists()


def test_without_git(sandbox):
    result = sandbox.run()  # no git on PATH
    assert_odoo_message(result, sandbox.odoo)
    assert 'git is not installed' in result.stderr


def test_never_clones_into_a_directory_holding_something_else(sandbox):
    sandbox.odoo.mkdir()
    (sandbox.odoo / 'notes.txt').write_text('mine')
    sandbox.stub('git', 'exit 0')
    result = sandbox.run()
    assert_odoo_message(result, sandbox.odoo)
    assert 'not cloning into it' in result.stderr
    assert sandbox.logged() == []
    assert (sandbox.odoo / 'notes.txt').read_text() == 'mine'


def test_other_odoo_version_refused(sandbox):
    make_odoo(sandbox.odoo, version='18, 0')
    result = sandbox.run()
    assert_odoo_message(result, sandbox.odoo)
    assert 'holds Odoo 18.0, not 19.0' in result.stderr


# -- PostgreSQL ------------------------------------------------------------------------------


def postgres_missing(sandbox, uid):
    """Odoo present and the venv current; no PostgreSQL client on PATH; ``id -u`` answers ``uid``.

    The apt-get stub "installs" PostgreSQL by adding client stubs that find the server ready.
    """
    make_odoo(sandbox.odoo)
    sandbox.venv_up_to_date()
    sandbox.stub('id', f'if [ "$1" = -u ]; then echo {uid}; else echo tester; fi', log=False)
    pg_stubs = ''.join(f'printf "#!/bin/sh\\nexit 0\\n" > "{sandbox.bin}/{tool}"; chmod +x "{sandbox.bin}/{tool}"; '
                       for tool in PG_TOOLS)  # as postgres_ready(), once "installed"
    sandbox.stub('apt-get', f'case "$*" in *install*) {pg_stubs};; esac')


def test_postgres_missing_installed_as_root(sandbox):
    postgres_missing(sandbox, uid=0)
    result = sandbox.run()
    assert result.returncode == 0, result.stderr
    calls = sandbox.logged()
    assert calls[0] == 'apt-get update -qq'
    assert calls[1] in ('apt-get install -y -qq postgresql', 'apt-get install -y -qq postgresql-client')
    assert 'PostgreSQL is not installed: installing' in result.stdout
    assert 'environment ready' in result.stdout


def test_postgres_missing_installed_through_sudo(sandbox):
    postgres_missing(sandbox, uid=1000)
    sandbox.stub('sudo', '[ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; exec "$@"')
    result = sandbox.run()
    assert result.returncode == 0, result.stderr
    calls = sandbox.logged()
    assert 'sudo -n true' in calls
    assert any(call.startswith('sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql')
               for call in calls), calls
    assert any(call.startswith('apt-get install') for call in calls), calls


def test_postgres_missing_without_root_stops_with_one_message(sandbox):
    postgres_missing(sandbox, uid=1000)  # and no sudo on PATH
    result = sandbox.run()
    assert result.returncode == 3
    assert 'PostgreSQL is not installed' in result.stderr
    assert 'sudo apt-get install -y postgresql' in result.stderr
    assert sandbox.logged() == []  # apt-get never tried
