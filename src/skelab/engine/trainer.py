"""The trainer: one loop for every model, from a validated `Config` to a run folder.

Work dir layout (all written by rank 0 only):

    <work_dir>/
      config.yaml                 the fully resolved config (reload it with `skelab train`)
      metrics.jsonl               one JSON object per epoch: lr, train loss terms, train top-1,
                                  test top-1 / top-5 / loss (when evaluated), time, samples/s
      train.log                   the log lines of the run
      checkpoints/last.pt         written atomically after every epoch (see `checkpoint.py`)
      checkpoints/best.pt         the evaluated epoch with the best test top-1 so far
      scores/epoch_<N>_test.npz   test logits of epoch N (1-based): `scores` (N, num_classes)
                                  float32, `labels` (N,) int64, `index` (N,) int64 positions in
                                  the test split, sorted by index
      scores/eval_<weights>_test.npz   written by `skelab eval`
      tensorboard/                TensorBoard event files (when tensorboard is installed)

One optimizer step (`Trainer.train_step`):

1. The lr for this step is set from `skelab.engine.schedule` (a pure function of epoch and
   step, so resuming needs no scheduler state).
2. The batch is split into chunks of `train.forward_batch_size` samples (one chunk when 0).
   Each chunk's loss is the chunk's mean loss times chunk/batch, so the chunk gradients add up
   to the gradient of the full-batch mean loss. This is exact for models without batch
   statistics. BatchNorm layers see each chunk on its own, so their statistics come from
   `forward_batch_size` samples, exactly as MS-G3D's `--forward-batch-size` does upstream
   (models-gcn.md §2.9), and as ST-GCN's 4-GPU DataParallel does (16 samples per GPU).
3. The loss hook (`skelab.engine.losses`) adds label-smoothed cross-entropy and the model's
   `auxiliary_losses()`; each term is logged. Models whose card says `needs_index_t` get
   `index_t=batch.index_t`.
4. Mixed precision (CUDA only): bf16 autocast, or fp16 autocast with a `GradScaler`. Gradient
   clipping (global norm) happens after unscaling.

Determinism: seeds come from `train.seed`; the data order and augmentation come from
(seed, epoch, batch) inside `skelab.data.BatchLoader`; a checkpoint stores every RNG state, so
on the CPU a run stopped after epoch k and resumed ends with the same weights as one that was
never stopped.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from skelab.engine.checkpoint import (
    atomic_copy,
    atomic_save,
    capture_rng_state,
    load_checkpoint,
    model_state_from,
    restore_rng_state,
)
from skelab.engine.config import Config, from_dict
from skelab.engine.distributed import (
    DistInfo,
    all_gather_objects,
    all_reduce_sum,
    barrier,
    dist_from_env,
    init_distributed,
)
from skelab.engine.losses import compute_loss
from skelab.engine.metrics import MetricsWriter, save_scores, topk_accuracy
from skelab.engine.schedule import learning_rate
from skelab.errors import CheckpointError, ConfigError, SkelabError

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "skelab-train-1"
# Keys that may change between a run and its resumption; anything else must match.
_RESUMABLE_CHANGES = {
    "name",
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


class BatchLike(Protocol):
    x: Tensor
    y: Tensor
    index: Tensor
    index_t: Tensor | None


class LoaderLike(Protocol):
    """What the trainer needs from a loader (`skelab.data.BatchLoader` provides it)."""

    def __iter__(self) -> Iterator[BatchLike]: ...
    def __len__(self) -> int: ...
    def set_epoch(self, epoch: int) -> None: ...


@dataclass
class EvalResult:
    """Test-split evaluation: accuracies in 0..1, scores sorted by sample index."""

    top1: float
    top5: float
    loss: float
    scores: np.ndarray
    labels: np.ndarray
    index: np.ndarray


@dataclass
class FitResult:
    """What `Trainer.fit` returns."""

    work_dir: Path | None
    epochs_done: int
    best_top1: float
    best_epoch: int
    last_eval: EvalResult | None
    history: list[dict[str, Any]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(spec: str, dist_info: DistInfo) -> torch.device:
    """`auto` -> CUDA when available (the local rank's device under torchrun), else CPU."""
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                "train.device",
                f"{spec} requested but CUDA is not available",
                fix="use --set train.device=cpu, or `skelab doctor` to see why",
            )
        if spec == "cuda":
            return torch.device("cuda", dist_info.local_rank % torch.cuda.device_count())
    return torch.device(spec)


