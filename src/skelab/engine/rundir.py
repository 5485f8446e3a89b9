"""A run: its folder layout, its checkpoint format, and how a trained model is named.

The one place that knows where a run keeps its files (`RunDir`), what a training checkpoint holds
(`Checkpoint`, versioned) and how a command turns "a trained model" (a run folder or a
checkpoint file) into a config and a weights file (`resolve_trained`). Every command that takes a
trained model goes through `resolve_trained`, so they all accept the same things.

Run folder (written by rank 0 of `skelab train`):

    <run>/
      config.yaml                  the fully resolved config (`skelab train <run>/config.yaml`)
      metrics.jsonl                one JSON object per epoch (lr, losses, top-1/top-5, speed)
      train.log                    the log lines of the run
      checkpoints/last.pt          written atomically after every epoch
      checkpoints/best.pt          the epoch chosen by `train.select` (test | holdout | last)
      scores/epoch_<N>_<part>.npz  logits of epoch N (1-based) on "test" or "holdout"
      scores/eval_<stem>_test.npz  written by `skelab eval`
      tensorboard/                 TensorBoard event files (when tensorboard is installed)
      viz/report.html              written by `skelab viz run`

Checkpoint format: `format` is "skelab-train-<version>". Version 1 (before `train.select`) has
no `select` key and always chose by test top-1; it loads as `select="test"`. Version 2 adds
`select` (the rule that chose `best.pt`) and `best_metric` (the value the rule compared).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skelab.errors import CheckpointError, SkelabError

if TYPE_CHECKING:
    from skelab.engine.config import Config

log = logging.getLogger(__name__)

FORMAT_PREFIX = "skelab-train-"
FORMAT_VERSION = 2
CHECKPOINT_FORMAT = f"{FORMAT_PREFIX}{FORMAT_VERSION}"
CHOICES = ("best", "last")


class RunDir:
    """The paths of one run folder; nothing is read or created by constructing it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def log(self) -> Path:
        return self.path / "train.log"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.pt"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.pt"

    @property
    def scores(self) -> Path:
        return self.path / "scores"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def viz(self) -> Path:
        return self.path / "viz"

    @property
    def report(self) -> Path:
        return self.viz / "report.html"

    def epoch_scores(self, epoch: int, part: str = "test") -> Path:
        """`scores/epoch_<N>_<part>.npz` of epoch `epoch` (1-based), part "test" or "holdout"."""
        return self.scores / f"epoch_{epoch}_{part}.npz"

    def eval_scores(self, weights: str | Path) -> Path:
        """Where `skelab eval` writes the test scores of `weights`."""
        return self.scores / f"eval_{Path(weights).stem}_test.npz"

    def checkpoint(self, which: str = "best") -> Path:
        """`checkpoints/best.pt` or `checkpoints/last.pt`."""
        if which not in CHOICES:
            raise SkelabError(
                f"--checkpoint {which!r} is not one of {', '.join(CHOICES)}",
                fix="--checkpoint best (the epoch train.select chose) or --checkpoint last",
            )
        return self.best if which == "best" else self.last

    def records(self) -> list[dict[str, Any]]:
        """The records of metrics.jsonl, in order ([] when there is none)."""
        if not self.metrics.is_file():
            return []
        return [json.loads(line) for line in self.metrics.read_text().splitlines() if line.strip()]

    def select_rule(self) -> str:
        """The run's train.select (runs from before the option chose by test top-1)."""
        import yaml

        raw = yaml.safe_load(self.config.read_text()) if self.config.is_file() else None
        train = raw.get("train") if isinstance(raw, dict) else None
        rule = train.get("select") if isinstance(train, dict) else None
        return str(rule or "test")

    def chosen_epoch(self, which: str = "best") -> int:
        """The epoch (1-based) `checkpoints/<which>.pt` holds, read from metrics.jsonl."""
        self.checkpoint(which)  # checks `which`
        epochs = [r for r in self.records() if not r.get("final")]
        if not epochs:
            raise SkelabError(
                f"{self.path}: metrics.jsonl holds no epoch",
                fix="train the run at least one epoch",
            )
        if which == "last":
            return int(epochs[-1]["epoch"])
        chosen = [r for r in epochs if r.get("best_epoch")]
        if chosen:
            return int(chosen[-1]["best_epoch"])
        evaluated = [r for r in epochs if "test_top1" in r]  # before train.select: test top-1
        if not evaluated:
            raise SkelabError(
                f"{self.path}: metrics.jsonl holds no evaluated epoch",
                fix="train the run until it has been evaluated at least once",
            )
        return int(max(evaluated, key=lambda r: (r["test_top1"], -r["epoch"]))["epoch"])

    def checkpoint_note(self, weights: str | Path) -> str:
        """'epoch N, chosen by <rule>' for this run's best.pt or last.pt ('' for other files)."""
        which = Path(weights).stem
        if which not in CHOICES or Path(weights).resolve() != self.checkpoint(which).resolve():
            return ""
        if not self.metrics.is_file():
            return ""
        return f"epoch {self.chosen_epoch(which)}, chosen by {chosen_by(self.select_rule(), which)}"

    def is_run(self) -> bool:
        """A folder `skelab train` wrote: config.yaml or a checkpoints/ folder."""
        return self.config.is_file() or self.checkpoints.is_dir()

    def require(self) -> RunDir:
        """`self`, or a clear error when the folder is not a run."""
        if not self.path.is_dir() or not self.config.is_file():
            raise SkelabError(
                f"{self.path} is not a run folder (no config.yaml)",
                fix="pass a folder written by `skelab train`, e.g. runs/ctrgcn-joint",
            )
        return self

    @staticmethod
    def of_checkpoint(path: str | Path) -> RunDir | None:
        """The run a checkpoint file lies in (`<run>/checkpoints/x.pt`), or None."""
        parent = Path(path).resolve().parent
        if parent.name == "checkpoints":
            return RunDir(parent.parent)
        return None


