"""`load(path, split)`: open one split from a prepared folder or an NPZ, as a `SkeletonDataset`.

A prepared folder (`skelab data prepare`) opens in milliseconds and reads no sample data. An NPZ
in the Kaggle or 5-D layout is opened in place: its labels are read, and x is streamed once to
count valid frames and persons and to refuse NaN/inf and all-zero samples.

* An uncompressed x member is memory-mapped inside the zip, at whatever offset `np.savez` left
  it; `SkeletonDataset.read_frames` gathers from it at the speed of a prepared folder.
* A compressed (deflated) member cannot be memory-mapped: it is decompressed once into memory
  (a log line says so, with its size) and scanned there, so opening costs one decompression
  and the split's size in RAM. For files larger than memory, `skelab data prepare` it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from skelab.data import formats
from skelab.data.archive import Member, read_member
from skelab.data.dataset import SkeletonDataset
from skelab.data.prepared import open_prepared
from skelab.data.scan import scan_split
from skelab.errors import DataFormatError

log = logging.getLogger(__name__)


def load(path: str | Path, split: str = "train") -> SkeletonDataset:
    """Open one split of a prepared folder or an NPZ (Kaggle or 5-D layout)."""
    path = Path(path)
    if split not in formats.SPLITS:
        raise DataFormatError(
            path, f"unknown split {split!r}", fix=f"use one of {', '.join(formats.SPLITS)}"
        )
    if path.is_dir():
        return open_prepared(path, split)
    if not path.exists():
        raise DataFormatError(
            path,
            "no such file or folder",
            fix="pass an NPZ (Kaggle or 5-D layout) or a folder made by `skelab data prepare`",
        )
    return load_npz(path, split)


def _memmap(path: Path, m: Member) -> np.ndarray:
    if m.nbytes == 0:
        return np.zeros(m.shape, m.dtype)
    try:
        return np.memmap(path, dtype=m.dtype, mode="r", offset=m.data_offset, shape=m.shape)
    except (OSError, ValueError) as err:
        raise DataFormatError(
            path, f"cannot be memory-mapped ({err})", key=m.key, fix="copy the file again"
        ) from err


def _slices(x: np.ndarray, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    for start in range(0, len(x), rows):
        yield start, x[start : start + rows]


def load_npz(path: str | Path, split: str) -> SkeletonDataset:
    """Open one split of an NPZ: memory-map (or decompress) x, read labels, scan x once."""
    path = Path(path)
    info = formats.inspect_npz(path, splits=(split,))
    src = info.splits[split]
    labels = formats.read_labels(src)
    num_classes = formats.infer_num_classes([labels], info.num_classes)
    formats.check_label_range(
        path,
        src.y.key,
        labels,
        num_classes,
        fix="store a `num_classes` key or one-hot labels of the right width",
    )
    gb = src.x.nbytes / 2**30
    if src.x.data_offset is None:
        log.info(
            "%s: %s is compressed, so it cannot be memory-mapped; decompressing it once into "
            "memory (%.2f GB). `skelab data prepare` makes a folder that opens in milliseconds",
            path,
            src.x.key,
            gb,
        )
        try:
            storage = read_member(path, src.x.key)
        except MemoryError as err:
            raise DataFormatError(
                path,
                f"is compressed and needs {gb:.1f} GB of memory to decompress; this machine "
                "cannot allocate it",
                key=src.x.key,
                fix=f"skelab data prepare {path} {path.with_suffix('')} (streams it in chunks)",
            ) from err
        rows = max(1, formats.CHUNK_BYTES // max(src.sample_bytes, 1))
        stats = scan_split(src, chunks=_slices(storage, rows))
    else:
        if gb > 1:
            log.info(
                "%s: scanning %s (%.1f GB) for valid lengths; `skelab data prepare` does this "
                "once and opens in milliseconds",
                path,
                src.x.key,
                gb,
            )
        stats = scan_split(src)
        storage = _memmap(path, src.x)
    if storage.dtype != np.float32:
        storage = storage.astype(np.float32)
    if src.layout == "kaggle":
        n, t, _ = src.x.shape
        storage = storage.reshape(n, t, formats.NUM_PERSONS, formats.NUM_JOINTS, formats.NUM_COORDS)
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