def memory_advice(cfg: Config) -> str:
    """Presets and flags that need less GPU memory than `cfg`, as one line of advice."""
    from skelab.engine.config import list_presets, preset_parts

    tips = []
    lighter = [cfg.info.lower_memory] if cfg.info.lower_memory else []
    bench, model, stream = preset_parts(cfg.name)
    for variant in ("lowmem", "tiny"):
        candidate = f"{bench}/{model}-{variant}-{stream}"
        if stream and candidate in list_presets() and candidate not in lighter:
            lighter.append(candidate)
    if lighter:
        tips.append("the preset " + " or ".join(repr(p) for p in lighter))
    chunk = cfg.train.chunk_size
    if chunk > 1:
        tips.append(
            f"--set train.forward_batch_size={max(chunk // 2, 1)} (same update, less memory)"
        )
    if cfg.train.batch_size > 8:
        tips.append(f"--set train.batch_size={cfg.train.batch_size // 2}")
    if cfg.data.window > 32:
        tips.append(f"--set data.window={max(32, cfg.data.window * 3 // 4 // 8 * 8)}")
    if cfg.train.amp == "none":
        tips.append("--set train.amp=bf16")
    if cfg.train.test_batch_size > 16:
        tips.append(f"--set train.test_batch_size={cfg.train.test_batch_size // 2}")
    return "try " + "; or ".join(tips) if tips else "use a GPU with more memory"


def out_of_memory_error(cfg: Config) -> SkelabError:
    """The error raised on CUDA out-of-memory: what ran, and what needs less memory."""
    return SkelabError(
        f"CUDA ran out of memory running {cfg.name or cfg.model.name} "
        f"(batch {cfg.train.batch_size}, forward batch {cfg.train.chunk_size}, "
        f"test batch {cfg.train.test_batch_size}, window {cfg.data.window}, amp {cfg.train.amp})",
        fix=memory_advice(cfg),
    )


def build_model(cfg: Config) -> nn.Module:
    """`build(model.name, num_classes=data.num_classes, window=data.window, **model.options)`."""
    from skelab.models import build

    options = dict(cfg.model.options)
    if "window" in options and options["window"] != cfg.data.window:
        raise ConfigError(
            "model.options.window",
            f"{options['window']} differs from data.window={cfg.data.window}",
            fix="set both to the same number of frames",
        )
    # Every builder takes `window`; models whose layers depend on it (SkateFormer's partitions,
    # FreqMixFormer's frame mixer, MS-G3D's windows) must see the clip length the data gives.
    options.setdefault("window", cfg.data.window)
    return build(cfg.model.name, num_classes=cfg.data.num_classes, **options)


def _needs_index_t(cfg: Config, model: nn.Module, *, built: bool) -> bool:
    """The model card says so; a model passed in directly is asked through its signature."""
    from skelab.models import get_card

    if built:
        return get_card(cfg.model.name).needs_index_t
    return "index_t" in inspect.signature(model.forward).parameters


