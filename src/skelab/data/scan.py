"""Per-sample facts of a split's x, found in one streamed pass: valid lengths, persons, bad values.

`scan_split` is the one loop every reader of an NPZ runs (`skelab.data.load` on an NPZ,
`prepare`, `skelab data inspect`): chunk by chunk, in the file's own layout, with a check that
refuses NaN/inf and all-zero samples where the data is about to be used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelab.data.formats import NUM_PERSONS, Progress, SplitSource, iter_x_chunks, to_ntmvc
from skelab.errors import DataFormatError


@dataclass
class ChunkStats:
    """Per-sample facts computed while streaming, and any value problems found."""

    lengths: np.ndarray  # (n,) int64 valid frames
    persons: np.ndarray  # (n,) int64 non-empty person slots
    nonfinite: np.ndarray  # (n,) bool: sample holds NaN or inf

    @property
    def empty(self) -> np.ndarray:
        return self.lengths == 0


def scan_chunk(ntmvc: np.ndarray) -> ChunkStats:
    """Valid length, person count and NaN/inf flags of a (n, T, M, V, C) chunk.

    A frame is valid when any of its values is non-zero. Upstream (CTR-GCN `valid_crop_resize`)
    tests whether the frame's *sum* is non-zero; the two differ only when non-zero values cancel
    exactly, which real recordings do not do.
    """
    n, t = ntmvc.shape[:2]
    flat = ntmvc.reshape(n, t, NUM_PERSONS, -1)
    nz = flat != 0  # (n, T, M, V*C)
    per_person_frame = nz.any(axis=3)  # (n, T, M)
    lengths = per_person_frame.any(axis=2).sum(axis=1).astype(np.int64)
    persons = per_person_frame.any(axis=1).sum(axis=1).astype(np.int64)
    # A NaN/inf anywhere makes the frame sum non-finite; overflow to inf is also a bad value.
    sums = flat.sum(axis=(1, 2, 3), dtype=np.float64)
    nonfinite = ~np.isfinite(sums)
    return ChunkStats(lengths, persons, nonfinite)


def _value_error(path: Path, key: str, stats: ChunkStats, offset: int) -> None:
    """Raise for NaN/inf or all-zero samples found by `scan_chunk`."""
    bad = np.flatnonzero(stats.nonfinite)
    if bad.size:
        raise DataFormatError(
            path,
            f"NaN or inf values in {bad.size} sample(s), first at sample {offset + int(bad[0])}",
            key=key,
            fix="replace or drop those samples before use (e.g. numpy.nan_to_num)",
        )
    empty = np.flatnonzero(stats.empty)
    if empty.size:
        raise DataFormatError(
            path,
            f"{empty.size} all-zero sequence(s) with no valid frame, first at sample "
            f"{offset + int(empty[0])}",
            key=key,
            fix="drop those samples from x and y; a sequence needs at least one non-zero frame",
        )


def scan_split(
    src: SplitSource,
    *,
    check: bool = True,
    chunks: Iterable[tuple[int, np.ndarray]] | None = None,
    each: Callable[[int, np.ndarray], None] | None = None,
    progress: Progress | None = None,
) -> ChunkStats:
    """Stream a split's x once and return the facts of every sample.

    `check` raises `DataFormatError` (file, key, first bad sample) on NaN/inf or all-zero
    samples; without it they are only flagged (what `skelab data inspect` reports). `chunks`
    replaces the streamed read with (first sample, chunk) pairs already in memory, and
    `each(first sample, (n, T, M, V, C) chunk)` sees every chunk after its check.
    """
    parts = []
    for start, chunk in iter_x_chunks(src, progress=progress) if chunks is None else chunks:
        ntmvc = to_ntmvc(chunk, src.layout)
        stats = scan_chunk(ntmvc)
        if check:
            _value_error(src.path, src.x.key, stats, start)
        if each is not None:
            each(start, ntmvc)
        parts.append(stats)
    if not parts:
        z = np.zeros(0, np.int64)
        return ChunkStats(z, z.copy(), np.zeros(0, bool))
    return ChunkStats(
        np.concatenate([p.lengths for p in parts]),
        np.concatenate([p.persons for p in parts]),
        np.concatenate([p.nonfinite for p in parts]),
    )
