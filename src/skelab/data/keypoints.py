"""A pose estimator's output files in, consistent persons out: reading and tracking keypoints.

Readers turn each format into one `Detections` table (every person found in every frame):

* `read_coco_json`: a COCO-format keypoint result file, one per clip (what MMPose, RTMPose,
  YOLO-pose exporters and `pycocotools` write): a JSON list of detections, each with `image_id`
  or `frame` (an integer frame number), `keypoints` (V x (x, y, score), flat; 17 for COCO),
  `score` and optionally `track_id`.
* `read_openpose_folder`: OpenPose's per-frame JSON files of one clip
  (`<name>_<12 digits>_keypoints.json`, the digits are the frame number), each with
  `people[].pose_keypoints_2d`: BODY_25 (75 numbers) or COCO-18 (54 numbers). BODY_25 is read
  by joint name, so it converts to `openpose18` (dropping the mid-hip and the six foot points)
  or `coco17`.
* `read_array`: a `.npy` array as `import-arrays` takes it, (T, V, C), or one per person,
  (M, T, V, C); C is 3 (x, y, score) or 2 (x, y; score 1 where a joint is not (0, 0)).
* `read_pose_npz`: the NPZ `skelab pose` writes (`frame`, `keypoints`, `score`, `layout`).

Conventions: x, y in image pixels (y down), a joint with score 0 is missing and its x, y are
set to 0 (as ST-GCN's Kinetics feeder does). NaN or inf anywhere is an error naming the file,
the frame and the detection; so is an unreadable or truncated file.

`track` turns detections into at most `max_people` persons, (M, T, V, 3):

1. Identity. With `track_id` in the input, a person is a track id (an id twice in one frame is
   an error). Without, frames are visited in order and each open track predicts its box centre
   at constant velocity from its last two sightings (box: the visible joints' bounding box).
   The cost of giving detection j to track i is |centre_j - predicted_i| / diag_i +
   |diag_j - diag_i| / diag_i (diag: box diagonal); pairs are taken greedily, cheapest first,
   when the centre is within `gate` (1.0) box diagonals of the prediction and the track was seen
   in the last `max_gap` (30) frames; a detection left over opens a new track. The velocity term
   keeps two people who cross from swapping; the size term separates them at the crossing.
2. Selection, as NTU's pipeline keeps two actors (CTR-GCN `get_raw_denoised_data.py`): tracks
   whose total detection score (sum over their frames) is below 0.2 of the best track's are
   dropped as noise; of the rest the `max_people` with the largest motion (the sum over joints
   of the variance of x and y over the frames the track is seen in) are kept, most moving first.
   Person slots beyond the kept tracks stay zero.
3. Frames in which no kept person appears (no detection at all, or only dropped ones) are
   "empty": `empty="skip"` leaves them out of the clip and lists them, `empty="error"` stops
   with the file and frame. A clip with no person at all is always an error.

`import_keypoints` reads a folder of such clips with a labels CSV
(`skelab.data.labels.read_label_table`), tracks each clip, normalises the 2-D keypoints
(`skelab.data.keypoints2d.normalise_2d`) and writes a prepared folder through the importers'
writer.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skelab.errors import ConfigError, DataFormatError
from skelab.skeletons import COCO17, OPENPOSE18, Skeleton, get_skeleton

FORMATS = ("coco-json", "openpose-json", "npy", "pose-npz")
EMPTY_RULES = ("skip", "error")
# OpenPose BODY_25 joint order (OpenPose doc/02_output.md), named as skelab's layouts name joints.
BODY25_JOINTS: tuple[str, ...] = (
    "nose", "neck", "shoulder_right", "elbow_right", "wrist_right", "shoulder_left",
    "elbow_left", "wrist_left", "hip_mid", "hip_right", "knee_right", "ankle_right", "hip_left",
    "knee_left", "ankle_left", "eye_right", "eye_left", "ear_right", "ear_left", "big_toe_left",
    "small_toe_left", "heel_left", "big_toe_right", "small_toe_right", "heel_right",
)  # fmt: skip
DEFAULT_LAYOUT = {"coco-json": COCO17, "openpose-json": OPENPOSE18}
SCORE_NOISE = 0.2  # tracks below this share of the best track's total score are noise
_OPENPOSE_FRAME = re.compile(r"(\d+)(?:_keypoints)?$")


@dataclass
class Detections:
    """Every person an estimator found in one clip, one row per detection."""

    path: Path  # the clip's file or folder (errors name it)
    joints: tuple[str, ...]  # joint names of the keypoints' V axis
    frame: np.ndarray  # (D,) int64 frame numbers as the input gives them
    keypoints: np.ndarray  # (D, V, 3) float32 x, y (pixels, y down), score
    score: np.ndarray  # (D,) float32 detection score
    track: np.ndarray | None = None  # (D,) int64 track ids, or None when the input has none
    frames: np.ndarray | None = None  # every frame number of the clip; None: first..last seen
    files: dict[int, Path] = field(default_factory=dict)  # frame -> its own file (OpenPose)

    def all_frames(self) -> np.ndarray:
        if self.frames is not None:
            return self.frames
        if len(self.frame) == 0:
            return np.zeros(0, np.int64)
        return np.arange(self.frame.min(), self.frame.max() + 1, dtype=np.int64)

    def where(self, frame: int) -> Path | str:
        """The file and frame an error should name."""
        own = self.files.get(frame)
        return own if own is not None else f"{self.path} (frame {frame})"


@dataclass
class Tracked:
    """One clip's persons after tracking: x (M, T, V, 3) and what was left out."""

    x: np.ndarray  # (M, T, V, 3) float32; zeros where a person is not seen
    frames: np.ndarray  # (T,) the input frame number of each kept frame
    skipped: list[int]  # frame numbers left out because no kept person is in them
    tracks: int  # tracks found before selection
    dropped: int  # tracks left out (noise or beyond max_people)


