"""The memory estimate: an exact count on a hand-checkable model, batch scaling, precisions."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from skelab.bench.memory import CountedStep, model_config, probe_memory
from skelab.models import list_models


def _cfg(optimizer: str = "adamw"):
    cfg = model_config("mlp", window=2)
    return dataclasses.replace(
        cfg,
        train=dataclasses.replace(cfg.train, clip_grad=0.0),
        loss=dataclasses.replace(cfg.loss, label_smoothing=0.0),
        optim=dataclasses.replace(cfg.optim, name=optimizer, momentum=0.9),
    )


def _mlp() -> nn.Module:
    # input (N, 3, T=2, V=1, M=2) flattens to 12 features
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))


def _probe(precision: str, optimizer: str = "adamw"):
    cfg = _cfg(optimizer)
    step = CountedStep(cfg, precision=precision, model=_mlp(), joints=1)
    return probe_memory(cfg, precision=precision, step=step), step


def test_fp32_estimate_equals_a_hand_count_of_linear_relu_linear():
    # Saved for backward, per sample: the input (12 floats, 48 B: the first addmm's mat1), the
    # ReLU output (8 floats, 32 B: threshold_backward's result, also the second addmm's mat1),
    # log_softmax's output (3 floats, 12 B) and the int64 label (8 B) = 100 B. Fixed: nll_loss's
    # total_weight scalar (4 B). Weights are saved too but are not activations.
    probe, _ = _probe("fp32")

    assert probe.activation_per_sample == 100
    assert probe.activation_fixed == 4


def test_bf16_estimate_equals_a_hand_count_under_cudas_autocast_policy():
    # Per sample: the bf16 copy of the input (24 B), the bf16 ReLU output (16 B), log_softmax in
    # float32 on the float32 copy of the logits (12 B), the label (8 B) = 60 B. Fixed: the bf16
    # copy of the second weight (3 x 8 x 2 = 48 B; the first weight's copy is not saved because
    # the input needs no gradient) and total_weight (4 B).
    probe, _ = _probe("bf16")

    assert probe.activation_per_sample == 60
    assert probe.activation_fixed == 52


def test_weights_grads_and_state_are_counted_by_optimizer():
    n_params = 12 * 8 + 8 + 8 * 3 + 3

    sgd, _ = _probe("fp32", "sgd")
    adamw, _ = _probe("fp32", "adamw")

    assert sgd.weights_bytes == sgd.grads_bytes == n_params * 4
    assert sgd.optimizer_bytes == n_params * 4  # one momentum buffer
    assert adamw.optimizer_bytes >= 2 * n_params * 4  # exp_avg, exp_avg_sq (+ step counters)
    assert adamw.optimizer_bytes < 2 * n_params * 4 + 4 * 8 * 4


def _conv_cfg_and_step(precision: str = "fp32"):
    model = nn.Sequential(
        nn.Conv3d(3, 8, 1), nn.BatchNorm3d(8), nn.ReLU(), nn.Flatten(), nn.LazyLinear(5)
    )
    model(torch.zeros(2, 3, 4, 5, 2))  # materialise the lazy layer
    cfg = _cfg("sgd")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, window=4))
    return cfg, CountedStep(cfg, precision=precision, model=model, joints=5)


def test_doubling_the_batch_doubles_the_activation_bytes():
    _, step = _conv_cfg_and_step()

    small, large = step.count(8), step.count(16)

    assert large.activation_bytes / small.activation_bytes == pytest.approx(2.0, rel=0.05)


def test_two_small_probes_predict_a_larger_batch():
    cfg, step = _conv_cfg_and_step("bf16")
    probe = probe_memory(cfg, precision="bf16", step=step)

    counted = step.count(128)
    predicted = probe.at(128)

    assert predicted.activation_bytes == pytest.approx(counted.activation_bytes, rel=0.02)
    assert predicted.transient_bytes == pytest.approx(counted.transient_bytes, rel=0.05)


def test_bf16_keeps_less_than_fp32():
    cfg, step = _conv_cfg_and_step("fp32")
    fp32 = probe_memory(cfg, precision="fp32", step=step)
    cfg, step = _conv_cfg_and_step("bf16")
    bf16 = probe_memory(cfg, precision="bf16", step=step)

    assert bf16.activation_per_sample < fp32.activation_per_sample


def test_largest_batch_fits_and_one_more_does_not():
    probe, _ = _probe("fp32")
    budget = probe.at(50).peak_bytes + 1

    n = probe.largest_batch(budget)

    assert probe.at(n).peak_bytes <= budget < probe.at(n + 1).peak_bytes
    assert probe.largest_batch(probe.at(0).peak_bytes - 1) == 0


def test_estimate_columns_are_positive_for_a_registered_model():
    est = probe_memory(model_config("mlp")).at(16)

    for key in ("weights_bytes", "grads_bytes", "optimizer_bytes", "activation_bytes"):
        assert getattr(est, key) > 0, key
    assert est.peak_bytes > est.allocated_bytes > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_is_estimated_and_bf16_saves_memory(name):
    cfg = model_config(name)

    fp32 = probe_memory(cfg, precision="fp32")
    bf16 = probe_memory(cfg, precision="bf16")

    assert fp32.activation_per_sample > 0 and fp32.at(4).transient_bytes >= 0
    assert bf16.activation_per_sample < fp32.activation_per_sample
    assert fp32.at(8).activation_bytes == pytest.approx(2 * fp32.at(4).activation_bytes, rel=0.05)
