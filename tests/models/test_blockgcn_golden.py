"""BlockGCN against upstream outputs (golden fixture blockgcn_ntu60).

Upstream's forward is `Model(x, y, joint)`; skelab's is `model(x, joint=joint)`. The fixture's
`input` is the joint stream (joints minus joint 21, whose slot keeps its trajectory) and
`input_joint` the raw joints of the same clips.
"""

from __future__ import annotations

import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.models import build, count_parameters, load_upstream_checkpoint

pytest.importorskip("gph", reason="BlockGCN needs giotto-ph: pip install 'skelab[blockgcn]'")

FIXTURE = "blockgcn_ntu60"


@pytest.mark.golden
def test_blockgcn_from_skelab_options_matches_upstream_eval_and_train_outputs():
    meta, state, case = load_golden(FIXTURE)
    model = build("blockgcn", num_classes=60, num_joints=25, num_persons=2, window=64)
    load_upstream_checkpoint(model, state)

    with torch.no_grad():
        eval_out = model.eval()(case["input"], joint=case["input_joint"])
        train_out = model.train()(case["input"], joint=case["input_joint"])

    assert count_parameters(model) == meta["num_parameters"] == 1_372_780
    assert rel_err(eval_out, case["eval_output"]) < 1e-4
    assert rel_err(train_out, case["train_output"]) < 1e-4


@pytest.mark.golden
def test_blockgcn_from_upstream_constructor_matches_topology_branch():
    meta, state, case = load_golden(FIXTURE)
    model = build("blockgcn", **meta["upstream_constructor"])
    load_upstream_checkpoint(model, state)

    with torch.no_grad():
        d = model.topo.distance_matrices(case["input_joint"])
        deaths, valid = model.topo.diagrams(d)
        features = model.topo(case["input_joint"])

    ref = case["topo_diagram"]  # (N, L, 3) rows (birth 0, death, dim 0), order per ripser
    assert len(model.state_dict()) == meta["num_state_dict_entries"]
    assert valid.all() and deaths.shape == ref.shape[:2]
    assert rel_err(deaths.sort(1).values, ref[..., 1].sort(1).values) < 1e-5
    assert rel_err(features, case["topo_features"]) < 1e-5


@pytest.mark.golden
def test_blockgcn_state_dict_layout_equals_upstream_keys_and_shapes():
    _, state, _ = load_golden(FIXTURE)

    ours = build("blockgcn").state_dict()

    assert list(ours) == list(state)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in state.items()
    }


@pytest.mark.golden
@pytest.mark.slow
def test_blockgcn_rebuilds_raw_joints_from_the_joint_stream_when_joint_is_omitted():
    _, state, case = load_golden(FIXTURE)
    model = load_upstream_checkpoint(build("blockgcn"), state).eval()

    with torch.no_grad():
        out = model(case["input"])

    assert rel_err(out, case["eval_output"]) < 1e-4
