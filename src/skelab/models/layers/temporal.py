"""A (K, 1) temporal convolution computed exactly through a real DFT, as three matrix products.

ST-GCN's (9, 1) convolutions over frames are most of its training step, and oneDNN already runs
them near this core's peak (~79 GFLOP/s), so only fewer FLOPs make them faster. A linear
convolution over T frames (zero padding p, span S = (K - 1) d + 1, stride s) equals, on the
outputs kept, a circular one of any length L >= max(T + p, s (T_out - 1) + S - p) (taken even),
and a circular convolution is a product per frequency bin. With x (N, C, T, V):

1. x as (T, C·N·V) (one copy), times the real DFT matrix (L, T): rows (cos, -sin) of bins
   1 .. L/2 - 1 and, packed into bin 0, DC and Nyquist (both real): L rows, no zero rows;
2. per bin one real (2 O, 2 C) block [[Re H, -Im H], [Im H, Re H]] (bin 0: diag(H_0, H_L/2)),
   H_f = sum_k w_k exp(-2 pi i f (p - k d) / L), built from the weight on every call (one small
   product: the parameter keeps its shape and key), applied to all bins in one `bmm`; or, at
   256+ channels, Gauss's form: three (O, C) products per bin, A P, B Q and (A + B)(P + Q)
   (A, B = Re, Im H; P, Q = Re, Im X; the DFT matrix gains the P + Q rows and the inverse
   recombines), 3/4 of the mixing FLOPs;
3. the inverse real DFT (T_out, L) (only the kept rows t = s t'), plus the bias, in one `addmm`;
4. (T_out, O, N, V) permuted back to (N, O, T_out, V) (one copy).

All matrix products, so autograd's backward is matrix products too. The DFT matrices are built
in float64, cast, and cached per shape in a module dict (not buffers: no state-dict keys).
Float32 error against float64: ~3e-7 of the largest output and gradient (Gauss's ~1e-6), no
worse than oneDNN's own (~1e-6) at ST-GCN's widths.

FLOPs (forward + backward) fall by `flop_ratio`: 2.5x at C 64, T 64; 3.4x at C 128, T 32 and
C 256, T 16; 1.7-1.9x for the stride-2 layers. The products run slower than oneDNN's direct
kernel (40-80 GFLOP/s), so the DFT form is taken where the ratio is at least `MIN_RATIO`, both
widths are at least `MIN_CHANNELS` and the batch gives the products enough columns (N·V: the
weight blocks cost the same at any batch; `MIN_COLUMNS_*`). Measured forward + backward, one thread,
batch 16 x 25 joints, K 9, p 4, medians of three runs at load average ~7 on 2 cores (ms; the
form taken in bold):

    C_in=C_out  T   stride  ratio  conv     DFT block  DFT Gauss
    32          64  1       1.82   **20**   19         24
    32          64  2       1.06   **12**   12         19
    64          32  2       1.60   20       **15**     23
    64          64  1       2.54   72       **51**     58
    64          32  1       3.00   34       **18**     19
    128         32  1       3.43   132      **59**     67
    128         16  1       3.32   63       **27**     25
    128         64  2       1.69   152      **121**    127
    256         16  1       3.46   242      96         **83**
    256         32  2       1.88   277      205        **167**

Only on the CPU in float32, eagerly (`layers.pointwise.eager_cpu`): on a GPU, on the meta
device (the memory model), under autocast and while torch.compile, torch.export or the ONNX
tracer records the model, `temporal_conv` is the convolution itself. Models reach it through
`layers.tcn.frame_conv`, the one entry point for convolutions over frames.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from skelab.models.layers.pointwise import eager_cpu

_CACHE: dict[tuple, tuple[Tensor, Tensor]] = {}


def dft_length(frames: int, span: int, padding: int, stride: int) -> tuple[int, int]:
    """(L, T_out): the even circular length L that reproduces the kept outputs of the linear
    convolution, and the number of output frames."""
    t_out = (frames + 2 * padding - span) // stride + 1
    need = max(frames + padding, stride * (t_out - 1) + span - padding, 2)
    return need + need % 2, t_out


def _plan(
    frames: int, kernel: int, dilation: int, padding: int, stride: int, gauss: bool, dtype
) -> tuple[Tensor, Tensor, Tensor]:
    """The form's constant matrices (built in float64, cached): forward DFT (G·L/2, T), inverse
    DFT with the kept frames only (T_out, G·L/2), and the taps (rows, K) that turn the weight
    into the per-bin blocks. G = 2 (re, im) for the block form, 3 (P, Q, P + Q) for Gauss's."""
    key = (frames, kernel, dilation, padding, stride, gauss, dtype)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    span = (kernel - 1) * dilation + 1
    length, t_out = dft_length(frames, span, padding, stride)
    half, groups = length // 2, 3 if gauss else 2
    f = torch.arange(half, dtype=torch.float64)
    t = torch.arange(frames, dtype=torch.float64)
    cos, sin = (
        torch.cos(2 * math.pi * f[:, None] * t / length),
        torch.sin(2 * math.pi * f[:, None] * t / length),
    )
    fwd = torch.zeros(half, groups, frames, dtype=torch.float64)
    fwd[:, 0], fwd[:, 1] = cos, -sin  # P = Re X_f, Q = Im X_f
    fwd[0, 1] = torch.cos(math.pi * t)  # bin 0 packs DC (P) and Nyquist (Q), both real
    if gauss:
        fwd[1:, 2] = cos[1:] - sin[1:]  # P + Q
    to = torch.arange(t_out, dtype=torch.float64) * stride
    ang = 2 * math.pi * to[:, None] * f / length  # (T_out, F)
    re, im = 2 * torch.cos(ang) / length, -2 * torch.sin(ang) / length  # y = sum re·Yr + im·Yi
    re[:, 0], im[:, 0] = 1.0 / length, torch.cos(math.pi * to) / length
    j = torch.tensor(
        [(padding - k * dilation) % length for k in range(kernel)], dtype=torch.float64
    )
    ang = 2 * math.pi * f[:, None] * j / length  # (F, K): H_f = sum_k w_k (cos - i sin)
    nyquist = torch.cos(math.pi * j)
    if gauss:
        # Yr = A P - B Q, Yi = B P + A Q from T1 = A P, T2 = B Q, T3 = (A + B)(P + Q):
        # Yr = T1 - T2, Yi = T3 - T1 - T2. Bin 0: T1 = H_0 P, T2 = H_N Q, no T3.
        inv = torch.stack([re - im, -re - im, im], dim=2)
        inv[:, 0] = torch.stack([re[:, 0], im[:, 0], torch.zeros_like(to)], dim=1)
        taps = torch.stack([torch.cos(ang), -torch.sin(ang), torch.cos(ang) - torch.sin(ang)], 1)
        taps[0] = torch.stack([torch.ones_like(j), nyquist, torch.zeros_like(j)])
    else:
        inv = torch.stack([re, im], dim=2)
        # rows (f, r, s): entry (r, s) of [[Re H, -Im H], [Im H, Re H]]; bin 0 diag(H_0, H_N)
        taps = torch.stack([torch.cos(ang), torch.sin(ang), -torch.sin(ang), torch.cos(ang)], 1)
        taps[0] = torch.stack([torch.ones_like(j), 0 * j, 0 * j, nyquist])
    hit = (
        # stored transposed: MKL ran (30, 16) x (16, 102400) in 12 ms from a row-major
        # matrix, 3.8 ms from a column-major one (C 256, T 16)
        fwd.reshape(groups * half, frames).to(dtype).t().contiguous().t(),
        inv.reshape(t_out, groups * half).to(dtype),
        taps.reshape(-1, kernel).to(dtype),
    )
    _CACHE[key] = hit
    return hit


