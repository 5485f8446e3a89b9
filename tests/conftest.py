"""Shared test fixtures; plain helpers live in `shared_refs.py`."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from shared_refs import GOLDEN, REAL_DATA, require


@pytest.fixture
def golden_dir() -> Path:
    return require(GOLDEN)


@pytest.fixture
def real_data_dir() -> Path:
    return require(REAL_DATA)


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield
