"""SkateFormer: a skeletal-temporal transformer with partition-restricted attention.

Paper: Do & Kim, "SkateFormer: Skeletal-Temporal Transformer for Human Action Recognition",
ECCV 2024 (arXiv 2403.09508).
Upstream: github.com/KAIST-VICLab/SkateFormer, model/SkateFormer.py (`SkateFormer_`).
Written from the paper and the upstream shapes. Attribute names match upstream checkpoint keys
(`stem.{0,2,4}`, `joint_person_embedding`, `stages.{s}.blocks.{b}.downsample|transformer...`,
`head`), so official weights load as they are.

The model sees a (time x point) grid: the 24 re-ordered points of each of the two persons,
person-major (48 points). A stem of 1x1 convolutions lifts the 3 coordinates to 96 channels and
Skate-Embedding adds a fixed sinusoid of each frame's original position (`index_t`) times a learned
vector per (person, point). Four stages of two blocks follow (a strided temporal convolution
halves the frames before stages 1-3). Each block maps C channels to 2C and splits them into
parallel branches: a learned point-mixing graph (G-Conv), a grouped temporal convolution (T-Conv)
and four self-attentions, each restricted to one partition of the grid (near / distant points x
local / strided frames). The branches are concatenated, projected, and followed by an MLP.

How skelab differs from upstream (same function, same checkpoints):
* The whole network runs channels-last `(N, T, V, C)`, contiguous from the stem on (the stem's
  1x1 convolutions run as linear maps over the channels); upstream permutes to `(N, C, T, V)`
  and back in every block. The temporal convolutions take a permuted view (channels-last memory).
* The four partitions are one `view` + `permute` copy each, with the q/k/v split folded into the
  same copy, and their reverses are permuted views. Upstream partitions and reverses with
  separate functions and copies per step.
* Attention is `F.scaled_dot_product_attention` with the relative-position bias as a float
  `attn_mask` and `scale = heads ** -0.5` (upstream's quirk: heads per branch, not head width)
  on accelerators. On the CPU, where the fused kernel measured slower at head widths 3 and 6,
  `window_attention` runs the same maths (q * scale, matmul, + bias, softmax, dropout, matmul)
  with q, k and v laid out (head width, tokens): every product, forward and backward, is then a
  batched GEMM with the narrow side as its rows, which the CPU BLAS runs 3-5x faster than the
  (tokens, head width) orientation. Its backward is written out, and both passes run over
  chunks of windows whose scores (`CHUNK_SCORES`) stay in cache; the probabilities saved for
  the backward are kept per chunk, so no single large buffer is allocated. Each chunk is the
  bias, onto which the product is accumulated with the scale as its alpha (upstream scales q
  first: the same value at the released scale 0.5, a power of two), and softmax overwrites
  it in place; the chunks are lent from the module between steps (`layers.spares`).
  The bias is gathered from its table, head-major in one gather, through an index precomputed
  at build time (and rebuilt from `relative_position_index` whenever a checkpoint is loaded);
  upstream expands the index every step.
* On the CPU, where a C compiler is found (`layers.native`; otherwise the form above runs),
  the attention without dropout is one compiled kernel (`kernels/window_attention.c`): each
  score row is made, exponentiated and multiplied by v while in L1, and the backward
  recomputes it from q, k, the bias and the row's saved maximum and normaliser, so no N x N
  tensor is written at all (forward + backward 1.5-2x the chunked form at head widths 3 and 6;
  the whole training step ~1.1x). The MLP's bias and exact GELU are one compiled pass
  (`kernels/gelu.c`, erf to 1.5e-7 absolute), and so is the GELU's backward.
* On the CPU the MLP (fc1, exact GELU, fc2) runs in row chunks of `CHUNK_HIDDEN` hidden
  activations with a written-out backward; what the backward needs is kept per chunk, so no
  full-size hidden tensor is allocated (a block's forward + backward measured 10-15% less CPU
  time), and the chunks are lent from the module between steps.
* On the CPU the mapping Linear computes the attentions' 3C/2 channels channel-major (W x^T),
  from which each attention's q/k/v are copied into its kernel's layout in short contiguous
  runs (from channels-last, every token is its own cache line: 2x slower copies, both ways).
* On the CPU the six branch outputs are written once each, from their own layouts, into their
  channel slices of the block's (N, T, V, C) tensor (upstream reverses each partition with a
  copy and concatenates with another), and both residual adds are folded into the products:
  x + proj(y) as (x + bias) + y W^T accumulated in place, and the MLP's output starting from
  its residual (same sum, other order: float32 differences ~1e-7).
* Kept quirk: for the near-point types 1 and 3, upstream tiles the (P, P) relative-time bias
  over the P*Q tokens of a window, so token i (frame-major, i = p*Q + q) gets the time slot
  i mod P rather than its frame p. The golden fixture (P = Q = 8) rejects the frame-wise reading
  and matches the tiled one to 1e-7; skelab keeps it for every size.
* G-Conv is a single einsum over all groups.
* Partition sizes, heads and windows are checked when the model is built, and the input shape
  when it runs; upstream fails inside a reshape. Partition sizes must divide the frame count of
  every stage (W, ceil(W/2), ceil(W/4), ceil(W/8) for window W).
* Not documented in the reference, so chosen here: the stem widths are 2x and 3x `in_channels`
  (6 and 9 for the 3 coordinates, as upstream), the downsampling convolution uses `kernel_size`
  (7 in every upstream config), and `rel=False` registers neither bias table nor index.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.errors import ModelConfigError
from skelab.models.layers import native
from skelab.models.layers.pointwise import eager_cpu
from skelab.models.layers.spares import LendingModule, give_back, lend
from skelab.models.registry import ModelCard, register_model

# Partition types in upstream order: (frames local?, points local?).
#   1: neighbouring points x local frames     2: distant points x local frames
#   3: neighbouring points x strided frames   4: distant points x strided frames
_PARTITION_TYPES: tuple[tuple[bool, bool], ...] = (
    (True, True),
    (True, False),
    (False, True),
    (False, False),
)


# Scores per attention chunk on the CPU (1M floats, 4 MB): see `window_attention`.
CHUNK_SCORES = 1 << 20
# Hidden activations per MLP row chunk on the CPU (512K floats, 2 MB): see `_ChunkedMlp`.
CHUNK_HIDDEN = 1 << 19


def stage_lengths(window: int, num_stages: int) -> list[int]:
    """Frames per stage: each stage after the first halves T, rounding up."""
    lengths = [window]
    for _ in range(num_stages - 1):
        lengths.append(math.ceil(lengths[-1] / 2))
    return lengths


def valid_temporal_sizes(window: int, num_stages: int = 4) -> list[int]:
    """Temporal partition sizes (N and M) that divide the frame count of every stage."""
    g = 0
    for length in stage_lengths(window, num_stages):
        g = math.gcd(g, length)
    return [d for d in range(1, g + 1) if g % d == 0]


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch of whole samples, rescaling the kept ones."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask.div_(keep)


def _ranges(count: int, size: int, budget: int) -> list[tuple[int, int]]:
    """Ranges over `count` items of `size` values each, about `budget` values per range (the
    MLP's row chunks, `CHUNK_HIDDEN`; the attention's window chunks, `CHUNK_SCORES`)."""
    step = max(1, budget // size)
    return [(i, min(count, i + step)) for i in range(0, count, step)]


def _ones(rows: int, like: Tensor) -> Tensor:
    """A (1, rows) row of ones: a bias gradient as one GEMV-like product over the rows."""
    return like.new_ones(1, rows)


# kernels/gelu.c: bias_gelu(h, bias, a, rows, cols): h += bias in place and a = GELU(h);
# gelu_backward(g, h, count): g *= GELU'(h) in place
_GELU = {
    "skelab_bias_gelu": [native.POINTER, native.POINTER, native.POINTER, native.LONG, native.LONG],
    "skelab_gelu_backward": [native.POINTER, native.POINTER, native.LONG],
}


def _gelu_kernel(x: Tensor, hidden: int) -> Any:
    """The compiled exact GELU (`kernels/gelu.c`) for a float32 MLP whose hidden width is a
    multiple of 8 (the caller has checked the CPU and eager mode), else None."""
    if x.dtype != torch.float32 or hidden % 8:
        return None
    return native.library("gelu", _GELU)


def _bias_gelu(lib: Any, h: Tensor, bias: Tensor, a: Tensor) -> None:
    """h (rows, hidden) += bias in place and a = GELU(h), in one pass (row ranges in
    parallel on several threads): the product before it needs no bias copy."""
    fn, cols = lib.skelab_bias_gelu, h.shape[1]
    b = native.pointer(bias)
    native.run(
        [
            (fn, (native.pointer(h[i:j]), b, native.pointer(a[i:j]), j - i, cols))
            for i, j in native.split(h.shape[0], 64)
        ]
    )


def _gelu_backward_(lib: Any, g: Tensor, h: Tensor) -> None:
    """g (rows, hidden) *= GELU'(h) in place."""
    fn, cols = lib.skelab_gelu_backward, h.shape[1]
    native.run(
        [
            (fn, (native.pointer(g[i:j]), native.pointer(h[i:j]), (j - i) * cols))
            for i, j in native.split(h.shape[0], 64)
        ]
    )


