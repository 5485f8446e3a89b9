"""`SkeletonDataset`: one split of NTU-style skeletons, backed by a memmap, never copied whole.

`skelab.data.load` (in `skelab.data.reader`) makes one from a prepared folder or an NPZ.

Reading frames: `read_frames` gathers whole frames with `np.take`, except from unaligned
storage. An uncompressed NPZ member memory-mapped in place sits at an unaligned offset
(`np.savez` puts `x_train` at byte 189), and there `np.take` falls back to a slow
element-by-element path (about 100 ms for 8,192 frames against 1-2 ms aligned). So unaligned
storage is gathered as raw bytes, one void element per frame, which has no alignment to
respect; the result is a fresh, aligned float32 array (about 3 ms).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from skelab.skeletons import NTU25, Skeleton
from skelab.skeletons import class_names as _class_names


class SkeletonDataset:
    """One split: `x` (N, 3, T, 25, 2) view, `y`, `lengths`, `persons` (N,) int64.

    `storage` is the backing array in its own layout: "NTCVM" (N, T, 3, 25, 2) for prepared
    folders, where one frame of one sample is 600 contiguous bytes already in the model's
    (C, V, M) order; "NTMVC" (N, T, 2, 25, 3) for a Kaggle NPZ; "NCTVM" (N, 3, T, 25, 2) for a
    5-D NPZ. `read_frames` gathers single frames from it, which is all the loader reads.
    """

    def __init__(
        self,
        *,
        storage: np.ndarray,
        layout: str,
        y: np.ndarray,
        lengths: np.ndarray,
        persons: np.ndarray,
        num_classes: int,
        path: str | Path,
        split: str,
        source_format: str,
        skeleton: Skeleton = NTU25,
    ) -> None:
        self.storage = storage
        self.skeleton = skeleton  # the joint layout and graph (`skelab.skeletons.Skeleton`)
        self.layout = layout
        self.y = y
        self.lengths = lengths
        self.persons = persons
        self.num_classes = int(num_classes)
        self.class_names = _class_names(self.num_classes)  # a prepared folder's own names
        self.channels = "xyz"  # or "xy-score": 2-D keypoints (x, y, score), from meta.json
        self.normalise = "none"  # how 2-D keypoints were normalised (`skelab.data.keypoints2d`)
        self.path = Path(path)
        self.split = split
        self.source_format = source_format

    @property
    def x(self) -> np.ndarray:
        """(N, C=3, T, V=25, M=2) view of the storage (no copy)."""
        if self.layout == "NTCVM":
            return self.storage.transpose(0, 2, 1, 3, 4)
        if self.layout == "NTMVC":
            return self.storage.transpose(0, 4, 1, 3, 2)
        return self.storage

    @property
    def num_frames(self) -> int:
        return int(self.storage.shape[2] if self.layout == "NCTVM" else self.storage.shape[1])

    def __len__(self) -> int:
        return int(self.storage.shape[0])

    def __repr__(self) -> str:
        return (
            f"SkeletonDataset({str(self.path)!r}, split={self.split!r}, n={len(self)}, "
            f"frames={self.num_frames}, classes={self.num_classes}, from={self.source_format})"
        )

    @cached_property
    def _table(self) -> np.ndarray:
        """The storage as a table of rows, a row being its innermost contiguous piece: a whole
        frame (NTCVM, NTMVC) or one coordinate of a frame (NCTVM). Unaligned storage is seen as
        raw bytes, one void element per row (see the module docstring)."""
        s = self.storage
        per_row = int(np.prod(s.shape[3:] if self.layout == "NCTVM" else s.shape[2:]))
        if s.flags.aligned:
            return s.reshape(-1, per_row)
        return s.reshape(-1).view(np.uint8).view(np.dtype((np.void, per_row * s.itemsize)))

    def _rows(self, index: np.ndarray) -> np.ndarray:
        """Rows `index` of `_table` as a fresh (len(index), values per row) array."""
        table = self._table
        if table.dtype.kind != "V":
            return np.take(table, index, axis=0)  # aligned: numpy's fastest gather
        return table[index].view(self.storage.dtype).reshape(len(index), -1)

    def read_frames(self, samples: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """Frame `frames[k]` of sample `samples[k]`, as one contiguous (K, C=3, V=25, M=2)
        float32 array; frames must be < `num_frames`. Nothing else is read."""
        samples = np.asarray(samples, dtype=np.int64).ravel()
        frames = np.asarray(frames, dtype=np.int64).ravel()
        s, k = self.storage, len(samples)
        if self.layout == "NCTVM":
            c, t = s.shape[1:3]
            rows = (samples[:, None] * c + np.arange(c)) * t + frames[:, None]  # (K, C)
            return self._rows(rows.ravel()).reshape(k, c, *s.shape[3:])
        got = self._rows(samples * s.shape[1] + frames)  # (K, values per frame)
        if self.layout == "NTCVM":
            return got.reshape(k, *s.shape[2:])
        m, v, c = s.shape[2:]  # NTMVC: reorder (M, V, C) -> (C, V, M) in one gather
        order = np.arange(m * v * c).reshape(m, v, c).transpose(2, 1, 0).ravel()
        return np.take(got, order, axis=1).reshape(k, c, v, m)
