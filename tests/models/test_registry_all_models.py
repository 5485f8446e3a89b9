"""Every registered model: builds, runs forward and backward, and matches its card."""

from __future__ import annotations

import pytest
import torch

from skelab.errors import ModelConfigError, UnknownNameError
from skelab.models import build, count_parameters, get_card, list_models

# Models too slow for a forward/backward at their default size in the quick suite are still
# covered: each has its own golden tests.
NAMES = list_models()


def _inputs(name: str, n: int = 2, t: int = 64) -> dict:
    card = get_card(name)
    v = 24 if name == "skateformer" else 25
    x = torch.randn(n, 3, t, v, 2)
    kwargs = {"index_t": torch.linspace(-1, 1, t).expand(n, t).contiguous()}
    return {"x": x, **(kwargs if card.needs_index_t else {})}


@pytest.mark.parametrize("name", NAMES)
def test_model_card_parameter_count_matches_built_model(name):
    card = get_card(name)

    model = build(name, num_classes=60)

    assert count_parameters(model) == card.params_ntu60


@pytest.mark.parametrize("name", NAMES)
def test_model_forward_backward_gives_logits_and_gradients(name):
    model = build(name, num_classes=7, window=get_card(name).default_window)
    fixed = {"freqmixformer", "skateformer", "degcn"}  # models that take one window only
    t = get_card(name).default_window if name in fixed else 32
    inputs = _inputs(name, t=t)

    logits = model(inputs.pop("x"), **inputs)
    logits.sum().backward()

    assert logits.shape == (2, 7)
    assert torch.isfinite(logits).all()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_unknown_model_suggests_closest_name():
    with pytest.raises(UnknownNameError, match="did you mean 'stgcn'"):
        build("stgnc")


def test_unknown_option_suggests_closest_option():
    with pytest.raises(ModelConfigError, match="did you mean 'num_classes'"):
        build("stgcn", num_clases=60)


def test_upstream_alias_and_skelab_name_together_is_an_error():
    with pytest.raises(ModelConfigError, match="given twice"):
        build("stgcn", num_classes=60, num_class=60)