def _mlp_forward(
    x: Tensor,
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
    residual: Tensor | None,
    spares: dict[str, Tensor] | None,
    keep: bool,
) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """Forward of `_ChunkedMlp`; with `keep`, each chunk's pre-activations and GELU outputs
    are returned for the backward (borrowed from `spares`), else one chunk buffer is reused."""
    chunks = _ranges(x.shape[0], w1.shape[0], CHUNK_HIDDEN)
    if residual is None:
        out = b2.expand(x.shape[0], w2.shape[0]).contiguous()
    else:
        out = torch.add(residual, b2)
    pre, act = [], []
    rows = chunks[0][1] - chunks[0][0]
    buf = None if keep else x.new_empty(2, rows, w1.shape[0])
    gelu = _gelu_kernel(x, w1.shape[0])
    for c, (i, j) in enumerate(chunks):
        shape = (j - i, w1.shape[0])
        h_out = lend(spares, f"pre{c}", shape, x) if keep else buf[0, : j - i]
        a_out = lend(spares, f"act{c}", shape, x) if keep else buf[1, : j - i]
        if gelu is not None:  # the bias added in the GELU's pass
            h, a = torch.mm(x[i:j], w1.t(), out=h_out), a_out
            _bias_gelu(gelu, h, b1, a)
        else:
            h = torch.addmm(b1, x[i:j], w1.t(), out=h_out)
            a = torch._C._nn.gelu(h, out=a_out)
        if keep:
            pre.append(h)
            act.append(a)
        out[i:j].addmm_(a, w2.t())
    return out, pre, act


class _ChunkedMlp(torch.autograd.Function):
    """residual + fc2(GELU(fc1(x))) on (rows, C), row chunk by row chunk, with a hand-written
    backward.

    Each chunk's hidden activations (rows x 4C) are made and used while in cache, and kept per
    chunk for the backward (fc1's pre-activations for GELU's derivative, the GELU outputs for
    fc2's weight gradient; recomputing the GELU instead measured 2-4% slower per step). They
    are the module's spares (`layers.spares`): lent in forward, given back once the backward
    has read them, so a step does not allocate and page-fault in 400 MB of fresh chunks. The
    output starts as residual + fc2's bias (one pass; upstream adds the residual after the
    MLP) and each chunk's fc2 product is accumulated into it. The weight gradients accumulate
    over the chunks.
    """

    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2, residual, spares):  # type: ignore[override]
        out, pre, act = _mlp_forward(x, w1, b1, w2, b2, residual, spares, keep=True)
        ctx.save_for_backward(x, w1, w2, *pre, *act)
        ctx.spares, ctx.has_residual = spares, residual is not None
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, w1, w2, *saved = ctx.saved_tensors
        chunks = _ranges(x.shape[0], w1.shape[0], CHUNK_HIDDEN)
        pre, act = saved[: len(chunks)], saved[len(chunks) :]
        grad = grad.contiguous()
        dx = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        dw1, db1, dw2 = torch.zeros_like(w1), w1.new_zeros(1, w1.shape[0]), torch.zeros_like(w2)
        rows = chunks[0][1] - chunks[0][0]
        scratch = lend(ctx.spares, "dh", (rows, w1.shape[0]), x)
        ones = _ones(rows, x)
        gelu = _gelu_kernel(x, w1.shape[0])
        for c, (h, a, (i, j)) in enumerate(zip(pre, act, chunks, strict=True)):
            g = grad[i:j]
            dw2.addmm_(g.t(), a)  # dW2 += dOut^T GELU(h)
            dh = torch.mm(g, w2, out=scratch[: j - i])  # dOut W2, then GELU'(h) * it in place
            if gelu is not None:
                _gelu_backward_(gelu, dh, h)
            else:
                torch.ops.aten.gelu_backward.grad_input(dh, h, grad_input=dh)
            dw1.addmm_(dh.t(), x[i:j])
            db1.addmm_(ones[:, : j - i], dh)
            if dx is not None:
                torch.mm(dh, w1, out=dx[i:j])
            give_back(ctx.spares, f"pre{c}", h)
            give_back(ctx.spares, f"act{c}", a)
        give_back(ctx.spares, "dh", scratch)
        dres = grad if ctx.has_residual and ctx.needs_input_grad[5] else None
        return dx, dw1, db1.view(-1), dw2, grad.sum(0), dres, None


class Mlp(LendingModule):
    """Position-wise feed-forward network: Linear, exact GELU, Linear (timm's `Mlp` keys).

    On the CPU without dropout it runs as `_ChunkedMlp` (the same maths in row chunks that stay
    in cache; the hidden activations the backward needs are kept per chunk, lent from this
    module between training steps). `residual`, when given, is added to the output (the
    block's skip connection, folded into the output's first pass).
    """

    def __init__(self, dim: int, hidden: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: Tensor, residual: Tensor | None = None) -> Tensor:
        dropout = self.training and (self.drop1.p > 0.0 or self.drop2.p > 0.0)
        if not eager_cpu(x) or dropout:
            out = self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))
            return out if residual is None else residual + out
        fc1, fc2 = self.fc1, self.fc2
        rows = x.reshape(-1, x.shape[-1])
        res = None if residual is None else residual.reshape(-1, fc2.out_features)
        params = (fc1.weight, fc1.bias, fc2.weight, fc2.bias)
        if torch.is_grad_enabled() and any(
            t.requires_grad for t in (rows, *params, *([] if res is None else [res]))
        ):
            out = _ChunkedMlp.apply(rows, *params, res, self.spares())
        else:
            out = _mlp_forward(rows, *params, res, None, keep=False)[0]
        return out.view(*x.shape[:-1], fc2.out_features)


