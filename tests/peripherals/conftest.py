"""Fixtures for the device-model tests; makes the repository root importable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from periph_helpers import HZ

from emulator.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(HZ)