@dataclass
class Checkpoint:
    """Everything a training checkpoint holds; tensors and plain values only (weights_only)."""

    model: dict[str, Any]
    config: dict[str, Any]
    model_name: str = ""
    optimizer: dict[str, Any] = field(default_factory=dict)
    scaler: dict[str, Any] = field(default_factory=dict)
    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken
    best_top1: float = -1.0  # the best value of the select rule's metric so far
    best_epoch: int = 0
    select: str = "test"  # the rule that chose best.pt (train.select)
    rng: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    started_from: dict[str, Any] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        # shallow: the state dicts keep their tensors (dataclasses.asdict would deep-copy them)
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "version"}
        return {"format": f"{FORMAT_PREFIX}{self.version}", **out}

    @classmethod
    def from_dict(cls, obj: dict[str, Any], *, where: str | Path) -> Checkpoint:
        """Read a training checkpoint of any known version; anything else is a clear error."""
        version = checkpoint_version(obj)
        if version is None:
            raise CheckpointError(
                "is not a skelab training checkpoint (no 'format' "
                f"{FORMAT_PREFIX}1..{FORMAT_VERSION})",
                where=where,
                fix="pass a run's checkpoints/best.pt or last.pt",
            )
        missing = [k for k in ("model", "config") if k not in obj]
        if missing:
            raise CheckpointError(
                f"training checkpoint without {', '.join(missing)}",
                where=where,
                fix="the file is damaged; use the run's other checkpoint",
            )
        known = {f.name for f in fields(cls)} - {"version"}
        values = {k: v for k, v in obj.items() if k in known}
        return cls(**values, version=version)


def chosen_by(select: str, checkpoint: str = "best") -> str:
    """In words: what chose the epoch of a run's `checkpoint` under rule `select`."""
    from skelab.engine.config import SELECT_WORDS

    if checkpoint == "last":
        return "last epoch (--checkpoint last)"
    return f"{SELECT_WORDS.get(select, select)} (train.select={select})"