def _attention_forward(
    qkv: Tensor,
    bias: Tensor | None,
    scale: float,
    drop: float,
    keep: bool,
    spares: dict[str, Tensor] | None = None,
) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """Forward of `window_attention`, chunk by chunk; with `keep`, each chunk's probabilities
    (borrowed from `spares`) and dropout mask (as bool) are returned for the backward."""
    _, b, h, d, n = qkv.shape
    out = qkv.new_empty(b, h, d, n)
    probs, masks = [], []
    chunks = _ranges(b, h * n * n, CHUNK_SCORES)
    buf = None if keep else qkv.new_empty((chunks[0][1] - chunks[0][0]) * h, n, n)
    for c, (i, j) in enumerate(chunks):
        s = lend(spares, f"p{c}", ((j - i) * h, n, n), qkv) if keep else buf[: (j - i) * h]
        # S = (q * scale) k^T + bias: the bias fills the chunk and the product (scale as its
        # alpha) is added onto it; softmax then overwrites the scores with the probabilities
        q, k = qkv[0, i:j].view(-1, d, n), qkv[1, i:j].view(-1, d, n)
        if bias is not None:
            s.view(j - i, h, n, n).copy_(bias.expand(j - i, h, n, n))
            s.baddbmm_(q.transpose(1, 2), k, alpha=scale)
        else:
            torch.baddbmm(s, q.transpose(1, 2), k, beta=0.0, alpha=scale, out=s)
        p = torch.ops.aten._softmax.out(s, -1, False, out=s)
        if keep:
            probs.append(p)
        if drop > 0.0:
            mask = torch.empty_like(p).bernoulli_(1.0 - drop)
            if keep:
                masks.append(mask.bool())
            p = p * mask.div_(1.0 - drop)  # F.dropout's scaled mask
        # o^T = v^T p^T, written (d, P*Q): the product with the narrow side first is the fast one
        torch.bmm(qkv[2, i:j].view(-1, d, n), p.transpose(1, 2), out=out[i:j].view(-1, d, n))
    return out, probs, masks


class _WindowAttention(torch.autograd.Function):
    """softmax((q * scale) k^T + bias) (dropout) v with a hand-written, chunked backward. The
    probabilities are the module's spares (`layers.spares`) between forward and backward."""

    @staticmethod
    def forward(ctx, qkv, bias, scale, drop, spares):  # type: ignore[override]
        out, probs, masks = _attention_forward(qkv, bias, scale, drop, True, spares)
        ctx.scale, ctx.drop, ctx.chunks, ctx.spares = scale, drop, len(probs), spares
        ctx.has_bias = bias is not None
        ctx.save_for_backward(qkv, *probs, *masks)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        qkv, *saved = ctx.saved_tensors
        probs, masks = saved[: ctx.chunks], saved[ctx.chunks :]
        _, b, h, d, n = qkv.shape
        grad = grad.contiguous()
        dqkv = torch.empty_like(qkv)
        dbias = qkv.new_zeros(1, h * n * n) if ctx.has_bias and ctx.needs_input_grad[1] else None
        chunks = _ranges(b, h * n * n, CHUNK_SCORES)
        rows = chunks[0][1] - chunks[0][0]
        scratch = lend(ctx.spares, "ds", (rows * h, n, n), qkv)
        ones = _ones(rows, qkv)
        for c, (i, j) in enumerate(chunks):
            g = grad[i:j].view(-1, d, n)  # dO^T
            p = probs[c]
            mask = masks[c].to(p.dtype).div_(1.0 - ctx.drop) if masks else None
            q, k, v = (qkv[t, i:j].view(-1, d, n) for t in range(3))
            dq, dk, dv = (dqkv[t, i:j].view(-1, d, n) for t in range(3))
            torch.bmm(g, p if mask is None else p * mask, out=dv)  # dV^T = dO^T P
            ds = torch.bmm(g.transpose(1, 2), v, out=scratch[: (j - i) * h])  # dP = dO V^T
            if mask is not None:
                ds.mul_(mask)
            # dS = P * (dP - rowsum(dP * P)), in place
            torch.ops.aten._softmax_backward_data.out(ds, p, -1, p.dtype, grad_input=ds)
            if dbias is not None:  # summed over the chunk's windows as one (1 x windows) product
                dbias.addmm_(ones[:, : j - i], ds.view(j - i, h * n * n))
            # S = scale * q k^T: dq^T = scale * (k^T dS^T), dk^T = scale * (q^T dS)
            torch.bmm(k, ds.transpose(1, 2), out=dq).mul_(ctx.scale)
            torch.bmm(q, ds, out=dk).mul_(ctx.scale)
            give_back(ctx.spares, f"p{c}", p)
        give_back(ctx.spares, "ds", scratch)
        dbias = None if dbias is None else dbias.view(h, n, n)
        return dqkv, dbias, None, None, None


_P, _L, _F = native.POINTER, native.LONG, native.FLOAT
# kernels/window_attention.c: forward(qkv, bias, out, stats, B, H, d, N, scale, b0, b1) and
# backward(qkv, bias, out, stats, dout, dqkv, dbias, B, H, d, N, scale, b0, b1), windows b0..b1
_ATTENTION = {
    "skelab_window_attention_forward": [_P, _P, _P, _P, _L, _L, _L, _L, _F, _L, _L],
    "skelab_window_attention_backward": [_P, _P, _P, _P, _P, _P, _P, _L, _L, _L, _L, _F, _L, _L],
}
# the kernel's limits: tokens a multiple of 8 up to 2048, head width up to 32
_COMPILED_TOKENS, _COMPILED_WIDTH = 2048, 32


def _compiled_forward(qkv: Tensor, bias: Tensor | None, scale: float) -> tuple[Tensor, Tensor]:
    """The compiled kernel's output (B, H, d, N) and each score row's maximum and normaliser
    (B, H, 2, N); where a score row held a NaN or +inf (its statistics are NaN), the output
    comes from the torch form, which propagates it as upstream does."""
    fn = native.library("window_attention", _ATTENTION).skelab_window_attention_forward
    _, b, h, d, n = qkv.shape
    out, stats = qkv.new_empty(b, h, d, n), qkv.new_empty(b, h, 2, n)
    args = [native.pointer(t) for t in (qkv, bias, out, stats)] + [b, h, d, n, scale]
    native.run([(fn, (*args, i, j)) for i, j in native.split(b)])
    if torch.isnan(stats).any():
        out = _attention_forward(qkv, bias, scale, 0.0, keep=False)[0]
    return out, stats


# kernels/grouped_frame_conv.c: forward(x, w, b, y, N, C, T, V, K, P, G, n0, n1) and
# backward(x, w, gy, dx, dw, db, N, C, T, V, K, P, G, n0, n1) over samples n0..n1
_FRAME_CONV = {
    "skelab_grouped_frame_conv_forward": [_P, _P, _P, _P] + [_L] * 9,
    "skelab_grouped_frame_conv_backward": [_P, _P, _P, _P, _P, _P] + [_L] * 9,
}


