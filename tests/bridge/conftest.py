"""Fixtures for the host network tests (bridge/net): a machine stand-in, a switch, a test board."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest
from net_helpers import Board, FakeMachine

from emulator.net.network import Switch


@pytest.fixture
def machine() -> FakeMachine:
    return FakeMachine()


@pytest.fixture
def switch() -> Switch:
    return Switch(seed=0)


@pytest.fixture
def board(machine: FakeMachine, switch: Switch) -> Board:
    return Board(machine, switch)
