"""The built-in NTU-like data: layout, determinism, lengths, persons, bodies, centring."""

from __future__ import annotations

import numpy as np
import pytest

from skelab.errors import ConfigError
from skelab.skeletons import NTU60_MUTUAL, NTU_INWARD
from skelab.synth import make_ntu_like, synth_samples, synth_sequence


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    # 60 classes, so every run of 60 samples holds each class (mutual ones included) once.
    return make_ntu_like(num_classes=60, n_train=60, n_test=12, seed=7)


def _valid_lengths(x: np.ndarray) -> np.ndarray:
    """(N,) frames with any non-zero value, as upstream counts them; x is (N, T, 150)."""
    return (np.abs(x) > 0).any(axis=2).sum(axis=1)


def test_layout_is_the_kaggle_npz(data):
    assert sorted(data) == ["x_test", "x_train", "y_test", "y_train"]
    assert data["x_train"].shape == (60, 300, 150) and data["x_test"].shape == (12, 300, 150)
    assert data["y_train"].shape == (60, 60) and data["y_test"].shape == (12, 60)
    assert all(v.dtype == np.float32 for v in data.values())
    assert np.isfinite(data["x_train"]).all()


def test_labels_are_one_hot_and_balanced(data):
    y = data["y_train"]

    assert set(np.unique(y)) == {0.0, 1.0} and (y.sum(axis=1) == 1).all()
    assert (y.sum(axis=0) == 1).all()  # 60 samples, 60 classes: each exactly once


def test_same_seed_gives_identical_bytes_and_other_seeds_differ():
    a = make_ntu_like(num_classes=10, n_train=8, n_test=3, seed=3)
    b = make_ntu_like(num_classes=10, n_train=8, n_test=3, seed=3)
    c = make_ntu_like(num_classes=10, n_train=8, n_test=3, seed=4)

    assert all(a[k].tobytes() == b[k].tobytes() for k in a)
    assert not np.array_equal(a["x_train"], c["x_train"])


def test_chunking_and_prefixes_do_not_change_samples():
    whole, labels = synth_samples(0, 40, split="test", num_classes=12, seed=5)

    parts = [synth_samples(a, b, split="test", num_classes=12, seed=5) for a, b in
             ((0, 7), (7, 8), (8, 31), (31, 40))]  # fmt: skip

    assert np.concatenate([p[0] for p in parts]).tobytes() == whole.tobytes()
    assert np.array_equal(np.concatenate([p[1] for p in parts]), labels)


def test_train_and_test_splits_hold_different_samples(data):
    assert not np.array_equal(data["x_train"][:12], data["x_test"])


def test_valid_lengths_are_30_to_300_with_zeros_after(data):
    x = data["x_train"]
    lengths = _valid_lengths(x)

    assert lengths.min() >= 30 and lengths.max() <= 300
    assert len(np.unique(lengths)) > 20  # durations vary per sample
    for i, n in enumerate(lengths):
        assert (np.abs(x[i, :n]).sum(axis=1) > 0).all()  # no hole inside the sequence
        assert not x[i, n:].any()


def test_frames_option_bounds_lengths():
    x, _ = synth_samples(0, 20, num_classes=60, seed=1, frames=48)

    lengths = _valid_lengths(x.reshape(20, 48, 150))
    assert x.shape == (20, 48, 2, 25, 3) and lengths.min() >= 30 and lengths.max() <= 48


def test_second_person_is_zero_exactly_for_one_person_classes(data):
    x = data["x_train"].reshape(60, 300, 2, 25, 3)
    labels = data["y_train"].argmax(axis=1)
    mutual = np.isin(labels, NTU60_MUTUAL)
    lengths = _valid_lengths(data["x_train"])

    assert mutual.sum() == 11
    assert not x[~mutual, :, 1].any()
    for i in np.nonzero(mutual)[0]:
        assert (np.abs(x[i, : lengths[i], 1]).sum(axis=(1, 2)) > 0).all()


