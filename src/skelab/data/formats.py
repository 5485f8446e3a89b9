"""NTU skeleton array files: detect, validate, stream and write them.

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
and a fix.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelab.errors import DataFormatError

SPLITS: tuple[str, ...] = ("train", "test")
NUM_JOINTS = 25
NUM_PERSONS = 2
NUM_COORDS = 3
FLAT_DIM = NUM_PERSONS * NUM_JOINTS * NUM_COORDS  # 150
CHUNK_BYTES = 64 * 2**20  # bytes of x read at a time when streaming

Progress = Callable[[int], None]  # called with the number of bytes just processed


def x_key(split: str) -> str:
    return f"x_{split}"


def y_key(split: str) -> str:
    return f"y_{split}"


# --------------------------------------------------------------------------------------------
# NPZ member index (headers only)


@dataclass(frozen=True)
class Member:
    """One `.npy` member of an NPZ: its header, and where its data starts in the file."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    compressed: bool
    data_offset: int | None  # absolute byte offset of the data in the NPZ (stored members only)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def _read_npy_header(fp, path: Path, key: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataFormatError(
            path,
            f"not a readable .npy array ({err})",
            key=key,
            fix="re-create the file with numpy.savez / `skelab data convert`",
        ) from err
    if dtype.hasobject:
        raise DataFormatError(
            path,
            "holds Python objects, not numbers",
            key=key,
            fix="save plain numeric arrays (numpy.savez of float32 / int64 arrays)",
        )
    return tuple(int(s) for s in shape), dtype, bool(fortran)


