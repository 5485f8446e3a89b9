"""A timeline of predicted actions as a PNG strip: one coloured bar per segment, one row."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def plot_timeline(segments: Sequence[dict[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """Draw `segments` (`{"start", "end", "top": [{"class", "name", "prob"}, ...]}`, as
    `skelab predict --stride --json` prints them) as a strip over the frames; each class keeps
    one colour, each bar is labelled with its top class and probability."""
    from skelab.viz.runplots import _figure, _save

    fig = _figure(max(6.0, min(24.0, 0.8 * len(segments) + 4)), 1.9)
    ax = fig.add_subplot(1, 1, 1)
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    classes: dict[int, int] = {}
    for seg in segments:
        best = seg["top"][0]
        colour = cmap(classes.setdefault(best["class"], len(classes)) % 20)
        width = seg["end"] - seg["start"] + 1
        ax.barh(0, width, left=seg["start"], height=0.6, color=colour, edgecolor="white")
        ax.text(seg["start"] + width / 2, 0, f"{best['name']}\n{100 * best['prob']:.0f}%",
                ha="center", va="center", fontsize=7, clip_on=True)  # fmt: skip
    ax.set_yticks([])
    ax.set_xlabel("frame")
    if segments:
        ax.set_xlim(segments[0]["start"], segments[-1]["end"] + 1)
    ax.set_title(title or "predicted actions", fontsize=9)
    return _save(fig, Path(path))
