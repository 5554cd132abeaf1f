"""What every test of the Python SDK shares: the package is imported from python/src, the tree under test,
whether or not PYTHONPATH says so (test/python/pytest.test.ts sets it; a bare `pytest` in python/ does not)."""

from __future__ import annotations

import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