def dft_conv(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    *,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    gauss: bool = False,
) -> Tensor:
    """`F.conv2d(x, weight, bias, stride=(stride, 1), padding=(padding, 0), dilation=(dilation,
    1))` for a (C_out, C_in, K, 1) weight, through the real DFT over frames (module docstring);
    `gauss` mixes each bin with three real products instead of one of twice the width.
    x is (N, C_in, T, V); returns (N, C_out, T_out, V), contiguous."""
    n, c, frames, v = x.shape
    o, _, kernel, _ = weight.shape
    fwd, inv, taps = _plan(frames, kernel, dilation, padding, stride, gauss, x.dtype)
    half, t_out = fwd.shape[0] // (3 if gauss else 2), inv.shape[0]
    # (rows, O·C); the weight as a (K, O·C) copy, so that backward's product is
    # taps^T (K, rows) x (rows, O·C): 1 ms where (O·C, rows) x (rows, K) took 9 (C 256)
    mix = taps @ weight.view(o * c, kernel).t().contiguous()
    if gauss:  # (3F, O, C): A, B, A + B per bin
        mix, rows = mix.view(3 * half, o, c), c
    else:  # (F, 2, 2, O, C) -> (F, 2 O, 2 C): rows (r, o), columns (s, c)
        mix = mix.view(half, 2, 2, o, c).transpose(2, 3).reshape(half, 2 * o, 2 * c)
        rows = 2 * c
    xt = x.permute(2, 1, 0, 3).reshape(frames, c * n * v)  # (T, C·N·V), one copy
    xf = (fwd @ xt).view(mix.shape[0], rows, n * v)
    yf = torch.bmm(mix, xf).view(-1, o * n * v)
    if bias is None:
        yt = inv @ yf
    else:
        yt = torch.addmm(bias.repeat_interleave(n * v), inv, yf)
    return yt.view(t_out, o, n, v).permute(2, 1, 0, 3).contiguous()