def _finite(path: Path | str, keypoints: np.ndarray, score: float, what: str) -> None:
    if not (np.isfinite(keypoints).all() and np.isfinite(score)):
        raise DataFormatError(
            path, f"{what}: NaN or inf in the keypoints or score",
            fix="drop that detection, or write missing joints as 0, 0 with score 0",
        )  # fmt: skip


def _clean(keypoints: np.ndarray) -> np.ndarray:
    """Missing joints (score <= 0) get x = y = score = 0."""
    kp = np.asarray(keypoints, dtype=np.float32).copy()
    kp[kp[..., 2] <= 0] = 0.0
    return kp


def _read_json(path: Path) -> object:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise DataFormatError(path, f"cannot be read ({err})", fix="check the file") from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFormatError(
            path, f"is not valid JSON, truncated or damaged at line {err.lineno} column "
            f"{err.colno} ({err.msg})", fix="write the file again from the pose estimator",
        ) from err  # fmt: skip


def _frame_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def read_coco_json(path: str | Path, *, joints: Sequence[str] = COCO17.joints) -> Detections:
    """A COCO-format keypoint result file (see the module docstring); `joints` name its V."""
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, list):
        raise DataFormatError(
            path, f"holds a JSON {type(data).__name__}, expected a list of detections",
            fix='write [{"image_id": 0, "keypoints": [x, y, score, ...], "score": 0.9}, ...]',
        )  # fmt: skip
    v = len(joints)
    frames, kps, scores, tracks = [], [], [], []
    for i, det in enumerate(data):
        what = f"detection {i}"
        if not isinstance(det, dict):
            raise DataFormatError(path, f"{what} is a {type(det).__name__}, not an object")
        key = "frame" if "frame" in det else "image_id"
        frame = _frame_number(det.get(key))
        if frame is None:
            raise DataFormatError(
                path, f"{what}: needs an integer 'frame' or 'image_id', got {det.get(key)!r:.40}",
                key=key, fix="number the frames of the clip 0, 1, 2, ...",
            )  # fmt: skip
        what = f"frame {frame}, detection {i}"
        try:
            kp = np.asarray(det["keypoints"], dtype=np.float64)
            score = float(det.get("score", 1.0))
        except (KeyError, TypeError, ValueError) as err:
            raise DataFormatError(
                path, f"{what}: needs 'keypoints' ({v} x (x, y, score) numbers) ({err!r})",
                key="keypoints",
            ) from err  # fmt: skip
        if kp.shape != (3 * v,):
            raise DataFormatError(
                path, f"{what}: {kp.size} keypoint numbers, expected {3 * v} ({v} joints x 3)",
                key="keypoints", fix="pass --layout for the joints your estimator gives",
            )  # fmt: skip
        _finite(path, kp, score, what)
        frames.append(frame)
        kps.append(kp.reshape(v, 3))
        scores.append(score)
        if "track_id" in det:
            track = _frame_number(det["track_id"])
            if track is None:
                raise DataFormatError(path, f"{what}: track_id {det['track_id']!r} is not an "
                                      "integer", key="track_id")  # fmt: skip
            tracks.append(track)
    if tracks and len(tracks) != len(frames):
        raise DataFormatError(
            path, f"{len(tracks)} of {len(frames)} detections have a track_id",
            key="track_id", fix="give every detection a track_id, or none",
        )  # fmt: skip
    return Detections(
        path=path,
        joints=tuple(joints),
        frame=np.asarray(frames, dtype=np.int64),
        keypoints=_clean(np.asarray(kps, dtype=np.float32).reshape(-1, v, 3)),
        score=np.asarray(scores, dtype=np.float32),
        track=np.asarray(tracks, dtype=np.int64) if tracks else None,
    )


