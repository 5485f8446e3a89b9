"""One clip of a dataset as joint arrays, and its 3-D animation (GIF, or MP4 through ffmpeg).

Coordinates are the dataset's own (metres from the camera for NTU, x to the right, y up, z away
from the camera). The animation shows x and z on the floor plane and y upwards, so a standing
person stands. Only the clip's valid frames and present persons are drawn; bones are the
layout's inward edges (`skelab.skeletons.Skeleton.inward`).
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

    @property
    def title(self) -> str:
        return f"{self.class_name} (sample {self.index})"

    def to_json(self, *, decimals: int = 3) -> dict[str, Any]:
        """Plain lists for the HTML player: frames rounded to millimetres by default."""
        return {
            "index": self.index,
            "label": self.label,
            "class_name": self.class_name,
            "bones": [list(b) for b in self.bones],
            "frames": np.round(self.joints.astype(np.float64), decimals).tolist(),
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
    """Write `clip` as a 3-D animation to `out` (.gif or .mp4); returns `out`."""
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
