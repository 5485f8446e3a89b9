"""The blockgcn style reproduces BlockGCN's test-split feeder, raw joints included.

`blockgcn_feeder_w16.npz` holds upstream's feeder outputs (window 16, p_interval [0.95]) for 4
samples of the shared `feeder_ctrgcn/feeder_input.npz`; benchmarks/make_blockgcn_feeder_fixture.py
made it by running github.com/ZhouYuxuanYX/BlockGCN feeders/feeder_ntu.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import skelab.data as sd
from skelab.errors import ConfigError
from skelab.skeletons import get_skeleton

FIXTURE = Path(__file__).with_name("blockgcn_feeder_w16.npz")


@pytest.mark.golden
@pytest.mark.parametrize("modality", ["joint", "bone", "motion", "bone_motion"])
def test_blockgcn_test_transform_matches_upstream_feeder(golden_dir, modality):
    expected = np.load(FIXTURE)
    rows = expected["samples"]
    ds = sd.load(golden_dir / "feeder_ctrgcn" / "feeder_input.npz", split="test")
    x = torch.from_numpy(np.ascontiguousarray(ds.x[rows]))
    t = sd.BatchTransform(style="blockgcn", window=16, modality=modality, train=False)

    out = t(x, ds.lengths[rows])

    assert np.abs(out.x.numpy() - expected[modality]).max() < 1e-5
    assert np.abs(out.joint.numpy() - expected["raw_joint"]).max() < 1e-5


def test_blockgcn_training_transform_gives_rotated_raw_joints_beside_each_stream():
    x = torch.randn(3, 3, 40, 25, 2)
    lengths = torch.tensor([40, 30, 12])
    bone = sd.BatchTransform(style="blockgcn", window=8, modality="bone", train=True)
    joint = sd.BatchTransform(style="blockgcn", window=8, modality="joint", train=True)

    b = bone(x, lengths, torch.Generator().manual_seed(3))
    j = joint(x, lengths, torch.Generator().manual_seed(3))

    assert torch.equal(b.joint, j.joint)  # same draws: same raw joints, whatever the stream
    rebuilt = j.x + j.x[:, :, :, 20:21]
    rebuilt[:, :, :, 20] = j.x[:, :, :, 20]
    assert torch.allclose(rebuilt, j.joint, atol=1e-5)
    assert torch.equal(b.x[:, :, :, 20], b.joint[:, :, :, 20])  # slot 21 keeps the trajectory


def test_other_styles_give_no_raw_joints():
    out = sd.BatchTransform(style="ctrgcn", window=8)(torch.randn(1, 3, 10, 25, 2), [10])

    assert out.joint is None


def test_blockgcn_style_refuses_another_layout():
    with pytest.raises(ConfigError, match="data.style"):
        sd.BatchTransform(style="blockgcn", skeleton=get_skeleton("nwucla20"))
