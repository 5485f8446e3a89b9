"""Other skeleton layouts to a prepared folder: NW-UCLA, Kinetics-Skeleton, your own arrays.

Each importer reads its files, checks them, pads every sample with zeros to the longest one
and writes a prepared folder (`skelab.data.writer`) whose meta.json records the joint layout,
so `ds.skeleton` tells a model builder which graph to use. Values are stored as read: the
feeders' normalisation (centring, scaling) stays a transform, as for NTU.

* `import_nwucla`: CTR-GCN's `all_sqe` JSON files (`aAA_sSS_eEE_vVV.json`: `file_name`,
  `label` 1..10, `skeletons` T x 20 x 3), one person; cross-view split, views 1 and 2 train,
  view 3 tests (CTR-GCN `feeders/feeder_ucla.py`).
* `import_kinetics`: ST-GCN's Kinetics-Skeleton JSON, one file per clip (`data`: frames with
  `frame_index` and `skeleton`: people with `pose`, 36 numbers x/y interleaved, and `score`,
  18), plus a label JSON per split (`{clip: {"label_index", "has_skeleton"}}`). As ST-GCN's
  `feeder_kinetics.py`: channels (x, y, score), up to 5 people read per frame, x and y shifted
  by -0.5 and zeroed where the score is 0, people sorted per frame by total score, 2 kept.
* `import_arrays`: a folder of `(T, V, C)` `.npy` arrays, a CSV `file,label[,split]` read by
  `skelab.data.labels` and a layout (a named one, or an edge list and a centre joint); 2-D
  keypoints (x, y, score) are normalised per clip by `skelab.data.keypoints2d`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from skelab.data.writer import SplitStream, check_exists, write_prepared
from skelab.errors import ConfigError, DataFormatError
from skelab.skeletons import NWUCLA20, OPENPOSE18, Skeleton

CHUNK = 64
# NW-UCLA actions a01..a12 without a07 and a10 -> labels 1..10 (Wang et al., CVPR 2014)
NWUCLA_CLASSES = (
    "pick up with one hand", "pick up with two hands", "drop trash", "walk around",
    "sit down", "stand up", "donning", "doffing", "throw", "carry",
)  # fmt: skip
_UCLA_NAME = re.compile(r"^a(\d\d)_s(\d\d)_e(\d\d)_v(\d\d)$")


def _padded_chunks(samples: list[np.ndarray], frames: int) -> Iterator[np.ndarray]:
    """(T, C, V, M) samples zero-padded to `frames`, CHUNK at a time."""
    for k in range(0, len(samples), CHUNK):
        part = samples[k : k + CHUNK]
        out = np.zeros((len(part), frames, *part[0].shape[1:]), dtype=np.float32)
        for i, s in enumerate(part):
            out[i, : len(s)] = s
        yield out


def _write(
    out_dir, by_split, *, num_classes, class_names, skeleton, source, overwrite,
    channels="xyz", normalise="none",
) -> Path:  # fmt: skip
    frames = max(len(s) for samples, _ in by_split.values() for s in samples)
    streams = {}
    for split, (samples, labels) in by_split.items():
        shape = (len(samples), frames, *samples[0].shape[1:])
        streams[split] = SplitStream(shape, _padded_chunks(samples, frames), np.asarray(labels))
    return write_prepared(
        out_dir,
        streams,
        num_classes=num_classes,
        class_names=list(class_names),
        skeleton=skeleton,
        source=source,
        overwrite=overwrite,
        channels=channels,
        normalise=normalise,
    )


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataFormatError(path, f"is not readable JSON ({err})", fix="re-extract it") from err


def import_nwucla(json_dir: str | Path, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """NW-UCLA (CTR-GCN JSON layout) to a prepared folder with splits train/test, M = 1."""
    json_dir, out_dir = Path(json_dir), Path(out_dir)
    check_exists(out_dir, overwrite)
    files = sorted(json_dir.glob("*.json"))
    if not files:
        raise DataFormatError(json_dir, "holds no .json files", fix="pass the all_sqe folder")
    by_split: dict[str, tuple[list, list]] = {"train": ([], []), "test": ([], [])}
    for path in files:
        m = _UCLA_NAME.match(path.stem)
        if m is None:
            raise DataFormatError(
                path, "name is not aAA_sSS_eEE_vVV", fix="keep the all_sqe file names"
            )
        d = _read_json(path)
        try:
            x = np.asarray(d["skeletons"], dtype=np.float32)
            label = int(d["label"])
        except (KeyError, TypeError, ValueError) as err:
            raise DataFormatError(
                path,
                f"needs 'skeletons' (T x 20 x 3 numbers) and an integer 'label' ({err})",
                key="skeletons",
            ) from err
        if x.ndim != 3 or x.shape[1:] != (20, 3) or len(x) == 0:
            raise DataFormatError(path, f"skeletons shape {x.shape}, expected (T, 20, 3)")
        if not 1 <= label <= len(NWUCLA_CLASSES):
            raise DataFormatError(path, f"label {label} outside 1..10", key="label")
        split = "test" if int(m.group(4)) == 3 else "train"
        by_split[split][0].append(x.transpose(0, 2, 1)[..., None])  # (T, C, V, M=1)
        by_split[split][1].append(label - 1)
    by_split = {k: v for k, v in by_split.items() if v[0]}
    source = {"kind": "nw-ucla", "path": str(json_dir.resolve()), "files": len(files)}
    return _write(
        out_dir, by_split, num_classes=len(NWUCLA_CLASSES), class_names=NWUCLA_CLASSES,
        skeleton=NWUCLA20, source=source, overwrite=overwrite,
    )  # fmt: skip


def kinetics_clip(path: Path, frames: int = 300, people_in: int = 5, people_out: int = 2):
    """One Kinetics-Skeleton JSON clip as (T, C=3, V=18, M=2) float32, ST-GCN's feeder rules."""
    d = _read_json(path)
    x = np.zeros((3, frames, 18, people_in), dtype=np.float32)
    try:
        for frame in d["data"]:
            t = int(frame["frame_index"])
            if not 0 <= t < frames:
                raise DataFormatError(
                    path, f"frame_index {t} outside 0..{frames - 1}", key="frame_index"
                )
            for m, person in enumerate(frame["skeleton"][:people_in]):
                pose = np.asarray(person["pose"], dtype=np.float32)
                x[0, t, :, m], x[1, t, :, m] = pose[0::2], pose[1::2]
                x[2, t, :, m] = np.asarray(person["score"], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as err:
        raise DataFormatError(
            path,
            f"does not follow the Kinetics-Skeleton layout ({err!r})",
            fix="each frame needs frame_index and skeleton: [{pose: 36 numbers, score: 18}]",
        ) from err
    x[0:2] -= 0.5
    x[0][x[2] == 0] = 0
    x[1][x[2] == 0] = 0
    order = (-x[2].sum(axis=1)).argsort(axis=1, kind="stable")  # (T, M) per-frame ranking
    x = np.take_along_axis(x, order[None, :, None, :], axis=3)[..., :people_out]
    return x.transpose(1, 0, 2, 3)  # (T, C, V, M)


def import_kinetics(
    clip_dirs: dict[str, str | Path],
    label_files: dict[str, str | Path],
    out_dir: str | Path,
    *,
    overwrite: bool = False,
) -> Path:
    """Kinetics-Skeleton (per split: a clip folder and its label JSON) to a prepared folder.

    Clips whose label entry says `has_skeleton: false` are left out, as upstream does."""
    out_dir = Path(out_dir)
    check_exists(out_dir, overwrite)
    by_split, num_classes = {}, 0
    for split, folder in clip_dirs.items():
        labels_path = Path(label_files[split])
        entries = _read_json(labels_path)
        if not isinstance(entries, dict):
            raise DataFormatError(labels_path, "must map clip names to {label_index, ...}")
        samples, labels = [], []
        for clip in sorted(entries):
            info = entries[clip]
            if not info.get("has_skeleton", True):
                continue
            samples.append(kinetics_clip(Path(folder) / f"{clip}.json"))
            labels.append(int(info["label_index"]))
        if samples:
            by_split[split] = (samples, labels)
            num_classes = max(num_classes, max(labels) + 1)
    if not by_split:
        raise DataFormatError(out_dir, "no clip with a skeleton in the label files")
    num_classes = max(400, num_classes)  # Kinetics-400
    names = tuple(f"class {i}" for i in range(num_classes))
    source = {"kind": "kinetics-skeleton", "splits": {k: str(v) for k, v in clip_dirs.items()}}
    return _write(
        out_dir, by_split, num_classes=num_classes, class_names=names,
        skeleton=OPENPOSE18, source=source, overwrite=overwrite, channels="xy-score",
    )  # fmt: skip


def read_edges(path: str | Path) -> list[tuple[int, int]]:
    """An edge-list file: one `child parent` pair of 0-based joint indices per line; # comments."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(
            path, "is a folder" if path.is_dir() else "no such file",
            fix="--edges names a text file of `child parent` lines",
        )  # fmt: skip
    edges = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].replace(",", " ").split()
        if not text:
            continue
        if len(text) != 2 or not all(t.isdigit() for t in text):
            raise DataFormatError(
                f"{path}:{n}", f"expected two joint indices, got {line.strip()!r}",
                fix="write `child parent`, e.g. `1 0`, one edge per line",
            )  # fmt: skip
        edges.append((int(text[0]), int(text[1])))
    return edges


ESTIMATOR_LAYOUTS = ("coco17", "openpose18")  # image keypoints: 2-D unless --coords says not
COORDS = ("2d", "3d")


def arrays_coords(skeleton: Skeleton, coords: str | None) -> str:
    """`2d` or `3d`: as given, else `2d` for the pose-estimator layouts (coco17, openpose18),
    whose keypoints are image pixels, and `3d` for every other layout."""
    if coords is None:
        return "2d" if skeleton.name in ESTIMATOR_LAYOUTS else "3d"
    if coords not in COORDS:
        raise ConfigError("--coords", f"{coords!r} is not 2d or 3d", fix="use --coords 2d or 3d")
    return coords


def _as_2d_clip(x: np.ndarray, path: Path) -> np.ndarray:
    """(T, V, 2 or 3) keypoints to (M=1, T, V, 3) (x, y, score); (x, y) alone get score 1 where
    the joint is not at (0, 0), the usual mark of a joint the estimator missed."""
    if x.shape[2] == 2:
        seen = (x != 0).any(axis=2, keepdims=True).astype(np.float32)
        x = np.concatenate([x, seen], axis=2)
    elif x.shape[2] != 3:
        raise DataFormatError(
            path,
            f"{x.shape[2]} channels, 2-D keypoints have 3 (x, y, score) or 2 (x, y)",
            fix="save (frames, joints, 3) arrays of x, y, score, or pass --coords 3d",
        )
    return x[None]


def import_arrays(
    array_dir: str | Path,
    labels_csv: str | Path,
    out_dir: str | Path,
    *,
    skeleton: Skeleton,
    num_classes: int | None = None,
    classes_file: str | Path | None = None,
    coords: str | None = None,
    normalise: str | None = None,
    overwrite: bool = False,
) -> Path:
    """A folder of (T, V, C) `.npy` arrays to a prepared folder (M = 1), labelled by a CSV.

    Labels follow `skelab.data.labels` (integers kept, names in order of first appearance or of
    `classes_file`; `num_classes` allows gaps). `coords` is `2d` or `3d` (default: `2d` for
    coco17 and openpose18, else `3d`). 2-D arrays are (x, y, score) pixels, or (x, y) with the
    score taken as 1 where a joint is not at (0, 0); each clip is normalised by
    `skelab.data.keypoints2d.normalise_2d` with `normalise` (default `body`) and meta.json
    records `channels: xy-score` and the mode. 3-D values are stored as read."""
    from skelab.data.keypoints2d import normalise_2d
    from skelab.data.labels import read_label_table

    array_dir, labels_csv, out_dir = Path(array_dir), Path(labels_csv), Path(out_dir)
    check_exists(out_dir, overwrite)
    coords = arrays_coords(skeleton, coords)
    if coords == "3d" and normalise not in (None, "none"):
        raise ConfigError(
            "--normalise",
            f"{normalise!r} is for 2-D keypoints, but the arrays are read as 3-D",
            fix="drop --normalise, or pass --coords 2d for (x, y, score) pixels",
        )
    mode = (normalise or "body") if coords == "2d" else "none"
    table = read_label_table(
        labels_csv, num_classes=num_classes, classes_file=classes_file, files_root=array_dir
    )
    by_split: dict[str, tuple[list, list]] = {}
    channels = None
    for row in table.rows:
        path = array_dir / row.file
        try:
            x = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DataFormatError(path, f"cannot be read as .npy ({err})") from err
        if x.ndim != 3 or x.shape[1] != skeleton.num_joints or x.shape[0] == 0:
            raise DataFormatError(
                path,
                f"shape {x.shape}, expected (T, V={skeleton.num_joints}, C) for layout "
                f"{skeleton.name!r}",
                fix="save one (frames, joints, channels) array per sample, or pick the layout "
                "your keypoints use (--layout)",
            )
        if channels is not None and x.shape[2] != channels:
            raise DataFormatError(path, f"{x.shape[2]} channels, the first array has {channels}")
        channels = x.shape[2]
        x = np.asarray(x, dtype=np.float32)
        if not np.isfinite(x).all():
            t, v = (int(i) for i in np.argwhere(~np.isfinite(x))[0][:2])
            raise DataFormatError(
                path,
                f"NaN or inf at frame {t}, joint {v}",
                fix="store a joint the estimator missed as x = y = 0 with score 0",
            )
        if coords == "2d":
            x = normalise_2d(_as_2d_clip(x, path), skeleton, mode)[0]
        samples, labels = by_split.setdefault(row.split, ([], []))
        samples.append(x.transpose(0, 2, 1)[..., None])  # (T, C, V, M=1)
        labels.append(row.label)
    source = {"kind": "arrays", "path": str(array_dir.resolve()), "labels": str(labels_csv)}
    return _write(
        out_dir, by_split, num_classes=table.num_classes, class_names=table.class_names,
        skeleton=skeleton, source=source, overwrite=overwrite,
        channels="xy-score" if coords == "2d" else "xyz", normalise=mode,
    )  # fmt: skip
