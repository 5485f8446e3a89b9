"""Augmentations on 2-D keypoints (x, y, score) act on x and y only; the score never mixes in."""

from __future__ import annotations

import torch

import skelab.data as sd
from skelab.data.skeleton_ops import skateformer_augment
from skelab.skeletons import COCO17


def _xy_score(n: int = 6, t: int = 16, v: int = 17, m: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, t, v, m, generator=g)
    x[:, 2] = torch.rand(n, t, v, m, generator=g) * 0.5 + 0.5  # scores in [0.5, 1)
    return x


def test_random_rotation_of_2d_data_turns_xy_in_the_image_plane_and_keeps_the_score():
    x = _xy_score()
    lengths = torch.full((len(x),), 16)
    t = sd.BatchTransform(
        window=16, train=True, p_interval=(1.0, 1.0), rotate=True, rotate_theta=0.8,
        skeleton=COCO17, channels="xy-score",
    )  # fmt: skip

    out = t(x, lengths, generator=torch.Generator().manual_seed(1)).x

    torch.testing.assert_close(out[:, 2], x[:, 2])
    torch.testing.assert_close(out[:, :2].norm(dim=1), x[:, :2].norm(dim=1))  # a rotation
    assert not torch.allclose(out[:, :2], x[:, :2])


def test_random_rotation_of_3d_data_still_mixes_all_three_axes():
    x = _xy_score()
    lengths = torch.full((len(x),), 16)
    t = sd.BatchTransform(
        window=16, train=True, p_interval=(1.0, 1.0), rotate=True, rotate_theta=0.8,
        skeleton=COCO17,
    )  # fmt: skip

    out = t(x, lengths, generator=torch.Generator().manual_seed(1)).x

    assert not torch.allclose(out[:, 2], x[:, 2])


def test_skateformer_augment_on_2d_data_never_moves_the_score_into_xy():
    n = 8
    x = torch.zeros(n, 3, 16, 25, 2)
    x[:, 2] = 0.75  # every joint seen with score 0.75, at (0, 0)
    ref = torch.randn(n, 3, 16, 25, 2)
    family = torch.zeros(n, dtype=torch.float64)  # every sample gets the intra ops
    inter = torch.zeros(n, dtype=torch.bool)

    out = skateformer_augment(
        x, family, inter, ref, augment="a123489", intra_p=1.0,
        g=torch.Generator().manual_seed(0), planar=True,
    )  # fmt: skip

    assert torch.count_nonzero(out[:, :2]) == 0  # x and y stay 0: no score leaked in
    assert set(out[:, 2].unique().tolist()) <= {0.0, 0.75}  # kept, or zeroed with its joint


def test_skateformer_adain_on_2d_data_keeps_the_score():
    n = 4
    x, ref = torch.randn(n, 3, 16, 25, 2), torch.randn(n, 3, 16, 25, 2)
    x[:, 2] = 0.9
    family = torch.ones(n, dtype=torch.float64)  # no intra ops
    inter = torch.ones(n, dtype=torch.bool)

    out = skateformer_augment(
        x, family, inter, ref, augment="", intra_p=0.0,
        g=torch.Generator().manual_seed(0), planar=True,
    )  # fmt: skip

    torch.testing.assert_close(out[:, 2], x[:, 2])
    assert not torch.allclose(out[:, :2], x[:, :2])


def test_bone_stream_of_2d_data_keeps_a_score_channel():
    x = _xy_score(n=2)
    lengths = torch.full((2,), 16)
    t = sd.BatchTransform(
        window=16, modality="bone", p_interval=(1.0,), skeleton=COCO17, channels="xy-score"
    )

    out = t(x, lengths).x

    parent = list(COCO17.bone_parents)
    torch.testing.assert_close(out[:, :2], x[:, :2] - x[:, :2, :, parent])
    torch.testing.assert_close(out[:, 2], (x[:, 2] + x[:, 2, :, parent]) / 2)


def test_hypergcn_centring_of_2d_data_leaves_the_score_alone():
    x = _xy_score(n=2, v=25)
    lengths = torch.full((2,), 16)
    t = sd.BatchTransform(style="hypergcn", window=16, p_interval=(1.0,), channels="xy-score")

    out = t(x, lengths).x

    torch.testing.assert_close(out[:, 2], x[:, 2])
    torch.testing.assert_close(out[:, :2, :, 0], x[:, :2, :, 0] - x[:, :2, :, 20])
