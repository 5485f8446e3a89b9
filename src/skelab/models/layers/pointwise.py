"""A 1x1 convolution computed as one batched matrix product over the samples.

On the CPU, PyTorch runs a 1x1 `Conv2d` through oneDNN, which reorders the (N, C, T, V) input
and output into its blocked layout on every call; at the widths of the skeleton GCNs (64-256
channels, 25 joints) that costs as much as the product itself. The same product as a batched
matmul, `W (C_out, C_in) @ x[n] (C_in, T*V)` for every sample n, reads and writes the tensors as
they are: measured in-process on one core (16 x 64 x 64 x 25 input), a 64->64 convolution's
forward and backward took 12 ms this way against 34 ms as `F.conv2d`, 64->128 20 ms against
52 ms; at 256 channels the two are about equal (34 ms against 37 ms). The weight
is expanded over the batch and made contiguous (N * C_out * C_in values, small), since the
batched product reads a stride-0 batch through a slow path. Same function: each output is
`bias[c] + sum_k W[c, k] x[n, k, t, v]`, only the summation order may differ in the last bit.

Only on the CPU: on a GPU (and on the meta device, where skelab.bench.memory counts a GPU step's
memory) `conv1x1` is `F.conv2d`, cuDNN's own 1x1 convolution, as upstream runs it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.models.layers.batchnorm import batch_norm_act
from skelab.models.layers.eager import eager_cpu

__all__ = [
    "batched",
    "bn_residual_relu",
    "conv1x1",
    "eager_cpu",
    "joint_embedding",
    "pointwise",
    "residual",
]


def conv1x1(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, *, stride: int = 1, groups: int = 1
) -> Tensor:
    """`F.conv2d(x, weight, bias, stride=(stride, 1), groups=groups)` for a 1x1 weight
    (C_out, C_in / groups, 1, 1) or (C_out, C_in / groups), as batched matrix products: per
    sample and group, W_g (C_out/G, C_in/G) @ x_g (C_in/G, frames kept * rest).

    x is (N, C_in, T, ...): any number of trailing axes (none, or joints, or windows x joints);
    `stride` keeps every stride-th frame of axis 2, as a (stride, 1) 1x1 convolution does.
    Returns (N, C_out, T', ...), contiguous."""
    if stride != 1:
        x = x[:, :, ::stride]
    if x.device.type != "cpu":
        n, c_in = x.shape[:2]
        as_4d = x.reshape(n, c_in, x.shape[2] if x.dim() > 2 else 1, -1)
        w = weight.reshape(weight.shape[0], c_in // groups, 1, 1)
        return F.conv2d(as_4d, w, bias, groups=groups).view(n, weight.shape[0], *x.shape[2:])
    n, c_in = x.shape[:2]
    rest = x.shape[2:]
    c_out = weight.shape[0]
    g_in, g_out = c_in // groups, c_out // groups
    flat = x.reshape(n * groups, g_in, -1)
    w = batched(weight.reshape(groups, g_out, g_in), n).view(n * groups, g_out, g_in)
    if bias is None:
        y = torch.bmm(w, flat)
    elif groups == 1:
        y = torch.baddbmm(bias.view(1, -1, 1), w, flat)
    else:
        b = bias.view(1, groups, g_out, 1).expand(n, -1, -1, -1).reshape(n * groups, g_out, 1)
        y = torch.baddbmm(b, w, flat)
    return y.view(n, c_out, *rest)


def batched(w: Tensor, n: int) -> Tensor:
    """w repeated over a batch of n as a real copy (small): a stride-0 batch takes BLAS's
    slow path in the batched products."""
    return w.expand(n, *w.shape).contiguous()


def joint_embedding(linear: nn.Linear, pos: Tensor, x: Tensor) -> Tensor:
    """`linear(x) + pos` per frame, joint and person of x (N, C, T, V, M), with pos (1, V, E),
    laid out (N, M*V*E, T): the (person, joint, channel) rows a data_bn normalises (BlockGCN's
    and Hyper-GCN's embedding).

    On the CPU (eager) it is one batched product per (sample, person, joint), W (E, C) @ x (C,
    T), with bias + pos as its added term, written straight in that layout: the Linear over
    (N, M, T, V, C) rows writes (N, M, T, V, E), and reordering it takes a transposing copy
    forward and another of the gradient backward (embedding + data_bn fwd+bwd 73-90 -> 29-39
    ms at batch 8). bias + pos is summed before the product adds it (float32 rounding only).
    The result is a fresh tensor that no backward needs, so it may be changed in place."""
    n, c, t, v, m = x.shape
    e = linear.out_features
    if not eager_cpu(x):
        y = linear(x.permute(0, 4, 2, 3, 1)) + pos  # (N, M, T, V, E)
        return y.permute(0, 1, 3, 4, 2).reshape(n, m * v * e, t)
    rows = n * m * v
    xs = x.permute(0, 4, 3, 1, 2).reshape(rows, c, t)  # (N*M*V, C, T): small
    shift = (linear.bias + pos.reshape(v, e)).expand(n * m, v, e).reshape(rows, e, 1)
    return torch.baddbmm(shift, batched(linear.weight, rows), xs).view(n, m * v * e, t)


def pointwise(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """`conv(x)` for a 1x1 `nn.Conv2d` without padding (strided over frames and grouped
    allowed) through `conv1x1`."""
    if conv.kernel_size != (1, 1) or conv.padding != (0, 0) or conv.stride[1] != 1:
        raise ValueError(f"pointwise takes a 1x1, unpadded, frame-strided conv, not {conv}")
    return conv1x1(x, conv.weight, conv.bias, stride=conv.stride[0], groups=conv.groups)


def residual(down: nn.Module, x: Tensor) -> Tensor:
    """`down(x)` for a residual path that is the identity or (1x1 conv, BatchNorm), its conv
    through `pointwise` and its BatchNorm through `batch_norm_act`."""
    if isinstance(down, nn.Sequential):
        return batch_norm_act(down[1], pointwise(down[0], x))
    return down(x)


def bn_residual_relu(bn: nn.Module, y: Tensor, down: nn.Module, x: Tensor) -> Tensor:
    """`relu(bn(y) + residual(down, x))`, the ending of upstream's graph convolutions, through
    `batch_norm_act` (one written pass for the affine map, the sum and the ReLU on the CPU)."""
    return batch_norm_act(bn, y, residual(down, x), relu=True)
