"""`skelab smoke` cases: every registered model and every preset's model options."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from skelab.bench.smoke import model_cases, run_case, zeroshot_cases
from skelab.models import list_models

CHEAP = {"mlp"}


def test_cases_cover_every_registered_model_and_preset_options():
    cases = model_cases()

    assert set(list_models()) <= set(cases)
    assert any(name.startswith("skateformer (") and "tiny" in name for name in cases)


def test_a_failing_case_is_reported_with_its_error():
    def broken(device: torch.device) -> None:
        raise RuntimeError("shapes do not match")

    result = run_case("broken", broken, torch.device("cpu"))

    assert not result.ok
    assert "RuntimeError: shapes do not match" in result.error


def test_zeroshot_cases_are_included_when_the_module_exists():
    cases = zeroshot_cases()

    if importlib.util.find_spec("skelab.zeroshot.smoke") is None:
        assert cases == {}
    else:
        assert cases and all(name.startswith("zeroshot") for name in cases)


@pytest.mark.parametrize(
    "name", [n if n in CHEAP else pytest.param(n, marks=pytest.mark.slow) for n in list_models()]
)
def test_every_registered_model_passes_forward_and_backward(name):
    result = run_case(name, model_cases([name], presets=False)[name], torch.device("cpu"))

    assert result.ok, result.error
    assert result.seconds > 0 and result.peak_bytes > 0
