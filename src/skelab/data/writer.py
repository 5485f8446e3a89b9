"""Write a prepared folder (the format `skelab.data.prepared` reads) from streamed chunks.

`skelab data prepare` converts an NPZ of NTU arrays; this writer is for data that arrives
sample by sample with any joint layout and person count: raw NTU `.skeleton` files
(`prepare-raw`) and the importers (NW-UCLA, Kinetics-Skeleton, a folder of arrays). It uses
the npy header, hashing writer and folder layout of `prepared.py`, and records the joint
layout under `skeleton` in meta.json. The folder appears atomically, as in `prepare`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelab.data.prepared import (
    FORMAT,
    LAYOUT,
    VERSION,
    _HashingWriter,
    _save_small,
    _write_npy_header,
)
from skelab.errors import DataFormatError
from skelab.skeletons import Skeleton


@dataclass
class SplitStream:
    """One split to write: its shape, x chunks (n, T, C, V, M) float32 in order, and labels."""

    shape: tuple[int, int, int, int, int]  # (N, T, C, V, M)
    chunks: Iterable[np.ndarray]
    labels: np.ndarray  # (N,) int64, 0-based


def sample_stats(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Valid frames (any non-zero value) and non-empty person slots of (n, T, C, V, M) data."""
    nz = chunk != 0
    per_frame_person = nz.any(axis=(2, 3))  # (n, T, M)
    lengths = per_frame_person.any(axis=2).sum(axis=1).astype(np.int64)
    persons = per_frame_person.any(axis=1).sum(axis=1).astype(np.int64)
    return lengths, persons


def check_exists(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not overwrite:
        raise DataFormatError(
            out_dir, "already exists", fix="choose another OUT_DIR or pass --overwrite"
        )


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
) -> Path:
    """Write `out_dir` from the splits; refuses NaN/inf values and all-zero samples."""
    out_dir = Path(out_dir)
    check_exists(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        splits_meta, checksums = {}, {}
        for split, stream in splits.items():
            x_name = f"{split}_x.npy"
            out = _HashingWriter(tmp / x_name)
            _write_npy_header(out, stream.shape, np.dtype(np.float32))
            lengths, persons, done = [], [], 0
            for chunk in stream.chunks:
                chunk = np.ascontiguousarray(chunk, dtype=np.float32)
                if chunk.shape[1:] != tuple(stream.shape[1:]):
                    raise DataFormatError(
                        out_dir, f"{split} chunk {chunk.shape[1:]} != {stream.shape[1:]}"
                    )
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
                raise DataFormatError(
                    out_dir, f"{split}: wrote {done} samples, expected {stream.shape[0]}"
                )
            checksums[x_name] = out.close()
            small = {
                "y": np.asarray(stream.labels, dtype=np.int64),
                "lengths": np.concatenate(lengths) if lengths else np.zeros(0, np.int64),
                "persons": np.concatenate(persons) if persons else np.zeros(0, np.int64),
            }
            for name, arr in small.items():
                checksums[f"{split}_{name}.npy"] = _save_small(tmp, f"{split}_{name}.npy", arr)
            splits_meta[split] = {
                "num_samples": int(stream.shape[0]),
                "num_frames": int(stream.shape[1]),
                "x": {"file": x_name, "shape": list(stream.shape), "dtype": "float32"},
                **{name: f"{split}_{name}.npy" for name in small},
            }
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "layout": LAYOUT,
            "layout_axes": "N, T, C, V (joints), M (persons)",
            "source": source,
            "created": created or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "num_classes": int(num_classes),
            "class_names": list(class_names),
            "skeleton": skeleton.to_dict(),
            "splits": splits_meta,
            "checksums": checksums,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
