"""Write a prepared folder (the format `skelab.data.prepared` reads) from streamed chunks.

`write_prepared` is the one writer of prepared folders: `prepare` (an NPZ of NTU arrays), raw
NTU `.skeleton` files (`prepare-raw`) and the importers (NW-UCLA, Kinetics-Skeleton, a folder
of arrays) all hand it their samples chunk by chunk, in any joint layout and person count. It
writes the npy files with their sha256 and meta.json (the joint layout under `skeleton`) into
a temporary folder that `skelab.files.atomic_dir` swaps into place only once it is whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelab.errors import DataFormatError
from skelab.files import atomic_dir
from skelab.skeletons import Skeleton

FORMAT = "skelab-prepared"
VERSION = 1
LAYOUT = "NTCVM"
LAYOUT_AXES = "N, T, C, V (joints), M (persons)"
CHANNELS = ("xyz", "xy-score")  # meta.json `channels`; folders without the key hold xyz


@dataclass
class SplitStream:
    """One split to write: its shape, x chunks (n, T, C, V, M) float32 in order, and labels."""

    shape: tuple[int, int, int, int, int]  # (N, T, C, V, M)
    chunks: Iterable[np.ndarray]
    labels: np.ndarray  # (N,) int64, 0-based


class _HashingWriter:
    """A binary file that hashes what is written to it."""

    def __init__(self, path: Path) -> None:
        self.fh = open(path, "wb")
        self.sha = hashlib.sha256()

    def write(self, data) -> None:
        self.sha.update(data)
        self.fh.write(data)

    def close(self) -> str:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        return "sha256:" + self.sha.hexdigest()


def _write_npy_header(out: _HashingWriter, shape: tuple[int, ...], dtype: np.dtype) -> None:
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
        "fortran_order": False,
        "shape": tuple(int(s) for s in shape),
    }
    np.lib.format.write_array_header_1_0(out, header)


def _save_small(folder: Path, name: str, array: np.ndarray) -> str:
    out = _HashingWriter(folder / name)
    _write_npy_header(out, array.shape, array.dtype)
    out.write(memoryview(np.ascontiguousarray(array)).cast("B"))
    return out.close()


def sample_stats(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Valid frames (any non-zero value) and non-empty person slots of (n, T, C, V, M) data."""
    n, t, c, v, m = chunk.shape
    # persons to the front first: numpy reduces a contiguous last axis about 5x faster than
    # (C, V) with M innermost, and this runs over every value written
    nz = (chunk != 0).reshape(n, t, c * v, m).transpose(0, 1, 3, 2)  # (n, T, M, C*V)
    per_frame_person = np.ascontiguousarray(nz).any(axis=3)  # (n, T, M)
    lengths = per_frame_person.any(axis=2).sum(axis=1).astype(np.int64)
    persons = per_frame_person.any(axis=1).sum(axis=1).astype(np.int64)
    return lengths, persons


def check_exists(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not overwrite:
        raise DataFormatError(
            out_dir, "already exists", fix="choose another OUT_DIR or pass --overwrite"
        )


def _write_split(
    folder: Path, split: str, stream: SplitStream, out_dir: Path
) -> tuple[dict, dict[str, str]]:
    """Write one split's four files into `folder`; returns its meta.json entry and checksums."""
    x_name = f"{split}_x.npy"
    out = _HashingWriter(folder / x_name)
    _write_npy_header(out, stream.shape, np.dtype(np.float32))
    lengths, persons, done = [], [], 0
    for chunk in stream.chunks:
        chunk = np.ascontiguousarray(chunk, dtype=np.float32)
        if chunk.shape[1:] != tuple(stream.shape[1:]):
            raise DataFormatError(out_dir, f"{split} chunk {chunk.shape[1:]} != {stream.shape[1:]}")
        finite = np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
        if not finite.all():
            raise DataFormatError(
                out_dir,
                f"NaN or inf in {split} sample {done + int(np.flatnonzero(~finite)[0])}",
                fix="replace or drop non-finite values before importing",
            )
        n_len, n_per = sample_stats(chunk)
        if (n_len == 0).any():
            raise DataFormatError(
                out_dir,
                f"{split} sample {done + int(np.flatnonzero(n_len == 0)[0])} is all zeros",
                fix="drop samples without any non-zero frame",
            )
        lengths.append(n_len)
        persons.append(n_per)
        out.write(memoryview(chunk).cast("B"))
        done += len(chunk)
    if done != stream.shape[0]:
        raise DataFormatError(out_dir, f"{split}: wrote {done} samples, expected {stream.shape[0]}")
    checksums = {x_name: out.close()}
    small = {
        "y": np.asarray(stream.labels, dtype=np.int64),
        "lengths": np.concatenate(lengths) if lengths else np.zeros(0, np.int64),
        "persons": np.concatenate(persons) if persons else np.zeros(0, np.int64),
    }
    for name, arr in small.items():
        checksums[f"{split}_{name}.npy"] = _save_small(folder, f"{split}_{name}.npy", arr)
    entry = {
        "num_samples": int(stream.shape[0]),
        "num_frames": int(stream.shape[1]),
        "x": {"file": x_name, "shape": list(stream.shape), "dtype": "float32"},
        **{name: f"{split}_{name}.npy" for name in small},
    }
    return entry, checksums


def write_prepared(
    out_dir: str | Path,
    splits: dict[str, SplitStream],
    *,
    num_classes: int,
    class_names: list[str],
    skeleton: Skeleton,
    source: dict,
    overwrite: bool = False,
    created: str | None = None,
    layout_axes: str = LAYOUT_AXES,
    channels: str = "xyz",
    normalise: str = "none",
) -> Path:
    """Write `out_dir` from the splits; refuses NaN/inf values and all-zero samples.

    `layout_axes` is meta.json's description of the x axes (NTU NPZs name their channels).
    `channels` says what C holds: `xyz` (3-D joints) or `xy-score` (2-D keypoints and their
    scores); `normalise` how 2-D keypoints were normalised (`skelab.data.keypoints2d`).
    """
    if channels not in CHANNELS:
        raise DataFormatError(out_dir, f"channels {channels!r}", fix=f"use one of {CHANNELS}")
    out_dir = Path(out_dir)
    check_exists(out_dir, overwrite)
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        splits_meta, checksums = {}, {}
        for split, stream in splits.items():
            splits_meta[split], sums = _write_split(tmp, split, stream, out_dir)
            checksums.update(sums)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "layout": LAYOUT,
            "layout_axes": layout_axes,
            "source": source,
            "created": created or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "num_classes": int(num_classes),
            "class_names": list(class_names),
            "skeleton": skeleton.to_dict(),
            "channels": channels,
            "normalise": normalise,
            "splits": splits_meta,
            "checksums": checksums,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    return out_dir
