"""Estimate the GPU memory of a training step without a GPU.

Method (an estimate, labelled as such wherever it is quoted): build the model on the CPU, run a
forward pass on a small batch under `torch.autograd.graph.saved_tensors_hooks`, and add up the
bytes of every distinct storage autograd keeps for the backward pass; divide by the batch to get
activation bytes per sample. A step's peak is then about

    activations(per sample) x forward batch + parameters x (1 weight + 1 gradient + optimizer
    state: 1 for SGD with momentum, 2 for AdamW) + workspace

where the workspace (transient buffers of the backward pass, cuDNN scratch) is taken as 25% of
the activations, and the CUDA context (about 0.5 GB) is reported separately. Mixed precision
halves the activations that autocast runs in 16 bits; this estimate is for float32.
On a GPU, `skelab bench --device cuda` measures the real peak instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from skelab.bench.step import example_inputs
from skelab.models import build, get_card

CUDA_CONTEXT_GB = 0.5
WORKSPACE_SHARE = 0.25


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak memory of one training step (float32)."""

    model: str
    window: int
    forward_batch: int
    activation_mib_per_sample: float
    params: int
    optimizer: str
    peak_gb: float  # without the CUDA context
    cuda_context_gb: float = CUDA_CONTEXT_GB

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def activation_bytes_per_sample(
    name: str, *, window: int, options: dict[str, Any] | None = None, probe_batch: int = 2
) -> tuple[float, int]:
    """(bytes autograd saves per sample in one forward, parameter count) for a model."""
    model = build(name, window=window, **(options or {})).train()
    inputs = example_inputs(name, batch=probe_batch, window=window)
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    x = inputs.pop("x")
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x, **inputs)
    params = sum(p.numel() for p in model.parameters())
    return sum(seen.values()) / probe_batch, params


def estimate_train_memory(
    name: str,
    *,
    window: int | None = None,
    forward_batch: int,
    optimizer: str = "sgd",
    options: dict[str, Any] | None = None,
) -> MemoryEstimate:
    """Estimated peak GPU memory of a float32 training step with `forward_batch` samples."""
    window = window or get_card(name).default_window
    per_sample, params = activation_bytes_per_sample(name, window=window, options=options)
    state = {"sgd": 3, "adamw": 4}.get(optimizer, 4)
    total = per_sample * forward_batch * (1 + WORKSPACE_SHARE) + params * 4 * state
    return MemoryEstimate(
        model=name,
        window=window,
        forward_batch=forward_batch,
        activation_mib_per_sample=per_sample / 2**20,
        params=params,
        optimizer=optimizer,
        peak_gb=total / 2**30,
    )
