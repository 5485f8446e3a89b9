"""Evaluation as a free function: a model and a loader in, scores and accuracies out.

`evaluate` runs a model over every batch of a loader (gathering the shards of a distributed run)
and returns the scores sorted by sample index, with top-1/top-5 and the loss. `evaluate_weights`
is the library side of `skelab eval`: it builds the model and the test loader from a config,
loads the weights strictly, evaluates and writes `scores/eval_<weights>_test.npz`.
The trainer, ensembles, prediction and zero-shot feature extraction all use `evaluate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from skelab.engine.build import LoaderLike
from skelab.engine.config import Config
from skelab.engine.distributed import DistInfo, all_gather_objects
from skelab.engine.metrics import save_scores, topk_accuracy
from skelab.engine.rundir import RunDir
from skelab.engine.step import forward
from skelab.errors import SkelabError


@dataclass
class EvalResult:
    """One split's evaluation: accuracies in 0..1; every array sorted by sample index."""

    top1: float
    top5: float
    loss: float
    scores: np.ndarray  # (N, num_classes) float32 logits
    labels: np.ndarray  # (N,) int64
    index: np.ndarray  # (N,) int64 positions in the split
    features: np.ndarray | None = None  # (N, D) float32 inputs of `capture`, when asked


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: LoaderLike,
    *,
    needs_index_t: bool,
    dtype: torch.dtype | None = None,
    num_classes: int,
    dist_info: DistInfo | None = None,
    progress: bool = False,
    capture: nn.Module | None = None,
) -> EvalResult:
    """Scores of every sample `loader` gives (gathered over ranks), with top-1/top-5 and loss.

    `capture`, a submodule of `model` (e.g. its classifier `nn.Linear`), has its input recorded
    for every batch and returned as `features`, in the same order as the scores."""
    from skelab.progress import progress_bar

    if loader is None:
        raise SkelabError("no test data to evaluate on", fix="--set data.path=FILE.npz")
    was_training = model.training
    model.eval()
    captured: list[Tensor] = []
    hook = None
    if capture is not None:

        def record(_module: nn.Module, args: tuple[Tensor, ...]) -> None:
            captured.append(args[0].detach().float().flatten(1).cpu())

        hook = capture.register_forward_pre_hook(record)
    scores, labels, index = [], [], []
    try:
        for batch in progress_bar(loader, desc="test", unit="batch", enabled=progress, leave=False):
            logits = forward(
                model,
                batch.x,
                batch.index_t,
                needs_index_t=needs_index_t,
                dtype=dtype,
                joint=getattr(batch, "joint", None),  # raw joints, blockgcn style only
            )
            scores.append(logits.float().cpu())
            labels.append(batch.y.cpu())
            index.append(batch.index.cpu())
    finally:
        if hook is not None:
            hook.remove()
        model.train(was_training)

    part = (
        torch.cat(scores).numpy() if scores else np.zeros((0, num_classes), np.float32),
        torch.cat(labels).numpy().astype(np.int64) if labels else np.zeros(0, np.int64),
        torch.cat(index).numpy().astype(np.int64) if index else np.zeros(0, np.int64),
        torch.cat(captured).numpy() if captured else None,
    )
    parts = all_gather_objects(part, dist_info) if dist_info is not None else [part]
    s = np.concatenate([p[0] for p in parts])
    lab = np.concatenate([p[1] for p in parts])
    idx = np.concatenate([p[2] for p in parts])
    idx, first = np.unique(idx, return_index=True)  # sorted; drops shard padding repeats
    s, lab = s[first].astype(np.float32), lab[first]
    feats = None
    if capture is not None:
        chunks = [p[3] for p in parts if p[3] is not None]
        feats = np.concatenate(chunks)[first].astype(np.float32) if chunks else None
    loss = math.nan  # labels outside the model's classes (prediction on other data): no loss
    if len(lab) and int(lab.min()) >= 0 and int(lab.max()) < s.shape[1]:
        loss = float(nn.functional.cross_entropy(torch.from_numpy(s), torch.from_numpy(lab)))
    return EvalResult(
        top1=topk_accuracy(s, lab, 1),
        top5=topk_accuracy(s, lab, 5),
        loss=loss,
        scores=s,
        labels=lab,
        index=idx,
        features=feats,
    )


def evaluate_config(
    cfg: Config, model: nn.Module, loader: LoaderLike, *, device: torch.device, progress: bool
) -> EvalResult:
    """`evaluate` with what `cfg` says (index_t from the model card, `train.amp`, class count);
    CUDA out-of-memory becomes the error that names lighter settings."""
    from skelab.engine.build import needs_index_t
    from skelab.engine.oom import out_of_memory_error
    from skelab.engine.step import amp_dtype

    try:
        return evaluate(
            model,
            loader,
            needs_index_t=needs_index_t(cfg),
            dtype=amp_dtype(cfg.train.amp, device),
            num_classes=cfg.data.num_classes,
            progress=progress,
        )
    except torch.cuda.OutOfMemoryError as exc:
        raise out_of_memory_error(cfg) from exc


def evaluate_weights(
    cfg: Config,
    weights: str | Path,
    *,
    work_dir: str | Path | None,
    progress: bool = True,
) -> tuple[EvalResult, Path | None]:
    """Evaluate `weights` on the test split of `cfg`; writes `scores/eval_<stem>_test.npz` in
    `work_dir` (nothing when it is None). Returns the result and the scores file."""
    from skelab.engine.build import build_loaders, model_from_weights

    model, device = model_from_weights(cfg, weights)
    _, test_loader, _ = build_loaders(cfg, device=device, train=False)
    result = evaluate_config(cfg, model, test_loader, device=device, progress=progress)
    out = None
    if work_dir is not None:
        out = save_scores(
            RunDir(work_dir).eval_scores(weights),
            result.scores,
            result.labels,
            result.index,
        )
    return result, out
