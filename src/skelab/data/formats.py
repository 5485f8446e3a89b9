"""NTU skeleton array files: detect their layout, validate them and stream them.

Two NPZ layouts are understood, both with the keys `x_train`, `y_train`, `x_test`, `y_test`:

* **kaggle** (the CTR-GCN / SGN `NTU60_CS.npz`, also sold on Kaggle): x is (N, T, 150) float32,
  150 = 2 persons x 25 joints x 3 coordinates, so a plain reshape gives (N, T, M=2, V=25, C=3);
  y is one-hot (N, num_classes), float32 or float64. Integer labels (N,) are accepted too.
  Facts from CTR-GCN `data/ntu/seq_transformation.py` (reference/ntu-data.md §4.5).
* **5d** (the original lab's `skeleton5d` file): the same tensor as (N, C=3, T, V=25, M=2) with
  integer labels (N,). The lab's README does not list its key names; it calls the file "the
  same tensor and labels", so skelab reads and writes the same four key names. skelab also
  stores a scalar `num_classes` in the 5d files it writes, so that kaggle -> 5d -> kaggle gives
  back the one-hot width exactly; a 5d file without it gets max(label) + 1 rounded up to 60 or 120.

Nothing here loads a whole array: headers are parsed from the zip members, and data is streamed
in chunks of samples through the member's file object, so a 20 GB NTU120 file needs about one
chunk of memory. Every problem raises `DataFormatError` naming the file, the key, the problem
and a fix, and so does any damage the zip or npy readers run into (see `reading`).

Writing NPZ files lives in `skelab.data.npzwrite`; per-sample value scans in `skelab.data.scan`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelab.data.archive import (
    READ_ERRORS,
    Member,
    npz_members,
    read_member,
    read_npy_header,
)
from skelab.errors import DataFormatError
from skelab.skeletons import NUM_JOINTS, NUM_PERSONS

SPLITS: tuple[str, ...] = ("train", "test")
NUM_COORDS = 3
FLAT_DIM = NUM_PERSONS * NUM_JOINTS * NUM_COORDS  # 150
CHUNK_BYTES = 64 * 2**20  # bytes of x read at a time when streaming
MAX_CLASSES = 10_000  # a label or class count above this is damage, not a dataset

Progress = Callable[[int], None]  # called with the number of bytes just processed


def x_key(split: str) -> str:
    return f"x_{split}"


def y_key(split: str) -> str:
    return f"y_{split}"


# --------------------------------------------------------------------------------------------
# Layout detection


@dataclass(frozen=True)
class SplitSource:
    """Where one split's arrays live in an NPZ, and in which layout."""

    path: Path
    split: str
    layout: str  # "kaggle" (N, T, 150) or "5d" (N, 3, T, 25, 2)
    x: Member
    y: Member

    @property
    def num_samples(self) -> int:
        return self.x.shape[0]

    @property
    def num_frames(self) -> int:
        return self.x.shape[1] if self.layout == "kaggle" else self.x.shape[2]

    @property
    def sample_bytes(self) -> int:
        return self.x.nbytes // max(self.num_samples, 1)


@dataclass(frozen=True)
class NpzInfo:
    path: Path
    layout: str
    members: dict[str, Member]
    splits: dict[str, SplitSource]
    num_classes: int | None  # from the one-hot width or a stored `num_classes`; None if unknown


def _layout_of(path: Path, m: Member) -> str:
    if m.dtype.kind not in "fiu":
        raise DataFormatError(
            path,
            f"dtype {m.dtype} is not numeric",
            key=m.key,
            fix="store joint coordinates as float32",
        )
    if len(m.shape) == 3:
        if m.shape[2] != FLAT_DIM:
            raise DataFormatError(
                path,
                f"shape {m.shape}: last dimension is {m.shape[2]}, expected 150 "
                "(2 persons x 25 joints x 3 coordinates)",
                key=m.key,
                fix="reshape to (N, T, 150) with the person, then joint, then xyz order; "
                "a 5-D file must be (N, 3, T, 25, 2)",
            )
        return "kaggle"
    if len(m.shape) == 5:
        if (m.shape[1], m.shape[3], m.shape[4]) != (NUM_COORDS, NUM_JOINTS, NUM_PERSONS):
            raise DataFormatError(
                path,
                f"shape {m.shape} is not (N, 3, T, 25, 2)",
                key=m.key,
                fix="transpose to (N, C=3, T, V=25, M=2), or save it as (N, T, 150)",
            )
        return "5d"
    raise DataFormatError(
        path,
        f"{len(m.shape)} axes {m.shape}, expected (N, T, 150) or (N, 3, T, 25, 2)",
        key=m.key,
        fix="save x as (N, T, 150) (Kaggle / CTR-GCN) or (N, 3, T, 25, 2)",
    )


