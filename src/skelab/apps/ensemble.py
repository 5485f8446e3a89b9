"""Fusing the scores of several runs (e.g. the joint, bone and motion streams of one model).

The fused score of a sample is the weighted sum of the runs' logits: sum_i w_i * scores_i, and
top-1 / top-5 are read from it. Before fusing, the runs must agree on the split they were
scored on (benchmark, labels), the sample order (`index`) and the class count; a mismatch stops
with an error, because misaligned score files fuse into nonsense without any other sign.

By default each run contributes the test scores of its best checkpoint: the epoch
`checkpoints/best.pt` holds, chosen by the run's `train.select` rule (test top-1, upstream's
rule; the held-out part of the training split; or the last epoch); `checkpoint="last"` takes the
last epoch. The result names the rule of every run, so a fused figure says whether the test split
chose any checkpoint.

`search_weights` chooses the weights on the held-out part of the TRAINING split
(`scores/epoch_<N>_holdout.npz`, written when the runs were trained with `data.holdout > 0`),
never on the test split: upstream repositories tune fusion weights on the test set, which makes
the fused test accuracy an optimistic estimate.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from skelab.engine.metrics import load_scores, topk_accuracy
from skelab.engine.rundir import RunDir, chosen_by, run_of
from skelab.errors import SkelabError

# Candidate weights per run for `search_weights`: 0, 0.2, ..., 1 (6 ** runs combinations).
SEARCH_GRID = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class RunScores:
    """One run's scores on one part ("test" or "holdout") at one epoch."""

    run_dir: Path
    name: str
    benchmark: str
    epoch: int
    part: str
    scores: np.ndarray  # (N, C) float32 logits
    labels: np.ndarray  # (N,) int64
    index: np.ndarray  # (N,) int64
    select: str = "test"  # the run's train.select: what chose `epoch` (checkpoint "best")
    checkpoint: str = "best"

    @property
    def chosen_by(self) -> str:
        """In words: what chose this run's epoch."""
        return chosen_by(self.select, self.checkpoint)

    @property
    def num_classes(self) -> int:
        return int(self.scores.shape[1])


@dataclass
class EnsembleResult:
    """Fused accuracy (fractions) and how it was obtained."""

    top1: float
    top5: float
    weights: list[float]
    runs: list[RunScores]
    searched: bool = False
    holdout_top1: float | None = None
    holdout_samples: int = 0
    member_top1: list[float] = field(default_factory=list)

    @property
    def test_chose_checkpoints(self) -> bool:
        """Whether the test split chose the epoch of any run (train.select=test)."""
        return any(r.checkpoint == "best" and r.select == "test" for r in self.runs)

    def to_dict(self) -> dict[str, object]:
        return {
            "top1": self.top1,
            "top5": self.top5,
            "weights": self.weights,
            "samples": int(len(self.runs[0].labels)),
            "runs": [
                {
                    "run": str(r.run_dir),
                    "epoch": r.epoch,
                    "top1": t,
                    "checkpoint": r.checkpoint,
                    "select": r.select if r.checkpoint == "best" else "last",
                    "chosen_by": r.chosen_by,
                }
                for r, t in zip(self.runs, self.member_top1, strict=True)
            ],
            "scores": f"test scores of each run's {self.runs[0].checkpoint} checkpoint",
            "test_chose_checkpoints": self.test_chose_checkpoints,
            "weights_from": "held-out part of the training split" if self.searched else "given",
            "holdout_top1": self.holdout_top1,
            "holdout_samples": self.holdout_samples,
        }


def _run_config(run: RunDir) -> dict:
    raw = yaml.safe_load(run.config.read_text()) or {}
    return raw if isinstance(raw, dict) else {}


def best_epoch(run_dir: str | Path) -> int:
    """The epoch `checkpoints/best.pt` holds (chosen by the run's train.select)."""
    return run_of(run_dir).chosen_epoch("best")


def load_run_scores(
    run_dir: str | Path,
    *,
    part: str = "test",
    epoch: int | None = None,
    checkpoint: str = "best",
) -> RunScores:
    """A run's scores on `part` ("test" or "holdout") at `epoch` (default: the epoch of
    `checkpoints/<checkpoint>.pt`). `run_dir` may also be a checkpoint file inside the run."""
    run = run_of(run_dir)
    cfg = _run_config(run)
    epoch = run.chosen_epoch(checkpoint) if epoch is None else epoch
    path = run.epoch_scores(epoch, part)
    if not path.is_file():
        fix = (
            "retrain the runs with --set data.holdout=0.05 (a held-out part of the training "
            "split), or give the fusion weights instead of --search"
            if part == "holdout"
            else "a train.select=holdout run scores the test split only at the epoch it chose "
            "(--checkpoint best)"
            if run.select_rule() == "holdout"
            else "evaluate the run at that epoch, or pass another run folder"
        )
        raise SkelabError(f"{run.path}: no {part} scores for epoch {epoch} ({path.name})", fix=fix)
    arrays = load_scores(path)
    name = str(cfg.get("name") or run.path.name)
    # the preset's benchmark; a run of a config that is no preset: its data
    benchmark = str((cfg.get("preset") or {}).get("benchmark") or "")
    benchmark = benchmark or str((cfg.get("data") or {}).get("path", ""))
    return RunScores(
        run.path,
        name,
        benchmark,
        epoch,
        part,
        **arrays,
        select=run.select_rule(),
        checkpoint=checkpoint,
    )


