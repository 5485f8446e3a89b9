"""The one test for whether skelab's written CPU kernels run."""

from __future__ import annotations

import torch
from torch import Tensor


def eager_cpu(x: Tensor) -> bool:
    """Whether the written-out CPU kernels run: float32 on the CPU, eagerly. They stand aside
    on a GPU and on the meta device, under autocast, and under torch.compile, torch.export and
    TorchScript tracing (so ONNX export sees the plain layers)."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_autocast_enabled("cpu")
        and not torch.compiler.is_compiling()
        and not torch.jit.is_tracing()
    )
