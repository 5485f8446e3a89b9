"""Pictures of skeletons and runs: an animated clip, a run's curves and confusions, an HTML report.

    from skelab.viz import sample_clip, animate_clip
    clip = sample_clip(skelab.data.load("ntu_like.npz", split="test"), 12)
    animate_clip(clip, "clip12.gif")

matplotlib is imported inside the drawing functions (with the display-free Agg backend), so
importing this package costs nothing and needs no matplotlib. Every figure is written to a file;
nothing opens a window.
"""

from __future__ import annotations

from skelab._lazy import lazy_exports

_LAZY = {
    "SampleClip": "skelab.viz.skeleton",
    "sample_clip": "skelab.viz.skeleton",
    "animate_clip": "skelab.viz.skeleton",
    "ClassStats": "skelab.viz.runplots",
    "RunView": "skelab.viz.runplots",
    "confusion_matrix": "skelab.viz.runplots",
    "write_run_figures": "skelab.viz.runplots",
    "most_confused": "skelab.viz.report",
    "write_report": "skelab.viz.report",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)
