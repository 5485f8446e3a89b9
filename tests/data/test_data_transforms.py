"""Train-mode semantics of the batch transforms (crop lengths, rotation, determinism, styles)."""

from __future__ import annotations

import pytest
import torch

import skelab.data as sd
from skelab.data.transforms import HYPERGCN_PARENT, rotation_xyz


def _batch(lengths, t=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), 3, t, 25, 2, generator=g)  # (N, C, T, V, M)
    for i, n in enumerate(lengths):
        x[i, :, n:] = 0
    return x, torch.tensor(lengths)


def test_ctrgcn_train_crop_length_is_within_ratio_and_64_floor():
    lengths = torch.tensor([20, 64, 100, 128, 300] * 40)
    t = sd.BatchTransform(style="ctrgcn", train=True)

    plan = t.plan(lengths, torch.Generator().manual_seed(1))

    first, last = plan.frames.min(1).values, plan.frames.max(1).values
    crop = last - first + 1
    lo = torch.minimum(torch.clamp((lengths * 0.5).floor().long(), min=64), lengths)
    assert (crop >= lo).all() and (crop <= lengths).all()
    assert (first >= 0).all() and (last < lengths).all()
    assert (crop[lengths <= 64] == lengths[lengths <= 64]).all()  # the 64-frame floor
    assert len(set(crop[lengths == 300].tolist())) > 5  # the ratio is really random


def test_ctrgcn_test_crop_is_centred_095():
    t = sd.BatchTransform(style="ctrgcn", train=False)

    plan = t.plan(torch.tensor([103]))

    assert plan.frames.min() == 2 and plan.frames.max() == 100  # b = 2, L = 99


def test_rotation_matrices_are_orthonormal():
    angles = torch.rand(16, 3) * 0.6 - 0.3

    r = rotation_xyz(angles)

    assert torch.allclose(r @ r.transpose(1, 2), torch.eye(3).expand(16, 3, 3), atol=1e-6)
    assert torch.allclose(torch.linalg.det(r), torch.ones(16), atol=1e-6)


def test_ctrgcn_train_plan_holds_one_rotation_per_sample_drawn_after_the_crop():
    lengths = torch.tensor([40, 300, 80, 64])
    t = sd.BatchTransform(style="ctrgcn", train=True, rotate_theta=0.3)
    g = torch.Generator().manual_seed(5)

    plan = t.plan(lengths, g)

    replay = torch.Generator().manual_seed(5)
    torch.rand(4, generator=replay, dtype=torch.float64)  # crop ratio
    torch.rand(4, generator=replay, dtype=torch.float64)  # crop start
    angles = torch.rand((4, 3), generator=replay) * 0.6 - 0.3
    assert plan.rotation.shape == (4, 3, 3) and plan.rotation.dtype == torch.float32
    assert torch.allclose(plan.rotation, rotation_xyz(angles.double()).float(), atol=1e-6)
    assert sd.BatchTransform(style="ctrgcn", train=False).plan(lengths).rotation is None


def test_rotation_xyz_multiplies_rz_ry_rx():
    a, b, c = 0.1, -0.2, 0.25
    cos, sin = torch.cos, torch.sin
    t = torch.tensor
    rx = t([[1, 0, 0], [0, cos(t(a)), sin(t(a))], [0, -sin(t(a)), cos(t(a))]])
    ry = t([[cos(t(b)), 0, -sin(t(b))], [0, 1, 0], [sin(t(b)), 0, cos(t(b))]])
    rz = t([[cos(t(c)), sin(t(c)), 0], [-sin(t(c)), cos(t(c)), 0], [0, 0, 1]])

    r = rotation_xyz(torch.tensor([[a, b, c]], dtype=torch.float64))

    assert torch.allclose(r[0].float(), rz @ ry @ rx, atol=1e-6)