def test_centred_on_actor_one_spine_middle_in_frame_zero(data):
    x = data["x_train"].reshape(60, 300, 2, 25, 3)

    assert not x[:, 0, 0, 1].any()  # joint 2 of actor 1 in frame 0 is exactly the origin
    assert np.abs(x[:, 0, 0]).max() < 1.2  # the rest of the body is around it, in metres


def _bone_lengths(x: np.ndarray) -> np.ndarray:
    """(..., 24) joint-to-parent distances of (..., 25, 3) joints."""
    child, parent = np.array(NTU_INWARD).T
    return np.linalg.norm(x[..., child, :] - x[..., parent, :], axis=-1)


def test_bones_keep_their_length_over_time_up_to_noise(data):
    x = data["x_train"].reshape(60, 300, 2, 25, 3)
    lengths = _valid_lengths(data["x_train"])
    trunk_and_limbs = [i for i, (c, _) in enumerate(NTU_INWARD) if c not in (21, 22, 23, 24)]

    spread = np.stack([_bone_lengths(x[i, : lengths[i], 0]).std(axis=0) for i in range(60)])

    assert np.median(spread[:, trunk_and_limbs]) < 0.015  # metres; noise only
    assert np.median(spread) < 0.03  # hand tips and thumbs are the noisiest, as on a Kinect


def test_bone_lengths_are_realistic_and_vary_across_subjects(data):
    x = data["x_train"].reshape(60, 300, 2, 25, 3)
    bones = np.median(_bone_lengths(x[:, :30, 0]), axis=1)  # (60, 24) per subject
    names = {(c, p): i for i, (c, p) in enumerate(NTU_INWARD)}
    upper_arm, thigh, spine = names[(5, 4)], names[(13, 12)], names[(0, 1)]

    assert 0.18 < bones[:, upper_arm].mean() < 0.33
    assert 0.26 < bones[:, thigh].mean() < 0.40
    assert 0.20 < bones[:, spine].mean() < 0.34
    assert bones.min() > 0.01 and bones.max() < 0.50
    assert bones[:, thigh].std() > 0.01  # subjects of different sizes


def test_uncentred_sequence_sits_2_5_to_4_m_from_the_camera_with_y_up():
    seq = synth_sequence(22, seed=2, centred=False)  # hand waving
    body = seq[0, 0]

    assert 2.3 < body[1, 2] < 4.2  # depth of the spine middle
    assert body[3, 1] > body[1, 1] > body[0, 1] > body[14, 1]  # head > spine > base > ankle


def test_classes_move_differently():
    # Same subject and camera draws (same sample slot and seed), two classes: the sequences
    # differ in how the joints move, not only in noise.
    wave = synth_sequence(22, seed=11)
    kick = synth_sequence(23, seed=11)
    hand, foot = 11, 19

    def travel(seq: np.ndarray, joint: int) -> float:
        path = seq[:, 0, joint]
        path = path[np.abs(seq[:, 0]).sum(axis=(1, 2)) > 0]
        return float(np.linalg.norm(path.max(axis=0) - path.min(axis=0)))

    assert travel(wave, hand) > 2 * travel(kick, hand)
    assert travel(kick, foot) > 2 * travel(wave, foot)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 121}, "num_classes"),
        ({"n_train": -1}, "n_train"),
        ({"frames": 29}, "frames"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_raise_config_errors_with_a_fix(kwargs, key):
    args = {"num_classes": 60, "n_train": 2, "n_test": 1, **kwargs}

    with pytest.raises(ConfigError, match=rf"(?s){key}:.*fix:"):
        make_ntu_like(**args)


def test_every_one_of_the_120_classes_has_its_own_script():
    from skelab.synth.scripts import class_tables

    t = class_tables()
    scripts = np.concatenate(
        [t.base, t.st0, t.sw, t.sdelta.reshape(len(t.base), -1), t.ot0, t.ohz,
         t.oamp.reshape(len(t.base), -1)], axis=1,
    ).reshape(120, -1)  # fmt: skip

    assert len(np.unique(scripts.round(6), axis=0)) == 120
