"""skelab.models.weights: the one strict key/shape report."""

import pytest
import torch
from torch import nn

from skelab.errors import CheckpointError
from skelab.models.weights import load_strict, mismatch_report


def test_report_lists_missing_unexpected_and_shape_mismatches():
    model = nn.Linear(3, 2)
    given = {"weight": torch.zeros(2, 4), "extra": torch.zeros(1)}

    report = mismatch_report(model.state_dict(), given)

    assert "1 missing: bias" in report
    assert "1 unexpected: extra" in report
    assert "weight: checkpoint (2, 4) vs model (2, 3)" in report


def test_load_strict_loads_nothing_unless_everything_matches():
    model = nn.Linear(3, 2)
    before = model.weight.detach().clone()

    with pytest.raises(CheckpointError, match=r"(?s)w\.pt: does not match.*fix: retrain"):
        load_strict(model, {"weight": torch.ones(2, 3)}, where="w.pt", fix="retrain")

    assert torch.equal(model.weight, before)


def test_load_strict_loads_a_matching_state():
    model = nn.Linear(3, 2)
    state = {"weight": torch.ones(2, 3), "bias": torch.zeros(2)}

    load_strict(model, state, where="w.pt", fix="-")

    assert torch.equal(model.weight, torch.ones(2, 3))
