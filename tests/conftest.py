"""pytest hooks for the cross-addon tests: a one-line summary of what the run exercised."""
from .stats import snapshot

# Known kinds first, with their wording; any other kind is printed as its name with spaces.
LABELS = {
    'fuzz_inputs': "fuzz inputs",
    'faults_injected': "injected faults",
}


def pytest_terminal_summary(terminalreporter):
    counts = {kind: n for kind, n in snapshot().items() if n > 0}
    if not counts:
        return
    kinds = [kind for kind in LABELS if kind in counts] + sorted(kind for kind in counts if kind not in LABELS)
    parts = [f"{counts[kind]} {LABELS.get(kind, kind.replace('_', ' '))}" for kind in kinds]
    terminalreporter.write_line(f"sms_connector: {', '.join(parts)} exercised")
