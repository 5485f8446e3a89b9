"""CUDA's autocast policy, applied to tensors on any device (meta, CPU) to count what it keeps.

Why: the bytes a mixed-precision step saves for backward depend on which operators autocast
runs in 16 bits and which it forces to float32, and CUDA's lists differ from the CPU's (on the
CPU, `layer_norm`, `softmax`, `exp` and `pow` keep the input's 16-bit dtype; on CUDA they run
in float32 and return float32). A CPU-only machine cannot run CUDA autocast: fake CUDA tensors
abort in autograd (no CUDA device guard in a CPU build of torch), so `CudaAutocast` applies the
CUDA lists itself, as a `TorchFunctionMode` that casts the arguments of the listed functions
before they run. The casts go through autograd exactly as CUDA autocast's casts do, so the
saved-tensor hooks see the same 16-bit copies a GPU would keep.

The lists are those of ATen's `autocast_mode.cpp` for CUDA (torch 2.x): operators that run in
the lower precision, operators that run in float32, reductions that get `dtype=float32` when none
is given, and operators that promote to the widest input type. Like CUDA autocast, casts of
leaf tensors that require grad (the weights) are cached for the autocast region, so a weight
used twice is cast once; float64 tensors are never cast; in-place variants are left alone.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map

# Functions CUDA autocast runs in the lower precision (Python names of the ATen operators).
LOWER_PRECISION = frozenset(
    {
        "conv1d", "conv2d", "conv3d", "conv_tbc", "conv_transpose1d", "conv_transpose2d",
        "conv_transpose3d", "convolution", "prelu", "addmm", "addmv", "addr", "matmul",
        "__matmul__", "__rmatmul__", "einsum", "mm", "mv", "vecdot", "linear", "addbmm",
        "baddbmm", "bmm", "chain_matmul", "multi_dot", "lstm_cell", "gru_cell",
        "rnn_tanh_cell", "rnn_relu_cell", "scaled_dot_product_attention",
    }
)  # fmt: skip
# Functions CUDA autocast runs in float32.
FLOAT32 = frozenset(
    {
        "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p",
        "reciprocal", "rsqrt", "sinh", "tan", "pow", "__pow__", "__rpow__", "softplus",
        "layer_norm", "group_norm", "frobenius_norm", "nuclear_norm", "cosine_similarity",
        "poisson_nll_loss", "cosine_embedding_loss", "nll_loss", "hinge_embedding_loss",
        "kl_div", "l1_loss", "smooth_l1_loss", "huber_loss", "mse_loss", "margin_ranking_loss",
        "multilabel_margin_loss", "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
        "binary_cross_entropy_with_logits", "dist", "pdist", "cdist", "renorm", "logsumexp",
        "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
    }
)  # fmt: skip
# Reductions that CUDA autocast computes in float32 when the caller gives no dtype.
FLOAT32_UNLESS_DTYPE = frozenset(
    {"prod", "softmax", "log_softmax", "cumprod", "cumsum", "vector_norm", "matrix_norm", "sum"}
)
# Functions that CUDA autocast runs in the widest floating type among their inputs.
PROMOTE = frozenset(
    {
        "addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "vdot", "grid_sample",
        "index_put", "tensordot", "scatter_add", "cat", "stack", "index_copy",
    }
)  # fmt: skip
_LOW = (torch.float16, torch.bfloat16)


def _eligible(t: Any) -> bool:
    return isinstance(t, Tensor) and t.is_floating_point() and t.dtype is not torch.float64


class CudaAutocast(TorchFunctionMode):
    """CUDA autocast's policy for `dtype`, active while `enabled` is True.

    `attach(model)` turns it on for the duration of each forward pass of `model` only, as
    `skelab.engine.step.forward` scopes `torch.autocast` (the loss runs outside it)."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        if dtype not in _LOW:
            raise ValueError(f"autocast dtype must be float16 or bfloat16, got {dtype}")
        self.dtype = dtype
        self.enabled = False
        self._cache: dict[int, Tensor] = {}
        self._handles: list[Any] = []

    def attach(self, model: nn.Module) -> CudaAutocast:
        def on(module: nn.Module, args: Any) -> None:
            self.enabled = True

        def off(module: nn.Module, args: Any, out: Any) -> None:
            self.enabled = False
            self._cache.clear()  # CUDA autocast empties its weight-cast cache on exit

        self._handles += [model.register_forward_pre_hook(on), model.register_forward_hook(off)]
        return self

    def detach_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _cast(self, t: Any, dtype: torch.dtype) -> Any:
        if not _eligible(t) or t.dtype is dtype:
            return t
        if dtype is not torch.float32 and t.is_leaf and t.requires_grad:
            cached = self._cache.get(id(t))
            if cached is None:
                cached = self._cache[id(t)] = t.to(dtype)
            return cached
        return t.to(dtype)

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", "")
        if not self.enabled or not name or name.endswith("_") and not name.endswith("__"):
            return func(*args, **kwargs)
        if name in LOWER_PRECISION:
            args, kwargs = tree_map(lambda t: self._cast(t, self.dtype), (args, kwargs))
        elif name in FLOAT32:
            args, kwargs = tree_map(lambda t: self._cast(t, torch.float32), (args, kwargs))
        elif name in FLOAT32_UNLESS_DTYPE:
            low = any(_eligible(t) and t.dtype in _LOW for t in _tensors((args, kwargs)))
            if low and kwargs.get("dtype") is None:
                kwargs["dtype"] = torch.float32
        elif name in PROMOTE:
            floats = [t.dtype for t in _tensors((args, kwargs)) if _eligible(t)]
            if len(set(floats)) > 1:
                wide = torch.float32 if torch.float32 in floats else floats[0]
                args, kwargs = tree_map(lambda t: self._cast(t, wide), (args, kwargs))
        return func(*args, **kwargs)


def _tensors(tree: Any) -> list[Tensor]:
    found: list[Tensor] = []
    tree_map(lambda t: found.append(t) if isinstance(t, Tensor) else None, tree)
    return found
