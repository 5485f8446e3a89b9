"""One training step, shared by `skelab train` (the Trainer) and `skelab bench`.

1. The batch is split into chunks of `chunk_size` samples (`train.forward_batch_size`; the whole
   batch when it is 0). Each chunk's loss is the chunk's mean loss times chunk/batch, so the chunk
   gradients add up to the gradient of the full-batch mean loss. This is exact for models without
   batch statistics. BatchNorm layers see each chunk on its own, so their statistics come from
   `chunk_size` samples, exactly as MS-G3D's `--forward-batch-size` does upstream
   (models-gcn.md §2.9), and as ST-GCN's 4-GPU DataParallel does (16 samples per GPU).
   Under DDP every chunk but the last runs in `no_sync()`, so gradients are reduced once.
2. The loss is `skelab.engine.losses.compute_loss`: label-smoothed cross-entropy plus the model's
   `auxiliary_losses()`; every term is returned so the caller can log it.
3. Mixed precision is CUDA only: bf16 autocast, or fp16 autocast with a `GradScaler`. On the CPU
   the step runs in float32 (autocast on the CPU would change the numbers the CPU tests pin).
   Gradient clipping (global norm) happens after unscaling.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import torch
from torch import Tensor, nn

from skelab.engine.losses import compute_loss
from skelab.errors import ConfigError

log = logging.getLogger(__name__)


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """`train.amp` ("none" | "bf16" | "fp16"; train.precision fp32 is "none") as an autocast
    dtype; None means float32.

    Mixed precision applies on CUDA only: on another device it is ignored with a warning."""
    if amp == "none":
        return None
    if device.type != "cuda":
        log.warning("train.precision=%s applies on CUDA only; float32 on %s", amp, device)
        return None
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            "train.precision",
            f"bf16 is not supported on {device}",
            fix="--precision fp16 (with a grad scaler) or --precision fp32",
        )
    return torch.bfloat16 if amp == "bf16" else torch.float16


def autocast(
    device: torch.device, dtype: torch.dtype | None
) -> contextlib.AbstractContextManager[Any]:
    """Autocast to `dtype` on `device`, or nothing when `dtype` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_scaler(dtype: torch.dtype | None, device: torch.device) -> torch.amp.GradScaler:
    """A gradient scaler, enabled only for fp16 on CUDA (bf16 and float32 need none)."""
    return torch.amp.GradScaler("cuda", enabled=dtype is torch.float16 and device.type == "cuda")


def forward(
    model: nn.Module,
    x: Tensor,
    index_t: Tensor | None = None,
    *,
    needs_index_t: bool,
    dtype: torch.dtype | None,
    joint: Tensor | None = None,
) -> Tensor:
    """Logits of `model` on `x` under autocast; `index_t` goes only to models that need it,
    `joint` (the raw joints, blockgcn data style) to every model when the batch has it."""
    extra = {} if joint is None else {"joint": joint}
    with autocast(x.device, dtype):
        if needs_index_t:
            return model(x, index_t=index_t, **extra)
        return model(x, **extra)


def chunk_slices(n: int, chunk_size: int) -> list[slice]:
    """The forward passes of an n-sample batch: slices of `chunk_size` samples (the whole
    batch when it is 0 or larger than n)."""
    chunk = max(1, min(chunk_size, n)) if chunk_size > 0 else n
    return [slice(start, min(start + chunk, n)) for start in range(0, n, chunk)]


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    x: Tensor,
    y: Tensor,
    *,
    index_t: Tensor | None = None,
    needs_index_t: bool,
    dtype: torch.dtype | None,
    chunk_size: int,
    label_smoothing: float,
    clip_grad: float,
    forward_model: nn.Module | None = None,
    joint: Tensor | None = None,
) -> dict[str, Tensor]:
    """One optimizer step on (x, y) with the lr already set; returns detached loss terms,
    their sum as "loss" and the number of correct top-1 predictions as "correct".

    `forward_model` is what runs the forward pass (a DDP or compiled wrapper of `model`);
    `model` owns the parameters, the auxiliary losses and the gradients that are clipped."""
    runner = forward_model if forward_model is not None else model
    no_sync = getattr(runner, "no_sync", None)
    n = y.shape[0]
    optimizer.zero_grad(set_to_none=True)
    terms_sum: dict[str, Tensor] = {}
    correct = torch.zeros((), device=y.device)
    for part in chunk_slices(n, chunk_size):
        sync = no_sync() if no_sync is not None and part.stop < n else contextlib.nullcontext()
        with sync:
            logits = forward(
                runner,
                x[part],
                index_t[part] if index_t is not None else None,
                needs_index_t=needs_index_t,
                dtype=dtype,
                joint=joint[part] if joint is not None else None,
            )
            loss, terms = compute_loss(model, logits, y[part], label_smoothing=label_smoothing)
            share = (part.stop - part.start) / n
            scaler.scale(loss * share).backward()
        for name, value in terms.items():
            terms_sum[name] = terms_sum.get(name, 0.0) + value.detach() * share
        correct = correct + (logits.detach().argmax(1) == y[part]).sum()
    if clip_grad > 0:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    scaler.step(optimizer)
    scaler.update()
    terms_sum["loss"] = torch.stack(list(terms_sum.values())).sum()
    terms_sum["correct"] = correct
    return terms_sum
