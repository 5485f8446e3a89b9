"""Early-action evaluation: a test transform that sees only the first part of each clip."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch

import skelab.data as sd
from skelab.errors import ConfigError

LENGTHS = [1, 2, 5, 17, 31, 32, 33, 47, 63, 64, 65, 66, 67, 80, 127, 128, 129, 200, 299, 300]
# sha256 (first 16 hex digits) of rows, frames, weight, index_t of the test plan of LENGTHS,
# made by the transform before `observe` existed (commit 586b609)
PLAN_DIGESTS = {
    ("ctrgcn", 32): "f9d59a693413c2ea",
    ("ctrgcn", 64): "5490d2d68ee651bd",
    ("skateformer", 32): "7e8261256d9a5bb6",
    ("skateformer", 64): "f30d4585fcf10296",
    ("hypergcn", 32): "f9d59a693413c2ea",
    ("hypergcn", 64): "5490d2d68ee651bd",
}


def _digest(plan) -> str:
    h = hashlib.sha256()
    for a in (plan.rows, plan.frames, plan.weight, plan.index_t):
        if a is not None:
            h.update(a.numpy().tobytes())
    return h.hexdigest()[:16]


def _batch(lengths, t=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), 3, t, 25, 2, generator=g)  # (N, C, T, V, M)
    for i, n in enumerate(lengths):
        x[i, :, n:] = 0
    return x, torch.tensor(lengths)


@pytest.mark.parametrize(("style", "window"), sorted(PLAN_DIGESTS))
def test_observe_one_gives_the_plan_of_before(style, window):
    t = sd.BatchTransform(style=style, window=window, train=False, observe=1.0)

    assert _digest(t.plan(np.array(LENGTHS))) == PLAN_DIGESTS[(style, window)]


@pytest.mark.parametrize("style", ["ctrgcn", "skateformer", "hypergcn"])
@pytest.mark.parametrize("observe", [0.1, 0.77])
def test_observing_a_share_equals_evaluating_the_cut_clip(style, observe):
    some = [1, 5, 33, 66, 67, 129, 200]  # short, thres-forced (quirk frame) and long clips
    x, lengths = _batch(some, t=200)
    seen = [max(math.ceil(round(observe * n, 9)), 1) for n in some]
    cut = x.clone()
    for i, k in enumerate(seen):
        cut[i, :, k:] = 0

    early = sd.BatchTransform(style=style, modality="bone_motion", observe=observe)(x, lengths)
    plain = sd.BatchTransform(style=style, modality="bone_motion")(cut, torch.tensor(seen))

    assert torch.equal(early.x, plain.x)
    if style == "skateformer":
        assert torch.equal(early.index_t, plain.index_t)


def test_observed_frames_stop_at_the_ceiling_of_the_share():
    t = sd.BatchTransform(style="ctrgcn", window=64, train=False, p_interval=(1.0,), observe=0.1)

    plan = t.plan(np.array([30, 300]))  # 0.1 * 30 is 3.0000000000000004 in floating point

    assert int(plan.frames[0].max()) == 2 and int(plan.frames[1].max()) == 29


def test_loader_with_observe_gives_the_transform_of_the_whole_batch():
    from skelab.data.dataset import SkeletonDataset

    x, lengths = _batch([40, 120, 300, 64])
    ds = SkeletonDataset(
        storage=np.ascontiguousarray(x.numpy()),
        layout="NCTVM",
        y=np.arange(4),
        lengths=lengths.numpy(),
        persons=np.full(4, 2),
        num_classes=60,
        path="memory",
        split="test",
        source_format="npz",
    )
    t = sd.BatchTransform(style="skateformer", train=False, observe=0.5)

    (batch,) = list(sd.BatchLoader(ds, batch_size=4, train=False, transform=t))

    assert torch.equal(batch.x, t(x, lengths).x)


@pytest.mark.parametrize(("observe", "train"), [(0.0, False), (1.5, False), (0.5, True)])
def test_observe_out_of_range_or_in_training_is_a_config_error(observe, train):
    with pytest.raises(ConfigError, match=r"(?s)observe.*fix:"):
        sd.BatchTransform(style="ctrgcn", train=train, observe=observe)
