"""`estimate_video`: every frame of a video through a pose estimator, saved as one NPZ.

The NPZ (`skelab.data.keypoints.read_pose_npz` reads it) holds one row per person found:
`frame` (D,) int64 0-based frame index, `keypoints` (D, 17, 3) float32 x, y in frame pixels
(y down) and score, `score` (D,) float32; and `layout` ("coco17"), `num_frames` (every decoded
frame, people or not), `fps`, `width`, `height`, `estimator`, `model` (the file's name).
People are not tracked here: the readers track them, as for any estimator's output.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skelab.errors import DataFormatError
from skelab.files import atomic_write

log = logging.getLogger(__name__)


def estimate_video(
    video: str | Path,
    out: str | Path,
    *,
    estimator: str,
    model: str | Path,
    device: str = "cpu",
    progress: Callable[[int], object] | None = None,
    overwrite: bool = False,
) -> Path:
    """Run `estimator` (`rtmlib` or `ultralytics`) with the local `model` file on every frame
    of `video` and write the NPZ `out` (module docstring); returns `out`. `progress(1)` is
    called after each frame (the CLI passes a bar's update; `video_info` gives the total)."""
    from skelab.pose.estimators import open_estimator
    from skelab.pose.video import read_frames, video_info

    video, out = Path(video), Path(out)
    if out.exists() and not overwrite:
        raise DataFormatError(out, "already exists", fix="choose another --out or add --overwrite")
    if not video.is_file():
        raise DataFormatError(video, "does not exist", fix="pass a video file")
    info = video_info(video)
    estimate = open_estimator(estimator, model, device=device)
    frames, keypoints, scores = [], [], []
    n = 0
    for n, image in enumerate(read_frames(video), start=1):
        kp, score = estimate(image)
        if not np.isfinite(kp).all():
            raise DataFormatError(video, f"frame {n - 1}: the estimator gave NaN keypoints",
                                  fix=f"check the model file {model}")  # fmt: skip
        frames += [n - 1] * len(kp)
        keypoints.append(kp)
        scores.append(score)
        if progress is not None:
            progress(1)
    if n == 0:
        raise DataFormatError(video, "has no decodable frame", fix="check the file")
    arrays = {
        "frame": np.asarray(frames, dtype=np.int64),
        "keypoints": np.concatenate(keypoints).astype(np.float32).reshape(-1, 17, 3),
        "score": np.concatenate(scores).astype(np.float32),
        "layout": np.asarray("coco17"),
        "num_frames": np.asarray(n),
        "fps": np.asarray(info.fps),
        "width": np.asarray(info.width),
        "height": np.asarray(info.height),
        "estimator": np.asarray(estimator),
        "model": np.asarray(Path(model).name),
    }
    log.info("%s: %d frames, %d people found", video, n, len(frames))

    def write(fh) -> None:
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        fh.write(buf.getvalue())

    return atomic_write(out, write)