def flop_ratio(
    c_in: int, c_out: int, frames: int, kernel: int, dilation: int, padding: int, stride: int
) -> float:
    """Direct convolution FLOPs over the DFT form's, forward and backward (per column)."""
    span = (kernel - 1) * dilation + 1
    length, t_out = dft_length(frames, span, padding, stride)
    direct = 3 * 2 * c_out * c_in * kernel * t_out
    mix = 3 * 4 * c_out * c_in * length
    dft = 2 * (2 * length * frames * c_in + 2 * t_out * length * c_out)
    return direct / (mix + dft)


MIN_RATIO = 1.55  # measured: 1.60 (C 64, stride 2) wins 1.3x, 1.06 (C 32, stride 2) ties
MIN_CHANNELS = 64  # measured: C 32 only ties at ratio 1.82 (the products are too narrow)
GAUSS_CHANNELS = 256  # measured: the Gauss form wins 14-19% at C 256, ties at 128, loses at 64
# The per-bin weight blocks (2 L x C_out x C_in values, built and, in training, differentiated
# on every call) cost the same whatever the batch, so small batches (N·V product columns) lose:
# training at N·V 50 lost at C 64 (12.8 vs 10.4 ms) and stride 2 (37 vs 20 ms at C 128), won
# at N·V 100 with stride 1; strided layers won only at N·V 400 (C 128; C 256 from 100). Forward
# only (no gradient), stride 1 won at every batch (N·V 50: 1.1-1.4x), stride 2 at none (N·V
# 50-200: 0.4-0.85x).
MIN_COLUMNS_TRAIN = 100
MIN_COLUMNS_STRIDED = 400
# The thresholds above were measured with 9 taps. With 5 taps (the multi-scale TCN's branch
# convs) the DFT form lost at 64 channels although the FLOP ratio passed: T 16 / 32, stride 1,
# dilation 1 and 2, batch 16 x 25 joints, fwd + bwd: 0.82-1.03x of oneDNN (ratios 1.67-1.90).
MIN_TAPS = 9


def _wins(conv: nn.Conv2d, x: Tensor) -> bool:
    """Whether the DFT form was measured faster for this conv and input (see the constants)."""
    k, one = conv.kernel_size
    c_in, c_out = conv.in_channels, conv.out_channels
    if (
        one != 1
        or k < MIN_TAPS
        or conv.groups != 1
        or conv.stride[1] != 1
        or conv.padding[1] != 0
        or conv.padding_mode != "zeros"
        or min(c_in, c_out) < MIN_CHANNELS
        or not eager_cpu(x)
    ):
        return False
    stride = conv.stride[0]
    ratio = flop_ratio(c_in, c_out, x.shape[2], k, conv.dilation[0], conv.padding[0], stride)
    columns = x.shape[0] * x.shape[3]
    grads = torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad)
    if stride > 1:
        return grads and columns >= MIN_COLUMNS_STRIDED and ratio >= MIN_RATIO
    return (not grads or columns >= MIN_COLUMNS_TRAIN) and ratio >= MIN_RATIO


def temporal_conv(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """`conv(x)` for a (K, 1) `nn.Conv2d` over frames (x (N, C, T, V)): through `dft_conv` on
    the CPU where it is measured faster, else the convolution itself."""
    if not _wins(conv, x):
        return conv(x)
    c_in, c_out = conv.in_channels, conv.out_channels
    return dft_conv(
        x,
        conv.weight,
        conv.bias,
        stride=conv.stride[0],
        padding=conv.padding[0],
        dilation=conv.dilation[0],
        gauss=min(c_in, c_out) >= GAUSS_CHANNELS,
    )


__all__ = ["dft_conv", "dft_length", "flop_ratio", "temporal_conv"]
