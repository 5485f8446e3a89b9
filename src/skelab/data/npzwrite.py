"""Writing NPZ files: streamed member by member, atomic, in the Kaggle or the 5-D layout.

`NpzWriter` writes uncompressed members in chunks through `skelab.files.atomic_file`,
so a 20 GB conversion needs about one chunk of memory and an interrupted one leaves nothing
half-made. `save_kaggle_npz` writes arrays held in memory; `convert_npz` rewrites a file in the
other layout without changing a value.
"""

from __future__ import annotations

import contextlib
import zipfile
from pathlib import Path

import numpy as np

from skelab.data.formats import (
    FLAT_DIM,
    NUM_COORDS,
    NUM_JOINTS,
    NUM_PERSONS,
    Progress,
    check_label_range,
    infer_num_classes,
    inspect_npz,
    iter_x_chunks,
    labels_to_int,
    read_labels,
    to_nctvm,
    to_ntmvc,
    x_key,
    y_key,
)
from skelab.errors import DataFormatError
from skelab.files import atomic_file


class NpzWriter:
    """Write an uncompressed NPZ member by member, each member streamed in chunks.

    `with NpzWriter(path) as w:` writes through `skelab.files.atomic_file`: the file appears
    under its name only when the block ends without an error, so an interrupted write leaves
    nothing half-made.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stack = contextlib.ExitStack()
        self._zf: zipfile.ZipFile | None = None

    def begin(self, key: str, shape: tuple[int, ...], dtype: np.dtype) -> _MemberStream:
        if self._zf is None:
            raise RuntimeError("NpzWriter writes inside `with NpzWriter(path) as w:` only")
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

    def __enter__(self) -> NpzWriter:
        with contextlib.ExitStack() as stack:
            fh = stack.enter_context(atomic_file(self.path))
            self._zf = stack.enter_context(
                zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True)
            )
            self._stack = stack.pop_all()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # closes the zip (its central directory), then renames it into place, or on an error
        # removes the temporary file
        self._zf = None
        self._stack.__exit__(exc_type, exc, tb)


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
            check_label_range(
                path, y_key(split), labels, k, fix="pass num_classes large enough for every label"
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
            if to == "kaggle":
                shape = (n, t, FLAT_DIM)
            else:
                shape = (n, NUM_COORDS, t, NUM_JOINTS, NUM_PERSONS)
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
