"""Makes tests/ importable as plain modules (model_zoo, harness) for every test file."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
