"""ST-GCN reproduces the upstream implementation's outputs from an upstream checkpoint."""

from __future__ import annotations

import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.errors import CheckpointError, ModelConfigError
from skelab.models import build, count_parameters, load_upstream_checkpoint
from skelab.models.stgcn import stgcn_graph

pytestmark = pytest.mark.golden


def _outputs(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    with torch.no_grad():
        ev = model(x)
    model.train()
    with torch.no_grad():
        tr = model(x)
    return ev, tr


@pytest.mark.parametrize("source", ["skelab", "upstream"])
def test_stgcn_reproduces_upstream_eval_and_train_outputs(source):
    meta, state, case = load_golden("stgcn_ntu60")
    if source == "skelab":
        model = build("stgcn", num_classes=60, dropout=0.0)
    else:
        model = build("stgcn", **meta["upstream_constructor"])

    load_upstream_checkpoint(model, state)
    ev, tr = _outputs(model, case["input"])

    assert rel_err(ev, case["eval_output"]) < 1e-4
    assert rel_err(tr, case["train_output"]) < 1e-4


def test_stgcn_parameter_count_equals_upstream():
    meta, state, _ = load_golden("stgcn_ntu60")

    model = build("stgcn", num_classes=60)

    assert count_parameters(model) == meta["num_parameters"] == 3_098_832
    assert len(model.state_dict()) == meta["num_state_dict_entries"] == len(state)


def test_stgcn_ntu120_has_upstream_parameter_count():
    assert count_parameters(build("stgcn", num_class=120)) == 3_114_252


def test_stgcn_graph_keeps_upstream_degenerate_spatial_partition():
    a = stgcn_graph("spatial")

    assert [int((s != 0).sum()) for s in a] == [25, 40, 8]
    assert torch.allclose(torch.from_numpy(a.sum(axis=(0, 1))), torch.ones(25))
    # destination joint 21 (index 20) averages itself (subset 0) and joints 2, 3, 5, 9 (subset 1)
    assert a[0][20, 20] == pytest.approx(0.2)
    assert sorted(a[1][:, 20].nonzero()[0].tolist()) == [1, 2, 4, 8]
    assert a[1][1, 20] == pytest.approx(0.2)


def test_stgcn_checkpoint_without_graph_buffer_loads_and_matches():
    _, state, case = load_golden("stgcn_ntu60")
    state = {k: v for k, v in state.items() if k != "A"}
    model = build("stgcn", num_classes=60, dropout=0.0)

    load_upstream_checkpoint(model, state)
    ev, _ = _outputs(model, case["input"])

    assert rel_err(ev, case["eval_output"]) < 1e-4


def test_stgcn_checkpoint_with_missing_or_misshaped_key_fails_naming_it():
    _, state, _ = load_golden("stgcn_ntu60")
    missing = {k: v for k, v in state.items() if k != "fcn.weight"}
    misshaped = dict(state, **{"data_bn.weight": torch.zeros(150)})

    with pytest.raises(CheckpointError, match=r"missing: fcn\.weight"):
        load_upstream_checkpoint(build("stgcn"), missing)
    with pytest.raises(CheckpointError, match=r"data_bn\.weight: checkpoint \(150,\)"):
        load_upstream_checkpoint(build("stgcn"), misshaped)


def test_stgcn_module_prefix_is_stripped():
    _, state, case = load_golden("stgcn_ntu60")
    prefixed = {f"module.{k}": v for k, v in state.items()}
    model = build("stgcn", num_classes=60, dropout=0.0)

    load_upstream_checkpoint(model, prefixed)
    ev, _ = _outputs(model, case["input"])

    assert rel_err(ev, case["eval_output"]) < 1e-4


def test_stgcn_runs_single_person_and_other_windows():
    model = build("stgcn", num_classes=60).eval()

    for shape in [(2, 3, 32, 25, 1), (1, 3, 48, 25, 2)]:
        assert model(torch.randn(shape)).shape == (shape[0], 60)


def test_stgcn_rejects_other_graph_layouts():
    with pytest.raises(ModelConfigError, match="layout 'openpose'"):
        build("stgcn", graph_args={"layout": "openpose", "strategy": "spatial"})