def inspect_npz(path: str | Path, splits: tuple[str, ...] = SPLITS) -> NpzInfo:
    """Detect the layout of an NPZ from its headers; check keys, shapes and sample counts."""
    path = Path(path)
    members = npz_members(path)
    found: dict[str, SplitSource] = {}
    for split in splits:
        xk, yk = x_key(split), y_key(split)
        for k in (xk, yk):
            if k not in members:
                raise DataFormatError(
                    path,
                    f"missing; the file has keys {sorted(members)}",
                    key=k,
                    fix="an NTU NPZ needs x_train, y_train, x_test and y_test "
                    "(see `skelab data inspect`)",
                )
        xm, ym = members[xk], members[yk]
        layout = _layout_of(path, xm)
        if xm.fortran_order:
            raise DataFormatError(
                path,
                "is stored in Fortran order",
                key=xk,
                fix="save a C-ordered array (numpy.ascontiguousarray) with numpy.savez",
            )
        if len(ym.shape) not in (1, 2) or ym.dtype.kind not in "fiub":
            raise DataFormatError(
                path,
                f"labels of shape {ym.shape} and dtype {ym.dtype}: expected one-hot "
                "(N, num_classes) or integer (N,)",
                key=yk,
                fix="store labels as one-hot rows or as integers 0..num_classes-1",
            )
        if ym.shape[0] != xm.shape[0]:
            raise DataFormatError(
                path,
                f"has {ym.shape[0]} labels but {xk} has {xm.shape[0]} samples",
                key=yk,
                fix=f"give {xk} and {yk} the same first dimension N",
            )
        found[split] = SplitSource(path, split, layout, xm, ym)
    layouts = {s.layout for s in found.values()}
    if len(layouts) > 1:
        raise DataFormatError(
            path,
            f"mixes layouts across splits ({sorted(layouts)})",
            key=x_key(splits[-1]),
            fix="store every split in the same layout (`skelab data convert`)",
        )
    num_classes = None
    widths = {s.y.shape[1] for s in found.values() if len(s.y.shape) == 2}
    if len(widths) > 1:
        raise DataFormatError(
            path,
            f"one-hot widths differ between splits: {sorted(widths)}",
            key=y_key(splits[-1]),
            fix="encode every split with the same number of classes",
        )
    if widths:
        num_classes = widths.pop()
    elif "num_classes" in members:
        stored = read_member(path, "num_classes")
        if stored.shape != () or stored.dtype.kind not in "iu" or not 1 <= stored <= MAX_CLASSES:
            raise DataFormatError(
                path,
                f"must be one integer in 1..{MAX_CLASSES}, got {stored.dtype} {stored.shape} "
                f"{stored.ravel()[:3].tolist()}",
                key="num_classes",
                fix="store numpy.asarray(number_of_classes, dtype=numpy.int64)",
            )
        num_classes = int(stored)
    return NpzInfo(path, layouts.pop(), members, found, num_classes)


# --------------------------------------------------------------------------------------------
# Labels


