"""The trainer: one loop for every model, from a validated `Config` to a run folder.

The run folder (written by rank 0 only) and the checkpoint format are defined in
`skelab.engine.rundir` (`RunDir`, `Checkpoint`). Each metrics.jsonl record holds lr, train loss
terms, train top-1, test and held-out top-1 / top-5 / loss (when evaluated), time, samples/s and
`select`, the rule that chooses checkpoints/best.pt (`train.select`):

* `test`: the evaluated epoch with the best test top-1 (upstream's rule, for reproducing
  published tables; the test split then chose the checkpoint);
* `holdout`: the best top-1 on the held-out part of the training split (`data.holdout`); the
  test split is not evaluated during training, only once after the last epoch, on best.pt
  (a record with `"final": true`);
* `last`: the last epoch.

The pieces live beside it: `skelab.engine.build` makes the model, optimizer and loaders from
the config (and checks labels and the model/data pairing), `skelab.engine.step` is one optimizer
step (chunks, loss, mixed precision, clipping), `skelab.engine.schedule` sets the lr and says
when, `skelab.engine.evaluate` scores a split, `skelab.engine.oom` explains out-of-memory errors,
`skelab.engine.resume` says what a resumed run may change, `skelab.engine.finetune` starts a run
from weights (`train.weights`).

Determinism: seeds come from `train.seed`; the data order and augmentation come from
(seed, epoch, batch) inside `skelab.data.BatchLoader`; a checkpoint stores every RNG state, so
on the CPU a run stopped after epoch k and resumed ends with the same weights as one that was
never stopped.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from skelab.engine.bnstats import recompute_batchnorm
from skelab.engine.build import (
    BatchLike,
    LoaderLike,
    build_model,
    build_optimizer,
    build_run_loaders,
    needs_index_t,
    resolve_device,
    seed_everything,
)
from skelab.engine.checkpoint import capture_rng_state, load_checkpoint, restore_rng_state
from skelab.engine.config import SELECT_WORDS, Config
from skelab.engine.distributed import (
    average_batchnorm_over_ranks,
    barrier,
    dist_from_env,
    init_distributed,
    mean_over_ranks,
    sync_batchnorm,
)
from skelab.engine.evaluate import EvalResult, evaluate
from skelab.engine.finetune import load_initial_weights, started_from_note
from skelab.engine.metrics import MetricsWriter, save_scores
from skelab.engine.oom import out_of_memory_error, warn_if_short_of_memory
from skelab.engine.resume import check_resumable, resume_from
from skelab.engine.rundir import Checkpoint, RunDir
from skelab.engine.schedule import evaluates_after, learning_rate, lr_changes_at
from skelab.engine.step import amp_dtype, chunk_slices, forward, make_scaler, train_step
from skelab.engine.summary import epoch_line
from skelab.errors import SkelabError
from skelab.files import atomic_copy, atomic_save, atomic_write_text
from skelab.models import get_card
from skelab.models.weights import load_strict

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    """What `Trainer.fit` returns."""

    work_dir: Path | None
    epochs_done: int
    best_top1: float  # the select rule's metric at best_epoch (test or held-out top-1)
    best_epoch: int
    last_eval: EvalResult | None
    history: list[dict[str, Any]] = field(default_factory=list)
    select: str = "test"  # train.select: the rule that chose best_epoch
    final_eval: EvalResult | None = None  # select=holdout: best.pt on the test split, once

    @property
    def select_words(self) -> str:
        return SELECT_WORDS[self.select]


class Trainer:
    """Trains and evaluates one model on one config.

    The default path builds everything from the config (`skelab.engine.build`); tests and
    benchmarks may pass a `model` and loaders that follow `skelab.data`'s Batch contract.
    `work_dir=None` writes nothing.
    """

    def __init__(
        self,
        cfg: Config,
        *,
        work_dir: str | Path | None,
        model: nn.Module | None = None,
        train_loader: LoaderLike | None = None,
        test_loader: LoaderLike | None = None,
        progress: bool = True,
    ) -> None:
        self.cfg = cfg
        self.dist = dist_from_env()
        self.device = resolve_device(cfg.train.device, self.dist)
        init_distributed(self.dist, self.device)
        if cfg.train.num_threads:
            torch.set_num_threads(cfg.train.num_threads)
        self.work_dir = Path(work_dir) if work_dir is not None else None
        self.run = RunDir(self.work_dir) if self.work_dir is not None else None
        self.writes = self.work_dir is not None and self.dist.is_main
        self.progress = progress and self.dist.is_main
        seed_everything(cfg.train.seed)

        self.model = (model if model is not None else build_model(cfg)).to(self.device)
        if cfg.train.sync_bn:
            self.model = sync_batchnorm(self.model, self.dist, self.device)
        warn_if_short_of_memory(cfg, self.device)
        self.needs_index_t = needs_index_t(cfg, model)
        self.holdout_loader: LoaderLike | None = None  # data.holdout > 0: part of train
        self.holdout_positions = None
        if test_loader is None or train_loader is None:
            built = build_run_loaders(
                cfg, device=self.device, dist_info=self.dist, train=train_loader is None
            )
            train_loader = train_loader or built.train
            test_loader = test_loader or built.test
            self.holdout_loader, self.holdout_positions = built.holdout, built.holdout_positions
        self.train_loader = train_loader
        self.test_loader = test_loader
        self.started_from: dict[str, Any] = {}  # train.weights and the keys skipped

        self.amp_dtype = amp_dtype(cfg.train.amp, self.device)
        self.scaler = make_scaler(self.amp_dtype, self.device)
        self.optimizer = build_optimizer(cfg, self.model)
        forward_model: nn.Module = self.model
        if cfg.train.compile:
            forward_model = torch.compile(forward_model)
        self.eval_model = forward_model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            forward_model = DistributedDataParallel(forward_model, device_ids=ids)
        self.forward_model = forward_model
        self.epoch = 0  # epochs completed
        self.step = 0  # optimizer steps taken
        self.best_top1 = -1.0
        self.best_epoch = 0
        self.final_eval: EvalResult | None = None
        self._best_state: dict[str, Tensor] | None = None  # select=holdout: best.pt's weights

    # ------------------------------------------------------------------ one step, one epoch

    def set_lr(self, epoch: int, step_in_epoch: int, steps_per_epoch: int) -> float:
        lr = learning_rate(
            self.cfg.sched,
            self.cfg.optim.lr,
            epoch=epoch,
            step_in_epoch=step_in_epoch,
            steps_per_epoch=steps_per_epoch,
            epochs=self.cfg.train.epochs,
        )
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def train_step(self, batch: BatchLike) -> dict[str, Tensor]:
        """One optimizer step on `batch` (lr already set); returns detached loss terms."""
        t = self.cfg.train
        out = train_step(
            self.model,
            self.optimizer,
            self.scaler,
            batch.x,
            batch.y,
            index_t=batch.index_t,
            needs_index_t=self.needs_index_t,
            dtype=self.amp_dtype,
            chunk_size=t.chunk_size,
            label_smoothing=self.cfg.loss.label_smoothing,
            clip_grad=t.clip_grad,
            forward_model=self.forward_model,
            joint=getattr(batch, "joint", None),  # raw joints, blockgcn style only
        )
        self.step += 1
        return out

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """Train one epoch (0-based `epoch`); returns mean loss terms, top-1, lr, time."""
        from skelab.progress import progress_bar

        assert self.train_loader is not None, "no train loader"
        self.model.train()
        self.train_loader.set_epoch(epoch)
        steps = len(self.train_loader)
        if steps == 0:
            # a batch size that fits: the largest power of two up to the split's samples
            samples = len(getattr(self.train_loader, "dataset", ()))
            fits = 1 << (samples.bit_length() - 1) if samples else 1
            raise SkelabError(
                f"the training split has fewer samples ({samples}) than one batch "
                f"({self.cfg.train.batch_size})",
                fix=f"--set train.batch_size={fits}, or use more data",
            )
        sums: dict[str, Tensor] = {}
        seen = 0
        t0 = time.perf_counter()
        bar = progress_bar(
            total=steps,
            desc=f"epoch {epoch + 1}/{self.cfg.train.epochs}",
            unit="batch",
            enabled=self.progress,
            leave=False,
        )
        lr = math.nan
        for i, batch in enumerate(self.train_loader):
            if lr_changes_at(self.cfg.sched, i):
                lr = self.set_lr(epoch, i, steps)
            out = self.train_step(batch)
            n = int(batch.y.shape[0])
            seen += n
            for key, value in out.items():
                w = 1 if key == "correct" else n
                sums[key] = sums.get(key, 0.0) + value * w
            bar.update(1)
            if self.progress and (i % 10 == 0 or i == steps - 1):
                bar.set_postfix(loss=f"{float(out['loss']):.3f}", lr=f"{lr:.3g}")
        bar.close()
        means, total_seen = mean_over_ranks(sums, seen, self.dist, device=self.device)
        out_metrics = {
            ("train_top1" if k == "correct" else f"train_{k}"): v for k, v in means.items()
        }
        elapsed = time.perf_counter() - t0
        out_metrics.update(lr=lr, train_time_s=elapsed, samples_per_s=total_seen / elapsed)
        return out_metrics

    def recompute_batchnorm(self) -> int:
        """BatchNorm running statistics from the current weights over the epoch's training
        batches (`skelab.engine.bnstats`); returns the number of batches used."""
        assert self.train_loader is not None, "no train loader"

        def run(batch: BatchLike) -> None:
            joint = getattr(batch, "joint", None)
            for part in chunk_slices(int(batch.y.shape[0]), self.cfg.train.chunk_size):
                forward(
                    self.model,
                    batch.x[part],
                    batch.index_t[part] if batch.index_t is not None else None,
                    needs_index_t=self.needs_index_t,
                    dtype=self.amp_dtype,
                    joint=joint[part] if joint is not None else None,
                )

        used = recompute_batchnorm(self.model, self.train_loader, run)
        if used:
            average_batchnorm_over_ranks(self.model, self.dist)
        if used and self.epoch == 1:
            log.info(
                "BatchNorm running statistics recomputed from the weights after each epoch "
                "while the run is under %d steps (%d batches; train.bn_recompute_steps=0 "
                "turns it off)", self.cfg.train.bn_recompute_steps, used,
            )  # fmt: skip
        return used

    def evaluate(self, loader: LoaderLike | None = None) -> EvalResult:
        """Scores of the whole test split (gathered over ranks), with top-1/top-5 and loss."""
        return evaluate(
            self.eval_model,
            loader or self.test_loader,
            needs_index_t=self.needs_index_t,
            dtype=self.amp_dtype,
            num_classes=self.cfg.data.num_classes,
            dist_info=self.dist,
            progress=self.progress,
        )

    # ------------------------------------------------------------------ checkpoints

    def state(self, metrics: dict[str, Any] | None = None) -> Checkpoint:
        """Everything needed to resume, as tensors and plain values (weights_only-safe)."""
        return Checkpoint(
            model=self.model.state_dict(),
            config=self.cfg.to_dict(),
            model_name=self.cfg.model.name,
            optimizer=self.optimizer.state_dict(),
            scaler=self.scaler.state_dict() if self.scaler.is_enabled() else {},
            epoch=self.epoch,
            step=self.step,
            best_top1=self.best_top1,
            best_epoch=self.best_epoch,
            select=self.cfg.train.select,
            rng=capture_rng_state(),
            metrics=dict(metrics or {}),
            started_from=dict(self.started_from),
        )

    def load_state(self, ckpt: Checkpoint, *, where: str | Path) -> None:
        """Restore a `state()`; the config may differ only where `skelab.engine.resume` allows."""
        check_resumable(ckpt, self.cfg, where=where)
        load_strict(
            self.model, ckpt.model, where=where, fix="resume with the config it was trained with"
        )
        self.optimizer.load_state_dict(ckpt.optimizer)
        if ckpt.scaler:
            self.scaler.load_state_dict(ckpt.scaler)
        self.epoch = ckpt.epoch
        self.step = ckpt.step
        self.best_top1 = float(ckpt.best_top1)
        self.best_epoch = int(ckpt.best_epoch)
        restore_rng_state(ckpt.rng)
        self.started_from = dict(ckpt.started_from)

    # ------------------------------------------------------------------ the run

    def fit(self, *, resume: bool = False, stop_after: int | None = None) -> FitResult:
        """Train to `train.epochs` (or until `stop_after` epochs are done), evaluating, logging
        and checkpointing as the config says. `resume` continues from checkpoints/last.pt."""
        if self.train_loader is None:
            raise SkelabError("no training data", fix="set data.path")
        last_pt = resume_from(self.work_dir, resume=resume)
        if last_pt is not None:
            obj = load_checkpoint(last_pt, map_location=self.device)
            self.load_state(Checkpoint.from_dict(obj, where=last_pt), where=last_pt)
            log.info("resuming %s after epoch %d (step %d)", self.work_dir, self.epoch, self.step)
        elif self.cfg.train.weights:
            skipped = load_initial_weights(
                self.model,
                self.cfg.train.weights,
                drop_head=self.cfg.train.drop_head,
                head=get_card(self.cfg.model.name).head,
            )
            self.started_from = {"weights": self.cfg.train.weights, "skipped": skipped}
        handler = None
        metrics_writer = None
        if self.writes:
            assert self.run is not None
            self.run.path.mkdir(parents=True, exist_ok=True)
            atomic_write_text(
                self.run.config,
                f"# resolved config of run {self.cfg.name!r}; "
                f"`skelab train {self.run.config}` reruns it\n"
                + started_from_note(self.started_from)
                + self.cfg.to_yaml(),
            )
            handler = logging.FileHandler(self.run.log)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            logging.getLogger("skelab").addHandler(handler)
            metrics_writer = MetricsWriter(self.run.metrics, tensorboard_dir=self.run.tensorboard)
        history: list[dict[str, Any]] = []
        last_eval: EvalResult | None = None
        end = (
            self.cfg.train.epochs if stop_after is None else min(stop_after, self.cfg.train.epochs)
        )
        try:
            if self.epoch == 0:
                log.info("%s", self.describe())
                for warning in self.cfg.warnings():
                    log.warning("warning: %s", warning)
            while self.epoch < end:
                record, ev = self._run_epoch(self.epoch, metrics_writer)
                history.append(record)
                last_eval = ev or last_eval
            if self.cfg.train.select == "holdout" and self.epoch == self.cfg.train.epochs:
                history.append(self._final_evaluation(metrics_writer))
        except torch.cuda.OutOfMemoryError as exc:
            raise out_of_memory_error(self.cfg) from exc
        finally:
            if metrics_writer is not None:
                metrics_writer.close()
            if handler is not None:
                logging.getLogger("skelab").removeHandler(handler)
                handler.close()
        barrier(self.dist)
        return FitResult(
            work_dir=self.work_dir,
            epochs_done=self.epoch,
            best_top1=self.best_top1,
            best_epoch=self.best_epoch,
            last_eval=last_eval,
            history=history,
            select=self.cfg.train.select,
            final_eval=self.final_eval,
        )

    def _run_epoch(
        self, epoch: int, writer: MetricsWriter | None
    ) -> tuple[dict[str, Any], EvalResult | None]:
        t0 = time.perf_counter()
        select = self.cfg.train.select
        record: dict[str, Any] = {"epoch": epoch + 1}
        record.update(self.train_epoch(epoch))
        self._stop_if_diverged(record, writer)
        self.epoch = epoch + 1
        if self.step < self.cfg.train.bn_recompute_steps:  # short runs (engine/bnstats)
            self.recompute_batchnorm()
        record["step"] = self.step
        ev = None
        chosen = None  # the select rule's metric this epoch (None: the rule did not look)
        if evaluates_after(self.cfg.train, self.epoch):
            if select != "holdout":  # a holdout run reads test labels once, after training
                ev = self.evaluate()
                record.update(test_top1=ev.top1, test_top5=ev.top5, test_loss=ev.loss)
                self._save_scores("test", ev.scores, ev.labels, ev.index)
            if self.holdout_loader is not None and self.holdout_positions is not None:
                held = self.evaluate(self.holdout_loader)
                record.update(holdout_top1=held.top1, holdout_top5=held.top5)
                index = self.holdout_positions[held.index]  # positions in the train split
                self._save_scores("holdout", held.scores, held.labels, index)
                if select == "holdout":
                    chosen = held.top1
            if select == "test":
                chosen = ev.top1 if ev is not None else None
        if select == "last":
            chosen = record.get("test_top1", math.nan)
        improved = chosen is not None and (select == "last" or chosen > self.best_top1)
        if improved:
            self.best_top1, self.best_epoch = float(chosen), self.epoch
            if select == "holdout":  # for the final evaluation, also when nothing is written
                self._best_state = _copy_state(self.model)
        record.update(select=select, best_epoch=self.best_epoch)
        record["epoch_time_s"] = time.perf_counter() - t0
        if self.writes and self.run is not None:
            last = atomic_save(self.state(record).to_dict(), self.run.last)
            if improved:
                atomic_copy(last, self.run.best)
        if writer is not None:
            writer.write(record, step=self.step)
        log.info("%s", epoch_line(record, self.cfg.train.epochs, self.best_top1, self.best_epoch))
        return record, ev

    def _stop_if_diverged(self, record: dict[str, Any], writer: MetricsWriter | None) -> None:
        """A non-finite mean training loss ends the run before its weights reach a checkpoint:
        the epoch is logged as diverged and checkpoints/last.pt keeps the epoch before."""
        loss = float(record.get("train_loss", 0.0))
        if math.isfinite(loss):
            return
        record["diverged"] = True
        if writer is not None:
            writer.write(record, step=self.step)
        epoch = record["epoch"]
        kept = (
            f"; {self.run.last} still holds epoch {epoch - 1}"
            if self.writes and self.run is not None and epoch > 1
            else ""
        )
        fixes = [
            f"start again with a lower learning rate: --set optim.lr={self.cfg.optim.lr / 10:g}"
        ]
        if self.cfg.train.precision == "fp16":
            fixes.append("or train in bf16 or fp32: --set train.precision=bf16")
        raise SkelabError(
            f"training diverged in epoch {epoch}: the mean training loss is {loss}{kept}",
            fix=", ".join(fixes),
        )

    def _final_evaluation(self, writer: MetricsWriter | None) -> dict[str, Any]:
        """select=holdout: best.pt's weights on the test split, the first and only time the run
        reads test labels; its scores are saved as that epoch's test scores."""
        if self.best_epoch == 0:
            raise SkelabError(
                "train.select=holdout chose no epoch: the held-out part was never evaluated",
                fix="set data.holdout > 0 and let the run evaluate (train.eval_every)",
            )
        current = _copy_state(self.model)
        if self._best_state is not None:  # None after a resume: best.pt holds the weights
            self.model.load_state_dict(self._best_state)
        elif self.best_epoch != self.epoch:
            assert self.run is not None, "a resumed run has a folder"
            best = Checkpoint.from_dict(load_checkpoint(self.run.best), where=self.run.best)
            load_strict(self.model, best.model, where=self.run.best, fix="do not edit best.pt")
        ev = self.evaluate()
        self.model.load_state_dict(current)
        self.final_eval = ev
        epoch, self.epoch = self.epoch, self.best_epoch  # scores named after the chosen epoch
        self._save_scores("test", ev.scores, ev.labels, ev.index)
        self.epoch = epoch
        record = {
            "epoch": self.best_epoch,
            "final": True,
            "select": "holdout",
            "best_epoch": self.best_epoch,
            "holdout_top1": self.best_top1,
            "test_top1": ev.top1,
            "test_top5": ev.top5,
            "test_loss": ev.loss,
        }
        if writer is not None:
            writer.write(record, step=self.step)
        log.info(
            "final evaluation: epoch %d (chosen on the held-out part, top-1 %.2f%%): "
            "test top-1 %.2f%%, top-5 %.2f%%",
            self.best_epoch,
            100 * self.best_top1,
            100 * ev.top1,
            100 * ev.top5,
        )
        return record

    def _save_scores(self, part: str, scores: Any, labels: Any, index: Any) -> None:
        if self.writes and self.run is not None:
            save_scores(self.run.epoch_scores(self.epoch, part), scores, labels, index)

    def describe(self) -> str:
        """One line: model size, device, precision, batches per epoch."""
        from skelab.models import count_parameters

        steps = len(self.train_loader) if self.train_loader is not None else 0
        where = f"{self.work_dir}" if self.work_dir is not None else "(not saved)"
        ranks = f" x {self.dist.world_size} processes" if self.dist.enabled else ""
        return (
            f"training {self.cfg.model.name} ({count_parameters(self.model):,} parameters) "
            f"on {self.device}{ranks}, {self.cfg.train.epochs} epochs x {steps} steps, "
            f"batch {self.cfg.train.batch_size}, precision {self.cfg.train.precision}; "
            f"run in {where}; "
            f"best.pt: {SELECT_WORDS[self.cfg.train.select]} (train.select={self.cfg.train.select})"
        )


def _copy_state(model: nn.Module) -> dict[str, Tensor]:
    """A detached copy of `model`'s state dict (on its device)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
