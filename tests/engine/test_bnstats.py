"""BatchNorm running statistics recomputed from the current weights (skelab.engine.bnstats)."""

from __future__ import annotations

import torch
from torch import nn

from skelab.engine.bnstats import recompute_batchnorm


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(3, 4, 1), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.ReLU(),
                         nn.Conv1d(4, 2, 1), nn.BatchNorm1d(2))  # fmt: skip


def test_statistics_become_the_plain_average_over_the_batches():
    model = _model()
    model[1].momentum = 0.3
    model[1].num_batches_tracked.fill_(7)
    model.eval()
    batches = [torch.randn(5, 3, 6) * (k + 1) + k for k in range(3)]
    before = torch.random.get_rng_state()

    used = recompute_batchnorm(model, batches, model)

    assert used == 3
    conv = model[0]
    h = [conv(b).transpose(0, 1).reshape(4, -1) for b in batches]
    mean = torch.stack([v.mean(1) for v in h]).mean(0)
    var = torch.stack([v.var(1, unbiased=True) for v in h]).mean(0)
    torch.testing.assert_close(model[1].running_mean, mean.detach())
    torch.testing.assert_close(model[1].running_var, var.detach())
    assert model[1].momentum == 0.3 and int(model[1].num_batches_tracked) == 7
    assert not model.training  # mode restored
    assert torch.equal(torch.random.get_rng_state(), before)  # dropout drew from a fork


def test_max_batches_and_no_batch():
    model = _model()
    calls = []
    used = recompute_batchnorm(
        model, (torch.randn(4, 3, 5) for _ in range(10)), lambda b: calls.append(model(b)),
        max_batches=2,
    )  # fmt: skip
    assert used == 2 and len(calls) == 2

    mean, var = model[5].running_mean.clone(), model[5].running_var.clone()
    assert recompute_batchnorm(model, [], model) == 0
    assert torch.equal(model[5].running_mean, mean) and torch.equal(model[5].running_var, var)


def test_a_model_without_batchnorm_is_left_alone():
    model = nn.Sequential(nn.Linear(3, 2))
    assert recompute_batchnorm(model, [torch.randn(2, 3)], model) == 0
