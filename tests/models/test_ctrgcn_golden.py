"""CTR-GCN reproduces upstream's logits (Uason-Chen/CTR-GCN, model/ctrgcn.py) on the fixture."""

from __future__ import annotations

import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.models import build, load_upstream_checkpoint

pytestmark = pytest.mark.golden
TOLERANCE = 1e-4


def _outputs(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        eval_out = model.eval()(x)
        train_out = model.train()(x)
    return eval_out, train_out


def test_ctrgcn_from_skelab_options_matches_upstream_logits():
    meta, state, case = load_golden("ctrgcn_ntu60")
    model = build("ctrgcn", num_classes=60, in_channels=3, num_joints=25, num_persons=2)
    load_upstream_checkpoint(model, state)

    eval_out, train_out = _outputs(model, case["input"])

    assert tuple(eval_out.shape) == tuple(meta["output_shape"])
    assert rel_err(eval_out, case["eval_output"]) < TOLERANCE
    assert rel_err(train_out, case["train_output"]) < TOLERANCE


def test_ctrgcn_from_upstream_constructor_matches_upstream_logits():
    meta, state, case = load_golden("ctrgcn_ntu60")
    model = build("ctrgcn", **meta["upstream_constructor"])  # every key, none dropped
    load_upstream_checkpoint(model, state)

    eval_out, train_out = _outputs(model, case["input"])

    assert rel_err(eval_out, case["eval_output"]) < TOLERANCE
    assert rel_err(train_out, case["train_output"]) < TOLERANCE


def test_ctrgcn_state_dict_has_upstream_keys_and_shapes():
    meta, state, _ = load_golden("ctrgcn_ntu60")

    ours = build("ctrgcn").state_dict()

    assert len(ours) == meta["num_state_dict_entries"] == len(state)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in state.items()
    }
