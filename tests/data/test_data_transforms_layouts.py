"""Bone streams on joint layouts other than NTU's: the 20-joint NW-UCLA folder, a layout with
no bone definition, and the NTU-only styles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import skelab.data as sd
from shared_refs import REAL_DATA, require
from skelab.data.importers import import_nwucla
from skelab.data.prepared import open_prepared
from skelab.engine.build import build_loaders
from skelab.engine.presets import load_config
from skelab.errors import ConfigError
from skelab.skeletons import NTU25, skeleton_from_edges

UCLA = REAL_DATA / "nw-ucla"
# CTR-GCN feeders/feeder_ucla.py `ucla_pairs`, 1-based (joint, parent): graph/ucla.py's 19
# inward edges plus the root, joint 3, paired with itself.
UCLA_PAIRS_1BASED = (
    (1, 2), (2, 3), (3, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10),
    (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
)  # fmt: skip


@pytest.fixture
def ucla(tmp_path: Path) -> Path:
    require(UCLA)
    return import_nwucla(UCLA, tmp_path / "ucla")


def _upstream_bones(x: np.ndarray) -> np.ndarray:
    """(C, T, V, M) joints -> bones the way feeder_ucla.py computes them, pair by pair."""
    out = np.zeros_like(x)
    for v1, v2 in UCLA_PAIRS_1BASED:
        out[:, :, v1 - 1] = x[:, :, v1 - 1] - x[:, :, v2 - 1]
    return out


def test_bone_batch_from_the_20_joint_folder_has_ucla_bones(ucla):
    ds = open_prepared(ucla, "train")  # lengths 44 and 30
    t = sd.BatchTransform(
        style="ctrgcn", window=44, modality="bone", p_interval=(1.0,), skeleton=ds.skeleton
    )

    batch = next(iter(sd.BatchLoader(ds, batch_size=2, train=False, transform=t)))

    assert batch.x.shape == (2, 3, 44, 20, 1)  # (N, C, W, V, M)
    first = np.asarray(ds.x[0])  # 44 valid frames and a 44-frame window: no resampling
    np.testing.assert_array_equal(batch.x[0].numpy(), _upstream_bones(first))
    assert not batch.x[:, :, :, 2].any()  # the root, joint 3, has a zero bone


def test_engine_builds_bone_loaders_from_the_folder_layout(ucla):
    sets = [
        f"data.path={ucla}",
        "data.num_classes=10",
        "data.window=16",
        "data.test_p_interval=1.0",
        "model.options.num_joints=20",
        "train.device=cpu",
    ]
    cpu = torch.device("cpu")
    _, joint_loader, _ = build_loaders(
        load_config("ntu60-xsub/mlp-joint", sets), device=cpu, train=False
    )
    _, bone_loader, _ = build_loaders(
        load_config("ntu60-xsub/mlp-joint", [*sets, "data.modality=bone"]), device=cpu, train=False
    )

    joints, bones = next(iter(joint_loader)).x, next(iter(bone_loader)).x

    parents = [p - 1 for _, p in UCLA_PAIRS_1BASED]
    assert bones.shape == joints.shape == (3, 3, 16, 20, 1)
    torch.testing.assert_close(bones, joints - joints[:, :, :, parents], rtol=0, atol=0)


def test_layout_without_bones_refuses_the_bone_stream_but_gives_joints():
    layout = skeleton_from_edges([(1, 0), (2, 0), (2, 1)], center=0, num_joints=4, name="loose")
    x, lengths = torch.ones(2, 3, 8, 4, 1), torch.tensor([8, 8])

    with pytest.raises(ConfigError, match=r"(?s)'loose' has no bone definition.*fix:"):
        sd.BatchTransform(modality="bone_motion", skeleton=layout)
    out = sd.BatchTransform(modality="joint", window=8, skeleton=layout)(x, lengths)

    assert out.x.shape == (2, 3, 8, 4, 1)


@pytest.mark.parametrize("style", ["skateformer", "hypergcn"])
def test_ntu_only_style_refuses_another_layout(ucla, style):
    layout = open_prepared(ucla, "test").skeleton

    with pytest.raises(ConfigError, match=r"(?s)data\.style: .*'nwucla20' \(20 joints\).*fix:"):
        sd.BatchTransform(style=style, skeleton=layout)


def test_ntu_bone_transform_on_20_joint_data_is_a_clear_error_not_an_index_error(ucla):
    ds = open_prepared(ucla, "test")
    t = sd.BatchTransform(modality="bone", window=8, skeleton=NTU25)

    with pytest.raises(ConfigError, match=r"(?s)'ntu25' \(25 joints\), the data has 20.*fix:"):
        next(iter(sd.BatchLoader(ds, batch_size=3, train=False, transform=t)))
