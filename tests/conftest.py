"""Makes tests/ importable as plain modules (model_zoo, harness) for every test file."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config):
    # Lines suites add (config.case_counts.append) to say how many cases they tried.
    config.case_counts = []


def pytest_terminal_summary(terminalreporter, config):
    for line in config.case_counts:
        terminalreporter.write_line(line)
    _fuzz_summary(terminalreporter)


def _fuzz_summary(terminalreporter) -> None:
    """Prints how many fuzzed models tests/test_fuzz.py tried and how each ended."""
    fuzz = sys.modules.get("fuzz_mutations")
    if fuzz is None or not fuzz.COUNTS:
        return
    counts = fuzz.COUNTS  # (test, outcome) -> cases
    tests = sorted({test for test, _ in counts})
    terminalreporter.write_sep("-", "fuzz cases")
    for test in tests:
        ends = {end: n for (t, end), n in counts.items() if t == test}
        line = ", ".join(f"{n} {end}" for end, n in sorted(ends.items()))
        terminalreporter.write_line(f"fuzz {test}: {sum(ends.values())} cases: {line}")
    tried = sum(n for (t, end), n in counts.items() if end != "imported")
    totals = {end: sum(n for (_, e), n in counts.items() if e == end) for end in ("converted", "rejected")}
    failures = sum(n for (_, e), n in counts.items() if e in ("internal error", "hang"))
    terminalreporter.write_line(
        f"fuzz total: {tried} cases, {totals['converted']} converted, {totals['rejected']} rejected (exit 2), "
        f"{failures} internal errors or hangs"
    )
