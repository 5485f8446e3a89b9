"""Prepared dataset folders: convert an NPZ once, then open it in milliseconds.

Layout of a folder made by `prepare(input, out_dir)`:

    meta.json            format, source, shapes, layout, skeleton (joint layout and graph edges,
                         `Skeleton.to_dict`), class names, per-file sha256
    train_x.npy          (N, T, C=3, V=25, M=2) float32, "NTCVM": one frame of one sample is
                         600 contiguous bytes in the model's (C, V, M) order, so the loader
                         reads exactly the frames it needs and only moves the time axis
    train_y.npy          (N,) int64 labels
    train_lengths.npy    (N,) int64 valid frames (frames with any non-zero value)
    train_persons.npy    (N,) int64 non-empty person slots
    test_*.npy           the same for the test split

`prepare` streams the input in chunks (peak memory about two chunks, not the 10-20 GB of the
NTU files), refuses NaN/inf and all-zero samples, and writes into a temporary folder that is
renamed into place only when everything is written, so an interrupted run leaves nothing
half-made. `open_prepared` reads meta.json and the small per-sample arrays and memory-maps x:
no sample data is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from skelab.data import formats
from skelab.data.dataset import SkeletonDataset
from skelab.errors import DataFormatError

FORMAT = "skelab-prepared"
VERSION = 1
LAYOUT = "NTCVM"


def is_prepared(path: str | Path) -> bool:
    return (Path(path) / "meta.json").is_file()


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


def prepare(
    input_path: str | Path,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: formats.Progress | None = None,
) -> Path:
    """Convert an NPZ (Kaggle or 5-D layout) into a prepared folder; returns the folder.

    `progress(nbytes)` is called as input bytes are processed (the CLI shows a tqdm bar).
    """
    input_path, out_dir = Path(input_path), Path(out_dir)
    if input_path.is_dir():
        raise DataFormatError(
            input_path,
            "is a folder; prepare converts an NPZ file",
            fix="pass the .npz (a prepared folder is already usable)",
        )
    if out_dir.exists() and not overwrite:
        raise DataFormatError(
            out_dir, "already exists", fix="choose another OUT_DIR or pass --overwrite"
        )
    info = formats.inspect_npz(input_path)
    labels = {split: formats.read_labels(src) for split, src in info.splits.items()}
    num_classes = formats.infer_num_classes(list(labels.values()), info.num_classes)
    for split, lab in labels.items():
        if lab.size and lab.max() >= num_classes:
            raise DataFormatError(
                input_path,
                f"label {int(lab.max())} >= num_classes {num_classes}",
                key=formats.y_key(split),
                fix="store one-hot labels of the right width",
            )

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        splits_meta, checksums = {}, {}
        for split, src in info.splits.items():
            n, t = src.num_samples, src.num_frames
            x_name = f"{split}_x.npy"
            x_shape = (n, t, formats.NUM_COORDS, formats.NUM_JOINTS, formats.NUM_PERSONS)
            out = _HashingWriter(tmp / x_name)
            _write_npy_header(out, x_shape, np.dtype(np.float32))
            parts = []
            for start, chunk in formats.iter_x_chunks(src, progress=progress):
                ntmvc = formats.to_ntmvc(chunk, src.layout)
                stats = formats.scan_chunk(ntmvc)
                formats.value_error(input_path, src.x.key, stats, offset=start)
                parts.append(stats)
                data = np.ascontiguousarray(ntmvc.transpose(0, 1, 4, 3, 2), dtype=np.float32)
                out.write(memoryview(data).cast("B"))
            checksums[x_name] = out.close()
            stats = formats.merge_stats(parts)
            small = {"y": labels[split], "lengths": stats.lengths, "persons": stats.persons}
            for name, arr in small.items():
                checksums[f"{split}_{name}.npy"] = _save_small(
                    tmp, f"{split}_{name}.npy", arr.astype(np.int64)
                )
            splits_meta[split] = {
                "num_samples": n,
                "num_frames": t,
                "x": {"file": x_name, "shape": list(x_shape), "dtype": "float32"},
                **{name: f"{split}_{name}.npy" for name in small},
            }
        from skelab.skeletons import NTU25, class_names

        meta = {
            "format": FORMAT,
            "version": VERSION,
            "layout": LAYOUT,
            "layout_axes": "N, T, C (x, y, z), V (joints), M (persons)",
            "source": {
                "path": str(input_path.resolve()),
                "bytes": input_path.stat().st_size,
                "layout": info.layout,
            },
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "num_classes": num_classes,
            "class_names": list(class_names(num_classes)),
            "skeleton": NTU25.to_dict(),
            "splits": splits_meta,
            "checksums": checksums,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        if out_dir.exists():  # overwrite: swap the old folder out only once the new one is whole
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


def read_meta(folder: str | Path) -> dict:
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise DataFormatError(
            folder,
            "is a folder without meta.json, so not a prepared dataset",
            fix="make one with `skelab data prepare INPUT.npz OUT_DIR`",
        )
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise DataFormatError(
            meta_path, f"is not valid JSON ({err})", fix="re-run `skelab data prepare`"
        ) from err
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise DataFormatError(
            meta_path,
            f"format {meta.get('format')!r} version {meta.get('version')!r}, expected "
            f"{FORMAT!r} version {VERSION}",
            key="format",
            fix="re-run `skelab data prepare` with this skelab version",
        )
    return meta


def open_prepared(folder: str | Path, split: str) -> SkeletonDataset:
    """Open one split of a prepared folder: memory-maps x, reads only the (N,) arrays."""
    folder = Path(folder)
    meta = read_meta(folder)
    if split not in meta["splits"]:
        raise DataFormatError(
            folder / "meta.json",
            f"has no split {split!r} (has {sorted(meta['splits'])})",
            key="splits",
            fix="ask for one of the listed splits",
        )
    sm = meta["splits"][split]
    x_path = folder / sm["x"]["file"]
    try:
        x = np.load(x_path, mmap_mode="r")
    except (OSError, ValueError) as err:
        raise DataFormatError(
            x_path, f"cannot be opened ({err})", fix="re-run `skelab data prepare`"
        ) from err
    if list(x.shape) != sm["x"]["shape"] or x.dtype != np.float32:
        raise DataFormatError(
            x_path,
            f"shape {x.shape} {x.dtype}, meta.json says {sm['x']['shape']} float32",
            fix="re-run `skelab data prepare`; the folder was changed after it was made",
        )
    small = {}
    for name in ("y", "lengths", "persons"):
        p = folder / sm[name]
        try:
            arr = np.load(p)
        except (OSError, ValueError) as err:
            raise DataFormatError(p, f"cannot be read ({err})", fix="re-run prepare") from err
        if arr.shape != (x.shape[0],):
            raise DataFormatError(
                p,
                f"shape {arr.shape}, expected ({x.shape[0]},)",
                fix="re-run `skelab data prepare`; the folder was changed after it was made",
            )
        small[name] = arr.astype(np.int64, copy=False)
    from skelab.skeletons import NTU25, Skeleton

    skeleton = meta.get("skeleton")  # folders made before layouts travelled hold NTU data
    skeleton = Skeleton.from_dict(skeleton, where=folder / "meta.json") if skeleton else NTU25
    if skeleton.num_joints != x.shape[3]:
        raise DataFormatError(
            folder / "meta.json",
            f"skeleton {skeleton.name!r} has {skeleton.num_joints} joints, x has {x.shape[3]}",
            key="skeleton",
            fix="re-run the command that made this folder",
        )
    ds = SkeletonDataset(
        storage=x,
        layout=LAYOUT,
        y=small["y"],
        lengths=small["lengths"],
        persons=small["persons"],
        num_classes=meta["num_classes"],
        path=folder,
        split=split,
        source_format="prepared",
    )
    ds.skeleton = skeleton  # set here too so folders keep their layout with any dataset class
    return ds


def verify_prepared(folder: str | Path, progress: formats.Progress | None = None) -> list[str]:
    """Re-hash every file against meta.json; returns the names that differ (empty: all good)."""
    folder = Path(folder)
    meta = read_meta(folder)
    bad = []
    for name, expected in meta["checksums"].items():
        sha = hashlib.sha256()
        with open(folder / name, "rb") as fh:
            while block := fh.read(formats.CHUNK_BYTES):
                sha.update(block)
                if progress is not None:
                    progress(len(block))
        if "sha256:" + sha.hexdigest() != expected:
            bad.append(name)
    return bad
