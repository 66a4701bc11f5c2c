"""Fixtures for the network-namespace lab tests (need root and iproute2)."""

import os
import shutil
from pathlib import Path

import pytest

from board.lab.carplab import Lab


def _missing_prerequisite():
    if os.geteuid() != 0:
        return 'lab tests need root to create network namespaces'
    if shutil.which('ip') is None:
        return 'lab tests need `ip` from iproute2: run `make deps`'
    return None


def pytest_collection_modifyitems(config, items):
    # Every test under tests/lab is a lab test: mark it, and skip it with
    # the reason when this machine cannot build a lab.
    reason = _missing_prerequisite()
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.lab)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def lab():
    """A freshly built lab per test, always torn down afterwards."""
    with Lab() as built:
        yield built


@pytest.fixture
def lab2():
    """A lab with two LANs."""
    with Lab(lans=2) as built:
        yield built
