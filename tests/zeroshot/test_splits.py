"""The shipped SynSE splits: reference class indices, disjoint and complete."""

from __future__ import annotations

import pytest

from skelab.errors import ConfigError, UnknownNameError
from skelab.skeletons import NTU120_CLASSES
from skelab.zeroshot.splits import ZeroShotSplit, get_split, list_splits

# reference/zeroshot.md section 2.1 (ru*.npy and rv*_0.npy of MSF-GZSSAR / FS-VAE)
REFERENCE = {
    "ntu60-55/5": ([10, 11, 19, 26, 56], [16, 21, 25, 31, 48]),
    "ntu60-48/12": (
        [3, 5, 9, 12, 15, 40, 42, 47, 51, 56, 58, 59],
        [4, 8, 10, 13, 17, 22, 30, 33, 39, 46, 50, 54],
    ),
    "ntu120-110/10": (
        [4, 13, 37, 43, 49, 65, 88, 95, 99, 106],
        [5, 10, 32, 61, 72, 74, 76, 77, 83, 96],
    ),
    "ntu120-96/24": (
        [5, 9, 11, 16, 18, 20, 22, 29, 35, 39, 45, 49, 59, 68, 70, 81, 84, 87, 93, 94, 104, 113,
         114, 119],
        [1, 3, 4, 10, 17, 19, 27, 47, 48, 53, 58, 63, 66, 79, 83, 86, 89, 92, 97, 98, 100, 103,
         105, 108],
    ),
}  # fmt: skip


def test_shipped_splits_are_the_four_synse_benchmarks():
    assert list_splits() == list(REFERENCE)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_split_holds_the_reference_classes(name):
    split = get_split(name)

    assert list(split.unseen) == REFERENCE[name][0]
    assert list(split.val_unseen) == REFERENCE[name][1]


@pytest.mark.parametrize("name", list(REFERENCE))
def test_split_sets_are_disjoint_and_complete(name):
    s = get_split(name)
    every = set(range(s.num_classes))

    assert set(s.seen) | set(s.unseen) == every and not set(s.seen) & set(s.unseen)
    assert set(s.val_seen) | set(s.val_unseen) == set(s.seen)
    assert not set(s.val_seen) & set(s.val_unseen)
    assert len(s.val_unseen) == s.split_size
    assert len(s.val_seen) == s.num_classes - 2 * s.split_size


def test_split_sizes_name_the_upstream_folders():
    s = get_split("ntu120-96/24")

    assert (s.test_dir, s.val_dir) == ("shift_24_r", "shift_val_24_r")


def test_unseen_classes_of_55_5_are_the_named_actions():
    names = [NTU120_CLASSES[c] for c in get_split("ntu60-55/5").unseen]

    assert names == ["reading", "writing", "put on a hat/cap", "jump up",
                     "touch other person's pocket"]  # fmt: skip


def test_unknown_split_suggests_the_closest_name():
    with pytest.raises(UnknownNameError, match=r"(?s)ntu60-55/5.*fix:"):
        get_split("ntu60-55-5")


def test_split_rejects_validation_classes_that_are_unseen():
    with pytest.raises(ConfigError, match=r"(?s)overlaps.*fix:"):
        ZeroShotSplit(name="x", num_classes=10, unseen=(1, 2), val_unseen=(2, 3))