def read_openpose_folder(folder: str | Path) -> Detections:
    """OpenPose's per-frame JSON files of one clip (BODY_25 or COCO-18, see the docstring)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DataFormatError(
            folder, "holds no .json files", fix="pass the folder OpenPose's --write_json wrote"
        )
    numbered = []
    for k, f in enumerate(files):
        m = _OPENPOSE_FRAME.search(f.stem)
        numbered.append((int(m.group(1)) if m else k, f))
    numbered.sort()
    joints: tuple[str, ...] | None = None
    frames, kps, scores, all_frames, by_frame = [], [], [], [], {}
    for frame, f in numbered:
        if frame in by_frame:
            raise DataFormatError(f, f"frame {frame} also comes from {by_frame[frame].name}",
                                  fix="keep one JSON file per frame")  # fmt: skip
        by_frame[frame] = f
        all_frames.append(frame)
        data = _read_json(f)
        people = data.get("people") if isinstance(data, dict) else None
        if not isinstance(people, list):
            raise DataFormatError(f, "has no 'people' list", key="people",
                                  fix="pass OpenPose's --write_json output")  # fmt: skip
        for i, person in enumerate(people):
            what = f"frame {frame}, person {i}"
            try:
                kp = np.asarray(person["pose_keypoints_2d"], dtype=np.float64)
            except (KeyError, TypeError, ValueError) as err:
                raise DataFormatError(f, f"{what}: no pose_keypoints_2d numbers ({err!r})",
                                      key="pose_keypoints_2d") from err  # fmt: skip
            if kp.size == 75:
                these = BODY25_JOINTS
            elif kp.size == 54:
                these = OPENPOSE18.joints
            else:
                raise DataFormatError(
                    f, f"{what}: {kp.size} numbers in pose_keypoints_2d, expected 75 (BODY_25) "
                    "or 54 (COCO-18)", key="pose_keypoints_2d",
                    fix="run OpenPose with --model_pose BODY_25 or COCO",
                )  # fmt: skip
            if joints is not None and these != joints:
                raise DataFormatError(f, f"{what}: mixes BODY_25 and COCO-18 in one clip")
            joints = these
            kp = kp.reshape(-1, 3)
            valid = kp[:, 2] > 0
            score = float(kp[valid, 2].mean()) if valid.any() else 0.0
            _finite(f, kp, score, what)
            frames.append(frame)
            kps.append(kp)
            scores.append(score)
    joints = joints or OPENPOSE18.joints
    return Detections(
        path=folder,
        joints=joints,
        frame=np.asarray(frames, dtype=np.int64),
        keypoints=_clean(np.asarray(kps, dtype=np.float32).reshape(-1, len(joints), 3)),
        score=np.asarray(scores, dtype=np.float32),
        frames=np.asarray(all_frames, dtype=np.int64),
        files=by_frame,
    )


def read_array(path: str | Path, *, joints: Sequence[str]) -> Detections:
    """A `.npy` array (T, V, C) or (M, T, V, C), C = 2 or 3; each person slot is a track."""
    path = Path(path)
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DataFormatError(path, f"cannot be read as .npy, truncated or damaged ({err})",
                              fix="save it again with numpy.save") from err  # fmt: skip
    v = len(joints)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[2] != v or x.shape[3] not in (2, 3) or x.shape[1] == 0:
        raise DataFormatError(
            path, f"shape {x.shape}, expected (T, V={v}, C) or (M, T, V={v}, C) with C = 2 or 3",
            fix="save (frames, joints, x-y-score) arrays, or pass the --layout they are in",
        )  # fmt: skip
    x = x.astype(np.float32)
    bad = ~np.isfinite(x).reshape(x.shape[0], x.shape[1], -1).all(axis=2)  # (M, T)
    if bad.any():
        m, t = (int(i[0]) for i in np.nonzero(bad))
        raise DataFormatError(
            path, f"frame {t}, person {m}: NaN or inf", fix="write missing joints as 0, 0 with "
            "score 0, or drop the frame",
        )  # fmt: skip
    if x.shape[3] == 2:  # no score: a joint at exactly (0, 0) is missing, the rest are seen
        seen = (x != 0).any(axis=3, keepdims=True).astype(np.float32)
        x = np.concatenate([x, seen], axis=3)
    present = (x[..., 2] > 0).any(axis=2)  # (M, T)
    m_idx, t_idx = np.nonzero(present)
    kp = x[m_idx, t_idx]
    score = np.array([k[k[:, 2] > 0, 2].mean() for k in kp], dtype=np.float32)
    return Detections(
        path=path,
        joints=tuple(joints),
        frame=t_idx.astype(np.int64),
        keypoints=_clean(kp),
        score=score,
        track=m_idx.astype(np.int64),
        frames=np.arange(x.shape[1], dtype=np.int64),
    )


def read_pose_npz(path: str | Path) -> Detections:
    """The NPZ `skelab pose` writes: frame (D,), keypoints (D, V, 3), score (D,), layout,
    num_frames (every decoded frame, detections or not)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in ("frame", "keypoints", "score", "layout", "num_frames")}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:  # cut short
        raise DataFormatError(
            path, f"is not a `skelab pose` NPZ ({err})",
            fix="make it with `skelab pose VIDEO --out OUT.npz`",
        ) from err  # fmt: skip
    skeleton = get_skeleton(str(d["layout"]))
    kp = d["keypoints"].astype(np.float32)
    for i in np.flatnonzero(~np.isfinite(kp).reshape(len(kp), -1).all(axis=1))[:1]:
        raise DataFormatError(path, f"frame {int(d['frame'][i])}, detection {i}: NaN or inf")
    return Detections(
        path=path,
        joints=skeleton.joints,
        frame=d["frame"].astype(np.int64),
        keypoints=_clean(kp),
        score=d["score"].astype(np.float32),
        frames=np.arange(int(d["num_frames"]), dtype=np.int64),
    )