def _local_header_size(fh, offset: int) -> int:
    fh.seek(offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return -1
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return 30 + name_len + extra_len


def npz_members(path: str | Path) -> dict[str, Member]:
    """Headers of every `.npy` member of an NPZ, keyed without the `.npy` suffix."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, "no such file", fix="check the path")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise _truncation_error(path) or DataFormatError(
            path,
            f"not an NPZ (zip) file ({err})",
            fix="pass a .npz written by numpy.savez, or a folder made by `skelab data prepare`",
        ) from err
    members: dict[str, Member] = {}
    size = path.stat().st_size
    with zf, open(path, "rb") as raw:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            key = info.filename[: -len(".npy")]
            with zf.open(info) as fp:
                shape, dtype, fortran = _read_npy_header(fp, path, key)
                header_len = fp.tell() if info.compress_type == zipfile.ZIP_STORED else None
            offset = None
            if info.compress_type == zipfile.ZIP_STORED:
                local = _local_header_size(raw, info.header_offset)
                if local > 0:
                    offset = info.header_offset + local + header_len
            member = Member(key, shape, dtype, fortran, info.compress_type != 0, offset)
            if info.compress_type == zipfile.ZIP_STORED and info.file_size < header_len + (
                member.nbytes
            ):
                raise DataFormatError(
                    path,
                    f"holds {info.file_size - header_len:,} data bytes but its header "
                    f"{shape} {dtype} needs {member.nbytes:,}: the file is truncated or corrupt",
                    key=key,
                    fix="copy or download the file again",
                )
            if offset is not None and offset + member.nbytes > size:
                raise DataFormatError(
                    path,
                    f"ends {offset + member.nbytes - size:,} bytes early: the file is truncated",
                    key=key,
                    fix="copy or download the file again",
                )
            members[key] = member
    return members


def _truncation_error(path: Path) -> DataFormatError | None:
    """Walk the zip's local headers to name the member a truncated NPZ stops in."""
    size = path.stat().st_size
    last_key = None
    with open(path, "rb") as fh:
        offset = 0
        while offset + 30 <= size:
            fh.seek(offset)
            head = fh.read(30)
            if head[:4] != b"PK\x03\x04":
                break
            flags = struct.unpack("<H", head[6:8])[0]
            comp_size = struct.unpack("<I", head[18:22])[0]
            name_len, extra_len = struct.unpack("<HH", head[26:30])
            name = fh.read(name_len).decode("utf-8", "replace")
            extra = fh.read(extra_len)
            if comp_size == 0xFFFFFFFF:  # zip64: the real size is in the extra field
                pos = 0
                while pos + 4 <= len(extra):
                    tag, length = struct.unpack("<HH", extra[pos : pos + 4])
                    if tag == 1 and length >= 16:
                        comp_size = struct.unpack("<Q", extra[pos + 12 : pos + 20])[0]
                        break
                    pos += 4 + length
            last_key = name[:-4] if name.endswith(".npy") else name
            if flags & 0x08 and comp_size == 0:  # size only known after the data; cannot walk on
                break
            end = offset + 30 + name_len + extra_len + comp_size
            if end > size:
                return DataFormatError(
                    path,
                    f"the file ends {end - size:,} bytes before the end of this member: "
                    "it is truncated (an interrupted download or copy?)",
                    key=last_key,
                    fix="copy or download the file again",
                )
            offset = end + (16 if flags & 0x08 else 0)
    if last_key is not None:
        return DataFormatError(
            path,
            "the zip directory at the end of the file is missing: the file is truncated "
            "after the last member",
            key=last_key,
            fix="copy or download the file again",
        )
    return None


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
        num_classes = int(_read_small(path, "num_classes"))
    return NpzInfo(path, layouts.pop(), members, found, num_classes)


def _read_small(path: Path, key: str) -> np.ndarray:
    with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as fp:
        try:
            return np.lib.format.read_array(fp)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise DataFormatError(
                path, f"cannot be read ({err})", key=key, fix="copy or download the file again"
            ) from err


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
    return labels_to_int(src.path, src.y.key, _read_small(src.path, src.y.key))


def infer_num_classes(labels: list[np.ndarray], hint: int | None) -> int:
    """One-hot width or stored count if known, else max label + 1 rounded up to 60 or 120."""
    top = max((int(lab.max()) + 1 for lab in labels if lab.size), default=1)
    if hint is not None:
        return hint
    for n in (60, 120):
        if top <= n:
            return n
    return top


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
            _read_npy_header(fp, src.path, src.x.key)
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
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataFormatError(
            src.path,
            f"cannot be read past its start ({err}): the file is truncated or corrupt",
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


def value_error(path: Path, key: str, stats: ChunkStats, offset: int = 0) -> None:
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


def merge_stats(parts: list[ChunkStats]) -> ChunkStats:
    if not parts:
        z = np.zeros(0, np.int64)
        return ChunkStats(z, z.copy(), np.zeros(0, bool))
    return ChunkStats(
        np.concatenate([p.lengths for p in parts]),
        np.concatenate([p.persons for p in parts]),
        np.concatenate([p.nonfinite for p in parts]),
    )


# --------------------------------------------------------------------------------------------
# Writing NPZ files, streamed and atomic


class NpzWriter:
    """Write an uncompressed NPZ member by member, each member streamed in chunks.

    The file appears under its name only when `close()` succeeds (written to a temporary file in
    the same folder, then renamed), so an interrupted write leaves nothing half-made.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._zf = zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_STORED, allowZip64=True)
        self._open = None

    def begin(self, key: str, shape: tuple[int, ...], dtype: np.dtype) -> _MemberStream:
        dtype = np.dtype(dtype)
        header = {
            "descr": np.lib.format.dtype_to_descr(dtype),
            "fortran_order": False,
            "shape": tuple(int(s) for s in shape),
        }
        fp = self._zf.open(f"{key}.npy", "w", force_zip64=True)
        np.lib.format.write_array_header_1_0(fp, header)
        return _MemberStream(fp, dtype, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)

    def write(self, key: str, array: np.ndarray) -> None:
        array = np.asarray(array)
        with self.begin(key, array.shape, array.dtype) as out:
            out.write(array)

    def close(self) -> Path:
        self._zf.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        self._zf.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> NpzWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _MemberStream:
    def __init__(self, fp, dtype: np.dtype, nbytes: int) -> None:
        self.fp, self.dtype, self.expected, self.written = fp, dtype, nbytes, 0

    def write(self, chunk: np.ndarray) -> None:
        chunk = np.ascontiguousarray(chunk, dtype=self.dtype)
        self.fp.write(memoryview(chunk).cast("B"))
        self.written += chunk.nbytes

    def __enter__(self) -> _MemberStream:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.fp.close()
        if exc_type is None and self.written != self.expected:
            raise RuntimeError(f"wrote {self.written} bytes, header promised {self.expected}")


def one_hot(labels: np.ndarray, num_classes: int, dtype: np.dtype = np.float32) -> np.ndarray:
    out = np.zeros((len(labels), num_classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


def save_kaggle_npz(
    path: str | Path,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    num_classes: int | None = None,
) -> Path:
    """Write a Kaggle / CTR-GCN style NPZ: x (N, T, 150) float32, y one-hot float32.

    x may be given as (N, T, 150) or (N, T, 2, 25, 3); labels as integers (N,) or one-hot
    (N, K). `num_classes` sets the one-hot width for integer labels (default: the one-hot width
    if given, else max label + 1 rounded up to 60 or 120). Written uncompressed, like the
    upstream `np.savez`, through a temporary file renamed into place.
    """
    path = Path(path)
    ys = {}
    for key, y in (("y_train", y_train), ("y_test", y_test)):
        y = np.asarray(y)
        ys[key] = labels_to_int(path, key, y)
        if y.ndim == 2 and num_classes is None:
            num_classes = y.shape[1]
    k = infer_num_classes(list(ys.values()), num_classes)
    with NpzWriter(path) as w:
        for split, x in (("train", x_train), ("test", x_test)):
            x = np.asarray(x)
            if x.ndim == 5:
                x = x.reshape(x.shape[0], x.shape[1], FLAT_DIM)
            if x.ndim != 3 or x.shape[2] != FLAT_DIM:
                raise DataFormatError(
                    path,
                    f"shape {x.shape} is not (N, T, 150) or (N, T, 2, 25, 3)",
                    key=x_key(split),
                    fix="pass the Kaggle layout (N, T, 150)",
                )
            labels = ys[y_key(split)]
            if len(labels) != len(x):
                raise DataFormatError(
                    path,
                    f"has {len(labels)} labels for {len(x)} samples",
                    key=y_key(split),
                    fix="give x and y the same first dimension N",
                )
            if labels.size and labels.max() >= k:
                raise DataFormatError(
                    path,
                    f"label {int(labels.max())} >= num_classes {k}",
                    key=y_key(split),
                    fix="pass num_classes large enough for every label",
                )
            w.write(x_key(split), x.astype(np.float32, copy=False))
            w.write(y_key(split), one_hot(labels, k))
    return path


def convert_npz(
    src_path: str | Path,
    dst_path: str | Path,
    *,
    to: str,
    label_dtype: str = "float32",
    progress: Progress | None = None,
) -> Path:
    """Rewrite an NPZ in the other layout ("kaggle" or "5d"), streaming x; values are unchanged.

    kaggle -> 5d writes integer labels plus `num_classes`; 5d -> kaggle writes one-hot labels of
    `label_dtype` (float32 like the Kaggle download; upstream's own script writes float64).
    """
    if to not in ("kaggle", "5d"):
        raise DataFormatError(dst_path, f"unknown target layout {to!r}", fix="use kaggle or 5d")
    info = inspect_npz(src_path)
    labels = {s: read_labels(src) for s, src in info.splits.items()}
    k = infer_num_classes(list(labels.values()), info.num_classes)
    with NpzWriter(dst_path) as w:
        for split, src in info.splits.items():
            n, t = src.num_samples, src.num_frames
            shape = (n, t, FLAT_DIM) if to == "kaggle" else (n, NUM_COORDS, t, NUM_JOINTS, 2)
            with w.begin(x_key(split), shape, src.x.dtype) as out:
                for _, chunk in iter_x_chunks(src, progress=progress):
                    if to == "kaggle":
                        out.write(to_ntmvc(chunk, src.layout))
                    else:
                        out.write(to_nctvm(chunk, src.layout))
            if to == "kaggle":
                w.write(y_key(split), one_hot(labels[split], k, np.dtype(label_dtype)))
            else:
                w.write(y_key(split), labels[split])
        if to == "5d":
            w.write("num_classes", np.asarray(k, dtype=np.int64))
    return Path(dst_path)
