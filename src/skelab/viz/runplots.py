"""Figures of a finished (or running) run: curves, confusion matrix, per-class accuracy, pairs.

The inputs are plain: the records of `metrics.jsonl` and the per-class statistics of one scores
file (`ClassStats`, which `skelab.engine.summary.summarize_scores` returns). Reading the run
folder is the caller's job (`skelab viz run` does it), so this module needs no engine.
Every figure is a PNG drawn with matplotlib's Agg canvas; nothing needs a display.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

FIGURES = ("curves", "confusion", "per_class", "confused_pairs")


class ClassStats(Protocol):
    """Per-class accuracy (NaN where a class has no sample), support and confusion counts."""

    accuracy: np.ndarray  # (C,)
    support: np.ndarray  # (C,)
    confusions: list[tuple[int, int, int]]  # (true, predicted, count), most first
    class_names: tuple[str, ...]


@dataclass
class RunView:
    """What the figures and the report show of one run."""

    name: str
    records: list[dict[str, Any]]
    stats: ClassStats
    scores_file: str
    config_text: str = ""
    top1: float = float("nan")
    top5: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)


def confusion_matrix(stats: ClassStats) -> np.ndarray:
    """(C, C) counts, rows true class, columns predicted, rebuilt from the statistics."""
    c = len(stats.accuracy)
    matrix = np.zeros((c, c), np.int64)
    hits = np.nan_to_num(np.asarray(stats.accuracy, np.float64)) * np.asarray(stats.support)
    matrix[np.arange(c), np.arange(c)] = np.round(hits).astype(np.int64)
    for t, p, n in stats.confusions:
        matrix[t, p] = n
    return matrix


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> Path:
    from skelab.files import atomic_write

    fig.tight_layout()
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png"))


def plot_curves(records: list[dict[str, Any]], path: Path, *, title: str = "") -> Path:
    """Loss (train, test) and accuracy (train top-1, test top-1/top-5) per epoch."""
    fig = _figure(9, 3.6)
    ax_loss, ax_acc = fig.subplots(1, 2)

    def series(key: str) -> tuple[list[float], list[float]]:
        pts = [(r["epoch"], r[key]) for r in records if r.get(key) is not None and "epoch" in r]
        return [p[0] for p in pts], [p[1] for p in pts]

    for key, label in (("train_loss", "train"), ("test_loss", "test")):
        xs, ys = series(key)
        if xs:
            ax_loss.plot(xs, ys, marker="o", ms=3, label=label)
    accuracies = (
        ("train_top1", "train top-1"),
        ("test_top1", "test top-1"),
        ("test_top5", "test top-5"),
    )
    for key, label in accuracies:
        xs, ys = series(key)
        if xs:
            ax_acc.plot(xs, [100 * y for y in ys], marker="o", ms=3, label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_confusion(stats: ClassStats, path: Path) -> Path:
    """Row-normalised confusion matrix with class names on both axes."""
    matrix = confusion_matrix(stats)
    c = len(matrix)
    rows = matrix.sum(1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape, np.float64), where=rows > 0)
    side = min(max(4.0, 0.16 * c + 2.5), 24.0)
    fig = _figure(side, side)
    ax = fig.subplots()
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    font = max(3.0, min(8.0, 400.0 / max(c, 1)))
    ax.set_xticks(range(c), stats.class_names[:c], rotation=90, fontsize=font)
    ax.set_yticks(range(c), stats.class_names[:c], fontsize=font)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix (share of each true class)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _save(fig, path)


def plot_per_class(stats: ClassStats, path: Path) -> Path:
    """Per-class top-1 accuracy as horizontal bars, worst class at the top."""
    present = [c for c in range(len(stats.accuracy)) if stats.support[c] > 0]
    present.sort(key=lambda c: (stats.accuracy[c], c))
    fig = _figure(7, min(max(2.5, 0.18 * len(present) + 1.2), 24.0))
    ax = fig.subplots()
    acc = [100 * float(stats.accuracy[c]) for c in present]
    ax.barh(range(len(present)), acc, color="#4c72b0")
    font = max(3.0, min(8.0, 400.0 / max(len(present), 1)))
    ax.set_yticks(range(len(present)), [stats.class_names[c] for c in present], fontsize=font)
    ax.invert_yaxis()
    ax.set(xlim=(0, 100), xlabel="top-1 accuracy (%)", title="per-class accuracy, sorted")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def plot_confused_pairs(stats: ClassStats, path: Path, *, k: int = 15) -> Path:
    """The `k` most frequent (true -> predicted) confusions as horizontal bars."""
    pairs = stats.confusions[:k]
    fig = _figure(7, max(2.0, 0.3 * len(pairs) + 1.2))
    ax = fig.subplots()
    if pairs:
        names = stats.class_names
        ax.barh(range(len(pairs)), [n for _, _, n in pairs], color="#c44e52")
        ax.set_yticks(
            range(len(pairs)), [f"{names[t]} -> {names[p]}" for t, p, _ in pairs], fontsize=7
        )
        ax.invert_yaxis()
        ax.set(xlabel="test clips")
    else:
        ax.text(0.5, 0.5, "no confusions", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title("most confused pairs (true -> predicted)")
    return _save(fig, path)


def write_run_figures(view: RunView, out_dir: str | Path) -> dict[str, Path]:
    """Write the four PNGs of a run into `out_dir`; returns {figure name: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "curves": plot_curves(view.records, out_dir / "curves.png", title=view.name),
        "confusion": plot_confusion(view.stats, out_dir / "confusion.png"),
        "per_class": plot_per_class(view.stats, out_dir / "per_class.png"),
        "confused_pairs": plot_confused_pairs(view.stats, out_dir / "confused_pairs.png"),
    }
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths
