"""Prepared dataset folders: convert an NPZ once, then open it in milliseconds.

Layout of a folder made by `prepare(input, out_dir)`:

    meta.json            format, source, shapes, layout, skeleton (joint layout and graph edges,
                         `Skeleton.to_dict`), class names, channels (`xyz`, or `xy-score` for
                         2-D keypoints) and normalise (`skelab.data.keypoints2d`), sha256s
    train_x.npy          (N, T, C=3, V=25, M=2) float32, "NTCVM": one frame of one sample is
                         600 contiguous bytes in the model's (C, V, M) order, so the loader
                         reads exactly the frames it needs and only moves the time axis
    train_y.npy          (N,) int64 labels
    train_lengths.npy    (N,) int64 valid frames (frames with any non-zero value)
    train_persons.npy    (N,) int64 non-empty person slots
    test_*.npy           the same for the test split

`prepare` streams the input in chunks (peak memory about two chunks, not the 10-20 GB of the
NTU files), refuses NaN/inf and all-zero samples, and hands the chunks to
`skelab.data.writer.write_prepared`, the one writer of prepared folders: it fills a temporary
folder that is swapped into place only when everything is written, so an interrupted run leaves
nothing half-made. `open_prepared` reads meta.json and the small per-sample arrays and
memory-maps x: no sample data is read.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from skelab.data import formats
from skelab.data.archive import reading
from skelab.data.dataset import SkeletonDataset
from skelab.data.scan import scan_split
from skelab.data.writer import (
    CHANNELS,
    FORMAT,
    LAYOUT,
    VERSION,
    SplitStream,
    check_exists,
    write_prepared,
)
from skelab.errors import DataFormatError, SkelabError
from skelab.skeletons import NTU25, Skeleton, class_names

NPZ_AXES = "N, T, C (x, y, z), V (joints), M (persons)"


def _npz_chunks(
    src: formats.SplitSource, progress: formats.Progress | None
) -> Iterator[np.ndarray]:
    """A split of the NPZ in the folder's (n, T, C, V, M) order, chunk by chunk; `scan_split`
    checks each chunk first, so a bad value is reported with the NPZ's file, key and sample."""
    for start, chunk in formats.iter_x_chunks(src, progress=progress):
        scan_split(src, chunks=[(start, chunk)])
        yield formats.to_ntmvc(chunk, src.layout).transpose(0, 1, 4, 3, 2)


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
    check_exists(out_dir, overwrite)
    info = formats.inspect_npz(input_path)
    labels = {split: formats.read_labels(src) for split, src in info.splits.items()}
    num_classes = formats.infer_num_classes(list(labels.values()), info.num_classes)
    for split, lab in labels.items():
        formats.check_label_range(
            input_path,
            formats.y_key(split),
            lab,
            num_classes,
            fix="store one-hot labels of the right width",
        )
    shape = (formats.NUM_COORDS, formats.NUM_JOINTS, formats.NUM_PERSONS)
    streams = {
        split: SplitStream(
            (src.num_samples, src.num_frames, *shape), _npz_chunks(src, progress), labels[split]
        )
        for split, src in info.splits.items()
    }
    source = {
        "path": str(input_path.resolve()),
        "bytes": input_path.stat().st_size,
        "layout": info.layout,
    }
    return write_prepared(
        out_dir,
        streams,
        num_classes=num_classes,
        class_names=list(class_names(num_classes)),
        skeleton=NTU25,
        source=source,
        overwrite=overwrite,
        layout_axes=NPZ_AXES,
    )


def _rebuild(folder: Path, meta: object = None) -> str:
    """The command that makes `folder` again, from the source meta.json names when it can."""
    source = meta.get("source") if isinstance(meta, dict) else None
    src = source.get("path") if isinstance(source, dict) else None
    src = src if isinstance(src, str) and src.endswith(".npz") else "SOURCE.npz"
    return f"rebuild it: skelab data prepare {src} {folder} --overwrite"


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
        meta = json.loads(meta_path.read_bytes())
    except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError included
        raise DataFormatError(
            meta_path, f"is not valid JSON ({err})", fix=_rebuild(folder)
        ) from err
    if not isinstance(meta, dict):
        raise DataFormatError(
            meta_path, f"holds a JSON {type(meta).__name__}, not an object", fix=_rebuild(folder)
        )
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise DataFormatError(
            meta_path,
            f"format {meta.get('format')!r} version {meta.get('version')!r}, expected "
            f"{FORMAT!r} version {VERSION}",
            key="format",
            fix=_rebuild(folder, meta),
        )
    return meta


def _split_meta(folder: Path, meta: dict, split: str) -> tuple[str, list[int], dict[str, str]]:
    """(x file, x shape, small-array files) of one split, checked before any file is opened."""
    meta_path = folder / "meta.json"
    splits = meta.get("splits")
    if not isinstance(splits, dict) or split not in splits:
        have = sorted(splits) if isinstance(splits, dict) else splits
        raise DataFormatError(
            meta_path,
            f"has no split {split!r} (has {have})",
            key="splits",
            fix=f"ask for one of the listed splits, or {_rebuild(folder, meta)}",
        )
    try:
        sm = splits[split]
        x_file, x_shape = sm["x"]["file"], [int(v) for v in sm["x"]["shape"]]
        files = {name: sm[name] for name in ("y", "lengths", "persons")}
        names = [x_file, *files.values()]
        if not all(isinstance(n, str) and n and Path(n).name == n for n in names):
            raise ValueError(f"file names must be plain names in the folder, got {names}")
        if len(x_shape) != 5 or min(x_shape) < 0:
            raise ValueError(f"x shape {x_shape} is not (N, T, C, V, M)")
    except (KeyError, TypeError, ValueError) as err:
        raise DataFormatError(
            meta_path,
            f"entry of split {split!r} is damaged ({type(err).__name__}: {err})",
            key="splits",
            fix=_rebuild(folder, meta),
        ) from err
    return x_file, x_shape, files


