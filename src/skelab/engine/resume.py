"""What a resumed run may change: the config keys free to differ.

A training checkpoint (`checkpoints/last.pt`; its format is `skelab.engine.rundir.Checkpoint`)
stores the resolved config.
Resuming compares it with the config given now: only the keys in `RESUMABLE_CHANGES` (run length,
evaluation cadence, device, threads, data location, descriptive info) may differ; any other
difference would silently turn the run into a different experiment, so it is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skelab.engine.config import Config
from skelab.engine.configfile import from_dict
from skelab.engine.rundir import Checkpoint, RunDir
from skelab.errors import CheckpointError, ConfigError, SkelabError

RESUMABLE_CHANGES = frozenset(
    {
        "name",
        "preset",
        "train.epochs",
        "train.eval_every",
        "train.eval_from",
        "train.device",
        "train.num_threads",
        "train.compile",
        "train.test_batch_size",
        "data.path",
        "info",
    }
)


def config_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts (model.options as one key)."""
    keys = []
    for key in sorted(set(a) | set(b)):
        dotted = f"{prefix}{key}"
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict) and dotted != "model.options":
            keys += config_diff(va, vb, dotted + ".")
        elif va != vb:
            keys.append(dotted)
    return keys


def resume_from(work_dir: Path | None, *, resume: bool) -> Path | None:
    """The checkpoint to continue from (`resume`), or None for a new run; a new run in a
    folder that already holds one, or a resume with nothing to resume, is an error."""
    last = RunDir(work_dir).last if work_dir is not None else None
    if resume:
        if last is None or not last.is_file():
            raise CheckpointError(
                f"nothing to resume: no {last}",
                fix="drop --resume to start the run, or pass the --out of the run to continue",
            )
        return last
    if last is not None and last.exists():
        raise SkelabError(
            f"{work_dir} already holds a run (checkpoints/last.pt)",
            fix="pass --resume to continue it, or choose another --out",
        )
    return None


def check_resumable(ckpt: Checkpoint, cfg: Config, *, where: str | Path) -> None:
    """Raise unless `cfg` may continue the run of training checkpoint `ckpt`."""
    saved = from_dict(ckpt.config, where=f"{where} (config)")
    changed = [
        k
        for k in config_diff(saved.to_dict(), cfg.to_dict())
        if k not in RESUMABLE_CHANGES and k.split(".")[0] not in RESUMABLE_CHANGES
    ]
    if changed:
        raise ConfigError(
            ", ".join(changed),
            "differs from the run being resumed",
            where=where,
            fix="resume with the run's own config.yaml (only train.epochs, "
            "eval cadence, device and data.path may change), or start a new "
            "--out",
        )