def test_train_rotation_keeps_zeros_zero_and_norms():
    x, lengths = _batch([40, 300, 80])
    x[0, :, :, :, 1] = 0  # single person
    rotated = sd.BatchTransform(style="ctrgcn", train=True)
    plain = sd.BatchTransform(style="ctrgcn", train=True, rotate=False)

    a = rotated(x, lengths, torch.Generator().manual_seed(3)).x
    b = plain(x, lengths, torch.Generator().manual_seed(3)).x

    assert (a[0, :, :, :, 1] == 0).all()
    assert torch.allclose(a.norm(dim=1), b.norm(dim=1), atol=1e-5)
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("style", ["ctrgcn", "skateformer", "hypergcn"])
def test_seeded_generator_gives_identical_batches(style):
    x, lengths = _batch([30, 90, 200, 300, 64, 150])
    labels = torch.tensor([1, 1, 2, 2, 1, 2])
    t = sd.BatchTransform(style=style, train=True, modality="bone")

    a = t(x, lengths, torch.Generator().manual_seed(7), labels)
    b = t(x, lengths, torch.Generator().manual_seed(7), labels)
    c = t(x, lengths, torch.Generator().manual_seed(8), labels)

    assert torch.equal(a.x, b.x)
    assert not torch.equal(a.x, c.x)


def test_skateformer_train_samples_distinct_ordered_frames_in_crop():
    lengths = torch.tensor([100, 300, 40, 64] * 8)
    t = sd.BatchTransform(style="skateformer", train=True)

    plan = t.plan(lengths, torch.Generator().manual_seed(0))

    i0 = plan.frames[:, :64]
    long_ = lengths >= 64
    assert (i0[long_].diff(dim=1) > 0).all()  # window <= crop: distinct frames in order
    assert (plan.weight[long_] == 0).all()
    assert (plan.index_t >= -1).all() and (plan.index_t <= 1).all()
    assert (plan.frames < lengths[:, None]).all()


def test_skateformer_train_output_shape_and_augments_change_data():
    x, lengths = _batch([60, 120, 300, 90] * 4)
    labels = torch.arange(16) % 4
    aug = sd.BatchTransform(style="skateformer", train=True)
    none = sd.BatchTransform(style="skateformer", train=True, augment="", inter_p=0.0)

    a = aug(x, lengths, torch.Generator().manual_seed(2), labels)
    b = none(x, lengths, torch.Generator().manual_seed(2), labels)

    assert a.x.shape == (16, 3, 64, 24, 2) and a.index_t.shape == (16, 64)
    assert torch.equal(a.index_t, b.index_t)  # same temporal plan
    assert not torch.equal(a.x, b.x)


def test_skateformer_adain_takes_reference_bone_lengths():
    x, lengths = _batch([64, 64], t=64)
    ref_scale = 2.0
    x[1] = x[0] * ref_scale  # same class, same pose twice as large
    t = sd.BatchTransform(style="skateformer", train=True, augment="", intra_p=0.0, inter_p=1.0)

    out = t(x, lengths, torch.Generator().manual_seed(0), torch.tensor([5, 5]))
    plain = sd.BatchTransform(style="skateformer", train=False, p_interval=(1.0,))(x, lengths)

    # sample 0 rebuilt with sample 1's (doubled) bone lengths and root: equals sample 1
    assert torch.allclose(out.x[0], plain.x[1], atol=1e-4)


def test_hypergcn_joint_is_centred_on_joint_21_with_slot_20_absolute():
    x, lengths = _batch([64], t=64)
    ctr = sd.BatchTransform(style="ctrgcn", train=False, p_interval=(1.0,))(x, lengths).x
    hg = sd.BatchTransform(style="hypergcn", train=False, p_interval=(1.0,))(x, lengths).x

    assert torch.allclose(hg[:, :, :, 20], ctr[:, :, :, 20])
    assert torch.allclose(hg[:, :, :, 3], ctr[:, :, :, 3] - ctr[:, :, :, 20], atol=1e-6)


def test_hypergcn_bone_uses_hand_parents_and_absolute_slot_20():
    x, lengths = _batch([64], t=64)
    j = sd.BatchTransform(style="ctrgcn", train=False, p_interval=(1.0,))(x, lengths).x

    b = sd.BatchTransform(style="hypergcn", train=False, modality="bone", p_interval=(1.0,))(
        x, lengths
    ).x

    assert HYPERGCN_PARENT[21] == 7 and HYPERGCN_PARENT[24] == 11
    assert torch.allclose(b[:, :, :, 21], j[:, :, :, 21] - j[:, :, :, 7], atol=1e-6)
    assert torch.allclose(b[:, :, :, 20], j[:, :, :, 20])


def test_unknown_style_is_a_config_error():
    from skelab.errors import ConfigError

    with pytest.raises(ConfigError, match=r"(?s)data\.style.*fix:"):
        sd.BatchTransform(style="stgcn")
