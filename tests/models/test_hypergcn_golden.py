"""Hyper-GCN base against upstream outputs (golden fixture hypergcn_base_ntu60)."""

from __future__ import annotations

import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.models import build, load_upstream_checkpoint

FIXTURE = "hypergcn_base_ntu60"


def _outputs(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    with torch.no_grad():
        eval_out = model(x)
    model.train()
    with torch.no_grad():
        train_out = model(x)
    return eval_out, train_out


@pytest.mark.golden
def test_hypergcn_from_skelab_options_matches_upstream():
    meta, state, case = load_golden(FIXTURE)
    model = build("hypergcn", num_classes=60, num_joints=25, num_persons=2, window=64)
    load_upstream_checkpoint(model, state)

    eval_out, train_out = _outputs(model, case["input"])

    assert meta["num_parameters"] == sum(p.numel() for p in model.parameters())
    assert rel_err(eval_out, case["eval_output"]) < 1e-4
    assert rel_err(train_out, case["train_output"]) < 1e-4


@pytest.mark.golden
def test_hypergcn_from_upstream_constructor_matches_upstream():
    meta, state, case = load_golden(FIXTURE)
    model = build("hypergcn", **meta["upstream_constructor"])
    load_upstream_checkpoint(model, state)

    eval_out, train_out = _outputs(model, case["input"])

    assert len(model.state_dict()) == meta["num_state_dict_entries"]
    assert rel_err(eval_out, case["eval_output"]) < 1e-4
    assert rel_err(train_out, case["train_output"]) < 1e-4


@pytest.mark.golden
def test_hypergcn_state_dict_layout_equals_upstream_keys_and_shapes():
    _, state, _ = load_golden(FIXTURE)

    ours = build("hypergcn").state_dict()

    assert list(ours) == list(state)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in state.items()
    }
