"""pytest hooks for the cross-addon tests: a summary of what the run exercised."""
from .stats import snapshot

# Fault tests' accounting, counted at the fake provider: always printed together, zeros included
# ("0 duplicates, 0 lost" is the promise being checked).
DELIVERY = {
    'messages': "messages",
    'faults_injected': "injected faults",
    'duplicates': "duplicates",
    'lost': "lost",
}
# Other known kinds, with their wording; any other kind is printed as its name with spaces.
LABELS = {
    'fuzz_inputs': "fuzz inputs",
}


def pytest_terminal_summary(terminalreporter):
    counted = snapshot()
    if any(kind in counted for kind in DELIVERY):
        parts = [f"{counted.get(kind, 0)} {label}" for kind, label in DELIVERY.items()]
        terminalreporter.write_line(f"sms_connector: {', '.join(parts)}")
    counts = {kind: n for kind, n in counted.items() if n > 0 and kind not in DELIVERY}
    if not counts:
        return
    kinds = [kind for kind in LABELS if kind in counts] + sorted(kind for kind in counts if kind not in LABELS)
    parts = [f"{counts[kind]} {LABELS.get(kind, kind.replace('_', ' '))}" for kind in kinds]
    terminalreporter.write_line(f"sms_connector: {', '.join(parts)} exercised")