def guess_format(path: str | Path) -> str:
    """The format of a clip from its name: .json, .npy, .npz, or a folder (OpenPose)."""
    path = Path(path)
    if path.is_dir():
        return "openpose-json"
    by_suffix = {".json": "coco-json", ".npy": "npy", ".npz": "pose-npz"}
    if path.suffix.lower() in by_suffix:
        return by_suffix[path.suffix.lower()]
    raise DataFormatError(
        path, "is not a keypoint file skelab knows (.json, .npy, .npz or an OpenPose folder)",
        fix="pass --format coco-json|openpose-json|npy|pose-npz",
    )  # fmt: skip


def read_detections(
    path: str | Path, fmt: str | None = None, *, layout: Skeleton | None = None
) -> Detections:
    """Read one clip in `fmt` (None: guessed from the name). `layout` names the joints of
    arrays and COCO files (default coco17); OpenPose and pose NPZs name their own."""
    fmt = fmt or guess_format(path)
    if fmt == "coco-json":
        return read_coco_json(path, joints=(layout or COCO17).joints)
    if fmt == "openpose-json":
        return read_openpose_folder(path)
    if fmt == "npy":
        if layout is None:
            raise ConfigError("--layout", "is needed for .npy arrays", fix="e.g. --layout coco17")
        return read_array(path, joints=layout.joints)
    if fmt == "pose-npz":
        return read_pose_npz(path)
    raise ConfigError("--format", f"unknown format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")


