"""MS-G3D reproduces the upstream implementation's logits (kenziyuliu/MS-G3D, model/msg3d.py)."""

from __future__ import annotations

import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.models import build, count_parameters, load_upstream_checkpoint

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def golden():
    return load_golden("msg3d_ntu60")


def _build(how: str, meta: dict) -> torch.nn.Module:
    if how == "skelab":
        return build("msg3d", num_classes=60, num_joints=25, num_persons=2, window=64)
    return build("msg3d", **meta["upstream_constructor"])  # every upstream keyword, none dropped


@pytest.mark.parametrize("how", ["skelab", "upstream"])
def test_msg3d_matches_upstream_logits_in_eval_and_train_mode(golden, how):
    meta, state, case = golden
    model = load_upstream_checkpoint(_build(how, meta), state)

    with torch.no_grad():
        eval_out = model.eval()(case["input"])
        train_out = model.train()(case["input"])

    assert rel_err(eval_out, case["eval_output"]) < 1e-4
    assert rel_err(train_out, case["train_output"]) < 1e-4


def test_msg3d_parameter_and_state_dict_counts_match_upstream(golden):
    meta, state, _ = golden

    model = _build("skelab", meta)

    assert count_parameters(model) == meta["num_parameters"] == 3_194_595
    assert len(model.state_dict()) == meta["num_state_dict_entries"] == len(state)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {
        k: tuple(v.shape) for k, v in state.items()
    }