def build_loaders(
    cfg: Config, *, device: torch.device, dist_info: DistInfo, train: bool = True
) -> tuple[LoaderLike | None, LoaderLike, Any]:
    """(train loader or None, test loader, test dataset) from `data.*` via `skelab.data`."""
    import skelab.data as sd

    if not cfg.data.path:
        raise ConfigError(
            "data.path",
            "is empty: no data to train or evaluate on",
            fix="--set data.path=NTU60_CS.npz (an NPZ or a `skelab data prepare` "
            "folder); `skelab data synth` makes a small NTU-like file",
        )
    test_ds = sd.load(cfg.data.path, split="test")
    if test_ds.num_classes > cfg.data.num_classes:
        raise ConfigError(
            "data.num_classes",
            f"{cfg.data.num_classes}, but {cfg.data.path} has {test_ds.num_classes} classes",
            fix=f"--set data.num_classes={test_ds.num_classes}",
        )

    def transform(is_train: bool) -> Any:
        return sd.BatchTransform(
            style=cfg.data.style,
            window=cfg.data.window,
            modality=cfg.data.modality,
            train=is_train,
            p_interval=tuple(cfg.data.p_interval) if is_train else (cfg.data.test_p_interval,),
            rotate=cfg.data.random_rot and is_train,
        )

    ws, rank = dist_info.world_size, dist_info.rank
    test_loader = sd.BatchLoader(
        test_ds,
        batch_size=cfg.train.test_batch_size,
        train=False,
        transform=transform(False),
        device=str(device),
        seed=cfg.train.seed,
        rank=rank,
        world_size=ws,
    )
    train_loader = None
    if train:
        train_ds = sd.load(cfg.data.path, split="train")
        if cfg.train.batch_size % ws:
            raise ConfigError(
                "train.batch_size",
                f"{cfg.train.batch_size} does not split over {ws} processes",
                fix=f"use a multiple of {ws}",
            )
        train_loader = sd.BatchLoader(
            train_ds,
            batch_size=cfg.train.batch_size // ws,
            train=True,
            transform=transform(True),
            device=str(device),
            seed=cfg.train.seed,
            rank=rank,
            world_size=ws,
        )
    return train_loader, test_loader, test_ds


def _make_optimizer(cfg: Config, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(
            params, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov, weight_decay=o.weight_decay
        )
    return torch.optim.AdamW(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)


def _config_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key in sorted(set(a) | set(b)):
        dotted = f"{prefix}{key}"
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict) and dotted != "model.options":
            keys += _config_diff(va, vb, dotted + ".")
        elif va != vb:
            keys.append(dotted)
    return keys


