"""Early-action evaluation: accuracy when the model sees only the first part of each clip.

The standard early-action protocol: for an observation ratio x in (0, 1], every test clip is cut
to its first ceil(x * valid length) frames, then the usual test crop and resampling to
`data.window` frames follow (`skelab.data.BatchTransform(observe=x)`). At x = 1 this is plain
evaluation. `skelab eval --observe 0.1,0.3,0.5,1.0` prints the table and saves the curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from skelab.engine.config import Config
from skelab.engine.evaluate import EvalResult, evaluate_config
from skelab.errors import ConfigError


@dataclass
class EarlyPoint:
    """Accuracy at one observation ratio."""

    observe: float
    result: EvalResult


def parse_ratios(text: str) -> list[float]:
    """'0.1,0.3,1' -> [0.1, 0.3, 1.0], each in (0, 1]."""
    try:
        ratios = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise ConfigError(
            "--observe", f"{text!r} is not a comma-separated list of ratios", fix="e.g. 0.1,0.5,1"
        ) from exc
    if not ratios or not all(0.0 < r <= 1.0 for r in ratios):
        raise ConfigError(
            "--observe", f"ratios must be in (0, 1], got {text!r}", fix="e.g. 0.1,0.3,0.5,1.0"
        )
    return ratios


def observe_curve(
    cfg: Config, weights: str | Path, ratios: Sequence[float], *, progress: bool = True
) -> list[EarlyPoint]:
    """Top-1 / top-5 of `weights` on the test split at each observation ratio."""
    import skelab.data as sd
    from skelab.engine.build import build_loaders, build_transform, model_from_weights

    model, device = model_from_weights(cfg, weights)
    _, _, test_ds = build_loaders(cfg, device=device, train=False)  # checks data and model
    points = []
    for ratio in ratios:
        loader = sd.BatchLoader(
            test_ds,
            batch_size=cfg.train.test_batch_size,
            train=False,
            transform=build_transform(
                cfg,
                train=False,
                skeleton=test_ds.skeleton,
                observe=ratio,
                channels=getattr(test_ds, "channels", "xyz"),
            ),
            device=str(device),
            seed=cfg.train.seed,
        )
        result = evaluate_config(cfg, model, loader, device=device, progress=progress)
        points.append(EarlyPoint(ratio, result))
    return points


def save_curve(points: Sequence[EarlyPoint], path: str | Path, *, title: str) -> Path:
    """Top-1 against the observed share of each clip, as a PNG (matplotlib, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    xs = [100 * p.observe for p in points]
    ax.plot(xs, [100 * p.result.top1 for p in points], marker="o", label="top-1")
    ax.plot(xs, [100 * p.result.top5 for p in points], marker="s", ls="--", label="top-5")
    ax.set_xlabel("observed share of each clip (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
