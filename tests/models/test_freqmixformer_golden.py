"""FreqMixFormer reproduces upstream's outputs on the golden fixture and loads its checkpoints."""

from __future__ import annotations

import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.models import build, count_parameters, load_upstream_checkpoint

NAME = "freqmixformer_ntu60"


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a shared, busy CPU, thread barriers cost more than they save."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _outputs(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits in eval mode, then in train mode (BatchNorm batch statistics)."""
    with torch.no_grad():
        eval_out = model.eval()(x)
        train_out = model.train()(x)
    return eval_out, train_out


@pytest.mark.golden
def test_freqmixformer_from_skelab_options_matches_upstream_outputs():
    meta, state, case = load_golden(NAME)
    model = build("freqmixformer", num_classes=60, num_joints=25, num_persons=2, window=64)
    load_upstream_checkpoint(model, state)

    eval_out, train_out = _outputs(model, case["input"])

    assert rel_err(eval_out, case["eval_output"]) < 1e-4
    assert rel_err(train_out, case["train_output"]) < 1e-4


@pytest.mark.golden
def test_freqmixformer_from_upstream_constructor_matches_upstream_outputs():
    meta, state, case = load_golden(NAME)
    model = build("freqmixformer", **meta["upstream_constructor"])
    load_upstream_checkpoint(model, state)

    eval_out, train_out = _outputs(model, case["input"])

    assert tuple(eval_out.shape) == tuple(meta["output_shape"])
    assert rel_err(eval_out, case["eval_output"]) < 1e-4
    assert rel_err(train_out, case["train_output"]) < 1e-4


@pytest.mark.golden
def test_freqmixformer_parameter_count_and_state_dict_match_upstream():
    meta, state, _ = load_golden(NAME)

    model = build("freqmixformer", **meta["upstream_constructor"])

    assert count_parameters(model) == meta["num_parameters"] == 2_065_048
    own = model.state_dict()
    assert len(own) == meta["num_state_dict_entries"] == len(state)
    assert {k: tuple(v.shape) for k, v in own.items()} == {
        k: tuple(v.shape) for k, v in state.items()
    }


@pytest.mark.golden
def test_freqmixformer_upstream_checkpoint_file_loads(tmp_path):
    _, state, case = load_golden(NAME)
    path = tmp_path / "runs-65-12345.pt"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)  # DataParallel-style keys
    model = build("freqmixformer")

    load_upstream_checkpoint(model, path)

    with torch.no_grad():
        out = model.eval()(case["input"])
    assert rel_err(out, case["eval_output"]) < 1e-4