class Trainer:
    """Trains and evaluates one model on one config.

    The default path builds everything from the config (`build_model`, `build_loaders`);
    tests and benchmarks may pass a `model` and loaders that follow `skelab.data`'s Batch
    contract. `work_dir=None` writes nothing.
    """

    def __init__(
        self,
        cfg: Config,
        *,
        work_dir: str | Path | None,
        model: nn.Module | None = None,
        train_loader: LoaderLike | None = None,
        test_loader: LoaderLike | None = None,
        class_names: tuple[str, ...] | None = None,
        progress: bool = True,
        build_data: bool = True,
    ) -> None:
        self.cfg = cfg
        self.dist = dist_from_env()
        self.device = resolve_device(cfg.train.device, self.dist)
        init_distributed(self.dist, self.device)
        if cfg.train.num_threads:
            torch.set_num_threads(cfg.train.num_threads)
        self.work_dir = Path(work_dir) if work_dir is not None else None
        self.writes = self.work_dir is not None and self.dist.is_main
        self.progress = progress and self.dist.is_main
        seed_everything(cfg.train.seed)

        self.model = (model if model is not None else build_model(cfg)).to(self.device)
        self._check_memory()
        self.needs_index_t = _needs_index_t(cfg, self.model, built=model is None)
        if build_data and (test_loader is None or train_loader is None):
            built_train, built_test, test_ds = build_loaders(
                cfg, device=self.device, dist_info=self.dist, train=train_loader is None
            )
            train_loader = train_loader or built_train
            test_loader = test_loader or built_test
            class_names = class_names or tuple(test_ds.class_names)
        self.train_loader = train_loader
        self.test_loader = test_loader
        self.class_names = class_names

        self.amp_dtype = self._amp_dtype()
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.amp_dtype is torch.float16 and self.device.type == "cuda"
        )
        self.optimizer = _make_optimizer(cfg, self.model.parameters())
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
        self._running: dict[str, Tensor] = {}

    # ------------------------------------------------------------------ set-up helpers

    def _check_memory(self) -> None:
        """Warn up front when the preset's expected peak memory exceeds the GPU's."""
        need = self.cfg.info.expected_peak_memory_gb
        if self.device.type != "cuda" or need is None:
            return
        have = torch.cuda.get_device_properties(self.device).total_memory / 2**30
        if need > have:
            log.warning(
                "%s expects about %.1f GB of GPU memory, %s has %.1f GB; %s",
                self.cfg.name,
                need,
                self.device,
                have,
                memory_advice(self.cfg),
            )

    def _amp_dtype(self) -> torch.dtype | None:
        amp = self.cfg.train.amp
        if amp == "none":
            return None
        if self.device.type != "cuda":
            log.warning(
                "train.amp=%s applies on CUDA only; training in float32 on %s", amp, self.device
            )
            return None
        if amp == "bf16" and not torch.cuda.is_bf16_supported():
            raise ConfigError(
                "train.amp",
                f"bf16 is not supported on {self.device}",
                fix="--set train.amp=fp16 (with a grad scaler) or none",
            )
        return torch.bfloat16 if amp == "bf16" else torch.float16

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def _forward(self, model: nn.Module, x: Tensor, index_t: Tensor | None) -> Tensor:
        with self._autocast():
            if self.needs_index_t:
                return model(x, index_t=index_t)
            return model(x)

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
        x, y = batch.x, batch.y
        index_t = batch.index_t
        n = y.shape[0]
        chunk = min(self.cfg.train.chunk_size, n)
        self.optimizer.zero_grad(set_to_none=True)
        terms_sum: dict[str, Tensor] = {}
        correct = torch.zeros((), device=y.device)
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            last = stop == n
            sync = (
                self.forward_model.no_sync()
                if self.dist.enabled and not last
                else contextlib.nullcontext()
            )
            with sync:
                logits = self._forward(
                    self.forward_model,
                    x[start:stop],
                    index_t[start:stop] if index_t is not None else None,
                )
                loss, terms = compute_loss(
                    self.model, logits, y[start:stop], label_smoothing=self.cfg.loss.label_smoothing
                )
                share = (stop - start) / n
                self.scaler.scale(loss * share).backward()
            for name, value in terms.items():
                terms_sum[name] = terms_sum.get(name, 0.0) + value.detach() * share
            correct = correct + (logits.detach().argmax(1) == y[start:stop]).sum()
        if self.cfg.train.clip_grad > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.train.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        terms_sum["loss"] = torch.stack([v for k, v in terms_sum.items()]).sum()
        terms_sum["correct"] = correct
        return terms_sum

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """Train one epoch (0-based `epoch`); returns mean loss terms, top-1, lr, time."""
        from tqdm import tqdm

        assert self.train_loader is not None, "no train loader"
        self.model.train()
        self.train_loader.set_epoch(epoch)
        steps = len(self.train_loader)
        if steps == 0:
            raise SkelabError(
                "the training split has fewer samples than one batch",
                fix="lower train.batch_size or use more data",
            )
        sums: dict[str, Tensor] = {}
        seen = 0
        t0 = time.perf_counter()
        bar = tqdm(
            total=steps,
            desc=f"epoch {epoch + 1}/{self.cfg.train.epochs}",
            unit="batch",
            file=sys.stderr,
            disable=not self.progress,
            leave=False,
            dynamic_ncols=True,
        )
        lr = self.set_lr(epoch, 0, steps)
        for i, batch in enumerate(self.train_loader):
            if self.cfg.sched.name == "cosine":
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
        names = sorted(sums)
        totals = torch.stack(
            [torch.as_tensor(sums[k], dtype=torch.float64).to("cpu") for k in names]
            + [torch.tensor(float(seen), dtype=torch.float64)]
        )
        totals = all_reduce_sum(totals.to(self.device), self.dist).cpu()
        total_seen = float(totals[-1])
        out_metrics = {
            ("train_top1" if k == "correct" else f"train_{k}"): float(v) / total_seen
            for k, v in zip(names, totals[:-1].tolist(), strict=True)
        }
        elapsed = time.perf_counter() - t0
        out_metrics.update(lr=lr, train_time_s=elapsed, samples_per_s=total_seen / elapsed)
        return out_metrics

    @torch.no_grad()
    def evaluate(self, loader: LoaderLike | None = None) -> EvalResult:
        """Scores of the whole test split (gathered over ranks), with top-1/top-5 and loss."""
        from tqdm import tqdm

        loader = loader or self.test_loader
        if loader is None:
            raise SkelabError("no test data to evaluate on", fix="set data.path")
        was_training = self.model.training
        self.model.eval()
        scores, labels, index = [], [], []
        for batch in tqdm(
            loader,
            desc="test",
            unit="batch",
            file=sys.stderr,
            leave=False,
            disable=not self.progress,
            dynamic_ncols=True,
        ):
            logits = self._forward(self.eval_model, batch.x, batch.index_t)
            scores.append(logits.float().cpu())
            labels.append(batch.y.cpu())
            index.append(batch.index.cpu())
        self.model.train(was_training)
        part = (
            torch.cat(scores).numpy()
            if scores
            else np.zeros((0, self.cfg.data.num_classes), np.float32),
            torch.cat(labels).numpy().astype(np.int64) if labels else np.zeros(0, np.int64),
            torch.cat(index).numpy().astype(np.int64) if index else np.zeros(0, np.int64),
        )
        parts = all_gather_objects(part, self.dist)
        s = np.concatenate([p[0] for p in parts])
        lab = np.concatenate([p[1] for p in parts])
        idx = np.concatenate([p[2] for p in parts])
        idx, first = np.unique(idx, return_index=True)  # sorted; drops shard padding repeats
        s, lab = s[first].astype(np.float32), lab[first]
        loss = float(nn.functional.cross_entropy(torch.from_numpy(s), torch.from_numpy(lab)))
        return EvalResult(
            top1=topk_accuracy(s, lab, 1),
            top5=topk_accuracy(s, lab, 5),
            loss=loss,
            scores=s,
            labels=lab,
            index=idx,
        )

    # ------------------------------------------------------------------ checkpoints

    def state(self, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
        """Everything needed to resume, as tensors and plain values (weights_only-safe)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "model_name": self.cfg.model.name,
            "config": self.cfg.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "epoch": self.epoch,
            "step": self.step,
            "best_top1": self.best_top1,
            "best_epoch": self.best_epoch,
            "rng": capture_rng_state(),
            "metrics": dict(metrics or {}),
        }

    def load_state(self, ckpt: dict[str, Any], *, where: str | Path) -> None:
        """Restore a `state()`; the config must match apart from `_RESUMABLE_CHANGES`."""
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                "is not a skelab training checkpoint, cannot resume from it",
                where=where,
                fix="start a new run without --resume",
            )
        saved = from_dict(ckpt["config"], where=f"{where} (config)")
        changed = [
            k
            for k in _config_diff(saved.to_dict(), self.cfg.to_dict())
            if k not in _RESUMABLE_CHANGES and k.split(".")[0] not in _RESUMABLE_CHANGES
        ]
        if changed:
            raise ConfigError(
                ", ".join(changed),
                "differs from the run being resumed",
                where=where,
                fix="resume with the run's own config.yaml (only train.epochs, "
                "eval cadence, device and data.path may change), or start a new "
                "--work-dir",
            )
        try:
            self.model.load_state_dict(ckpt["model"], strict=True)
        except RuntimeError as exc:
            raise CheckpointError(
                f"does not fit the model: {str(exc).splitlines()[0]}",
                where=where,
                fix="resume with the config it was trained with",
            ) from exc
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch = int(ckpt["epoch"])
        self.step = int(ckpt["step"])
        self.best_top1 = float(ckpt["best_top1"])
        self.best_epoch = int(ckpt["best_epoch"])
        restore_rng_state(ckpt["rng"])

    # ------------------------------------------------------------------ the run

    def _should_eval(self, epoch1: int) -> bool:
        t = self.cfg.train
        last = epoch1 == t.epochs
        return last or (epoch1 >= t.eval_from and epoch1 % t.eval_every == 0)

    def fit(self, *, resume: bool = False, stop_after: int | None = None) -> FitResult:
        """Train to `train.epochs` (or until `stop_after` epochs are done), evaluating, logging
        and checkpointing as the config says. `resume` continues from checkpoints/last.pt."""
        if self.train_loader is None:
            raise SkelabError("no training data", fix="set data.path")
        ckpt_dir = self.work_dir / "checkpoints" if self.work_dir is not None else None
        if resume:
            if ckpt_dir is None or not (ckpt_dir / "last.pt").is_file():
                raise CheckpointError(
                    f"nothing to resume: no {ckpt_dir}/last.pt",
                    fix="drop --resume to start the run, or pass the "
                    "--work-dir of the run to continue",
                )
            self.load_state(
                load_checkpoint(ckpt_dir / "last.pt", map_location=self.device),
                where=ckpt_dir / "last.pt",
            )
            log.info("resuming %s after epoch %d (step %d)", self.work_dir, self.epoch, self.step)
        elif ckpt_dir is not None and (ckpt_dir / "last.pt").exists():
            raise SkelabError(
                f"{self.work_dir} already holds a run (checkpoints/last.pt)",
                fix="pass --resume to continue it, or choose another --work-dir",
            )
        handler = None
        metrics_writer = None
        if self.writes:
            assert self.work_dir is not None
            self.work_dir.mkdir(parents=True, exist_ok=True)
            (self.work_dir / "config.yaml").write_text(
                f"# resolved config of run {self.cfg.name!r}; "
                f"`skelab train {self.work_dir / 'config.yaml'}` reruns it\n" + self.cfg.to_yaml()
            )
            handler = logging.FileHandler(self.work_dir / "train.log")
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            logging.getLogger("skelab").addHandler(handler)
            metrics_writer = MetricsWriter(self.work_dir)
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
                record, ev = self._run_epoch(self.epoch, metrics_writer, ckpt_dir)
                history.append(record)
                last_eval = ev or last_eval
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
        )

    def _run_epoch(
        self, epoch: int, writer: MetricsWriter | None, ckpt_dir: Path | None
    ) -> tuple[dict[str, Any], EvalResult | None]:
        t0 = time.perf_counter()
        record: dict[str, Any] = {"epoch": epoch + 1}
        record.update(self.train_epoch(epoch))
        self.epoch = epoch + 1
        record["step"] = self.step
        ev = None
        improved = False
        if self._should_eval(self.epoch):
            ev = self.evaluate()
            record.update(test_top1=ev.top1, test_top5=ev.top5, test_loss=ev.loss)
            if ev.top1 > self.best_top1:
                self.best_top1, self.best_epoch, improved = ev.top1, self.epoch, True
            if self.writes:
                assert self.work_dir is not None
                save_scores(
                    self.work_dir / "scores" / f"epoch_{self.epoch}_test.npz",
                    ev.scores,
                    ev.labels,
                    ev.index,
                )
        record["epoch_time_s"] = time.perf_counter() - t0
        if self.writes and ckpt_dir is not None:
            last = atomic_save(self.state(record), ckpt_dir / "last.pt")
            if improved:
                atomic_copy(last, ckpt_dir / "best.pt")
        if writer is not None:
            writer.write(record, step=self.step)
        log.info("%s", self.summary_line(record))
        return record, ev

    def summary_line(self, r: dict[str, Any]) -> str:
        """The one line printed per epoch."""
        parts = [
            f"epoch {r['epoch']}/{self.cfg.train.epochs}",
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
            parts.append(
                f"test top-1 {100 * r['test_top1']:.2f}% top-5 "
                f"{100 * r['test_top5']:.2f}% (best {100 * self.best_top1:.2f}% "
                f"@ epoch {self.best_epoch})"
            )
        parts.append(f"{r['epoch_time_s']:.1f}s, {r['samples_per_s']:.0f} samples/s")
        return " | ".join(parts)

    def describe(self) -> str:
        """One line: model size, device, precision, batches per epoch."""
        from skelab.models import count_parameters

        steps = len(self.train_loader) if self.train_loader is not None else 0
        where = f"{self.work_dir}" if self.work_dir is not None else "(not saved)"
        ranks = f" x {self.dist.world_size} processes" if self.dist.enabled else ""
        return (
            f"training {self.cfg.model.name} ({count_parameters(self.model):,} parameters) "
            f"on {self.device}{ranks}, {self.cfg.train.epochs} epochs x {steps} steps, "
            f"batch {self.cfg.train.batch_size}, amp {self.cfg.train.amp}; run in {where}"
        )


def load_weights(model: nn.Module, path: str | Path) -> dict[str, Any]:
    """Load model weights from a skelab checkpoint or an imported state dict, strictly."""
    ckpt = load_checkpoint(path)
    state = model_state_from(ckpt, where=path)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        parts = []
        if result.missing_keys:
            parts.append(
                f"{len(result.missing_keys)} missing: {', '.join(result.missing_keys[:8])}"
            )
        if result.unexpected_keys:
            parts.append(
                f"{len(result.unexpected_keys)} unexpected: {', '.join(result.unexpected_keys[:8])}"
            )
        raise CheckpointError(
            "does not match the model (" + " | ".join(parts) + ")",
            where=path,
            fix="evaluate with the config the weights were trained with "
            "(model.name, model.options, data.num_classes); for upstream "
            "weights run `skelab models import` first",
        )
    return ckpt


def evaluate_weights(
    cfg: Config, weights: str | Path, *, work_dir: str | Path | None, progress: bool = True
) -> tuple[EvalResult, Path | None]:
    """Evaluate `weights` on the test split; writes `scores/eval_<stem>_test.npz` in work_dir."""
    trainer = Trainer(cfg, work_dir=work_dir, progress=progress, build_data=False)
    _, test_loader, test_ds = build_loaders(
        cfg, device=trainer.device, dist_info=trainer.dist, train=False
    )
    trainer.test_loader = test_loader
    trainer.class_names = tuple(test_ds.class_names)
    load_weights(trainer.model, weights)
    try:
        result = trainer.evaluate()
    except torch.cuda.OutOfMemoryError as exc:
        raise out_of_memory_error(cfg) from exc
    out = None
    if trainer.writes and trainer.work_dir is not None:
        out = save_scores(
            trainer.work_dir / "scores" / f"eval_{Path(weights).stem}_test.npz",
            result.scores,
            result.labels,
            result.index,
        )
    return result, out


def fit_config(
    cfg: Config, *, work_dir: str | Path, resume: bool = False, progress: bool = True
) -> FitResult:
    """Build model and data from `cfg` and train; the library side of `skelab train`."""
    return Trainer(cfg, work_dir=work_dir, progress=progress).fit(resume=resume)


def percent(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.2f}%"
