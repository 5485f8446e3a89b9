"""One clip of a dataset as joint arrays, and its animation (GIF, or MP4 through ffmpeg).

Coordinates are the dataset's own (metres from the camera for NTU, x to the right, y up, z away
from the camera). The 3-D animation shows x and z on the floor plane and y upwards, so a
standing person stands. 2-D keypoints (meta.json `channels: xy-score`) are drawn flat, x to
the right and y up (normalised data) or image y downwards (`normalise: none`, pixels); their
third channel is the score, never a depth, and joints with score 0 are not drawn. Only the
clip's valid frames and present persons are drawn; bones are the layout's inward edges
(`skelab.skeletons.Skeleton.inward`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelab.errors import ConfigError, DataFormatError, SkelabError

log = logging.getLogger(__name__)

PERSON_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
FORMATS = (".gif", ".mp4")


@dataclass(frozen=True)
class SampleClip:
    """The valid frames of one sample: `joints` (T, M, V, 3) float32, persons present only."""

    joints: np.ndarray
    bones: tuple[tuple[int, int], ...]
    label: int
    class_name: str
    index: int
    source: str
    planar: bool = False  # 2-D keypoints: channel 2 is the score
    y_down: bool = False  # 2-D pixels as the estimator gave them (image y points down)

    @property
    def title(self) -> str:
        return f"{self.class_name} (sample {self.index})"

    def to_json(self, *, decimals: int = 3) -> dict[str, Any]:
        """Plain lists for the HTML player: frames rounded to millimetres by default. 2-D
        clips become flat 3-D points (z = 0, y up), so the player never shows a score as depth."""
        joints = self.joints
        if self.planar:
            joints = joints.copy()
            joints[..., 1] *= -1.0 if self.y_down else 1.0
            joints[..., 2] = 0.0
        return {
            "index": self.index,
            "label": self.label,
            "class_name": self.class_name,
            "bones": [list(b) for b in self.bones],
            "frames": np.round(joints.astype(np.float64), decimals).tolist(),
        }


def sample_clip(dataset: Any, index: int, *, max_frames: int | None = None) -> SampleClip:
    """Sample `index` of a `skelab.data.SkeletonDataset` split, cut to its valid frames and
    persons; `max_frames` keeps that many frames, evenly spaced, for small files."""
    if max_frames is not None and max_frames < 1:
        raise ConfigError(
            "--max-frames", f"must be >= 1, got {max_frames}", fix="e.g. --max-frames 60"
        )
    n = len(dataset)
    if not 0 <= index < n:
        raise DataFormatError(
            dataset.path,
            f"sample index {index} is out of range: the {dataset.split} split has {n} samples",
            fix=f"use --index between 0 and {n - 1}",
        )
    length = max(int(dataset.lengths[index]), 1)
    persons = max(int(dataset.persons[index]), 1)
    x = np.asarray(dataset.x[index], dtype=np.float32)  # (C, T, V, M)
    joints = x[:3, :length, :, :persons].transpose(1, 3, 2, 0)  # (T, M, V, 3)
    if max_frames is not None and length > max_frames:
        keep = np.round(np.linspace(0, length - 1, max_frames)).astype(np.int64)
        joints = joints[keep]
    label = int(dataset.y[index])
    names = dataset.class_names
    return SampleClip(
        joints=np.ascontiguousarray(joints),
        bones=tuple(dataset.skeleton.inward),
        label=label,
        class_name=names[label] if label < len(names) else f"class {label}",
        index=index,
        source=str(dataset.path),
        planar=getattr(dataset, "channels", "xyz") == "xy-score",
        y_down=getattr(dataset, "normalise", "none") == "none",
    )


def _writer(out: Path, fps: int) -> Any:
    from matplotlib import animation

    if out.suffix == ".gif":
        return animation.PillowWriter(fps=fps)
    if not animation.writers.is_available("ffmpeg"):
        raise SkelabError(
            f"writing {out} needs ffmpeg, which is not installed",
            fix=f"write a GIF instead: --out {out.with_suffix('.gif')} "
            "(or install ffmpeg, e.g. `apt-get install ffmpeg`)",
        )
    return animation.FFMpegWriter(fps=fps)


def animate_clip(clip: SampleClip, out: str | Path, *, fps: int = 15, size: float = 4.0) -> Path:
    """Write `clip` as an animation to `out` (.gif or .mp4), 3-D or flat for 2-D keypoints;
    returns `out`."""
    out = Path(out)
    if fps < 1:
        raise ConfigError("--fps", f"must be >= 1, got {fps}", fix="e.g. --fps 15")
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(
            "--out",
            f"{out.name}: unknown animation format {out.suffix or '(none)'!r}",
            fix=f"end the file name with .gif or .mp4, e.g. {out.with_suffix('.gif')}",
        )
    out = out.with_suffix(out.suffix.lower())
    writer = _writer(out, fps)  # before any drawing: a missing ffmpeg fails fast
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size, size), dpi=80)
    FigureCanvasAgg(fig)
    if clip.planar:
        return _animate_2d(clip, out, fig, writer)
    ax = fig.add_subplot(projection="3d")
    pts = clip.joints  # (T, M, V, 3)
    lo, hi = pts.reshape(-1, 3).min(0), pts.reshape(-1, 3).max(0)
    mid, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * 1.1
    lines = []
    for m in range(pts.shape[1]):
        colour = PERSON_COLOURS[m % len(PERSON_COLOURS)]
        lines.append([ax.plot([], [], [], color=colour, lw=2)[0] for _ in clip.bones])
    ax.set_xlim(mid[0] - half, mid[0] + half)
    ax.set_ylim(mid[2] - half, mid[2] + half)
    ax.set_zlim(mid[1] - half, mid[1] + half)
    ax.set_xlabel("x")
    ax.set_ylabel("z")
    ax.set_zlabel("y")
    ax.view_init(elev=15, azim=-70)
    fig.suptitle(clip.title, fontsize=10)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial{out.suffix}")
    with writer.saving(fig, str(partial), dpi=80):
        for t in range(pts.shape[0]):
            for m, bone_lines in enumerate(lines):
                frame = pts[t, m]
                for line, (i, j) in zip(bone_lines, clip.bones, strict=True):
                    line.set_data_3d(
                        [frame[i, 0], frame[j, 0]],
                        [frame[i, 2], frame[j, 2]],
                        [frame[i, 1], frame[j, 1]],
                    )
            ax.set_title(f"frame {t + 1}/{pts.shape[0]}", fontsize=8)
            writer.grab_frame()
    partial.replace(out)
    log.info("wrote %s: %d frames, %d person(s)", out, pts.shape[0], pts.shape[1])
    return out


def _animate_2d(clip: SampleClip, out: Path, fig: Any, writer: Any) -> Path:
    """The flat animation of 2-D keypoints: x right, y up (or image y down for raw pixels);
    a bone is drawn only in frames where both its joints are seen (score above 0)."""
    ax = fig.add_subplot()
    pts = clip.joints  # (T, M, V, 3): x, y, score
    seen = pts[..., 2] > 0
    xy = pts[..., :2][seen] if seen.any() else np.zeros((1, 2), np.float32)
    lo, hi = xy.min(0), xy.max(0)
    mid, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * 1.1
    ax.set_xlim(mid[0] - half, mid[0] + half)
    ax.set_ylim(mid[1] - half, mid[1] + half)
    if clip.y_down:
        ax.invert_yaxis()  # pixels: image y grows downwards, so the head stays on top
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y (image, down)" if clip.y_down else "y")
    fig.suptitle(clip.title, fontsize=10)
    lines = [
        [
            ax.plot([], [], color=PERSON_COLOURS[m % len(PERSON_COLOURS)], lw=2)[0]
            for _ in clip.bones
        ]
        for m in range(pts.shape[1])
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial{out.suffix}")
    with writer.saving(fig, str(partial), dpi=80):
        for t in range(pts.shape[0]):
            for m, bone_lines in enumerate(lines):
                frame, ok = pts[t, m], seen[t, m]
                for line, (i, j) in zip(bone_lines, clip.bones, strict=True):
                    both = ok[i] and ok[j]
                    line.set_data(
                        [frame[i, 0], frame[j, 0]] if both else [],
                        [frame[i, 1], frame[j, 1]] if both else [],
                    )
            ax.set_title(f"frame {t + 1}/{pts.shape[0]}", fontsize=8)
            writer.grab_frame()
    partial.replace(out)
    log.info("wrote %s: %d frames, %d person(s), 2-D", out, pts.shape[0], pts.shape[1])
    return out
