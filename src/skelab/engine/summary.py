"""Summaries in words: per-class accuracy of a scores file (best and worst classes by name, top
confusions), the one line the trainer logs per epoch, and percentages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ClassSummary:
    """Accuracy per class (0..1, NaN where a class has no test sample) and the confusions."""

    accuracy: np.ndarray  # (C,)
    support: np.ndarray  # (C,) test samples per class
    confusions: list[tuple[int, int, int]]  # (true class, predicted class, count), most first
    class_names: tuple[str, ...]

    def best(self, k: int = 3) -> list[tuple[str, float, int]]:
        return self._ranked(k, reverse=True)

    def worst(self, k: int = 3) -> list[tuple[str, float, int]]:
        return self._ranked(k, reverse=False)

    def _ranked(self, k: int, *, reverse: bool) -> list[tuple[str, float, int]]:
        present = [c for c in range(len(self.accuracy)) if self.support[c] > 0]
        present.sort(key=lambda c: (self.accuracy[c], -c), reverse=reverse)
        return [
            (self.class_names[c], float(self.accuracy[c]), int(self.support[c]))
            for c in present[:k]
        ]

    def to_text(self, k: int = 3) -> str:
        def rows(items: list[tuple[str, float, int]]) -> list[str]:
            return [f"    {100 * acc:5.1f}%  {name} ({n} clips)" for name, acc, n in items]

        lines = ["  best classes:", *rows(self.best(k)), "  hardest classes:", *rows(self.worst(k))]
        if self.confusions:
            lines.append("  most frequent confusions (true -> predicted):")
            for t, p, n in self.confusions[:k]:
                lines.append(f"    {n:4d}x  {self.class_names[t]} -> {self.class_names[p]}")
        return "\n".join(lines)


def summarize_scores(
    scores: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...] | list[str]
) -> ClassSummary:
    """Per-class top-1 accuracy and the off-diagonal confusion counts of (N, C) logits."""
    c = scores.shape[1]
    names = (
        tuple(class_names)[:c] if len(class_names) >= c else tuple(f"class {i}" for i in range(c))
    )
    pred = scores.argmax(1)
    matrix = np.zeros((c, c), np.int64)
    np.add.at(matrix, (labels, pred), 1)
    support = matrix.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.diag(matrix) / support
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    pairs = [(int(t), int(p), int(off[t, p])) for t, p in zip(*np.nonzero(off), strict=True)]
    pairs.sort(key=lambda tpn: (-tpn[2], tpn[0], tpn[1]))
    return ClassSummary(accuracy=accuracy, support=support, confusions=pairs, class_names=names)


def epoch_line(r: dict[str, Any], epochs: int, best_top1: float, best_epoch: int) -> str:
    """The one line the trainer logs per epoch, from its metrics record."""
    parts = [
        f"epoch {r['epoch']}/{epochs}",
        f"loss {r['train_loss']:.4f}",
        f"lr {r['lr']:.3g}",
        f"train top-1 {100 * r['train_top1']:.1f}%",
    ]
    extra = [
        k
        for k in r
        if k.startswith("train_")
        and k not in ("train_loss", "train_ce", "train_top1", "train_time_s")
    ]
    parts += [f"{k[6:]} {r[k]:.4f}" for k in extra]
    if "test_top1" in r:
        parts.append(f"test top-1 {100 * r['test_top1']:.2f}% top-5 {100 * r['test_top5']:.2f}%")
    if "holdout_top1" in r:
        parts.append(f"held-out top-1 {100 * r['holdout_top1']:.2f}%")
    if best_epoch:
        rule = r.get("select", "test")
        value = "" if rule == "last" else f" {100 * best_top1:.2f}%"
        parts.append(f"best.pt ({rule} rule){value} @ epoch {best_epoch}")
    parts.append(f"{r['epoch_time_s']:.1f}s, {r['samples_per_s']:.0f} samples/s")
    return " | ".join(parts)


def percent(x: float) -> str:
    """0.8731 -> '87.31%'; NaN (nothing evaluated) -> 'n/a'."""
    return "n/a" if math.isnan(x) else f"{100 * x:.2f}%"


def fit_summary(name: str, result: Any) -> str:
    """What `skelab train` prints at the end of a run (a `FitResult`): the chosen epoch, the rule
    that chose it (train.select) and its figures; select=holdout adds the one test evaluation."""
    head = f"{name}: {result.epochs_done} epochs; best.pt = epoch {result.best_epoch}, chosen by "
    head += f"{result.select_words} (train.select={result.select})"
    last = result.last_eval
    if result.select == "holdout":
        final = result.final_eval
        head += f"; held-out top-1 {percent(result.best_top1)}"
        if final is not None:
            head += f"; test top-1 {percent(final.top1)}, top-5 {percent(final.top5)}"
        return head
    if result.select == "test":
        head += f"; test top-1 {percent(result.best_top1)}"
    if last is not None:
        head += f"; last epoch test top-1 {percent(last.top1)}, top-5 {percent(last.top5)}"
    return head
