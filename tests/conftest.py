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