def labels_to_int(path: str | Path, key: str, y: np.ndarray) -> np.ndarray:
    """One-hot rows or integer labels -> (N,) int64, with a clear error for anything else."""
    if y.ndim == 2:
        if not np.isfinite(y).all():
            raise DataFormatError(
                path, "labels contain NaN or inf", key=key, fix="re-create the label array"
            )
        ones = (y == 1).sum(axis=1)
        zeros = (y == 0).sum(axis=1)
        bad = np.flatnonzero((ones != 1) | (ones + zeros != y.shape[1]))
        if bad.size:
            row = y[bad[0]]
            shown = np.unique(row)[:5].tolist()
            raise DataFormatError(
                path,
                f"labels are not one-hot: {bad.size} of {len(y)} rows do not hold exactly "
                f"one 1 and zeros elsewhere (first: row {bad[0]}, values {shown})",
                key=key,
                fix="store one-hot rows (numpy.eye(num_classes)[labels]) or integer labels (N,)",
            )
        return np.argmax(y, axis=1).astype(np.int64)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.array_equal(y, np.round(y)):
            raise DataFormatError(
                path,
                "1-D labels must be whole numbers",
                key=key,
                fix="store integer class indices 0..num_classes-1",
            )
    labels = y.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise DataFormatError(
            path,
            f"negative label {int(labels.min())}",
            key=key,
            fix="use 0-based class indices 0..num_classes-1",
        )
    return labels


def read_labels(src: SplitSource) -> np.ndarray:
    """The split's labels as (N,) int64 (labels are small: read whole)."""
    return labels_to_int(src.path, src.y.key, read_member(src.path, src.y.key))


def infer_num_classes(labels: list[np.ndarray], hint: int | None) -> int:
    """One-hot width or stored count if known, else max label + 1 rounded up to 60 or 120."""
    top = max((int(lab.max()) + 1 for lab in labels if lab.size), default=1)
    if hint is not None:
        return hint
    for n in (60, 120):
        if top <= n:
            return n
    return min(top, MAX_CLASSES)  # a larger label fails `check_label_range`


def check_label_range(
    path: str | Path, key: str, labels: np.ndarray, num_classes: int, *, fix: str
) -> None:
    """Every label is below `num_classes` (labels are already known to be >= 0)."""
    if labels.size and labels.max() >= num_classes:
        bad = int(np.count_nonzero(labels >= num_classes))
        raise DataFormatError(
            path,
            f"label {int(labels.max())} >= num_classes {num_classes} ({bad} of {labels.size} "
            "labels out of range)",
            key=key,
            fix=fix,
        )


# --------------------------------------------------------------------------------------------
# Streaming x


def iter_x_chunks(
    src: SplitSource, *, chunk_bytes: int = CHUNK_BYTES, progress: Progress | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first sample index, chunk) over a split's x, chunk in the file's own layout.

    The member is read through its zip file object, `chunk_bytes` at a time, so memory stays at
    about one chunk whatever the file size; a short read names the member as truncated.
    """
    n = src.num_samples
    row_shape = src.x.shape[1:]
    row_bytes = src.sample_bytes
    rows = max(1, chunk_bytes // max(row_bytes, 1))
    try:
        with zipfile.ZipFile(src.path) as zf, zf.open(f"{src.x.key}.npy") as fp:
            read_npy_header(fp, src.path, src.x.key)
            for start in range(0, n, rows):
                count = min(rows, n - start)
                want = count * row_bytes
                buf = fp.read(want)
                if len(buf) != want:
                    raise DataFormatError(
                        src.path,
                        f"data stops at sample {start + len(buf) // row_bytes} of {n}: "
                        "the file is truncated",
                        key=src.x.key,
                        fix="copy or download the file again",
                    )
                chunk = np.frombuffer(buf, dtype=src.x.dtype).reshape((count, *row_shape))
                if progress is not None:
                    progress(want)
                yield start, chunk
    except READ_ERRORS as err:
        raise DataFormatError(
            src.path,
            f"cannot be read past its start ({type(err).__name__}: {err}): the file is "
            "truncated or corrupt",
            key=src.x.key,
            fix="copy or download the file again",
        ) from err


def to_ntmvc(chunk: np.ndarray, layout: str) -> np.ndarray:
    """A chunk in either layout as a (n, T, M, V, C) view (no copy for kaggle)."""
    if layout == "kaggle":
        n, t, _ = chunk.shape
        return chunk.reshape(n, t, NUM_PERSONS, NUM_JOINTS, NUM_COORDS)
    return chunk.transpose(0, 2, 4, 3, 1)


def to_nctvm(chunk: np.ndarray, layout: str) -> np.ndarray:
    """A chunk in either layout as a (n, C, T, V, M) view."""
    if layout == "5d":
        return chunk
    return to_ntmvc(chunk, layout).transpose(0, 4, 1, 3, 2)
