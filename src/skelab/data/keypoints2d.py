"""2-D keypoints in image pixels to model-ready clips: one documented per-clip normalisation.

A pose estimator gives each joint as (x, y, score) in pixels, y pointing down. Fed raw, the
values reach the thousands (ST-GCN's logits then reach 1e6), so the importers normalise each
clip once, before writing, by `normalise_2d`, and record the mode in meta.json (`normalise`,
with `channels: "xy-score"`):

* A joint is *seen* when its score is above 0 and x and y are finite. Joints not seen are
  written as (0, 0, 0) and never move the centre or the scale.
* `body` (the default): the centre is the mean position of the layout's centre joint
  (`Skeleton.center`: the nose for coco17, the neck for openpose18) over every person and frame
  where it is seen; the scale is a body length, the median over persons and frames of the mean
  length of the layout's bones (its graph edges, `Skeleton.inward`) whose two ends are seen.
  A coordinate of 1 is one average bone. When the centre joint is never seen the box centre is
  used; when no bone is seen, the box scale.
* `box`: the centre is the centre of the box around every seen joint of the clip (all persons
  and frames); the scale is half the box's longer side, so coordinates fall in [-1, 1].
* `none`: values stay as they are (pixels; only cast to float32).

Both modes flip y (y = -(y_pixel - centre_y) / scale), so up is positive as in NTU's camera
coordinates; the score stays channel 2, unchanged, as PYSKL keeps it for 2-D data. One centre
and one scale per clip (not per frame) keep the motion of the body across the image.
"""

from __future__ import annotations

import numpy as np

from skelab.errors import ConfigError, DataFormatError
from skelab.skeletons import Skeleton

MODES = ("body", "box", "none")


def seen_mask(clip: np.ndarray) -> np.ndarray:
    """(M, T, V) bool: joints with a score above 0 and finite x and y."""
    return (clip[..., 2] > 0) & np.isfinite(clip[..., 0]) & np.isfinite(clip[..., 1])


def _box(xy: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (2,) and half the longer side of the box around the seen joints."""
    pts = xy[seen]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2, float((hi - lo).max() / 2)


def _body(xy: np.ndarray, seen: np.ndarray, skeleton: Skeleton) -> tuple[np.ndarray | None, float]:
    """Mean centre-joint position (None when never seen) and median mean-bone length."""
    c = skeleton.center
    centre = xy[..., c, :][seen[..., c]].mean(axis=0) if seen[..., c].any() else None
    child = np.asarray([i for i, _ in skeleton.inward], dtype=np.int64)
    parent = np.asarray([j for _, j in skeleton.inward], dtype=np.int64)
    if not len(child):
        return centre, 0.0
    both = seen[..., child] & seen[..., parent]  # (M, T, E)
    lengths = np.linalg.norm(xy[..., child, :] - xy[..., parent, :], axis=-1)  # (M, T, E)
    counts = both.sum(axis=-1)
    has = counts > 0
    if not has.any():
        return centre, 0.0
    mean_bone = np.where(both, lengths, 0.0).sum(axis=-1)[has] / counts[has]
    return centre, float(np.median(mean_bone))


def normalise_2d(clip: np.ndarray, skeleton: Skeleton, mode: str = "body") -> np.ndarray:
    """Normalise one clip `(M, T, V, 3)` of (x, y, score) pixels by the module's rule.

    Returns float32 of the same shape: x and y centred, scaled and y up, score as given, joints
    not seen all zero. `mode` is `body`, `box` or `none` (the input as float32)."""
    if mode not in MODES:
        raise ConfigError(
            "--normalise", f"{mode!r} is not one of {', '.join(MODES)}", fix="use body (default)"
        )
    x = np.asarray(clip, dtype=np.float32)
    if x.ndim != 4 or x.shape[-1] != 3 or x.shape[2] != skeleton.num_joints:
        raise DataFormatError(
            "keypoints",
            f"shape {x.shape}, expected (M, T, V={skeleton.num_joints}, 3) of (x, y, score) "
            f"for layout {skeleton.name!r}",
            fix="pass one clip of 2-D keypoints with their scores",
        )
    if mode == "none":
        return x.copy()
    seen = seen_mask(x)
    out = np.zeros_like(x)
    if not seen.any():
        return out
    xy = np.where(seen[..., None], x[..., :2], 0.0).astype(np.float64)
    box_centre, box_scale = _box(xy, seen)
    centre, scale = box_centre, box_scale
    if mode == "body":
        body_centre, body_scale = _body(xy, seen, skeleton)
        centre = box_centre if body_centre is None else body_centre
        scale = body_scale if body_scale > 0 else box_scale
    scale = scale if scale > 0 else 1.0  # one seen point: centred only
    norm = (xy - centre) / scale
    norm[..., 1] *= -1.0  # image y points down; skelab's y points up
    out[..., :2] = np.where(seen[..., None], norm, 0.0)
    out[..., 2] = np.where(seen, x[..., 2], 0.0)
    return out
