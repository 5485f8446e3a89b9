"""The pyskl style reproduces ProtoGCN's PYSKL val pipeline and samples training clips its way.

`protogcn_feeder_w12.npz` holds 4 synthetic sequences (lengths 5, 12, 19, 30: a loop, an exact
fit, the gap rule, one frame per segment; two single-person, one with a missing joint, none
centred) and upstream's outputs for the six streams with clip_len 12;
benchmarks/make_protogcn_feeder_fixture.py made it by running github.com/firework8/ProtoGCN
(PreNormalize3D, GenSkeFeat, UniformSampleDecode in test mode, FormatGCNInput).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import skelab.data as sd
from skelab.errors import ConfigError

FIXTURE = Path(__file__).with_name("protogcn_feeder_w12.npz")
STREAMS = {
    "j": "joint",
    "b": "bone",
    "k": "k_bone",
    "jm": "motion",
    "bm": "bone_motion",
    "km": "k_bone_motion",
}


@pytest.mark.parametrize(("feat", "modality"), list(STREAMS.items()))
def test_pyskl_test_transform_matches_upstream_pipeline(feat, modality):
    f = np.load(FIXTURE)
    t = sd.BatchTransform(style="pyskl", window=int(f["window"]), modality=modality, train=False)

    out = t(torch.from_numpy(f["input"]), torch.from_numpy(f["lengths"]))

    assert out.x.shape == f[feat].shape
    assert np.abs(out.x.numpy() - f[feat]).max() < 1e-5


def test_pyskl_training_frames_follow_uniform_sample_decode():
    lengths = torch.tensor([5, 14, 40])
    t = sd.BatchTransform(style="pyskl", window=10, modality="joint", train=True)

    frames = t.plan(lengths, torch.Generator().manual_seed(0)).frames[:, :10].numpy()

    short, mid, long_ = frames
    assert set(np.diff(short) % 5) == {1}  # a loop over the 5 frames
    assert np.all(np.diff(mid) >= 1) and np.all(np.diff(mid) <= 2) and mid.max() < 14
    assert np.all(long_ // 4 == np.arange(10))  # one frame in each 4-frame segment


def test_pyskl_training_rotates_within_0_2_rad_and_flips_or_drops_limbs():
    x = torch.randn(6, 3, 20, 25, 2) + 1.0
    t = sd.BatchTransform(
        style="pyskl", window=8, modality="joint", train=True, flip_p=1.0, part_drop_p=1.0
    )

    plan = t.plan(torch.full((6,), 20), torch.Generator().manual_seed(1))
    out = t(x, torch.full((6,), 20), torch.Generator().manual_seed(1))

    assert t.rotate_theta == pytest.approx(0.2)
    assert bool(plan.flip.all()) and bool((plan.part >= 0).all())
    zero_joints = (out.x == 0).all(dim=(1, 2, 4))  # (N, V): joints zeroed in every frame
    assert bool((zero_joints.sum(1) >= 4).all())


def test_k_bone_needs_the_pyskl_style():
    with pytest.raises(ConfigError, match="only the pyskl style"):
        sd.BatchTransform(style="ctrgcn", modality="k_bone")


def test_flip_needs_the_pyskl_style():
    with pytest.raises(ConfigError, match="data.flip_p"):
        sd.BatchTransform(style="ctrgcn", train=True, flip_p=0.5)