def run_of(path: str | Path) -> RunDir:
    """The run folder `path` names: the folder itself, or the run a checkpoint file lies in."""
    path = Path(path)
    if path.is_file():
        run = RunDir.of_checkpoint(path)
        if run is None or not run.config.is_file():
            raise SkelabError(
                f"{path} is not a checkpoint inside a run folder, and this command reads the "
                "run's scores and metrics",
                fix="pass the run folder `skelab train` wrote",
            )
        return run
    return RunDir(path).require()


def checkpoint_version(obj: Any) -> int | None:
    """The format version of a loaded training checkpoint, or None for any other file."""
    fmt = obj.get("format") if isinstance(obj, dict) else None
    if not isinstance(fmt, str) or not fmt.startswith(FORMAT_PREFIX):
        return None
    tail = fmt[len(FORMAT_PREFIX) :]
    if not tail.isdigit() or not 1 <= int(tail) <= FORMAT_VERSION:
        return None
    return int(tail)


def _config_of_checkpoint(path: Path, overrides: Sequence[str]) -> Config:
    from skelab.engine.checkpoint import load_checkpoint
    from skelab.engine.configfile import from_dict
    from skelab.engine.presets import apply_overrides, parse_overrides

    ckpt = load_checkpoint(path)
    if not isinstance(ckpt.get("config"), dict):
        raise SkelabError(
            f"{path} carries no config (an imported or bare state dict)",
            fix="name the preset or YAML it fits, e.g. --config ntu60-xsub/ctrgcn-joint",
        )
    raw = ckpt["config"]
    where = f"{path} (config)"
    if overrides:
        raw = apply_overrides(raw, parse_overrides(overrides))
        where += " (with --set)"
    return from_dict(raw, where=where)


def find_checkpoint(path: str | Path, checkpoint: str = "best") -> Path:
    """The checkpoint file a run folder or checkpoint file names (see `resolve_trained`)."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise SkelabError(
            f"{path} does not exist",
            fix="pass a run folder written by `skelab train` or a checkpoint file (.pt)",
        )
    run = RunDir(path)
    wanted = run.checkpoint(checkpoint)
    if not wanted.is_file() and checkpoint == "best" and run.last.is_file():
        log.warning("%s has no checkpoints/best.pt (no epoch chosen yet); using last.pt", path)
        return run.last
    if not wanted.is_file():
        raise SkelabError(
            f"{path} holds no checkpoints/{wanted.name}",
            fix="pass a run folder written by `skelab train` (train it at least one "
            "epoch), or a checkpoint file",
        )
    return wanted


def resolve_trained(
    path: str | Path,
    *,
    config: str | Path | None = None,
    checkpoint: str = "best",
    overrides: Sequence[str] = (),
) -> tuple[Config, Path]:
    """(config, checkpoint file) of a trained model named by a run folder or a checkpoint.

    A run folder gives `checkpoints/<checkpoint>.pt` (best: the epoch `train.select` chose;
    when the run has no best.pt yet, last.pt, with a warning) and its config.yaml. A checkpoint
    file gives itself and the config it carries. `config` (a preset or YAML) replaces the run's or
    the checkpoint's config (needed for imported weights, which carry none); `overrides` are
    `--set KEY=VALUE` items applied on top. The checkpoint used is logged."""
    from skelab.engine.presets import load_config

    path = Path(path)
    weights = find_checkpoint(path, checkpoint)
    run = RunDir(path) if path.is_dir() else None
    if config is not None:
        cfg = load_config(config, overrides)
    elif run is not None and run.config.is_file():
        cfg = load_config(run.config, overrides)
    else:
        cfg = _config_of_checkpoint(weights, overrides)
    log.info("using checkpoint %s", weights)
    return cfg, weights
