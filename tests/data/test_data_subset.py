"""Subset: some samples of a split, read in place, seen by BatchLoader as a split of its own."""

from __future__ import annotations

import numpy as np
import pytest

import skelab.data as sd
from skelab.data.npzwrite import save_kaggle_npz


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    n, t = 12, 20
    x = rng.normal(size=(n, t, 150)).astype(np.float32)
    y = np.arange(n) % 4
    save_kaggle_npz(tmp_path / "s.npz", x, y, x[:4], y[:4])
    return sd.load(tmp_path / "s.npz", "train")


def test_subset_carries_the_parents_rows_and_split_attributes(dataset):
    positions = np.array([7, 2, 9])

    part = sd.Subset(dataset, positions)

    assert len(part) == 3 and part.positions.dtype == np.int64
    assert part.y.tolist() == np.asarray(dataset.y)[positions].tolist()
    assert np.array_equal(part.lengths, np.asarray(dataset.lengths)[positions])
    assert np.array_equal(part.persons, np.asarray(dataset.persons)[positions])
    assert np.array_equal(part.x, dataset.x[positions])
    for name in ("num_classes", "class_names", "num_frames", "skeleton", "path", "split"):
        assert getattr(part, name) == getattr(dataset, name)


def test_subset_frame_reads_are_the_parents_reads_of_its_rows(dataset):
    part = sd.Subset(dataset, np.array([5, 0, 11, 3]))
    samples, frames = np.array([0, 2, 2, 3]), np.array([0, 4, 19, 7])

    got = part.read_frames(samples, frames)

    assert np.array_equal(got, dataset.read_frames(np.array([5, 11, 11, 3]), frames))


def test_subset_of_a_subset_maps_back_to_the_first_parent(dataset):
    inner = sd.Subset(dataset, np.array([10, 4, 6, 1]))

    outer = sd.Subset(inner, np.array([3, 0]))

    assert np.array_equal(outer.read_frames(np.array([0, 1]), np.array([2, 2])),
                          dataset.read_frames(np.array([1, 10]), np.array([2, 2])))  # fmt: skip


@pytest.mark.parametrize("transform", [None, "ctrgcn"])
def test_batch_loader_over_a_subset_gives_the_parents_samples(dataset, transform):
    positions = np.array([8, 1, 4, 10, 3])

    def batches(ds):
        t = sd.BatchTransform(style=transform, train=False) if transform else None
        return list(sd.BatchLoader(ds, batch_size=2, train=False, transform=t))

    got = batches(sd.Subset(dataset, positions))
    whole = {
        int(i): (x, y) for b in batches(dataset) for i, x, y in zip(b.index, b.x, b.y, strict=True)
    }

    assert sum(len(b.index) for b in got) == len(positions)
    for b in got:
        for i, x, y in zip(b.index, b.x, b.y, strict=True):
            want_x, want_y = whole[int(positions[int(i)])]
            assert int(y) == int(want_y) and np.array_equal(x.numpy(), want_x.numpy())
