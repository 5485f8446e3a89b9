"""A held-out part of the training split, for choosing ensemble weights without the test split.

With `data.holdout = f > 0`, round(f * N) samples of the N-sample training split are kept out
of training and scored whenever the test split is, into `scores/epoch_<N>_holdout.npz` (same
format as the test scores; `index` holds positions in the training split). `skelab ensemble
--search` picks fusion weights on these files only.

The held-out samples depend only on N and f (a fixed-seed permutation, not `train.seed`), so the
four streams of a model trained with different seeds still hold out the same samples and their
scores can be fused. The default is 0: the published recipes train on the whole split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_HOLDOUT_SEED = 20_240_601  # fixed: every run of the same split holds out the same samples


def holdout_positions(n: int, fraction: float) -> np.ndarray:
    """Sorted positions (int64) of the round(fraction * n) held-out samples of an n-sample split."""
    k = int(round(fraction * n))
    if k == 0:
        return np.zeros(0, np.int64)
    order = np.random.default_rng(_HOLDOUT_SEED).permutation(n)
    return np.sort(order[:k]).astype(np.int64)


class SplitPart:
    """Some samples of a `SkeletonDataset`, with the interface `skelab.data.BatchLoader` reads.

    `positions[i]` is sample i's position in the whole split; batches index the part (0..len-1)
    and `positions` maps them back."""

    def __init__(self, dataset: Any, positions: np.ndarray) -> None:
        self.dataset = dataset
        self.positions = np.asarray(positions, dtype=np.int64)
        self.y = dataset.y[self.positions]
        self.lengths = dataset.lengths[self.positions]
        self.persons = dataset.persons[self.positions]
        self.num_classes = dataset.num_classes
        self.class_names = dataset.class_names
        self.skeleton = dataset.skeleton
        self.path = dataset.path
        self.split = dataset.split
        self.num_frames = dataset.num_frames

    @property
    def x(self) -> np.ndarray:
        """(n, C, T, V, M), read from the whole split (a copy)."""
        return np.asarray(self.dataset.x[self.positions])

    def __len__(self) -> int:
        return len(self.positions)

    def read_frames(self, samples: np.ndarray, frames: np.ndarray) -> np.ndarray:
        return self.dataset.read_frames(self.positions[np.asarray(samples, np.int64)], frames)


def split_train(dataset: Any, fraction: float) -> tuple[Any, SplitPart | None]:
    """(the part to train on, the held-out part or None when `fraction` holds out nothing)."""
    held = holdout_positions(len(dataset), fraction)
    if len(held) == 0:
        return dataset, None
    keep = np.setdiff1d(np.arange(len(dataset), dtype=np.int64), held, assume_unique=True)
    return SplitPart(dataset, keep), SplitPart(dataset, held)
