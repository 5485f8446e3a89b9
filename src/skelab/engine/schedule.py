"""Learning-rate schedules as pure functions of (epoch, step), so resuming needs no state.

* `step` (CTR-GCN `main.py`, MS-G3D `MultiStepLR`, ST-GCN `processor/recognition.py`): set once
  at the start of each epoch. For 0-based epoch e: during warm-up
  lr = base * (e + 1) / warmup_epochs (CTR-GCN's 0.02, 0.04, ..., 0.1 for base 0.1 and 5
  epochs); afterwards lr = base * gamma ** (number of milestones <= e), floored at `min_lr`.
* `cosine` (SkateFormer: timm `CosineLRScheduler` with `warmup_prefix=False`, stepped per
  iteration): with t the global optimizer step and T = epochs * steps_per_epoch, a linear
  warm-up from `warmup_lr` to base over the first warmup_epochs * steps_per_epoch steps, and
  otherwise lr = min_lr + (base - min_lr) * (1 + cos(pi * t / T)) / 2. The warm-up lies inside
  the cosine span, as in SkateFormer.

* `cosine_step` (DeGCN `main.py`), set once at the start of each epoch: the same warm-up as
  `step`; then, while e < warmup_epochs + cosine_epochs and the cosine
  base * (1 + cos(pi * (e - warmup_epochs) / cosine_epochs)) / 2 is above `cosine_until`, that
  cosine; otherwise the `step` rule (milestones count from epoch 0). DeGCN: base 0.1, 5 + 60
  epochs, until 0.01, milestones 35/60/75: cosine for epochs 5-52, then 0.01, 0.001, 0.0001.

`evaluates_after` is the evaluation cadence: after epoch `eval_from` and every `eval_every`-th
epoch from there, and always after the last one.

`lr_changes_at` says when the trainer must set a new rate: at the first step of every epoch for
`step`, at every step for `cosine`. The trainer asks it instead of testing the schedule's name.
"""

from __future__ import annotations

import bisect
import math

from skelab.engine.config import SchedConfig, TrainConfig


def evaluates_after(train: TrainConfig, epoch: int) -> bool:
    """Whether the test split is evaluated after 1-based `epoch`."""
    if epoch == train.epochs:
        return True
    return epoch >= train.eval_from and epoch % train.eval_every == 0


def lr_changes_at(sched: SchedConfig, step_in_epoch: int) -> bool:
    """Whether the learning rate is set anew before optimizer step `step_in_epoch` of an epoch."""
    return step_in_epoch == 0 or sched.name == "cosine"


def learning_rate(
    sched: SchedConfig,
    base_lr: float,
    *,
    epoch: int,
    step_in_epoch: int,
    steps_per_epoch: int,
    epochs: int,
) -> float:
    """The learning rate for optimizer step `step_in_epoch` of 0-based `epoch`."""
    if sched.name in ("step", "cosine_step"):
        if epoch < sched.warmup_epochs:
            return base_lr * (epoch + 1) / sched.warmup_epochs
        if sched.name == "cosine_step":
            done = (epoch - sched.warmup_epochs) / sched.cosine_epochs
            lr_cos = 0.5 * base_lr * (1.0 + math.cos(math.pi * done))
            if done < 1 and lr_cos > sched.cosine_until:
                return lr_cos
        lr = base_lr * sched.gamma ** bisect.bisect_right(sched.milestones, epoch)
        return max(lr, sched.min_lr)
    t = epoch * steps_per_epoch + step_in_epoch
    warm = sched.warmup_epochs * steps_per_epoch
    if t < warm:
        return sched.warmup_lr + (base_lr - sched.warmup_lr) * t / warm
    total = max(epochs * steps_per_epoch, 1)
    return sched.min_lr + 0.5 * (base_lr - sched.min_lr) * (1.0 + math.cos(math.pi * t / total))
