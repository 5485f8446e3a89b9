"""`skelab bench`'s measurement: the train step path, FLOPs and the operators they leave out."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from skelab.bench.memory import model_config
from skelab.bench.step import forward_flops, time_step
from skelab.models import list_models


def test_forward_flops_counts_matmuls_and_names_what_it_leaves_out():
    model = nn.Sequential(nn.Linear(10, 4), nn.ReLU())

    flops, uncounted = forward_flops(model, {"x": torch.randn(3, 10)})

    assert flops == 2 * 3 * 10 * 4
    assert "relu" in uncounted and "addmm" not in uncounted


def test_a_training_step_is_timed_with_positive_numbers():
    cfg = model_config("mlp", window=16)

    r = time_step(cfg, batch=4, steps=2, warmup=1)

    assert r.mode == "train" and r.params > 0 and r.gflops_per_sample > 0
    assert r.step_s_min <= r.step_s <= r.step_s_max and r.samples_per_s > 0
    assert r.measured_peak_bytes is None and r.estimated_peak_bytes > 0


def test_inference_and_a_16_bit_request_on_the_cpu_run_in_float32():
    cfg = model_config("mlp", window=16)

    r = time_step(cfg, batch=4, steps=1, warmup=0, mode="infer", precision="bf16")

    assert r.mode == "infer" and r.dtype == "float32" and r.precision == "bf16"
    assert r.estimated_peak_bytes is None


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_is_benchmarked_on_the_cpu(name):
    cfg = model_config(name, window=64 if name in ("skateformer", "degcn") else 32)  # their own

    r = time_step(cfg, batch=2, steps=1, warmup=0)

    assert r.samples_per_s > 0 and r.gflops_per_sample > 0 and r.estimated_peak_bytes > 0