def joint_map(source: Sequence[str], target: Skeleton) -> np.ndarray:
    """Index into `source` of each of `target`'s joints, matched by name (BODY_25 ->
    openpose18, openpose18 -> coco17, ...); a target joint the source lacks is an error."""
    where = {name: i for i, name in enumerate(source)}
    missing = [name for name in target.joints if name not in where]
    if missing:
        raise ConfigError(
            "--layout", f"the input's joints lack {missing[:4]} of layout {target.name!r}",
            fix="pick a layout the estimator's joints cover (coco17 from COCO-17 or OpenPose; "
            "openpose18 from OpenPose)",
        )  # fmt: skip
    return np.asarray([where[name] for name in target.joints], dtype=np.int64)


# ------------------------------------------------------------------------------------------
# Tracking


def _boxes(kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box centres (D, 2) and diagonals (D,) of the visible joints of (D, V, 3) keypoints."""
    vis = kp[..., 2] > 0
    big = np.float32(np.inf)
    lo = np.where(vis[..., None], kp[..., :2], big).min(axis=1)
    hi = np.where(vis[..., None], kp[..., :2], -big).max(axis=1)
    none = ~vis.any(axis=1)
    lo[none], hi[none] = 0.0, 0.0
    diag = np.maximum(np.linalg.norm(hi - lo, axis=1), 1.0)
    return (lo + hi) / 2, diag


def assign_tracks(det: Detections, *, gate: float = 1.0, max_gap: int = 30) -> np.ndarray:
    """(D,) track ids: the input's own, else the constant-velocity nearest-centre rule."""
    if det.track is not None:
        pairs = np.stack([det.frame, det.track], axis=1)
        uniq, counts = np.unique(pairs, axis=0, return_counts=True)
        if (counts > 1).any():
            f, t = (int(v) for v in uniq[counts > 1][0])
            raise DataFormatError(
                det.where(f),
                f"track_id {t} appears twice in frame {f}",
                key="track_id",
                fix="keep one detection per track and frame",
            )
        return det.track
    centre, diag = _boxes(det.keypoints)
    ids = np.full(len(det.frame), -1, dtype=np.int64)
    tracks: list[dict] = []  # last centre, velocity per frame, diagonal, last frame
    for f in np.unique(det.frame):
        rows = np.flatnonzero(det.frame == f)
        live = [k for k, tr in enumerate(tracks) if f - tr["frame"] <= max_gap]
        pairs = []
        for k in live:
            tr = tracks[k]
            pred = tr["centre"] + tr["velocity"] * (f - tr["frame"])
            dist = np.linalg.norm(centre[rows] - pred, axis=1) / tr["diag"]
            cost = dist + np.abs(diag[rows] - tr["diag"]) / tr["diag"]
            pairs += [(cost[j], k, j) for j in range(len(rows)) if dist[j] <= gate]
        used_t, used_d = set(), set()
        for _, k, j in sorted(pairs):
            if k in used_t or j in used_d:
                continue
            used_t.add(k)
            used_d.add(j)
            tr, r = tracks[k], rows[j]
            tr["velocity"] = (centre[r] - tr["centre"]) / (f - tr["frame"])
            tr.update(centre=centre[r], diag=diag[r], frame=f)
            ids[r] = k
        for j in set(range(len(rows))) - used_d:
            r = rows[j]
            ids[r] = len(tracks)
            tracks.append(
                {"centre": centre[r], "velocity": np.zeros(2), "diag": diag[r], "frame": f}
            )
    return ids


def track(
    det: Detections,
    *,
    max_people: int = 2,
    empty: str = "skip",
    joints: np.ndarray | None = None,
) -> Tracked:
    """Detections to at most `max_people` consistent persons (the rules of the module
    docstring); `joints` (from `joint_map`) picks and orders the output joints."""
    if max_people < 1:
        raise ConfigError("--max-people", f"must be >= 1, got {max_people}", fix="e.g. 2")
    if empty not in EMPTY_RULES:
        raise ConfigError("empty", f"unknown rule {empty!r}", fix="use skip or error")
    if len(det.frame) == 0:
        raise DataFormatError(
            det.path,
            "holds no person in any frame",
            fix="drop this clip, or check the estimator's threshold",
        )
    ids = assign_tracks(det)
    uniq = np.unique(ids)
    total = np.array([det.score[ids == t].sum() for t in uniq])
    motion = np.zeros(len(uniq))
    for n, t in enumerate(uniq):
        kp = det.keypoints[ids == t]
        vis = kp[..., 2] > 0
        cnt = vis.sum(axis=0)  # (V,)
        xy = np.where(vis[..., None], kp[..., :2], 0.0)
        mean = xy.sum(axis=0) / np.maximum(cnt, 1)[:, None]
        var = (np.where(vis[..., None], xy - mean, 0.0) ** 2).sum(axis=0) / np.maximum(cnt, 1)[
            :, None
        ]
        motion[n] = var.sum()
    candidates = np.flatnonzero(total >= SCORE_NOISE * total.max())
    keep = candidates[np.argsort(-motion[candidates], kind="stable")][:max_people]
    all_frames = det.all_frames()
    position = {int(f): i for i, f in enumerate(all_frames)}
    kps = det.keypoints if joints is None else det.keypoints[:, joints]
    x = np.zeros((max_people, len(all_frames), kps.shape[1], 3), dtype=np.float32)
    for slot, n in enumerate(keep):
        rows = np.flatnonzero(ids == uniq[n])
        x[slot, [position[int(f)] for f in det.frame[rows]]] = kps[rows]
    seen = (x[..., 2] > 0).any(axis=(0, 2))
    if not seen.any():
        raise DataFormatError(
            det.path,
            "holds no person with a visible joint",
            fix="drop this clip, or check the estimator's threshold",
        )
    skipped = [int(f) for f in all_frames[~seen]]
    if skipped and empty == "error":
        raise DataFormatError(
            det.where(skipped[0]), f"frame {skipped[0]} has no person"
            + (f" ({len(skipped)} such frames)" if len(skipped) > 1 else ""),
            fix="pass --empty-frames skip to leave such frames out (they are listed)",
        )  # fmt: skip
    return Tracked(
        x=x[:, seen],
        frames=all_frames[seen],
        skipped=skipped,
        tracks=len(uniq),
        dropped=len(uniq) - len(keep),
    )


# ------------------------------------------------------------------------------------------
# A folder of clips to a prepared folder


@dataclass
class ImportReport:
    """What `import_keypoints` wrote and what it left out, per clip."""

    out: Path
    layout: Skeleton
    samples: dict[str, int]  # split -> clips
    skipped: dict[str, list[int]]  # clip file -> frames left out (no person)
    dropped: dict[str, int]  # clip file -> tracks left out


def clip_array(
    path: str | Path,
    fmt: str | None = None,
    *,
    layout: Skeleton | None = None,
    max_people: int = 2,
    empty: str = "skip",
) -> tuple[Tracked, Skeleton]:
    """One clip read, tracked and put in `layout` (default: the format's own): (M, T, V, 3)."""
    fmt = fmt or guess_format(path)
    source_layout = layout if fmt in ("coco-json", "npy") else None
    det = read_detections(path, fmt, layout=source_layout)
    if layout is None:
        layout = DEFAULT_LAYOUT.get(fmt) or _layout_of(det.joints)
    joints = None if tuple(det.joints) == layout.joints else joint_map(det.joints, layout)
    return track(det, max_people=max_people, empty=empty, joints=joints), layout


def _layout_of(joints: Sequence[str]) -> Skeleton:
    for name in ("coco17", "openpose18", "ntu25", "nwucla20"):
        if get_skeleton(name).joints == tuple(joints):
            return get_skeleton(name)
    raise ConfigError("--layout", "the input's joints match no named layout",
                      fix="pass --layout")  # fmt: skip


def import_keypoints(
    src: str | Path,
    labels_csv: str | Path,
    out_dir: str | Path,
    *,
    fmt: str,
    layout: Skeleton | None = None,
    max_people: int = 2,
    normalise: str = "body",
    num_classes: int | None = None,
    classes_file: str | Path | None = None,
    empty: str = "skip",
    overwrite: bool = False,
) -> ImportReport:
    """Clips in `src` (one file or folder each, named by the CSV's `file` column) to a
    prepared folder: read, tracked into `max_people` persons, normalised, written.

    Every clip in `src` needs a CSV row and every row a clip (both are errors naming the file
    or CSV line). Frames without a person follow `empty` and are listed in the report and in
    meta.json's `source.skipped_frames`."""
    from skelab.data.importers import _write
    from skelab.data.keypoints2d import normalise_2d
    from skelab.data.labels import read_label_table
    from skelab.data.writer import check_exists

    src, labels_csv, out_dir = Path(src), Path(labels_csv), Path(out_dir)
    if fmt not in FORMATS:
        raise ConfigError("--format", f"unknown format {fmt!r}",
                          fix=f"use one of {', '.join(FORMATS)}")  # fmt: skip
    check_exists(out_dir, overwrite)
    if not src.is_dir():
        raise DataFormatError(src, "is not a folder", fix="pass the folder that holds the clips")
    table = read_label_table(labels_csv, num_classes=num_classes, classes_file=classes_file)
    listed = {row.file for row in table.rows}
    clips = sorted(p.name for p in src.iterdir() if _is_clip(p, fmt))
    unlisted = [c for c in clips if c not in listed]
    if unlisted:
        raise DataFormatError(
            src / unlisted[0], f"has no row in {labels_csv}"
            + (f" ({len(unlisted)} clips have none)" if len(unlisted) > 1 else ""),
            fix=f"add a row `{unlisted[0]},LABEL,SPLIT` or move the clip out of {src}",
        )  # fmt: skip
    by_split: dict[str, tuple[list, list]] = {}
    skipped, dropped = {}, {}
    for row in table.rows:
        path = src / row.file
        if not path.exists():
            raise DataFormatError(f"{labels_csv}:{row.line}", f"file {row.file!r} is not in {src}",
                                  fix="correct the file name or add the clip")  # fmt: skip
        tracked, layout = clip_array(path, fmt, layout=layout, max_people=max_people, empty=empty)
        if tracked.skipped:
            skipped[row.file] = tracked.skipped
        if tracked.dropped:
            dropped[row.file] = tracked.dropped
        x = normalise_2d(tracked.x, layout, normalise)  # (M, T, V, 3)
        samples, labels = by_split.setdefault(row.split, ([], []))
        samples.append(x.transpose(1, 3, 2, 0))  # (T, C, V, M)
        labels.append(row.label)
    source = {
        "kind": f"keypoints ({fmt})",
        "path": str(src.resolve()),
        "labels": str(labels_csv),
        "max_people": max_people,
        "normalise": normalise,
        "skipped_frames": skipped,
    }
    _write(
        out_dir, by_split, num_classes=table.num_classes, class_names=table.class_names,
        skeleton=layout, source=source, overwrite=overwrite, channels="xy-score",
        normalise=normalise,
    )  # fmt: skip
    return ImportReport(
        out=out_dir,
        layout=layout,
        samples={k: len(v[0]) for k, v in by_split.items()},
        skipped=skipped,
        dropped=dropped,
    )


def _is_clip(path: Path, fmt: str) -> bool:
    if fmt == "openpose-json":
        return path.is_dir()
    suffix = {"coco-json": ".json", "npy": ".npy", "pose-npz": ".npz"}[fmt]
    return path.is_file() and path.suffix.lower() == suffix
