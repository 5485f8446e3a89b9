"""Some samples of a dataset split, read in place, with the interface `BatchLoader` reads.

    part = sd.Subset(ds, positions)        # positions (int64) in `ds`, any order
    sd.BatchLoader(part, batch_size=64, train=True, transform=t)
    ds_position = part.positions[batch.index]

Used for the training hold-out (`engine/holdout.py`) and for the class subsets of zero-shot
backbones (`apps/zsl_features.py`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Subset:
    """Samples `positions` of a `SkeletonDataset` (or another Subset), nothing copied but the
    per-sample labels, lengths and person counts.

    The loader sees positions 0..len-1; `positions[i]` is sample i's position in `dataset`.
    Everything else a loader or a transform reads (classes, skeleton, path, split, frames)
    is the parent's."""

    def __init__(self, dataset: Any, positions: np.ndarray) -> None:
        self.dataset = dataset
        self.positions = np.asarray(positions, dtype=np.int64)
        self.y = np.asarray(dataset.y)[self.positions]
        self.lengths = np.asarray(dataset.lengths)[self.positions]
        self.persons = np.asarray(dataset.persons)[self.positions]
        self.num_classes = dataset.num_classes
        self.class_names = dataset.class_names
        self.num_frames = dataset.num_frames
        self.skeleton = dataset.skeleton
        self.channels = getattr(dataset, "channels", "xyz")
        self.path = dataset.path
        self.split = dataset.split

    @property
    def x(self) -> np.ndarray:
        """(n, C, T, V, M) copy of the samples (only the loader's no-transform path reads it)."""
        return np.asarray(self.dataset.x[self.positions])

    def __len__(self) -> int:
        return len(self.positions)

    def read_frames(self, samples: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """`dataset.read_frames` with the subset's sample positions mapped to the parent's."""
        return self.dataset.read_frames(self.positions[np.asarray(samples, np.int64)], frames)
