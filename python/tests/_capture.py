"""The `records` fixture of the API tests (`pytest_plugins = ["_capture"]`): every record emitted in the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipemon import testing
from pipemon.testing import Captured


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    # Outside `pipemon exec`, whatever the environment the tests run in.
    for name in ("PIPEMON_RUN_ID", "PIPEMON_PIPELINE", "TRACEPARENT"):
        monkeypatch.delenv(name, raising=False)
    with testing.capture() as captured:
        yield captured
