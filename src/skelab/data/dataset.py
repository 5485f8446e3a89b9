"""`SkeletonDataset`: one split of NTU-style skeletons, backed by a memmap, never copied whole.

`load(path, split)` opens a prepared folder (`skelab data prepare`, milliseconds, reads no
sample data) or an NPZ in the Kaggle or 5-D layout. An uncompressed NPZ member is memory-mapped
in place inside the zip; a compressed one has to be decompressed into memory. Opening an NPZ
streams x once to count valid frames and persons and to check values, so for the full NTU
files prefer a prepared folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from skelab.data import formats
from skelab.errors import DataFormatError
from skelab.skeletons import class_names as _class_names

log = logging.getLogger(__name__)


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
    ) -> None:
        self.storage = storage
        self.layout = layout
        self.y = y
        self.lengths = lengths
        self.persons = persons
        self.num_classes = int(num_classes)
        self.class_names = _class_names(self.num_classes)
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

    def read_frames(self, samples: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """Frame `frames[k]` of sample `samples[k]`, as one contiguous (K, C=3, V=25, M=2)
        float32 array; frames must be < `num_frames`. Nothing else is read."""
        samples = np.asarray(samples, dtype=np.int64).ravel()
        frames = np.asarray(frames, dtype=np.int64).ravel()
        if self.layout == "NCTVM":
            return self.storage[samples, :, frames]  # (K, C, V, M), advanced indices first
        n, t = self.storage.shape[:2]
        flat = self.storage.reshape(n * t, formats.FLAT_DIM)
        out = np.asarray(np.take(flat, samples * t + frames, axis=0))  # (K, 150), one copy
        if self.layout == "NTCVM":
            return out.reshape(-1, 3, 25, 2)
        return np.ascontiguousarray(out.reshape(-1, 2, 25, 3).transpose(0, 3, 2, 1))


def load(path: str | Path, split: str = "train") -> SkeletonDataset:
    """Open one split of a prepared folder or an NPZ (Kaggle or 5-D layout)."""
    from skelab.data import prepared

    path = Path(path)
    if split not in formats.SPLITS:
        raise DataFormatError(
            path, f"unknown split {split!r}", fix=f"use one of {', '.join(formats.SPLITS)}"
        )
    if path.is_dir():
        return prepared.open_prepared(path, split)
    if not path.exists():
        raise DataFormatError(
            path,
            "no such file or folder",
            fix="pass an NPZ (Kaggle or 5-D layout) or a folder made by `skelab data prepare`",
        )
    return load_npz(path, split)


def _map_member(path: Path, m: formats.Member) -> np.ndarray:
    if m.data_offset is not None:
        if m.nbytes == 0:
            return np.zeros(m.shape, m.dtype)
        return np.memmap(path, dtype=m.dtype, mode="r", offset=m.data_offset, shape=m.shape)
    log.info(
        "%s: %s is compressed; decompressing it into memory (prepare the file to avoid this)",
        path,
        m.key,
    )
    return formats._read_small(path, m.key)


def load_npz(path: str | Path, split: str) -> SkeletonDataset:
    """Open one split of an NPZ: memory-map x, read labels, scan x once for lengths and values."""
    path = Path(path)
    info = formats.inspect_npz(path, splits=(split,))
    src = info.splits[split]
    labels = formats.read_labels(src)
    num_classes = formats.infer_num_classes([labels], info.num_classes)
    if labels.size and labels.max() >= num_classes:
        raise DataFormatError(
            path,
            f"label {int(labels.max())} >= num_classes {num_classes}",
            key=src.y.key,
            fix="store a `num_classes` key or one-hot labels of the right width",
        )
    if src.x.nbytes > 2**30:
        log.info(
            "%s: scanning %s (%.1f GB) for valid lengths; `skelab data prepare` does this "
            "once and opens in milliseconds",
            path,
            src.x.key,
            src.x.nbytes / 2**30,
        )
    parts = []
    for start, chunk in formats.iter_x_chunks(src):
        stats = formats.scan_chunk(formats.to_ntmvc(chunk, src.layout))
        formats.value_error(path, src.x.key, stats, offset=start)
        parts.append(stats)
    stats = formats.merge_stats(parts)
    storage = _map_member(path, src.x)
    if src.x.dtype != np.float32:
        storage = storage.astype(np.float32)
    if src.layout == "kaggle":
        n, t, _ = src.x.shape
        storage = storage.reshape(n, t, 2, 25, 3)
        layout = "NTMVC"
    else:
        layout = "NCTVM"
    return SkeletonDataset(
        storage=storage,
        layout=layout,
        y=labels,
        lengths=stats.lengths,
        persons=stats.persons,
        num_classes=num_classes,
        path=path,
        split=split,
        source_format=src.layout,
    )