def _frame_conv_kernel(conv: nn.Conv2d, x: Tensor) -> Any:
    """The compiled grouped convolution over frames for T-Conv (`kernels/grouped_frame_conv.c`)
    where it applies: float32 on the CPU, eagerly, a (K, 1) kernel with zero padding (K-1)/2
    over frames only, stride and dilation 1; else None."""
    k = conv.kernel_size[0]
    if not (
        eager_cpu(x)
        and x.dtype == torch.float32
        and conv.kernel_size[1] == 1
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.padding == ((k - 1) // 2, 0)
        and k % 2 == 1
        and conv.padding_mode == "zeros"
    ):
        return None
    return native.library("grouped_frame_conv", _FRAME_CONV)


def _pad_frames(x: Tensor, pad: int) -> Tensor:
    """x (N, T, V, C), any strides, as a contiguous (N, C, T + 2 pad, V) copy with `pad` zero
    frames each side."""
    n, t, v, c = x.shape
    out = x.new_empty(n, c, t + 2 * pad, v)
    out[:, :, :pad].zero_()
    out[:, :, t + pad :].zero_()
    out[:, :, pad : pad + t].copy_(x.permute(0, 3, 1, 2))
    return out


class _GroupedFrameConv(torch.autograd.Function):
    """T-Conv's grouped (K, 1) convolution on a channels-last (N, T, V, C) input, returning a
    (N, C, T, V) tensor, through the compiled kernel: each output plane is built in registers
    from shifted rows of a zero-padded (N, C, T + K - 1, V) copy of the input (a few million
    multiply-adds, where oneDNN's grouped kernels took 5-20 ms a call)."""

    @staticmethod
    def forward(ctx, x, weight, bias, groups, lib):  # type: ignore[override]
        n, t, v, c = x.shape
        k = weight.shape[2]
        xp = _pad_frames(x, (k - 1) // 2)
        y = x.new_empty(n, c, t, v)
        args = [native.pointer(xp), native.pointer(weight), native.pointer(bias)]
        args += [native.pointer(y), n, c, t, v, k, (k - 1) // 2, groups]
        fn = lib.skelab_grouped_frame_conv_forward
        native.run([(fn, (*args, i, j)) for i, j in native.split(n, 1)])
        ctx.save_for_backward(xp, weight)
        ctx.conf = (groups, bias is not None, lib, (n, c, t, v, k))
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy: Tensor) -> tuple[Tensor | None, ...]:
        xp, weight = ctx.saved_tensors
        groups, has_bias, lib, (n, c, t, v, k) = ctx.conf
        gyp = _pad_frames(gy.permute(0, 2, 3, 1), (k - 1) // 2)
        ranges = native.split(n, 1)
        dx = xp.new_empty(n, c, t, v) if ctx.needs_input_grad[0] else None
        dws = [torch.zeros_like(weight) if ctx.needs_input_grad[1] else None for _ in ranges]
        wants_bias = has_bias and ctx.needs_input_grad[2]
        dbs = [xp.new_zeros(c) if wants_bias else None for _ in ranges]
        args = [native.pointer(xp), native.pointer(weight), native.pointer(gyp), native.pointer(dx)]
        sizes = [n, c, t, v, k, (k - 1) // 2, groups]
        fn = lib.skelab_grouped_frame_conv_backward
        native.run(
            [
                (fn, (*args, native.pointer(dw), native.pointer(db), *sizes, i, j))
                for (i, j), dw, db in zip(ranges, dws, dbs, strict=True)
            ]
        )
        dw, db = dws[0], dbs[0]
        for more_w, more_b in zip(dws[1:], dbs[1:], strict=True):
            if dw is not None:
                dw.add_(more_w)
            if db is not None:
                db.add_(more_b)
        dx = None if dx is None else dx.permute(0, 2, 3, 1)  # as the input: (N, T, V, C)
        return dx, dw, db, None, None


class _CompiledAttention(torch.autograd.Function):
    """`window_attention` through the compiled kernel (`layers.native`): each score row is
    made, exponentiated and used in registers and L1, and the backward recomputes it from q,
    k, the bias and the row's saved maximum and normaliser, so no N x N tensor is allocated."""

    @staticmethod
    def forward(ctx, qkv, bias, scale):  # type: ignore[override]
        out, stats = _compiled_forward(qkv, bias, scale)
        ctx.scale = scale
        ctx.save_for_backward(qkv, bias, out, stats)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        qkv, bias, out, stats = ctx.saved_tensors
        fn = native.library("window_attention", _ATTENTION).skelab_window_attention_backward
        _, b, h, d, n = qkv.shape
        dqkv, ranges = torch.empty_like(qkv), native.split(b)
        # the bias gradient, summed over windows: one partial sum per range, added up after
        wants_bias = bias is not None and ctx.needs_input_grad[1]
        partial = [qkv.new_zeros(h, n, n) if wants_bias else None for _ in ranges]
        args = [native.pointer(t) for t in (qkv, bias, out, stats, grad.contiguous(), dqkv)]
        native.run(
            [
                (fn, (*args, native.pointer(db), b, h, d, n, ctx.scale, i, j))
                for (i, j), db in zip(ranges, partial, strict=True)
            ]
        )
        dbias = partial[0] if wants_bias else None
        for more in partial[1:]:
            dbias.add_(more)
        return dqkv, dbias, None


def _compiled_fits(qkv: Tensor, bias: Tensor | None, drop: float) -> bool:
    """Whether `window_attention` runs the compiled kernel: no attention dropout, float32 on
    the CPU, eagerly, at sizes the kernel takes, and the kernel built (`layers.native`)."""
    _, _, h, d, n = qkv.shape
    return (
        drop == 0.0
        and eager_cpu(qkv)
        and qkv.dtype == torch.float32  # the kernel's only type (tests patch eager_cpu)
        and n % 8 == 0
        and n <= _COMPILED_TOKENS
        and d <= _COMPILED_WIDTH
        and (bias is None or (bias.dtype == qkv.dtype and bias.shape == (h, n, n)))
        and native.library("window_attention", _ATTENTION) is not None
    )


def window_attention(
    qkv: Tensor,
    bias: Tensor | None,
    scale: float,
    drop: float = 0.0,
    spares: dict[str, Tensor] | None = None,
) -> Tensor:
    """softmax((q * scale) k^T + bias) v in every window and head, with attention dropout.

    `qkv` is (3, windows, heads, d, P*Q): q, k and v with the head width before the tokens,
    `bias` (heads, P*Q, P*Q) or None; returns (windows, heads, d, P*Q). At head widths of 3 and
    6 every product is run with the narrow (d) side as the rows, which the CPU's batched GEMM
    does several times faster than with d as the columns; the windows run in chunks of about
    `CHUNK_SCORES` scores, so each chunk's scores stay in cache between the matmul, bias,
    softmax and matmul (forward) and their five backward sweeps. The backward is written out
    (the gradient of each product in the same fast orientation); it saves q, k, v, the
    probabilities and the dropout mask, as autograd would.
    """
    qkv = qkv.contiguous()  # the partition reshape is a view where a window axis has size 1
    grad = torch.is_grad_enabled() and (
        qkv.requires_grad or (bias is not None and bias.requires_grad)
    )
    if _compiled_fits(qkv, bias, drop):
        bias = None if bias is None else bias.contiguous()
        if grad:
            return _CompiledAttention.apply(qkv, bias, scale)
        return _compiled_forward(qkv, bias, scale)[0]
    if grad:
        return _WindowAttention.apply(qkv, bias, scale, drop, spares)
    return _attention_forward(qkv, bias, scale, drop, keep=False)[0]


class SkateMSA(LendingModule):
    """Multi-head self-attention inside the windows of one Skate partition type.

    The input chunk already holds q, k and v (q/k/v outermost, then heads, then head width);
    there is no qkv projection. A window of type (P, Q) holds P frames and Q points, tokens
    ordered frame-major; local frames are P consecutive ones, strided frames are P frames T/P
    apart; near points are Q consecutive ones, distant points are Q points V/Q apart.

    `fused` picks the attention kernel: True is `F.scaled_dot_product_attention` (bias as a float
    mask), False `window_attention` (explicit softmax(q * scale k^T + bias) v); None (default)
    uses the fused kernel off the CPU only, because on the CPU, at these head widths (3 and 6),
    the explicit form measured faster (benchmarks/bench_skateformer.py).
    """

    fused: bool | None = None

    def __init__(
        self,
        dim: int,
        heads: int,
        size: tuple[int, int],
        local_frames: bool,
        local_points: bool,
        attn_drop: float = 0.0,
        rel: bool = True,
    ) -> None:
        super().__init__()
        self.dim, self.heads = dim, heads  # dim = output channels of this branch (C/8)
        self.size = (int(size[0]), int(size[1]))
        self.local_frames, self.local_points = local_frames, local_points
        self.attn_drop = attn_drop
        self.scale = heads**-0.5  # upstream scales by heads per branch, not by head width
        self.rel = rel
        p, q = self.size
        if rel:
            # Near-point windows share one bias over point slots; distant-point windows add an
            # absolute (query slot, key slot) pair.
            table = (2 * p - 1, heads) if local_points else (2 * p - 1, q, q, heads)
            self.relative_position_bias_table = nn.Parameter(torch.empty(table))
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
            pos = torch.arange(p)
            self.register_buffer("relative_position_index", pos[:, None] - pos[None, :] + p - 1)
            self.register_buffer("_bias_index", self._flat_bias_index(), persistent=False)

    def _flat_bias_index(self) -> Tensor:
        """(h, P*Q, P*Q) index into the flattened (rows * heads) table, from
        `relative_position_index`, so that one gather yields the bias head-major and contiguous."""
        p, q = self.size
        rel = self.relative_position_index.to(torch.long)  # (P, P)
        if self.local_points:
            # Upstream tiles the (P, P) bias over the (P*Q, P*Q) token grid, so token i takes
            # the time slot i mod P (not its frame i // Q); the golden fixture confirms it.
            tok = torch.arange(p * q) % p
            rows = rel[tok[:, None], tok[None, :]]
        else:
            slot = torch.arange(q)
            rows = (
                rel[:, None, :, None] * q * q
                + slot[None, :, None, None] * q
                + slot[None, None, None, :]
            ).reshape(p * q, p * q)  # (P, Q, P, Q): relative frame, query slot, key slot
        heads = torch.arange(self.heads)
        return (rows[None] * self.heads + heads[:, None, None]).contiguous()

    def _load_from_state_dict(self, state_dict, prefix, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        if self.rel:  # keep the derived gather index in step with a loaded index buffer
            self._bias_index = self._flat_bias_index().to(self._bias_index.device)

    def bias(self) -> Tensor:
        """Relative-position bias (heads, P*Q, P*Q), contiguous."""
        return self.relative_position_bias_table.reshape(-1)[self._bias_index]

    def _grid_dims(self, t: int, v: int) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
        """Split sizes of T and V, and which of the 4 split axes are window / token axes."""
        p, q = self.size
        # Local: (windows, tokens) = (T/P, P); strided: (tokens, windows) = (P, T/P).
        tsplit = (t // p, p) if self.local_frames else (p, t // p)
        vsplit = (v // q, q) if self.local_points else (q, v // q)
        tw, tt = (1, 2) if self.local_frames else (2, 1)
        vw, vt = (3, 4) if self.local_points else (4, 3)
        return (tsplit + vsplit), (tw, vw, tt, vt)

    def attend(self, x: Tensor) -> tuple[Tensor, tuple[int, ...], tuple[int, ...]]:
        """The attention output in its own layout, with where it goes in (N, T, V, dim):
        `o`, `split` and `order` such that `out.view(split).permute(order)` of the (N, T, V,
        dim) output has `o`'s shape (`forward` copies it there; the block writes it straight
        into its channel slice of the branches' output)."""
        n, t, v, _ = x.shape  # (N, T, V, 3 * dim)
        p, q = self.size
        h, d = self.heads, self.dim // self.heads
        split, (tw, vw, tt, vt) = self._grid_dims(t, v)
        bias = self.bias() if self.rel else None
        drop = self.attn_drop if self.training else 0.0
        # the CPU kernel is float32 (written-out backward); under autocast the fused one runs
        fused = not eager_cpu(x) if self.fused is None else self.fused
        x = x.reshape(n, *split, 3, h, d)  # (N, T1, T2, V1, V2, 3, h, d)
        wt, wv = split[tw - 1], split[vw - 1]  # windows along T and V
        if fused:
            # (3, N * windows, h, P*Q, d): one copy; unbind, not x[0], x[1], x[2]: its backward
            # stacks the three gradients in one copy, where three selects would each zero-fill
            # and copy into a full-size gradient.
            q_, k_, v_ = x.permute(5, 0, tw, vw, 6, tt, vt, 7).reshape(3, -1, h, p * q, d).unbind(0)
            o = F.scaled_dot_product_attention(
                q_, k_, v_, attn_mask=bias, dropout_p=drop, scale=self.scale
            ).reshape(n, wt, wv, h, p, q, d)
            order = (0, tw, vw, 5, tt, vt, 6)  # where o's axes go in (N, T1, T2, V1, V2, h, d)
        else:
            # (3, N * windows, h, d, P*Q): head width before tokens, one copy
            qkv = x.permute(5, 0, tw, vw, 6, 7, tt, vt).reshape(3, -1, h, d, p * q)
            return self.attend_qkv(qkv, n, t, v)
        return o, (n, *split, h, d), order

    def qkv_layout(
        self, n: int, t: int, v: int
    ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Where the explicit kernel's q/k/v sit in a channel-major (3 * dim, N*T*V) input:
        `view`, `order` and `shape` such that `x.view(view).permute(order).reshape(shape)` is
        the (3, N * windows, h, d, P*Q) tensor `attend_qkv` takes."""
        p, q = self.size
        h, d = self.heads, self.dim // self.heads
        split, (tw, vw, tt, vt) = self._grid_dims(t, v)
        order = (0, 3, 3 + tw, 3 + vw, 1, 2, 3 + tt, 3 + vt)
        windows = n * split[tw - 1] * split[vw - 1]
        return (3, h, d, n, *split), order, (3, windows, h, d, p * q)

    def attend_qkv(
        self, qkv: Tensor, n: int, t: int, v: int
    ) -> tuple[Tensor, tuple[int, ...], tuple[int, ...]]:
        """`attend` with the explicit kernel on q/k/v already laid out (3, N * windows, h, d,
        P*Q)."""
        p, q = self.size
        h, d = self.heads, self.dim // self.heads
        split, (tw, vw, tt, vt) = self._grid_dims(t, v)
        bias = self.bias() if self.rel else None
        drop = self.attn_drop if self.training else 0.0
        o = window_attention(qkv, bias, self.scale, drop, self.spares())
        o = o.reshape(n, split[tw - 1], split[vw - 1], h, d, p, q)
        return o, (n, *split, h, d), (0, tw, vw, 5, 6, tt, vt)

    def forward(self, x: Tensor) -> Tensor:
        n, t, v, _ = x.shape
        o, split, order = self.attend(x)
        # back to (N, T1, T2, V1, V2, h, d), then (N, T, V, dim)
        inverse = [0] * 7
        for src, dst in enumerate(order):
            inverse[dst] = src
        return o.permute(inverse).reshape(n, t, v, self.dim)


def _slot(y: Tensor, offset: int, width: int, split: tuple[int, ...], order: tuple[int, ...]):
    """Channels offset..offset+width of (N, T, V, C) `y`, viewed as `split`, axes in `order`."""
    return y[..., offset : offset + width].view(split).permute(order)


class _Mapping(torch.autograd.Function):
    """The block's mapping Linear (C -> 2C) on the CPU, with the attentions' q/k/v taken from
    a channel-major product.

    The first `split` output channels (G-Conv's and T-Conv's inputs) are x W_a^T + b_a, rows x
    channels as usual; the rest are W_b x^T + b_b, channels x rows, from which each attention's
    q/k/v are copied into their kernel's (3, windows, h, d, P*Q) layout (`layouts`: view,
    order, shape). From channels x rows the copies read each window's tokens in short
    contiguous runs, where from rows x channels every token is a separate cache line (measured
    2.3-3.0 vs 1.1-1.3 ms for one stage-0 copy); the backward's copies back are the mirror.
    Same sums, the same function; the weight and bias keep Linear's (2C, C) and (2C,) shapes.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, split, layouts):  # type: ignore[override]
        ya = torch.addmm(bias[:split], x, weight[:split].t())
        yb = torch.addmm(bias[split:, None], weight[split:], x.t())  # (channels, rows)
        parts, offset = [], 0
        for view, order, shape in layouts:
            rows = math.prod(view[:3])
            parts.append(yb[offset : offset + rows].view(view).permute(order).reshape(shape))
            offset += rows
        ctx.save_for_backward(x, weight)
        ctx.split, ctx.layouts = split, layouts
        return (ya, *parts)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dya: Tensor, *dqkv: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        split = ctx.split
        dyb = x.new_empty(weight.shape[0] - split, x.shape[0])
        offset = 0
        for (view, order, _), g in zip(ctx.layouts, dqkv, strict=True):
            rows = math.prod(view[:3])
            target = dyb[offset : offset + rows].view(view).permute(order)
            target.copy_(g.reshape(target.shape))
            offset += rows
        dya = dya.contiguous()
        dw = torch.empty_like(weight)
        torch.mm(dya.t(), x, out=dw[:split])
        torch.mm(dyb, x, out=dw[split:])
        dx = torch.mm(dya, weight[:split]).addmm_(dyb.t(), weight[split:])
        db = torch.cat([dya.sum(0), dyb.sum(1)])
        return dx, dw, db, None, None


class _Assemble(torch.autograd.Function):
    """Concatenate the branch outputs along the channels, each copied once from its own layout
    into its slice of one (N, T, V, C) tensor (`torch.cat` of the (N, T, V, c) parts would
    first copy each into that shape, then all again); the gradients are views of the slices."""

    @staticmethod
    def forward(ctx, shape, slots, *parts):  # type: ignore[override]
        out = parts[0].new_empty(shape)
        for slot, part in zip(slots, parts, strict=True):
            _slot(out, *slot).copy_(part)
        ctx.slots = slots
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        return (None, None, *(_slot(grad, *slot) for slot in ctx.slots))


class SkateFormerBlock(nn.Module):
    """One SkateFormer transformer block on a channels-last (N, T, V, C) grid."""

    def __init__(
        self,
        dim: int,
        num_points: int,
        num_heads: int,
        sizes: tuple[tuple[int, int], ...],
        kernel_size: int = 7,
        mlp_ratio: float = 4.0,
        attn_drop: float = 0.0,
        drop: float = 0.0,
        drop_path: float = 0.0,
        rel: bool = True,
    ) -> None:
        super().__init__()
        self.dim = dim
        groups = num_heads // 4  # G-Conv groups and T-Conv groups
        self.norm_1 = nn.LayerNorm(dim)
        self.mapping = nn.Linear(dim, 2 * dim)
        self.gconv = nn.Parameter(torch.empty(groups, num_points, num_points))
        nn.init.trunc_normal_(self.gconv, std=0.02)
        self.tconv = nn.Conv2d(
            dim // 4, dim // 4, (kernel_size, 1), padding=((kernel_size - 1) // 2, 0), groups=groups
        )
        self.attention = nn.ModuleList(
            SkateMSA(dim // 8, num_heads // 8, size, lf, lp, attn_drop=attn_drop, rel=rel)
            for size, (lf, lp) in zip(sizes, _PARTITION_TYPES, strict=True)
        )
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(drop)
        self.drop_path = DropPath(drop_path)
        self.norm_2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def _gconv(self, x: Tensor) -> Tensor:
        """Mix points within each channel group by its own V x V matrix: (N, T, V, g, C/4g)."""
        n, t, v, c = x.shape  # (N, T, V, C/4)
        g = self.gconv.shape[0]
        return torch.einsum("ntugc,gvu->ntvgc", x.reshape(n, t, v, g, c // g), self.gconv)

    def _tconv(self, x: Tensor) -> Tensor:
        """Grouped temporal convolution on a channels-last view: (N, T, V, C/4), a permuted
        view. On the CPU through the compiled kernel where it applies (`_GroupedFrameConv`),
        else the layer itself."""
        conv = self.tconv
        lib = _frame_conv_kernel(conv, x)
        if lib is not None:
            y = _GroupedFrameConv.apply(x, conv.weight, conv.bias, conv.groups, lib)
            return y.permute(0, 2, 3, 1)
        return conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    def _mix(self, x: Tensor) -> Tensor:
        """The six branches on the mapped grid, concatenated: (N, T, V, C) from the
        normalised (N, T, V, C) input."""
        c = self.dim
        n, t, v, _ = x.shape
        if not eager_cpu(x) or any(msa.fused for msa in self.attention):
            y = self.mapping(x)  # (N, T, V, 2C)
            g, tc, *chunks = y.split([c // 4, c // 4] + [3 * c // 8] * 4, dim=-1)
            parts = [self._gconv(g).reshape(n, t, v, c // 4), self._tconv(tc)]
            parts += [msa(chunk) for msa, chunk in zip(self.attention, chunks, strict=True)]
            return torch.cat(parts, dim=-1)  # [G-Conv | T-Conv | type 1 | 2 | 3 | 4]
        # the same maths: q/k/v straight into their kernel's layout (`_Mapping`), each
        # branch's output written once into its channel slice (`_Assemble`)
        layouts = tuple(msa.qkv_layout(n, t, v) for msa in self.attention)
        weight, bias = self.mapping.weight, self.mapping.bias
        ya, *qkvs = _Mapping.apply(x.reshape(-1, c), weight, bias, c // 2, layouts)
        g, tc = ya.view(n, t, v, c // 2).split([c // 4, c // 4], dim=-1)
        g = self._gconv(g)
        parts = [g, self._tconv(tc)]
        plain = (n, t, v, c // 4), (0, 1, 2, 3)
        slots = [(0, c // 4, g.shape, (0, 1, 2, 3, 4)), (c // 4, c // 4, *plain)]
        offset = c // 2
        for msa, qkv in zip(self.attention, qkvs, strict=True):
            o, split, order = msa.attend_qkv(qkv, n, t, v)
            parts.append(o)
            slots.append((offset, msa.dim, split, order))
            offset += msa.dim
        return _Assemble.apply((n, t, v, c), tuple(slots), *parts)

    def forward(self, x: Tensor) -> Tensor:
        y = self._mix(self.norm_1(x))  # (N, T, V, C)
        if eager_cpu(x) and (
            not self.training or (self.drop_path.p == 0.0 and self.proj_drop.p == 0.0)
        ):
            # both residual adds folded: x + proj(y) as (x + bias) + y W^T in one product
            # accumulated onto the shifted input, and the MLP's output starts from its residual
            rows = x.reshape(-1, self.dim)
            x = torch.add(rows, self.proj.bias).addmm_(y.reshape(rows.shape), self.proj.weight.t())
            x = x.view(y.shape)
            return self.mlp(self.norm_2(x), residual=x)
        x = x + self.drop_path(self.proj_drop(self.proj(y)))
        return x + self.drop_path(self.mlp(self.norm_2(x)))


class PatchMergingTconv(nn.Module):
    """Halve the frames: strided temporal convolution, then BatchNorm, no activation."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 7) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.reduction = nn.Conv2d(c_in, c_out, (kernel_size, 1), (2, 1), (pad, 0))
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        # (N, T, V, C_in) -> (N, ceil(T/2), V, C_out), convolved as a channels-last view
        return self.bn(self.reduction(x.permute(0, 3, 1, 2))).permute(0, 2, 3, 1)


class StageBlock(nn.Module):
    """A block of a stage: optional downsampling (first block of stages 1-3), then a transformer."""

    def __init__(self, downsample: nn.Module, transformer: SkateFormerBlock) -> None:
        super().__init__()
        self.downsample = downsample
        self.transformer = transformer

    def forward(self, x: Tensor) -> Tensor:
        return self.transformer(self.downsample(x))


class Stage(nn.Module):
    """A sequence of blocks at one width (upstream keys `stages.{s}.blocks.{b}`)."""

    def __init__(self, blocks: list[StageBlock]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class SkateFormer(nn.Module):
    """SkateFormer on (N, C, T, V, M) skeletons in the 24-point order, plus frame positions."""

    def __init__(
        self,
        *,
        num_classes: int = 60,
        in_channels: int = 3,
        num_points: int = 24,
        num_people: int = 2,
        window: int = 64,
        depths: tuple[int, ...] = (2, 2, 2, 2),
        channels: tuple[int, ...] = (96, 192, 192, 192),
        embed_dim: int = 96,
        num_heads: int = 32,
        sizes: tuple[tuple[int, int], ...] = ((8, 8), (8, 12), (8, 8), (8, 12)),
        kernel_size: int = 7,
        mlp_ratio: float = 4.0,
        attn_drop: float = 0.5,
        head_drop: float = 0.0,
        drop: float = 0.0,
        drop_path: float = 0.2,
        rel: bool = True,
        index_t: bool = True,
    ) -> None:
        super().__init__()
        _check_config(
            window=window,
            num_points=num_points * num_people,
            depths=depths,
            channels=channels,
            num_heads=num_heads,
            sizes=sizes,
            embed_dim=embed_dim,
        )
        v = num_points * num_people
        self.num_points, self.num_people, self.window = num_points, num_people, window
        self.sizes = tuple(tuple(s) for s in sizes)
        self.num_stages = len(depths)
        self.embed_dim = embed_dim
        self.use_index_t = index_t
        self.stem = nn.ModuleList(
            [
                nn.Conv2d(in_channels, 2 * in_channels, 1),
                nn.GELU(),
                nn.Conv2d(2 * in_channels, 3 * in_channels, 1),
                nn.GELU(),
                nn.Conv2d(3 * in_channels, embed_dim, 1),
            ]
        )
        if index_t:
            self.joint_person_embedding = nn.Parameter(torch.empty(embed_dim, v))
            nn.init.trunc_normal_(self.joint_person_embedding, std=0.02)
            i = torch.arange(0, embed_dim, 2, dtype=torch.float32)
            self.register_buffer("_omega", torch.exp(-i * math.log(10000.0) / embed_dim), False)
        else:
            self.joint_person_temporal_embedding = nn.Parameter(
                torch.empty(1, embed_dim, window, v)
            )
            nn.init.trunc_normal_(self.joint_person_temporal_embedding, std=0.02)

        rates = torch.linspace(0, drop_path, sum(depths)).tolist()
        stages, c_in, k = [], embed_dim, 0
        for s, (depth, c) in enumerate(zip(depths, channels, strict=True)):
            blocks = []
            for b in range(depth):
                down = (
                    PatchMergingTconv(c_in, c, kernel_size) if s > 0 and b == 0 else nn.Identity()
                )
                block = SkateFormerBlock(
                    c,
                    v,
                    num_heads,
                    self.sizes,
                    kernel_size,
                    mlp_ratio,
                    attn_drop,
                    drop,
                    rates[k],
                    rel,
                )
                blocks.append(StageBlock(down, block))
                c_in, k = c, k + 1
            stages.append(Stage(blocks))
        self.stages = nn.ModuleList(stages)
        self.head_drop = nn.Dropout(head_drop)
        self.head = nn.Linear(channels[-1], num_classes)

    def _skate_embedding(self, index_t: Tensor) -> Tensor:
        """Sinusoid of each frame's original position times a learned (point, person) vector."""
        angle = index_t[..., None].float() * self._omega  # (N, T, C/2)
        te = torch.stack((angle.sin(), angle.cos()), dim=-1).flatten(-2)  # even sin, odd cos
        return te[:, :, None, :] * self.joint_person_embedding.t()  # (N, T, V, C)

    def forward(self, x: Tensor, index_t: Tensor | None = None) -> Tensor:
        n, c, t, v, m = x.shape  # (N, C, T, V=24, M=2)
        if v != self.num_points or m != self.num_people:
            raise ModelConfigError(
                f"skateformer: input has {v} points x {m} persons, the model was built for "
                f"{self.num_points} x {self.num_people}",
                fix="feed NTU skeletons through the SkateFormer data transform (24 points, "
                "skelab.skeletons.SKATEFORMER_24_ORDER) or build with matching "
                "num_joints / num_persons",
            )
        if t != self.window:
            _check_window(t, self.num_stages, self.sizes)
        # channels-last from here on: (N, T, M*V, C), person-major points, contiguous
        x = x.permute(0, 2, 4, 3, 1).reshape(n, t, m * v, c)
        for layer in self.stem:  # the 1x1 convolutions as linear maps over the channels
            conv = isinstance(layer, nn.Conv2d)
            x = F.linear(x, layer.weight.flatten(1), layer.bias) if conv else layer(x)
        if self.use_index_t:
            if index_t is None:
                raise ModelConfigError(
                    "skateformer: forward needs index_t (N, T), the original position of each "
                    "frame in [-1, 1], for its Skate-Embedding",
                    fix="call model(x, index_t); the SkateFormer batch transform provides it "
                    "(or build with index_t=False for a learned per-frame embedding)",
                )
            x = x + self._skate_embedding(index_t.to(x.device))
        else:
            x = x + self.joint_person_temporal_embedding.permute(0, 2, 3, 1)[:, :t]
        for stage in self.stages:
            x = stage(x)  # ends (N, ceil(T/8), M*V, C_last)
        x = x.mean(dim=(1, 2))  # both persons pooled together
        return self.head(self.head_drop(x))  # (N, num_classes)


def _check_window(window: int, num_stages: int, sizes: tuple[tuple[int, int], ...]) -> None:
    valid = valid_temporal_sizes(window, num_stages)
    for i, size in enumerate(sizes):
        if size[0] not in valid:
            lengths = stage_lengths(window, num_stages)
            raise ModelConfigError(
                f"skateformer: type_{i + 1}_size[0] = {size[0]} frames does not divide the frame "
                f"counts {lengths} of the stages at window {window}",
                fix=f"for window {window} use temporal partition sizes from {valid} (they "
                f"must divide every stage's frame count, i.e. window / {2 ** (num_stages - 1)}), "
                f"or a window that is a multiple of {2 ** (num_stages - 1) * size[0]}",
            )


def _check_config(
    *,
    window: int,
    num_points: int,
    depths: tuple[int, ...],
    channels: tuple[int, ...],
    num_heads: int,
    sizes: tuple[tuple[int, int], ...],
    embed_dim: int,
) -> None:
    """Reject option combinations whose partitions or head splits cannot work."""
    if len(depths) != len(channels) or not depths:
        raise ModelConfigError(
            f"skateformer: depths {list(depths)} and channels {list(channels)} differ in length",
            fix="give one depth and one width per stage, e.g. depths [2,2,2,2], channels "
            "[96,192,192,192]",
        )
    if len(sizes) != 4 or any(len(s) != 2 or min(s) < 1 for s in sizes):
        raise ModelConfigError(
            f"skateformer: partition sizes must be four [frames, points] pairs, got {sizes}",
            fix="e.g. type_1_size [8,8], type_2_size [8,12], type_3_size [8,8], type_4_size [8,12]",
        )
    if embed_dim != channels[0]:
        raise ModelConfigError(
            f"skateformer: embed_dim {embed_dim} differs from the first stage's width "
            f"{channels[0]} (stage 0 has no downsampling to change it)",
            fix=f"set embed_dim to {channels[0]} or leave it out",
        )
    if window < 1:
        raise ModelConfigError(f"skateformer: window must be >= 1, got {window}", fix="use 64")
    if num_heads < 8 or num_heads % 8 or any(c % num_heads for c in channels):
        ok = [h for h in range(8, min(channels) + 1, 8) if all(c % h == 0 for c in channels)]
        raise ModelConfigError(
            f"skateformer: num_heads {num_heads} does not fit channels {list(channels)} (each "
            "of the 4 attentions needs num_heads/8 >= 1 heads and every width must split into "
            "num_heads groups)",
            fix=f"use num_heads from {ok}",
        )
    for i, (_, q) in enumerate(sizes):
        if num_points % q:
            raise ModelConfigError(
                f"skateformer: type_{i + 1}_size[1] = {q} does not divide the {num_points} "
                "points (num_points x num_people)",
                fix=f"use a point partition size from {_divisors(num_points)}; NTU skeletons "
                "must be reordered to 24 points (skelab.skeletons.SKATEFORMER_24_ORDER), which "
                "the SkateFormer data transform does",
            )
    _check_window(window, len(depths), sizes)


def _pick(name: str, value: Any, alias: str, alias_value: Any, default: Any) -> Any:
    """One option under its skelab name or its upstream name, never two different values."""
    if value is not None and alias_value is not None and value != alias_value:
        raise ModelConfigError(
            f"skateformer: {name}={value!r} and its upstream name {alias}={alias_value!r} differ",
            fix=f"pass only one of {name} / {alias}",
        )
    if value is not None:
        return value
    return alias_value if alias_value is not None else default


def _size(name: str, value: Any) -> tuple[int, int]:
    try:
        p, q = (int(s) for s in value)
    except (TypeError, ValueError) as exc:
        raise ModelConfigError(
            f"skateformer: {name} must be a [frames, points] pair, got {value!r}",
            fix=f"e.g. {name}: [8, 8]",
        ) from exc
    return p, q


@register_model(
    ModelCard(
        name="skateformer",
        title="SkateFormer",
        paper="Do & Kim, SkateFormer: Skeletal-Temporal Transformer for Human Action Recognition",
        venue="ECCV",
        year=2024,
        upstream="github.com/KAIST-VICLab/SkateFormer, model/SkateFormer.py",
        default_window=64,
        joint_layout="skateformer24 (N, 3, T, 24, 2) + index_t (N, T)",
        streams=("joint", "bone", "joint_motion", "bone_motion"),
        params_ntu60=3_616_083,
        reported_top1={"joint": 92.6, "bone": 92.1, "ensemble": 93.5},
        needs_index_t=True,
        head="head",
        input_joints=24,
        notes="joint/bone top-1 from the official Hugging Face card (J+B ensemble 93.0); "
        "4-stream 93.5 is the paper's figure as quoted by Hyper-GCN (an issue quotes 93.6). "
        "Joint-motion and bone-motion accuracies are not published. The paper's ~2.03M "
        "parameters differ from the released NTU config (3.62M), which this model matches.",
    )
)
def skateformer(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int | None = None,
    num_persons: int | None = None,
    window: int | None = None,
    dropout: float | None = None,
    num_heads: int = 32,
    type_1_size: tuple[int, int] | list[int] = (8, 8),
    type_2_size: tuple[int, int] | list[int] = (8, 12),
    type_3_size: tuple[int, int] | list[int] = (8, 8),
    type_4_size: tuple[int, int] | list[int] = (8, 12),
    kernel_size: int = 7,
    mlp_ratio: float = 4.0,
    attn_drop: float = 0.5,
    drop_path: float = 0.2,
    drop: float = 0.0,
    rel: bool = True,
    index_t: bool = True,
    depths: tuple[int, ...] | list[int] = (2, 2, 2, 2),
    channels: tuple[int, ...] | list[int] = (96, 192, 192, 192),
    embed_dim: int | None = None,
    global_pool: str = "avg",
    num_points: int | None = None,
    num_people: int | None = None,
    num_frames: int | None = None,
    head_drop: float | None = None,
) -> SkateFormer:
    """SkateFormer with the released NTU config (`SkateFormer_`, 3,616,083 params at 60 classes).

    skelab names and their upstream names are both accepted: num_joints / num_points (24, the
    re-ordered points per person), num_persons / num_people (2), window / num_frames (64),
    dropout / head_drop (0). `embed_dim` defaults to the first stage's width, as it must equal.
    """
    if global_pool != "avg":
        raise ModelConfigError(
            f"skateformer: global_pool {global_pool!r} is not supported",
            fix="use 'avg' (every upstream config does)",
        )
    return SkateFormer(
        num_classes=num_classes,
        in_channels=in_channels,
        num_points=_pick("num_joints", num_joints, "num_points", num_points, 24),
        num_people=_pick("num_persons", num_persons, "num_people", num_people, 2),
        window=_pick("window", window, "num_frames", num_frames, 64),
        depths=tuple(int(d) for d in depths),
        channels=tuple(int(c) for c in channels),
        embed_dim=channels[0] if embed_dim is None else embed_dim,
        num_heads=num_heads,
        sizes=tuple(
            _size(f"type_{i + 1}_size", s)
            for i, s in enumerate((type_1_size, type_2_size, type_3_size, type_4_size))
        ),
        kernel_size=kernel_size,
        mlp_ratio=mlp_ratio,
        attn_drop=attn_drop,
        head_drop=_pick("dropout", dropout, "head_drop", head_drop, 0.0),
        drop=drop,
        drop_path=drop_path,
        rel=rel,
        index_t=index_t,
    )
