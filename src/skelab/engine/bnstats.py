"""BatchNorm running statistics recomputed from the current weights, for short runs.

A BatchNorm layer normalises with the batch's statistics in training and with its running
statistics in evaluation. PyTorch keeps those as an exponential moving average (momentum 0.1)
that starts at mean 0, variance 1: after s steps the starting values still weigh 0.9**s, and
the rest mixes the statistics of the weights of about the last 10 steps. A long run forgets
both (NTU RGB+D at batch 64 has 626 steps per epoch). A short run on a small folder does not:
32 COCO-17 clips trained for 32 steps (`tests/engine/test_keypoints_e2e.py`) leave ST-GCN-lite
with running variances 2 to 15 times the true ones (its first convolutions start at N(0, 0.02)
and see variances near 3e-4, far from the starting 1, and they grow 150-fold in the first 15
steps); each of its 17 BatchNorm layers then shrinks the signal, the features collapse and the
model answers one class in evaluation while it is right on every clip in training mode. The
statistics recomputed from the final weights on the same training batches give 100%.

So while a run has taken fewer than `train.bn_recompute_steps` (default 500) optimizer steps,
the trainer calls `recompute_batchnorm` after each epoch, before it evaluates and saves: every
BatchNorm's running mean and variance are reset and set to the plain average over (up to
`MAX_BATCHES`) training batches of the epoch just trained, run forward in training mode without
gradients, in chunks of the size training uses. The loader replays the epoch's own batches
(its draws are seeded per epoch) and the global random state is restored afterwards (dropout
draws), so a run is as deterministic as before and a resumed run equals an uninterrupted one.
In a DDP run the recomputed statistics are averaged over the processes. Past that step count
(0.9**500 is about 1e-23) the moving averages are used as they are, as upstream does;
`train.bn_recompute_steps=0` uses them from the first step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

MAX_BATCHES = 100


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of `model` that keep running statistics."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


@torch.no_grad()
def recompute_batchnorm(
    model: nn.Module,
    batches: Iterable[Any],
    run: Callable[[Any], Tensor | Any],
    *,
    max_batches: int = MAX_BATCHES,
) -> int:
    """Reset every BatchNorm's running statistics of `model` and set them to the average of
    the batch statistics over `batches` (at most `max_batches`), each passed to `run`, which
    runs the model forward. Momentum, batch counters, training mode and the global random
    state are as before. Returns the number of batches used (0: no BatchNorm or no batch,
    the statistics untouched)."""
    layers = batchnorm_layers(model)
    if not layers:
        return 0
    saved = [(m.momentum, m.num_batches_tracked.clone(), m.running_mean.clone(),
              m.running_var.clone()) for m in layers]  # fmt: skip
    was_training = model.training
    devices = sorted({b.running_mean.device.index for b in layers if b.running_mean.is_cuda})
    used = 0
    with torch.random.fork_rng(devices=devices):
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # cumulative average: every batch weighs the same
        model.train()
        try:
            for batch in batches:
                if used >= max_batches:
                    break
                run(batch)
                used += 1
        finally:
            model.train(was_training)
            for m, (momentum, count, mean, var) in zip(layers, saved, strict=True):
                m.momentum = momentum
                m.num_batches_tracked.copy_(count)
                if used == 0:
                    m.running_mean.copy_(mean)
                    m.running_var.copy_(var)
    return used
