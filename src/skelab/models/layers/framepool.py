"""Max over 3 neighbouring frames (`MaxPool2d((3, 1), stride=(s, 1), padding=(1, 0))`) as the
elementwise maximum of three strided views.

PyTorch's CPU max-pool scans (N, C, T, V) tensors window by window; with a (3, 1) kernel on the
skeleton GCNs' temporal branches that is slow: measured in process on one core, a
(16, 16, 64, 26) branch took 9.1 ms, against 0.4 ms for two `torch.maximum` of shifted views
(1.4 ms as channels-last). Same function: the maximum of the same three values (frames outside
the clip count as -inf, as the pool's padding), and the gradient goes to the first maximal
frame of each window, as the pool's argmax does (ties go to the earlier frame).

Only where `layers.pointwise.eager_cpu` holds (float32 on the CPU, eagerly): on a GPU, the meta
device (skelab.bench.memory), under autocast and under torch.compile / export tracing it is
`F.max_pool2d`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from skelab.models.layers.pointwise import eager_cpu


def _views(xp: Tensor, stride: int, t_out: int) -> tuple[Tensor, Tensor, Tensor]:
    """Frames s*o - 1, s*o, s*o + 1 of the clip padded by one frame on both ends."""
    span = stride * (t_out - 1) + 1
    return tuple(xp[:, :, k : k + span : stride] for k in range(3))  # type: ignore[return-value]


class _MaxOf3Frames(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, stride: int) -> Tensor:
        t_out = (x.shape[2] - 1) // stride + 1
        xp = F.pad(x, (0, 0, 1, 1), value=float("-inf"))
        a, b, c = _views(xp, stride, t_out)
        out = torch.maximum(a, b)
        torch.maximum(out, c, out=out)
        ctx.save_for_backward(x, out)
        ctx.stride = stride
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        x, out = ctx.saved_tensors
        stride, t_out = ctx.stride, out.shape[2]
        xp = F.pad(x, (0, 0, 1, 1), value=float("-inf"))
        a, b, _ = _views(xp, stride, t_out)
        first = a == out  # the pool's argmax: the first maximal frame of the window
        second = (b == out) & ~first
        third = ~(first | second)
        gp = grad.new_zeros(xp.shape)
        for view, mask in zip(_views(gp, stride, t_out), (first, second, third), strict=True):
            view.add_(torch.where(mask, grad, 0.0))
        return gp[:, :, 1:-1], None


def max_over_frames(x: Tensor, stride: int = 1) -> Tensor:
    """`F.max_pool2d(x, (3, 1), (stride, 1), (1, 0))` for x (N, C, T, V)."""
    if not eager_cpu(x) or x.shape[2] < 1:
        return F.max_pool2d(x, (3, 1), (stride, 1), (1, 0))
    return _MaxOf3Frames.apply(x, stride)