def check_aligned(runs: Sequence[RunScores]) -> None:
    """Raise unless every run was scored on the same split, samples and classes."""
    if len(runs) < 2:
        raise SkelabError("an ensemble needs at least two runs", fix="pass two or more run folders")
    first = runs[0]
    for run in runs[1:]:
        problem = None
        if run.benchmark != first.benchmark:
            problem = f"split {run.benchmark!r} vs {first.benchmark!r}"
        elif run.num_classes != first.num_classes:
            problem = f"{run.num_classes} classes vs {first.num_classes}"
        elif not np.array_equal(run.index, first.index):
            problem = (
                f"sample order (index) differs ({len(run.index)} vs {len(first.index)} samples)"
            )
        elif not np.array_equal(run.labels, first.labels):
            problem = "labels differ for the same sample positions"
        if problem:
            raise SkelabError(
                f"{run.run_dir} and {first.run_dir} cannot be fused: {problem} ({run.part} scores)",
                fix="fuse runs of the same benchmark and data, trained from presets of one "
                "dataset (e.g. ntu60-xsub/ctrgcn-joint and ntu60-xsub/ctrgcn-bone)",
            )


def fuse(runs: Sequence[RunScores], weights: Sequence[float]) -> np.ndarray:
    """sum_i weights[i] * runs[i].scores, (N, C) float64."""
    if len(weights) != len(runs):
        raise SkelabError(
            f"{len(weights)} weights for {len(runs)} runs",
            fix=f"give one weight per run, e.g. --weights {','.join(['1'] * len(runs))}",
        )
    return sum(float(w) * r.scores.astype(np.float64) for w, r in zip(weights, runs, strict=True))


def search_weights(holdout: Sequence[RunScores]) -> tuple[list[float], float]:
    """The grid weights (`SEARCH_GRID` per run) with the best fused top-1 on `holdout`
    (the first such in grid order), and that top-1."""
    check_aligned(holdout)
    best_w: list[float] = []
    best = -1.0
    for w in itertools.product(SEARCH_GRID, repeat=len(holdout)):
        if not any(w):
            continue
        top1 = topk_accuracy(fuse(holdout, w), holdout[0].labels, 1)
        if top1 > best:
            best_w, best = list(w), top1
    return best_w, best


def ensemble(
    run_dirs: Sequence[str | Path],
    *,
    weights: Sequence[float] | None = None,
    search: bool = False,
    checkpoint: str = "best",
) -> EnsembleResult:
    """Fuse the test scores of `run_dirs` at the epoch of their `checkpoint` ("best": the one
    each run's train.select chose; "last") with `weights` (default all 1), or with weights
    searched on the held-out training samples (`search`)."""
    if search and weights is not None:
        raise SkelabError("fusion weights and --search exclude each other", fix="pass one of them")
    runs = [load_run_scores(d, checkpoint=checkpoint) for d in run_dirs]
    check_aligned(runs)
    holdout_top1, holdout_n = None, 0
    if search:
        holdout = [load_run_scores(r.run_dir, part="holdout", epoch=r.epoch) for r in runs]
        weights, holdout_top1 = search_weights(holdout)
        holdout_n = len(holdout[0].labels)
    weights = [1.0] * len(runs) if weights is None else [float(w) for w in weights]
    fused = fuse(runs, weights)
    labels = runs[0].labels
    return EnsembleResult(
        top1=topk_accuracy(fused, labels, 1),
        top5=topk_accuracy(fused, labels, 5),
        weights=weights,
        runs=runs,
        searched=search,
        holdout_top1=holdout_top1,
        holdout_samples=holdout_n,
        member_top1=[topk_accuracy(r.scores, labels, 1) for r in runs],
    )


def stream_presets(name: str) -> list[str]:
    """Every stream preset of the model of preset `name`, in STREAMS order."""
    from skelab.engine.presets import STREAMS, list_presets, load_config

    record = load_config(name).preset
    if not record.stream:
        raise SkelabError(
            f"{name!r} is not a stream preset (benchmark/model-stream)",
            fix="pass a preset name, e.g. `skelab train ntu60-xsub/ctrgcn-joint --streams all`",
        )
    known = set(list_presets())
    return [record.sibling(stream=s) for s in STREAMS if record.sibling(stream=s) in known]


def train_streams(
    name: str,
    overrides: Sequence[str] = (),
    *,
    work_root: Path | None,
    resume: bool = False,
    progress: bool = True,
) -> tuple[list[Path], EnsembleResult | None]:
    """Train every stream of preset `name`'s model one after another, each in its own run
    folder (`work_root/<stream>`, default `work_dir/<preset>`), then fuse them: with the
    upstream repo's own weights when every stream preset has one (`info.fusion_weight`), else
    with weights searched on held-out training samples (`data.holdout` is then 0.05 unless
    overridden; with upstream weights nothing is held out, as upstream trains on all of it).

    Returns the run folders and the ensemble (None on DDP ranks other than 0)."""
    from skelab.engine.presets import load_config
    from skelab.engine.trainer import Trainer

    overrides = list(overrides)
    presets = stream_presets(name)
    upstream = [load_config(p, overrides).info.fusion_weight for p in presets]
    own_weights = all(w is not None for w in upstream)
    if not own_weights and not any(o.split("=", 1)[0].strip() == "data.holdout" for o in overrides):
        overrides.append("data.holdout=0.05")
    run_dirs, main = [], True
    for preset in presets:
        cfg = load_config(preset, overrides)
        stream = cfg.preset.stream
        work_dir = work_root / stream if work_root is not None else Path("work_dir") / preset
        trainer = Trainer(cfg, work_dir=work_dir, progress=progress)
        trainer.fit(resume=resume and RunDir(work_dir).last.is_file())
        run_dirs.append(work_dir)
        main = trainer.dist.is_main
    if not main or len(run_dirs) < 2:
        return run_dirs, None
    if own_weights:
        return run_dirs, ensemble(run_dirs, weights=[float(w) for w in upstream])
    return run_dirs, ensemble(run_dirs, search=True)
