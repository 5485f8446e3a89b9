"""Where ../shared lives, golden fixture loading and the golden tolerance measure.

A plain module (not a conftest), so that test files import it by one unambiguous name:
`from shared_refs import load_golden, rel_err, REAL_DATA`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKELAB_SHARED", REPO.parent / "shared"))
GOLDEN = SHARED / "golden"
REAL_DATA = SHARED / "data"


def require(path: Path) -> Path:
    """Return `path`, or skip (fail on CI) when the shared reference folder is absent."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing; CI must have ../shared beside the clone")
        pytest.skip(f"{path} not found (set SKELAB_SHARED to the shared reference folder)")
    return path


def load_golden(name: str) -> tuple[dict, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(meta JSON, upstream state dict, case dict) of a golden fixture, e.g. 'ctrgcn_ntu60'."""
    base = require(GOLDEN)
    meta = json.loads((base / f"{name}.json").read_text())
    state = torch.load(base / f"{name}.state_dict.pt", map_location="cpu", weights_only=True)
    case = torch.load(base / f"{name}.case.pt", map_location="cpu", weights_only=True)
    return meta, state, case


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """||out - ref|| / ||ref||, the golden tolerance measure."""
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def on_threads(run, counts=(1, 2)) -> list:
    """`run(threads)` with torch set to each thread count in turn (the setting restored after):
    the results, for tests that a compiled kernel split over threads gives the same values."""
    before = torch.get_num_threads()
    try:
        results = []
        for threads in counts:
            torch.set_num_threads(threads)
            results.append(run(threads))
        return results
    finally:
        torch.set_num_threads(before)


# Tests of skelab's compiled CPU kernels (`skelab.models.layers.native`) need the C compiler
# that `make test` and CI have (gcc on the Debian image); without one they fail, and the
# kernel's warning names the fix. They skip only in a run that switches the kernels off on
# purpose, which tests the torch-operation forms instead.
compiled_kernels = pytest.mark.skipif(
    os.environ.get("SKELAB_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"),
    reason="SKELAB_NATIVE=0: this run tests the torch-operation forms, not the kernels",
)
