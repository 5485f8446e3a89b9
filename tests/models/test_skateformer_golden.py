"""SkateFormer reproduces upstream's logits (KAIST-VICLab/SkateFormer, NTU60 X-Sub config)."""

from __future__ import annotations

import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.models import build, count_parameters, get_card, load_upstream_checkpoint

pytestmark = pytest.mark.golden

SKELAB_OPTIONS = dict(
    num_classes=60, num_joints=24, num_persons=2, window=64, attn_drop=0.0, drop_path=0.0
)


def _outputs(model: torch.nn.Module, case: dict) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    with torch.no_grad():
        eval_out = model(case["input"], case["input_index_t"])
    model.train()
    with torch.no_grad():
        train_out = model(case["input"], case["input_index_t"])
    return eval_out, train_out


@pytest.mark.parametrize("source", ["skelab_options", "upstream_constructor"])
def test_skateformer_matches_upstream_eval_and_train_outputs(source):
    meta, state, case = load_golden("skateformer_ntu60")
    options = SKELAB_OPTIONS if source == "skelab_options" else meta["upstream_constructor"]
    model = load_upstream_checkpoint(build("skateformer", **options), state)

    eval_out, train_out = _outputs(model, case)

    assert rel_err(eval_out, case["eval_output"]) < 1e-4
    assert rel_err(train_out, case["train_output"]) < 1e-4


def test_skateformer_fused_attention_matches_upstream():
    meta, state, case = load_golden("skateformer_ntu60")
    model = load_upstream_checkpoint(build("skateformer", **SKELAB_OPTIONS), state)
    for module in model.modules():
        if hasattr(module, "fused"):
            module.fused = True

    eval_out, train_out = _outputs(model, case)

    assert rel_err(eval_out, case["eval_output"]) < 1e-4
    assert rel_err(train_out, case["train_output"]) < 1e-4


def test_skateformer_parameter_count_and_state_dict_match_upstream():
    meta, state, _ = load_golden("skateformer_ntu60")

    model = build("skateformer", **meta["upstream_constructor"])

    assert count_parameters(model) == meta["num_parameters"] == 3_616_083
    assert get_card("skateformer").params_ntu60 == meta["num_parameters"]
    assert len(model.state_dict()) == meta["num_state_dict_entries"]
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {
        k: tuple(v.shape) for k, v in state.items()
    }
