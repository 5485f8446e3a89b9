"""`skelab demo`: synthesise NTU-like data, prepare it, train ST-GCN-lite, evaluate, summarise.

Everything lives in one folder (default `skelab-demo/`):

    skelab-demo/
      data/ntu_like.npz     the built-in NTU-like data (Kaggle layout; `skelab.synth`)
      data/ntu_like/        the same, prepared by `skelab data prepare` (memory-mapped)
      run/                  the training run (layout in `skelab.engine.trainer`)

The recipe is the preset `synth-demo/stgcn-lite-joint`. A demo folder is recognised by a marker
file, so running the demo again replaces its own data and run, and never a folder it did not make.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from skelab.engine.config import Config
from skelab.engine.evaluate import evaluate_weights
from skelab.engine.presets import load_config
from skelab.engine.rundir import RunDir
from skelab.engine.summary import ClassSummary, summarize_scores
from skelab.engine.trainer import Trainer
from skelab.errors import SkelabError
from skelab.skeletons import NTU120_CLASSES

log = logging.getLogger(__name__)

PRESET = "synth-demo/stgcn-lite-joint"
_MARKER = ".skelab-demo"


@dataclass(frozen=True)
class DemoSize:
    """How much data and training the demo does."""

    n_train: int
    n_test: int
    frames: int
    epochs: int
    overrides: tuple[str, ...] = ()


# Sized from ST-GCN-lite's cost: one step of 32 clips of 32 frames (about 51 GFLOPs forward and
# backward) took 1.3 s of CPU time on one core of a shared 2-core host, so 6 epochs of 45 steps
# plus evaluation stay within about 6 minutes on 2 cores.
FULL = DemoSize(n_train=1440, n_test=480, frames=120, epochs=6)
QUICK = DemoSize(
    n_train=48,
    n_test=24,
    frames=32,
    epochs=1,
    overrides=(
        "data.window=16",
        "train.batch_size=16",
        "train.num_threads=1",
        "model.options.channels=[8, 8, 16, 16, 16, 16]",
    ),
)


@dataclass(frozen=True)
class DemoResult:
    """What the demo did and how well the model did."""

    out: Path
    work_dir: Path
    config: Config
    top1: float
    top5: float
    chance: float
    best_epoch: int
    seconds: float
    n_train: int
    n_test: int
    summary: ClassSummary
    scores_path: Path | None


def _claim(out: Path) -> None:
    """Make `out` the demo folder, clearing a previous demo's data and run (only those)."""
    if out.exists() and any(out.iterdir()) and not (out / _MARKER).exists():
        raise SkelabError(
            f"{out} exists and was not made by `skelab demo`",
            fix="pass --out with a new or empty folder",
        )
    for sub in ("data", "run"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text(
        "made by `skelab demo`; rerunning the demo replaces data/ and run/\n"
    )


def run_demo(
    out: str | Path = "skelab-demo",
    *,
    epochs: int | None = None,
    quick: bool = False,
    progress: bool = True,
) -> DemoResult:
    """Make data, prepare it, train, evaluate the best checkpoint; returns the numbers."""
    import skelab.data as sd
    from skelab.synth import write_ntu_like

    size = QUICK if quick else FULL
    out = Path(out)
    t0 = time.perf_counter()
    _claim(out)
    base = load_config(PRESET)
    classes = base.data.num_classes
    npz = out / "data" / "ntu_like.npz"
    log.info(
        "[1/4] making %d + %d NTU-like clips of %d classes -> %s",
        size.n_train,
        size.n_test,
        classes,
        npz,
    )
    write_ntu_like(
        npz,
        num_classes=classes,
        n_train=size.n_train,
        n_test=size.n_test,
        seed=0,
        frames=size.frames,
    )
    prepared = out / "data" / "ntu_like"
    log.info("[2/4] preparing it for memory-mapped reading -> %s", prepared)
    sd.prepare(npz, prepared, overwrite=True)
    overrides = [
        f"data.path={prepared}",
        f"train.epochs={epochs or size.epochs}",
        "train.device=cpu",
        *size.overrides,
    ]
    cfg = load_config(PRESET, overrides)
    work_dir = out / "run"
    log.info(
        "[3/4] training %s for %d epochs on the CPU (preset %s)",
        cfg.model.name,
        cfg.train.epochs,
        PRESET,
    )
    fit = Trainer(cfg, work_dir=work_dir, progress=progress).fit()
    log.info("[4/4] evaluating the best checkpoint (epoch %d) on the test split", fit.best_epoch)
    result, scores_path = evaluate_weights(
        cfg, RunDir(work_dir).best, work_dir=work_dir, progress=progress
    )
    names = NTU120_CLASSES[:classes]  # the synthetic classes are NTU's A1.. in order
    return DemoResult(
        out=out,
        work_dir=work_dir,
        config=cfg,
        top1=result.top1,
        top5=result.top5,
        chance=1.0 / classes,
        best_epoch=fit.best_epoch,
        seconds=time.perf_counter() - t0,
        n_train=size.n_train,
        n_test=size.n_test,
        summary=summarize_scores(result.scores, result.labels, names),
        scores_path=scores_path,
    )
