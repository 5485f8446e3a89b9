"""CUDA's autocast policy applied off CUDA: agrees with torch's CPU autocast where the two lists
agree, and differs where CUDA's does (float32 layer_norm and softmax)."""

from __future__ import annotations

import torch
from torch import nn

from skelab.bench.autocast_policy import CudaAutocast


def _saved_dtypes(model: nn.Module, x: torch.Tensor, context) -> list[tuple[torch.dtype, int]]:
    saved: dict[int, tuple[torch.dtype, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved[t.untyped_storage()._cdata] = (t.dtype, t.untyped_storage().nbytes())
        return t

    with context, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x).float().sum()
    return sorted(saved.values(), key=str)


def test_emulation_saves_what_torch_autocast_saves_for_linear_relu_linear():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(4, 6, requires_grad=True)

    real = _saved_dtypes(model, x, torch.autocast("cpu", dtype=torch.bfloat16))
    policy = CudaAutocast(torch.bfloat16).attach(model)
    emulated = _saved_dtypes(model, x, policy)

    assert emulated == real


def test_layer_norm_and_softmax_run_in_float32_as_on_cuda():
    model = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Softmax(dim=-1))
    x = torch.randn(4, 6)
    policy = CudaAutocast(torch.bfloat16).attach(model)

    with policy:
        y = model(x)

    assert y.dtype == torch.float32  # CPU autocast would return bfloat16 here


def test_policy_is_active_only_inside_the_attached_models_forward():
    model = nn.Linear(6, 8)
    policy = CudaAutocast(torch.float16).attach(model)

    with policy:
        inside = model(torch.randn(2, 6))
        outside = torch.nn.functional.linear(torch.randn(2, 6), model.weight)
    policy.detach_hooks()

    assert inside.dtype == torch.float16
    assert outside.dtype == torch.float32