def _num_classes(folder: Path, meta: dict) -> int:
    k = meta.get("num_classes")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= formats.MAX_CLASSES:
        raise DataFormatError(
            folder / "meta.json",
            f"must be an integer in 1..{formats.MAX_CLASSES}, got {k!r}",
            key="num_classes",
            fix=_rebuild(folder, meta),
        )
    return k


def _read_per_sample(folder: Path, meta: dict, name: str, n: int) -> np.ndarray:
    """One (N,) integer array of the folder, checked against its sha256 in meta.json."""
    path = folder / name
    with reading(path):
        data = path.read_bytes()
    checksums = meta.get("checksums")
    expected = checksums.get(name) if isinstance(checksums, dict) else None
    if expected is not None and "sha256:" + hashlib.sha256(data).hexdigest() != expected:
        raise DataFormatError(
            path,
            "differs from the checksum in meta.json: the file was changed or damaged",
            fix=_rebuild(folder, meta),
        )
    with reading(path):
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    if arr.shape != (n,) or arr.dtype.kind not in "iu":
        raise DataFormatError(
            path,
            f"{arr.dtype} of shape {arr.shape}, expected integers of shape ({n},)",
            fix=_rebuild(folder, meta),
        )
    return arr.astype(np.int64, copy=False)


def open_prepared(folder: str | Path, split: str) -> SkeletonDataset:
    """Open one split of a prepared folder: memory-maps x, reads only the (N,) arrays."""
    folder = Path(folder)
    meta = read_meta(folder)
    x_file, x_shape, files = _split_meta(folder, meta, split)
    num_classes = _num_classes(folder, meta)
    x_path = folder / x_file
    with reading(x_path):
        x = np.load(x_path, mmap_mode="r", allow_pickle=False)
    if list(x.shape) != x_shape or x.dtype != np.float32 or not x.flags.c_contiguous:
        raise DataFormatError(
            x_path,
            f"shape {x.shape} {x.dtype}{'' if x.flags.c_contiguous else ' (Fortran order)'}, "
            f"meta.json says {x_shape} float32: the folder was changed after it was made",
            fix=_rebuild(folder, meta),
        )
    n, t, _, _, m = x_shape
    small = {name: _read_per_sample(folder, meta, f, n) for name, f in files.items()}
    for name, top in (("y", num_classes - 1), ("lengths", t), ("persons", m)):
        arr = small[name]
        if arr.size and (arr.min() < 0 or arr.max() > top):
            raise DataFormatError(
                folder / files[name],
                f"values {int(arr.min())}..{int(arr.max())} outside 0..{top}",
                fix=_rebuild(folder, meta),
            )
    skeleton = meta.get("skeleton")  # folders made before layouts travelled hold NTU data
    try:
        skeleton = Skeleton.from_dict(skeleton, where=folder / "meta.json") if skeleton else NTU25
    except SkelabError as err:  # names the field; the fix here is to rebuild the folder
        raise DataFormatError(
            folder / "meta.json",
            f"entry is damaged ({err.problem})",
            key="skeleton",
            fix=_rebuild(folder, meta),
        ) from err
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
        num_classes=num_classes,
        path=folder,
        split=split,
        source_format="prepared",
    )
    ds.skeleton = skeleton  # set here too so folders keep their layout with any dataset class
    ds.class_names = _class_names(folder, meta, num_classes)
    ds.channels = _channels(folder, meta)
    ds.normalise = str(meta.get("normalise", "none"))  # 2-D: body, box or none (pixels)
    return ds


def _class_names(folder: Path, meta: dict, num_classes: int) -> tuple[str, ...]:
    """meta.json's class names (NW-UCLA's, a label CSV's), checked against the class count."""
    names = meta.get("class_names")
    if names is None:
        return class_names(num_classes)
    if (
        not isinstance(names, list)
        or len(names) != num_classes
        or not all(isinstance(n, str) for n in names)
    ):
        raise DataFormatError(
            folder / "meta.json",
            f"must be a list of {num_classes} names (num_classes), got {str(names):.80}",
            key="class_names",
            fix=_rebuild(folder, meta),
        )
    return tuple(names)


def _channels(folder: Path, meta: dict) -> str:
    """What the channel axis holds: `xyz` (default) or `xy-score` (2-D keypoints)."""
    channels = meta.get("channels", "xyz")
    if channels not in CHANNELS:
        raise DataFormatError(
            folder / "meta.json",
            f"{channels!r} is not one of {', '.join(CHANNELS)}",
            key="channels",
            fix=_rebuild(folder, meta),
        )
    return channels


def verify_prepared(folder: str | Path, progress: formats.Progress | None = None) -> list[str]:
    """Re-hash every file against meta.json; returns the names that differ (empty: all good)."""
    folder = Path(folder)
    meta = read_meta(folder)
    checksums = meta.get("checksums")
    if not isinstance(checksums, dict) or not all(
        isinstance(k, str) and Path(k).name == k for k in checksums
    ):
        raise DataFormatError(
            folder / "meta.json",
            "has no usable checksums entry",
            key="checksums",
            fix=_rebuild(folder, meta),
        )
    bad = []
    for name, expected in checksums.items():
        sha = hashlib.sha256()
        with reading(folder / name), open(folder / name, "rb") as fh:
            while block := fh.read(formats.CHUNK_BYTES):
                sha.update(block)
                if progress is not None:
                    progress(len(block))
        if "sha256:" + sha.hexdigest() != expected:
            bad.append(name)
    return bad
