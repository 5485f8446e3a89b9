"""Zero-shot backbone features: class subsets, the per-class hold-out, the classifier probe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from skelab.apps.zsl_features import find_classifier, hold_out, rows_of
from skelab.data.subset import Subset
from skelab.errors import SkelabError
from skelab.skeletons import NTU25


class FakeDataset:
    """The attributes of a SkeletonDataset the loader reads; frame k of sample i holds i."""

    def __init__(self, y):
        self.y = np.asarray(y, dtype=np.int64)
        self.lengths = np.full(len(y), 10, np.int64)
        self.persons = np.ones(len(y), np.int64)
        self.num_classes, self.class_names, self.num_frames = 6, tuple("abcdef"), 10
        self.path, self.split, self.skeleton = Path("fake.npz"), "train", NTU25

    def read_frames(self, samples, frames):
        return np.asarray(samples, np.float32)[:, None, None, None] * np.ones((1, 3, 25, 2))


def test_rows_of_a_class_subset_are_read_from_the_base_split():
    ds = FakeDataset([0, 1, 2, 3, 4, 5, 0, 1])
    view = Subset(ds, rows_of(ds.y, (1, 5)))

    frames = view.read_frames(np.array([0, 2]), np.array([0, 0]))

    assert len(view) == 3 and view.y.tolist() == [1, 5, 1]
    assert frames[:, 0, 0, 0].tolist() == [1.0, 7.0]  # positions 0 and 2 = rows 1 and 7


def test_hold_out_keeps_a_share_of_every_class_apart():
    labels = np.repeat(np.arange(3), 10)
    rows = np.arange(30)

    kept, held = hold_out(labels, rows, 0.2, seed=0)

    assert np.bincount(labels[held]).tolist() == [2, 2, 2]
    assert not set(kept) & set(held) and len(kept) + len(held) == 30
    assert np.array_equal(held, hold_out(labels, rows, 0.2, seed=0)[1])


def test_classifier_probe_finds_the_last_linear_or_1x1_conv():
    mlp = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 4))
    stgcn_like = nn.Sequential(nn.Conv2d(3, 16, 3), nn.Conv2d(16, 4, 1))

    assert find_classifier(mlp, 4) is mlp[2]
    assert find_classifier(stgcn_like, 4) is stgcn_like[1]
    with pytest.raises(SkelabError, match=r"(?s)no final nn\.Linear.*fix:"):
        find_classifier(nn.Sequential(nn.Conv2d(3, 4, 3)), 4)


def test_classifier_probe_captures_the_pooled_feature():
    mlp = nn.Sequential(nn.Linear(8, 5), nn.ReLU(), nn.Linear(5, 4))
    seen = []
    hook = find_classifier(mlp, 4).register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    x = torch.randn(2, 8)

    mlp(x)
    hook.remove()

    assert torch.equal(seen[0], torch.relu(mlp[0](x)))
