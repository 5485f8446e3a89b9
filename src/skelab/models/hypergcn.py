"""Hyper-GCN: adaptive hyper-graph convolution with virtual hyper-joints.

Paper: Zhou et al., "Adaptive Hyper-Graph Convolution Network for Skeleton-based Human Action
Recognition with Virtual Connections", ICCV 2025, arXiv 2411.14796.
Upstream: github.com/6UOOON9/Hyper-GCN, model/hypergcn_base.py and model/hypergcn_large.py
(`Model`, `TCN_GCN_unit`, `HYPERGC`), graph/ntu_rgb_d.py (`virtual_ensemble` labelling) and the
`DivergenceLoss` of main.py; commit cefe70b.

Written from the paper and upstream shapes. Attribute names match upstream checkpoint keys, so
the official weights (607 entries for base, 614 for large) load as they are. Every layer mixes
joints through three graphs over 8 channel heads: a learnably re-weighted static skeleton graph,
a hyper-graph rebuilt per sample (each vertex joins its 9 nearest hyper-edges in a learned
feature space) and 3 learned virtual joints linked to every real joint.

Differences from upstream (none changes the function; the golden tests hold to rel. err. 1e-5):

* `forward` returns the logits only. The virtual joints (`hyper_joint`) of the last forward are
  kept, and `auxiliary_losses()` returns upstream's divergence loss on them, multiplied by
  `divergence_weight` (1, as in upstream's main.py); the trainer adds it.
* The virtual joints are constant over batch and frames, so they are not concatenated onto the
  (N, C, T, V) features: their 1x1-conv outputs are computed once, (C_out, 3), and enter the
  graph aggregation as one extra term per head. Only the 25 real output rows are aggregated;
  upstream computes all 28 rows and then drops the virtual ones.
* The per-head aggregation is one batched matrix product over all heads, not a per-head einsum.
  On the CPU (float32, eager) the joint product, conv_d's product and the constant term run per
  (sample, head) in one compiled kernel (`layers.native`, kernels/hg_graph.c: `_GraphProduct`);
  In training the same kernel's backward also runs the graph convolution's BatchNorm + residual
  + ReLU backward (`_GraphConvEnd`): BatchNorm's input gradient is made per (sample, head) in
  cache, so neither it nor the ReLU's gradient is a full-size tensor; `down` (1x1 conv +
  BatchNorm, l4) is folded in too (one pass for both BatchNorms' affine maps, the sum and the
  ReLU; its BatchNorm backward made in the same kernel pass). The torch products run
  elsewhere and where no C compiler works.
* The projection in `down` runs as a batched matmul (`skelab.models.layers.pointwise.conv1x1`),
  and the BatchNorm + residual + ReLU ends of the graph convolution and of the block run in
  the last BatchNorm's pass (`layers.batchnorm`; the block's in the TCN's, `layers.tcn`) in
  training on the CPU, else in place on the fresh outputs (no extra full-size tensors).
* The nearest-hyper-edge selection is computed as upstream does: per-head `torch.cdist` of the
  (N, 8, 28, h) embeddings and `topk(9, largest=False)` (self included), then a softmax over the
  negated distances of the selected entries.
* In training on the CPU (float32, eager) the embedding's tanh, data_bn and the reordering to
  the blocks' layout run through `kernels/hg_embed.c` (`_EmbedNorm`): data_bn's output is
  written in the blocks' layout, and its backward reads the gradient in that layout and
  writes the pre-tanh gradient over the saved tanh values (no reordering copies, no
  full-size BatchNorm or tanh gradients).
* Parameters upstream saves but that never affect the output are kept as parameters, so
  checkpoints load strictly and parameter counts agree:
  - the 3 virtual-joint rows of every `gcn1.edge_importance` (and of the fixed `gcn1.PA`) only
    shape the outputs of the virtual vertices, which are dropped; skelab does not compute
    those rows, so their gradient is exactly zero;
  - `gcn1.to_V.bias` shifts every embedding of a head by the same vector, which leaves all
    distances, and so the hyper-graph, unchanged; its gradient is zero up to rounding.
* `PA` stays a parameter with `requires_grad=False`, as upstream has it, so parameter counts
  (1,098,125 base, 2,361,741 large, NTU60) and checkpoint keys agree.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.errors import ModelConfigError, SkelabError
from skelab.models.layers import native
from skelab.models.layers.batchnorm import (
    batch_norm_act,
    batch_norm_factor,
    batch_norm_train,
    batch_statistics,
    uses_batch_statistics,
)
from skelab.models.layers.eager import eager_cpu
from skelab.models.layers.init import constant_bn_, kaiming_conv_
from skelab.models.layers.pointwise import batched, bn_residual_relu, joint_embedding, residual
from skelab.models.layers.tcn import ctrgcn_temporal, frame_mean, unit_tcn
from skelab.models.registry import ModelCard, register_model
from skelab.skeletons import NTU_INWARD_1BASED, NUM_JOINTS

NUM_HEADS = 8  # upstream `num_subset`: channel heads of every graph convolution
NEAREST_EDGES = 9  # hyper-edges each vertex joins (the paper's best K)
REL_REDUCTION = 4  # hidden width per head = (C_in / 8) / 4
EMBED_CHANNELS = 128

# Hyper-GCN's inward edges (child -> parent), 1-based: CTR-GCN's body edges, but the hand tips
# and thumbs hang directly off the hands.
HYPERGCN_INWARD_1BASED: tuple[tuple[int, int], ...] = NTU_INWARD_1BASED[:20] + (
    (22, 8),
    (23, 8),
    (24, 12),
    (25, 12),
)
UPSTREAM_GRAPH = "graph.ntu_rgb_d.Graph"
UPSTREAM_LABELING = "virtual_ensemble"


def virtual_ensemble_graph(num_virtual: int, num_joints: int = NUM_JOINTS) -> np.ndarray:
    """Binary (V+P, V+P) graph: self-loops, skeleton edges both ways, each virtual joint linked
    to every real joint (no virtual-virtual links). Symmetric."""
    size = num_joints + num_virtual
    a = np.eye(size, dtype=np.float32)
    for child, parent in HYPERGCN_INWARD_1BASED:
        a[child - 1, parent - 1] = a[parent - 1, child - 1] = 1.0
    a[num_joints:, :num_joints] = 1.0
    a[:num_joints, num_joints:] = 1.0
    return a


# --------------------------------------------------------------------------------------------
# Initialisation (CTR-GCN's conventions, which upstream keeps)


# --------------------------------------------------------------------------------------------
# The multi-head hyper-graph convolution (upstream `HYPERGC`)


def hyper_incidence(phi: Tensor, k: int) -> Tensor:
    """Soft incidence H (N, K, U, U) from embeddings phi (N, K, U, h): row i holds a softmax of
    the negated distances over the k nearest vertices (self included), zero elsewhere."""
    dist = torch.cdist(phi, phi)  # (N, K, U, U), upstream's exact distance computation
    near, idx = dist.topk(k, dim=-1, largest=False)
    return torch.zeros_like(dist).scatter_(-1, idx, torch.softmax(-near, dim=-1))


def hyper_graph(h: Tensor, w: Tensor, rows: int) -> Tensor:
    """Normalised hyper-graph G = Dv^-1 H W diag(W / De) H^T, its first `rows` rows.

    h: (N, K, U, E) incidence, vertices x hyper-edges; w: (N, K, E) hyper-edge weights. W enters
    twice (in H W and in the edge factor), as upstream has it."""
    d_e = h.abs().sum(dim=-2) + 1e-8  # (N, K, E): sum over vertices
    hw = h[..., :rows, :] * w.unsqueeze(-2)  # (N, K, rows, E)
    d_v = hw.abs().sum(dim=-1, keepdim=True) + 1e-8  # (N, K, rows, 1); rows are independent
    edge = (w / d_e).unsqueeze(-1) * h.transpose(-1, -2)  # (N, K, E, U)
    return (hw / d_v) @ edge  # (N, K, rows, U)


class HyperGraphConv(nn.Module):
    """M-HGC: 8 channel heads, each mixing joints through static + adaptive hyper-graph."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        graph: np.ndarray,
        num_virtual: int = 3,
        num_joints: int = NUM_JOINTS,
    ) -> None:
        super().__init__()
        if c_in % (NUM_HEADS * REL_REDUCTION) or c_out % NUM_HEADS:
            raise ModelConfigError(
                f"HyperGraphConv({c_in}, {c_out}): channels must split into {NUM_HEADS} heads",
                fix=f"use C_in divisible by {NUM_HEADS * REL_REDUCTION}, C_out by {NUM_HEADS}",
            )
        self.num_joints = num_joints
        self.num_virtual = num_virtual
        hidden = c_in // NUM_HEADS // REL_REDUCTION * NUM_HEADS
        # Upstream starts the virtual joints identical: one random row repeated.
        self.hyper_joint = nn.Parameter(torch.randn(1, c_in).repeat(num_virtual, 1))
        self.alpha = nn.Parameter(torch.ones(1))
        pa = torch.from_numpy(np.stack([graph] * NUM_HEADS))  # (8, V+P, V+P)
        self.PA = nn.Parameter(pa, requires_grad=False)
        self.edge_importance = nn.Parameter(torch.ones_like(pa))
        self.to_V = nn.Conv1d(c_in, hidden, 1, groups=NUM_HEADS)
        self.to_W = nn.Sequential(
            nn.Conv1d(c_in, hidden, 1, groups=NUM_HEADS),
            nn.LeakyReLU(),
            nn.Conv1d(hidden, NUM_HEADS, 1),
            nn.Tanh(),
        )
        self.conv_d = nn.Conv2d(c_in, c_out, 1, groups=NUM_HEADS)
        if c_in != c_out:
            self.down: nn.Module = nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))
        else:
            self.down = nn.Identity()
        self.bn = nn.BatchNorm2d(c_out)
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d)):
                kaiming_conv_(m)
            elif isinstance(m, nn.BatchNorm2d):
                constant_bn_(m, 1.0)
        constant_bn_(self.bn, 1e-6)

    def static_graph(self) -> Tensor:
        """Row-normalised edge_importance * PA, real-joint rows only: (8, V, V+P)."""
        a = (self.edge_importance * self.PA)[:, : self.num_joints]
        return a / (a.abs().sum(dim=-1, keepdim=True) + 1e-8)

    def hyper_graph_inputs(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Per-head embeddings (N, 8, V+P, h) and hyper-edge weights (N, 8, V+P) from the
        frame-averaged features of the V real and P virtual joints."""
        n, c, _, v = x.shape
        heads = NUM_HEADS
        # The virtual joints are the same in every frame, so their frame mean is themselves.
        # the frame mean's gradient is a broadcast view on the CPU (layers.tcn.frame_mean)
        t_x = torch.cat([frame_mean(x).squeeze(2), self.hyper_joint.t().expand(n, c, -1)], -1)
        t_x = t_x.view(n, heads, c // heads, -1)  # (N, 8, C_in/8, V+P)
        phi = _grouped_linear(self.to_V, t_x).transpose(-1, -2)  # (N, 8, V+P, h)
        hidden = F.leaky_relu(_grouped_linear(self.to_W[0], t_x)).flatten(1, 2)  # (N, 8h, V+P)
        w = torch.tanh(_pointwise(self.to_W[2], hidden))  # (N, 8, V+P), in (-1, 1)
        return phi, w

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v = x.shape  # (N, C_in, T, V)
        heads = NUM_HEADS
        phi, w = self.hyper_graph_inputs(x)
        g = hyper_graph(hyper_incidence(phi, NEAREST_EDGES), w, rows=v)  # (N, 8, V, V+P)
        a = self.static_graph() + F.relu(self.alpha) * g  # (N, 8, V, V+P): row u gathers from v
        a_real, a_virtual = a[..., :v], a[..., v:]  # (N, 8, V, V), (N, 8, V, P)

        # conv_d is linear per vertex, so aggregating over joints first gives the same result:
        # A (W x + b) = W (A x) + b * rowsum(A). Two matrix products over all heads at once.
        weight = self.conv_d.weight.view(heads, -1, c // heads)  # (8, C_out/8, C_in/8)
        bias = self.conv_d.bias.view(heads, -1, 1)  # (8, C_out/8, 1)
        # Virtual joints and the bias are constant over frames: one (N, 8, C_out/8, V) term.
        d_virtual = weight @ self.hyper_joint.t().reshape(heads, c // heads, -1) + bias
        const = d_virtual @ a_virtual.transpose(-1, -2) + bias * a_real.sum(-1).unsqueeze(2)
        if _compiled_fits(x, weight):
            bn = self.bn
            if uses_batch_statistics(bn) and bn.affine and torch.is_grad_enabled():
                # the products, the batch norm, + residual and the ReLU; the backward makes
                # the batch norm's input gradient per (sample, head) inside the products'
                factor = batch_norm_factor(bn) if bn.training else 0.0
                ending = (bn.weight, bn.bias, bn.running_mean, bn.running_var, factor, bn.eps)
                down = _down_args(self.down)
                if down is not None:  # the projection and its BatchNorm folded in too
                    return _GraphConvEnd.apply(x, a_real, weight, const, *ending, None, *down)
                res = None if isinstance(self.down, nn.Identity) else residual(self.down, x)
                return _GraphConvEnd.apply(x, a_real, weight, const, *ending, res)
            # both products and the constant term per (sample, head) in one compiled pass
            y = _GraphProduct.apply(x, a_real, weight, const)  # (N, C_out, T, V)
        else:
            z = x.view(n, heads, -1, v) @ a_real.transpose(-1, -2)  # (N, 8, C_in/8 * T, V)
            y = weight @ z.view(n, heads, c // heads, t * v)  # (N, 8, C_out/8, T*V)
            # Not in place: an in-place add on this view would make autograd copy the whole
            # gradient.
            y = (y.view(n, heads, -1, t, v) + const.unsqueeze(3)).view(n, -1, t, v)
        return bn_residual_relu(self.bn, y, self.down, x)  # (N, C_out, T, V)


# The graph convolution's products through a compiled kernel (layers.native, kernels/hg_graph.c)

_GRAPH_KERNEL = {
    "skelab_hg_graph_forward": [native.POINTER] * 6 + [native.LONG] * 9,
    "skelab_hg_graph_backward": [native.POINTER] * 9 + [native.LONG] * 9,
    "skelab_hg_bn_sums": [native.POINTER] * 7 + [native.LONG] * 5,
    "skelab_hg_graph_end_backward": [native.POINTER] * 14
    + [native.LONG]
    + [native.POINTER]
    + [native.LONG] * 9,
    "skelab_hg_apply2": [native.POINTER] * 7 + [native.LONG] * 5,
}
_KERNEL_CHANNELS = 64  # channels per head the kernel takes (its MAX_C)
_KERNEL_JOINTS = 32  # joints it takes (its MAX_J)


def _compiled_fits(x: Tensor, weight: Tensor) -> bool:
    """Whether the graph products run the compiled kernel: float32 on the CPU, eagerly, at
    sizes it takes, and the kernel built (`layers.native`; else the torch products run)."""
    return (
        eager_cpu(x)
        and x.dtype == weight.dtype == torch.float32
        and max(weight.shape[1:]) <= _KERNEL_CHANNELS
        and x.shape[3] <= _KERNEL_JOINTS
        and native.library("hg_graph", _GRAPH_KERNEL) is not None
    )


def _graph_args(x: Tensor, a: Tensor, weight: Tensor) -> tuple[Tensor, Tensor, list[int]]:
    """x (contiguous), a (per (sample, head) matrices at one stride, unit column stride) and the
    kernel's size arguments (I, O, T, V, G, a's matrix and row strides)."""
    heads, o, i = weight.shape
    x = x.contiguous()
    if a.stride(3) != 1 or a.stride(0) != heads * a.stride(1):
        a = a.contiguous()
    return x, a, [i, o, x.shape[2], x.shape[3], heads, a.stride(1), a.stride(2)]


def _graph_forward(x: Tensor, a: Tensor, weight: Tensor, const: Tensor, sizes: list[int]) -> Tensor:
    """W_h (x A^T) + const per (sample, head) through the kernel: (N, C_out, T, V)."""
    weight, const = weight.contiguous(), const.contiguous()
    n, _, t, v = x.shape
    heads, o, i = weight.shape
    y = x.new_empty(n, heads * o, t, v)
    fn = native.library("hg_graph", _GRAPH_KERNEL).skelab_hg_graph_forward
    ranges = native.split(n * heads)
    scratch = [x.new_empty(i * t * v) for _ in ranges]
    args = [native.pointer(u) for u in (x, a, weight, const, y)]
    native.run(
        [
            (fn, (*args, s.data_ptr(), *sizes, r0, r1))
            for (r0, r1), s in zip(ranges, scratch, strict=True)
        ]
    )
    return y


class _GraphProduct(torch.autograd.Function):
    """y = W_h (x A^T) + const per (sample n, head h), x (N, C_in, T, V) read as (N, 8,
    C_in/8 * T, V), A = a[n, h] (V, V), W_h (C_out/8, C_in/8), const (N, 8, C_out/8, V) added
    in every frame: `kernels/hg_graph.c`. The joint mix x A^T of one (sample, head) stays in
    L2 between the two products (and is recomputed in backward for W's gradient), so it is
    never written to memory or saved."""

    @staticmethod
    def forward(ctx, x, a, weight, const):  # type: ignore[override]
        x, a, sizes = _graph_args(x, a, weight)
        y = _graph_forward(x, a, weight, const, sizes)
        ctx.save_for_backward(x, a, weight)
        ctx.sizes = sizes
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy):  # type: ignore[override]
        x, a, weight = ctx.saved_tensors
        sizes = ctx.sizes
        gy = gy.contiguous()
        n, _, t, v = x.shape
        heads, o, i = weight.shape
        need_x, need_a, need_w, need_c = ctx.needs_input_grad
        gx = torch.empty_like(x) if need_x else None
        ga = x.new_empty(n, heads, v, v) if need_a else None
        gc = x.new_empty(n, heads, o, v) if need_c else None
        ranges = native.split(n * heads)
        # W's gradient sums over samples: one partial sum per range, added up after
        gw = [weight.new_zeros(weight.shape) if need_w else None for _ in ranges]
        scratch = [x.new_empty(2 * i * t * v) for _ in ranges]
        fn = native.library("hg_graph", _GRAPH_KERNEL).skelab_hg_graph_backward
        args = [native.pointer(u) for u in (x, a, weight, gy, gx, ga)]
        native.run(
            [
                (fn, (*args, native.pointer(w), native.pointer(gc), s.data_ptr(), *sizes, r0, r1))
                for (r0, r1), w, s in zip(ranges, gw, scratch, strict=True)
            ]
        )
        g_w = gw[0] if need_w else None
        for more in gw[1:]:
            g_w.add_(more)
        return gx, ga, g_w, gc


def _down_args(down: nn.Module) -> tuple | None:
    """`_GraphConvEnd`'s arguments for a `down` of (1x1 conv, BatchNorm with batch statistics)
    (the BatchNorm's batch counter advances), else None."""
    if not isinstance(down, nn.Sequential) or len(down) != 2:
        return None
    conv, bn = down
    if (
        not isinstance(conv, nn.Conv2d)
        or conv.kernel_size != (1, 1)
        or conv.stride != (1, 1)
        or conv.padding != (0, 0)
        or conv.groups != 1
        or conv.bias is None
        or not uses_batch_statistics(bn)
        or not bn.affine
    ):
        return None
    factor = batch_norm_factor(bn) if bn.training else 0.0
    return (
        conv.weight,
        conv.bias,
        bn.weight,
        bn.bias,
        bn.running_mean,
        bn.running_var,
        factor,
        bn.eps,
    )


def _batch_stats(y: Tensor, gamma: Tensor, beta: Tensor, r_mean, r_var, momentum, eps):
    """Batch mean and inverse deviation (float64) of y (N, C, L), the running statistics moved
    as `nn.BatchNorm2d` moves them (`batch_statistics`); and the affine map's scale and shift
    (float32)."""
    mean64, invstd64 = batch_statistics(y, eps, r_mean, r_var, momentum)
    scale64 = gamma.detach().double() * invstd64
    shift64 = beta.detach().double() - mean64 * scale64
    return mean64, invstd64, scale64.float(), shift64.float()


def _grad_coefficients(gamma: Tensor, mean64: Tensor, inv64: Tensor, s1, s2, count: int):
    """Per channel (gamma invstd, mean(g), invstd^2 mean(g (y - mean)), mean) as float32 (C,
    4): BatchNorm's input gradient is k0 (g - k1 - (y - k3) k2)."""
    centred = s2 - mean64 * s1  # sum of g * (y - mean)
    k = [gamma.detach().double() * inv64, s1 / count, inv64.square() * centred / count, mean64]
    return torch.stack(k, dim=1).float(), centred


class _GraphConvEnd(torch.autograd.Function):
    """relu(bn(y) + res) with y = W_h (x A^T) + const (`_GraphProduct`), in training (batch
    statistics): res = x where `res` and `down_w` are None (the identity residual), res =
    bn_d(down_w x + down_b) where `down_w` is given (upstream's `down`, folded in), else the
    given tensor.

    Forward: the products through the kernel; with `down`, its product (one per sample), both
    BatchNorms' statistics and one pass for both affine maps, the sum and the ReLU; else the
    batch norm, sum and ReLU through `batch_norm_train`. Backward: per-channel sums of the
    masked gradient g (and of g * y, g * the projection) in one read-only pass; then, per
    (sample, head), BatchNorm's input gradient is made from g, y and those sums in L2 scratch
    and fed straight into the products' backward, and g is added to x's gradient (identity
    residual), or the projection's gradient (through bn_d's backward) written once and its
    product added into x's, or g written out as res's. ReLU's and the BatchNorms' full-size
    gradients (13-26 MB each per layer, fresh every step) are never allocated."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx, x, a, weight, const, gamma, beta, r_mean, r_var, momentum, eps, res,
        down_w=None, down_b=None, d_gamma=None, d_beta=None, d_mean=None, d_var=None,
        d_momentum=0.0, d_eps=1e-5,
    ):  # fmt: skip
        x, a, sizes = _graph_args(x, a, weight)
        y = _graph_forward(x, a, weight, const, sizes)
        lib = native.library("hg_graph", _GRAPH_KERNEL)
        ctx.down = down_w is not None
        if ctx.down:
            n, c_in, t, v = x.shape
            c_out = down_w.shape[0]
            proj = torch.baddbmm(
                down_b.view(1, -1, 1), batched(down_w.view(c_out, c_in), n), x.view(n, c_in, -1)
            )  # (N, C_out, T*V)
            yv = y.view(n, c_out, -1)
            mean, invstd, scale, shift = _batch_stats(yv, gamma, beta, r_mean, r_var, momentum, eps)
            d_mean64, d_inv, d_scale, d_shift = _batch_stats(
                proj, d_gamma, d_beta, d_mean, d_var, d_momentum, d_eps
            )
            out = torch.empty_like(y)
            ptr = native.pointer
            args = (ptr(yv), ptr(scale), ptr(shift), ptr(proj), ptr(d_scale), ptr(d_shift))
            args += (ptr(out), n, c_out, t * v)
            native.run([(lib.skelab_hg_apply2, (*args, i, j)) for i, j in native.split(c_out, 8)])
            ctx.save_for_backward(
                x, a, weight, y, out, gamma, mean.float(), invstd.float(), proj, down_w,
                d_gamma, d_mean64.float(), d_inv.float(),
            )  # fmt: skip
        else:
            shortcut = x if res is None else res
            out, mean, invstd = batch_norm_train(
                y, gamma, beta, r_mean, r_var, momentum, eps, res=shortcut, relu=True
            )
            ctx.save_for_backward(x, a, weight, y, out, gamma, mean, invstd)
        ctx.sizes, ctx.res_is_x = sizes, res is None and not ctx.down
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):  # type: ignore[override]
        x, a, weight, y, out, gamma, mean, invstd, *down = ctx.saved_tensors
        sizes, res_is_x = ctx.sizes, ctx.res_is_x
        grad = grad.contiguous()
        n, c_out, t, v = out.shape
        heads, o, i = weight.shape
        lib = native.library("hg_graph", _GRAPH_KERNEL)
        ptr = native.pointer
        proj = down[0] if ctx.down else None
        s1, s2 = (
            grad.new_empty(c_out, dtype=torch.float64),
            grad.new_empty(c_out, dtype=torch.float64),
        )
        s3 = grad.new_empty(c_out, dtype=torch.float64) if ctx.down else None
        sums = (ptr(grad), ptr(out), ptr(y), ptr(proj), ptr(s1), ptr(s2), ptr(s3), n, c_out, t * v)
        native.run([(lib.skelab_hg_bn_sums, (*sums, c0, c1)) for c0, c1 in native.split(c_out, 1)])
        count = n * t * v
        mean64, inv64 = mean.double(), invstd.double()
        k, centred = _grad_coefficients(gamma, mean64, inv64, s1, s2, count)
        kd = d_centred = None
        if ctx.down:
            _, down_w, d_gamma, d_mean, d_inv = down
            d_mean64, d_inv64 = d_mean.double(), d_inv.double()
            kd, d_centred = _grad_coefficients(d_gamma, d_mean64, d_inv64, s1, s3, count)
        need = ctx.needs_input_grad
        gx = torch.empty_like(x) if need[0] or res_is_x or ctx.down else None
        ga = x.new_empty(n, heads, v, v) if need[1] else None
        gc = x.new_empty(n, heads, o, v) if need[3] else None
        gres = torch.empty_like(out) if need[10] or ctx.down else None
        ranges = native.split(n * heads)
        gw = [weight.new_zeros(weight.shape) if need[2] else None for _ in ranges]
        scratch = [x.new_empty((2 * i + o) * t * v) for _ in ranges]
        args = [ptr(u) for u in (x, a, weight, grad, out, y, k, proj, kd, gx, ga)]
        native.run(
            [
                (
                    lib.skelab_hg_graph_end_backward,
                    (*args, ptr(w), ptr(gc), ptr(gres), int(res_is_x), ptr(s), *sizes, r0, r1),
                )
                for (r0, r1), w, s in zip(ranges, gw, scratch, strict=True)
            ]
        )
        g_w = gw[0] if need[2] else None
        for more in gw[1:]:
            g_w.add_(more)
        g_gamma = (inv64 * centred).to(grad.dtype) if need[4] else None
        g_beta = s1.to(grad.dtype) if need[5] else None
        if not ctx.down:
            return (
                gx if need[0] else None, ga, g_w, gc, g_gamma, g_beta, None, None, None, None,
                gres,
            )  # fmt: skip
        # the projection's gradient (gres) through its product: into x's, W_d's and b_d's
        c_in = x.shape[1]
        g_proj = gres.view(n, c_out, t * v)
        xf = gx.view(n, c_in, t * v)
        xf.baddbmm_(batched(down_w.view(c_out, c_in).t(), n), g_proj)
        g_dw = torch.bmm(g_proj, x.view(n, c_in, -1).transpose(1, 2)).sum(0) if need[11] else None
        g_db = g_proj.sum((0, 2)) if need[12] else None
        g_dgamma = (d_inv64 * d_centred).to(grad.dtype) if need[13] else None
        g_dbeta = s1.to(grad.dtype) if need[14] else None
        return (
            gx if need[0] else None, ga, g_w, gc, g_gamma, g_beta, None, None, None, None, None,
            None if g_dw is None else g_dw.view_as(down_w), g_db, g_dgamma, g_dbeta, None, None,
            None, None,
        )  # fmt: skip


def _grouped_linear(conv: nn.Conv1d, x: Tensor) -> Tensor:
    """A grouped 1x1 Conv1d as a batched matrix product: (N, G, C_in/G, L) -> (N, G, C_out/G, L)."""
    groups = conv.groups
    weight = conv.weight.view(groups, -1, conv.in_channels // groups)
    return weight @ x + conv.bias.view(groups, -1, 1)


def _pointwise(conv: nn.Conv1d, x: Tensor) -> Tensor:
    """A dense 1x1 Conv1d as a matrix product: (N, C_in, L) -> (N, C_out, L)."""
    return conv.weight.squeeze(-1) @ x + conv.bias.unsqueeze(-1)


# --------------------------------------------------------------------------------------------
# Blocks and the network


class HyperGCNBlock(nn.Module):
    """relu(TCN(M-HGC(x)) + residual(x)); upstream `TCN_GCN_unit`."""

    def __init__(
        self, c_in: int, c_out: int, graph: np.ndarray, stride: int = 1, num_virtual: int = 3
    ) -> None:
        super().__init__()
        self.gcn1 = HyperGraphConv(c_in, c_out, graph, num_virtual)
        self.tcn1 = ctrgcn_temporal(c_out, stride, padding_mode="replicate")
        if c_in == c_out and stride == 1:
            self.residual: nn.Module = nn.Identity()
        else:
            self.residual = unit_tcn(c_in, c_out, stride, padding_mode="replicate")

    def forward(self, x: Tensor) -> Tensor:
        # + residual and the ReLU run in the TCN's last batch norm pass (layers.tcn)
        return self.tcn1(self.gcn1(x), self.residual(x), relu=True)  # (N, C_out, T/s, V)


class HyperGCN(nn.Module):
    """Joint embedding, 9 Hyper-GCN blocks with dense skips per stage, mean-pool, linear head."""

    def __init__(
        self,
        *,
        num_classes: int = 60,
        in_channels: int = 3,
        num_persons: int = 2,
        num_virtual: int = 3,
        widths: tuple[int, int, int] = (128, 256, 256),
        dropout: float = 0.0,
        divergence_weight: float = 1.0,
    ) -> None:
        super().__init__()
        v = NUM_JOINTS
        c1, c2, c3 = widths
        graph = virtual_ensemble_graph(num_virtual, v)
        self.divergence_weight = divergence_weight
        self.pos_embedding = nn.Parameter(torch.randn(1, v, EMBED_CHANNELS))
        self.data_bn = nn.BatchNorm1d(num_persons * v * EMBED_CHANNELS)
        self.to_joint_embedding = nn.Linear(in_channels, EMBED_CHANNELS)
        plan = [  # (C_in, C_out, stride) of l1..l9
            (EMBED_CHANNELS, c1, 1), (c1, c1, 1), (c1, c1, 1),
            (c1, c2, 2), (c2, c2, 1), (c2, c2, 1),
            (c2, c3, 2), (c3, c3, 1), (c3, c3, 1),
        ]  # fmt: skip
        for i, (c_in, c_out, stride) in enumerate(plan, start=1):
            self.add_module(f"l{i}", HyperGCNBlock(c_in, c_out, graph, stride, num_virtual))
        self.drop_out = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(c3, num_classes)
        nn.init.normal_(self.fc.weight, 0.0, math.sqrt(2.0 / num_classes))
        constant_bn_(self.data_bn, 1.0)
        self._hyper_joints: list[Tensor] = []

    def blocks(self) -> list[HyperGCNBlock]:
        """l1..l9 in order."""
        return [getattr(self, f"l{i}") for i in range(1, 10)]

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape  # (N, C, T, V, M)
        # data_bn normalises each (person, joint, channel) over batch and frames.
        bn = self.data_bn
        if _embed_fits(x) and uses_batch_statistics(bn) and bn.affine and torch.is_grad_enabled():
            # embedding, tanh, data_bn and the reordering, written out (`_EmbedNorm`)
            factor = batch_norm_factor(bn) if bn.training else 0.0
            linear = self.to_joint_embedding
            x = _EmbedNorm.apply(
                x, linear.weight, linear.bias, self.pos_embedding, bn.weight, bn.bias,
                bn.running_mean, bn.running_var, factor, bn.eps,
            )  # fmt: skip
        else:
            x = self.embed_joints(x)  # (N, M*V*128, T)
            x = batch_norm_act(bn, x)
            x = x.view(n, m, v, -1, t).permute(0, 1, 3, 4, 2).reshape(n * m, -1, t, v)
        l1, l2, l3, l4, l5, l6, l7, l8, l9 = self.blocks()
        x1 = l1(x)
        x4 = l4(l3(l2(x1) + x1))  # dense skip inside each stage
        x7 = l7(l6(l5(x4) + x4))
        x = l9(l8(x7) + x7)  # (N*M, C, T/4, V)
        self._hyper_joints = [
            block.gcn1.hyper_joint for block in (l1, l2, l3, l4, l5, l6, l7, l8, l9)
        ]
        x = x.reshape(n, m, x.shape[1], -1).mean(dim=3).mean(dim=1)  # (N, C)
        return self.fc(self.drop_out(x))  # (N, num_classes)

    def embed_joints(self, x: Tensor) -> Tensor:
        """tanh(to_joint_embedding(x) + pos_embedding) for x (N, C, T, V, M), laid out as
        data_bn reads it: (N, M*V*128, T). The embedding is computed in that layout
        (`joint_embedding`: no permuting copy of the 13 MB result, and tanh's backward on a
        contiguous gradient); upstream embeds per frame and joint, then permutes."""
        return joint_embedding(self.to_joint_embedding, self.pos_embedding, x).tanh_()

    def auxiliary_losses(self) -> dict[str, Tensor]:
        """Upstream's divergence loss on the virtual joints of the last forward, weighted."""
        if not self._hyper_joints:
            raise SkelabError(
                "Hyper-GCN's divergence loss needs a forward pass first",
                fix="call the model on a batch before auxiliary_losses()",
            )
        return {"divergence": self.divergence_weight * divergence_loss(self._hyper_joints)}


# --------------------------------------------------------------------------------------------
# The joint embedding and data_bn in training through a compiled kernel (kernels/hg_embed.c)

_EMBED_KERNEL = {
    "skelab_hg_embed_stats": [native.POINTER] * 3 + [native.LONG] * 5,
    "skelab_hg_embed_apply": [native.POINTER] * 4 + [native.LONG] * 7,
    "skelab_hg_embed_sums": [native.POINTER] * 4 + [native.LONG] * 7,
    "skelab_hg_embed_backward": [native.POINTER] * 3 + [native.LONG] * 7,
}


def _embed_fits(x: Tensor) -> bool:
    """Whether `_EmbedNorm` runs: float32 on the CPU, eagerly, and the kernel built."""
    return (
        eager_cpu(x)
        and x.dtype == torch.float32
        and native.library("hg_embed", _EMBED_KERNEL) is not None
    )


class _EmbedNorm(torch.autograd.Function):
    """data_bn(tanh(to_joint_embedding(x) + pos)) with batch statistics, for x (N, C, T, V, M),
    returned as the blocks read it: (N*M, E, T, V).

    The embedding is `joint_embedding`'s product in data_bn's layout (N, M*V*E, T), tanh in
    place. The statistics, the normalisation written straight into the blocks' layout, and
    in backward the per-channel sums and the pre-tanh gradient (read from the gradient in
    the blocks' layout, written over the saved tanh values) are `kernels/hg_embed.c`: the
    torch form's reordering copies (13 MB each way) and BatchNorm's and tanh's full-size
    gradients are not made. Running statistics move as `nn.BatchNorm1d` moves them."""

    @staticmethod
    def forward(ctx, x, weight, bias, pos, gamma, beta, r_mean, r_var, momentum, eps):  # type: ignore[override]
        n, c, t, v, m = x.shape
        e = weight.shape[0]
        rows, channels = n * m * v, m * v * e
        xs = x.permute(0, 4, 3, 1, 2).reshape(rows, c, t)  # (N*M*V, C, T): small
        shift = (bias + pos.reshape(v, e)).expand(n * m, v, e).reshape(rows, e, 1)
        th = torch.baddbmm(shift, batched(weight, rows), xs).tanh_()  # (N, M*V*E, T)
        lib = native.library("hg_embed", _EMBED_KERNEL)
        ptr = native.pointer
        mean64 = th.new_empty(channels, dtype=torch.float64)
        m2 = th.new_empty(channels, dtype=torch.float64)
        native.run(
            [
                (lib.skelab_hg_embed_stats, (ptr(th), ptr(mean64), ptr(m2), n, channels, t, i, j))
                for i, j in native.split(channels, 64)
            ]
        )
        count = n * t
        var64 = m2 / count
        invstd64 = (var64 + eps).rsqrt()
        scale64 = gamma.detach().double() * invstd64
        shift64 = beta.detach().double() - mean64 * scale64
        scale, shift = scale64.float(), shift64.float()
        out = th.new_empty(n * m, e, t, v)
        apply_args = (ptr(th), ptr(scale), ptr(shift), ptr(out), n, m, v, e, t)
        native.run(
            [(lib.skelab_hg_embed_apply, (*apply_args, i, j)) for i, j in native.split(e, 4)]
        )
        if r_mean is not None and r_var is not None and momentum:
            with torch.no_grad():
                unbiased = var64 * (count / max(count - 1, 1))
                r_mean.mul_(1 - momentum).add_(mean64.to(r_mean.dtype), alpha=momentum)
                r_var.mul_(1 - momentum).add_(unbiased.to(r_var.dtype), alpha=momentum)
        ctx.save_for_backward(xs, weight, th, gamma, mean64.float(), invstd64.float())
        ctx.dims = (n, c, t, v, m, e)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):  # type: ignore[override]
        xs, weight, th, gamma, mean, invstd = ctx.saved_tensors
        n, c, t, v, m, e = ctx.dims
        rows, channels = n * m * v, m * v * e
        grad = grad.contiguous()
        lib = native.library("hg_embed", _EMBED_KERNEL)
        ptr = native.pointer
        s1 = grad.new_empty(channels, dtype=torch.float64)
        s2 = grad.new_empty(channels, dtype=torch.float64)
        ranges = native.split(e, 4)
        sum_args = (ptr(grad), ptr(th), ptr(s1), ptr(s2), n, m, v, e, t)
        native.run([(lib.skelab_hg_embed_sums, (*sum_args, i, j)) for i, j in ranges])
        count = n * t
        mean64, inv64 = mean.double(), invstd.double()
        centred = s2 - mean64 * s1  # sum of g * (th - mean)
        k = torch.stack(
            [gamma.detach().double() * inv64, s1 / count, inv64.square() * centred / count, mean64],
            dim=1,
        ).float()
        # the pre-tanh gradient, written over th (read only here)
        back_args = (ptr(grad), ptr(th), ptr(k), n, m, v, e, t)
        native.run([(lib.skelab_hg_embed_backward, (*back_args, i, j)) for i, j in ranges])
        # the kernel wrote th through a pointer: mark it modified, so that a second backward
        # through a retained graph fails autograd's saved-tensor check instead of reading it
        torch.autograd.graph.increment_version(th)
        ge = th.view(rows, e, t)
        need = ctx.needs_input_grad
        g_x = g_w = g_b = g_pos = None
        if need[0]:
            g_x = torch.bmm(batched(weight.t(), rows), ge).view(n, m, v, c, t)
            g_x = g_x.permute(0, 3, 4, 2, 1)  # (N, C, T, V, M)
        if need[1]:
            g_w = torch.bmm(ge, xs.transpose(1, 2)).sum(0)  # (E, C)
        g_shift = ge.sum(2).view(n * m, v, e)
        if need[2]:
            g_b = g_shift.sum((0, 1))
        if need[3]:
            g_pos = g_shift.sum(0).unsqueeze(0)
        g_gamma = (inv64 * centred).to(grad.dtype) if need[4] else None
        g_beta = s1.to(grad.dtype) if need[5] else None
        return g_x, g_w, g_b, g_pos, g_gamma, g_beta, None, None, None, None


def divergence_loss(hyper_joints: list[Tensor]) -> Tensor:
    """Mean over layers of the mean positive cosine similarity between distinct virtual joints.

    For each (P, C) matrix: S = cosine similarities (P, P); (sum relu(S) - P) / (P (P - 1))."""
    terms = []
    for joints in hyper_joints:
        p = joints.shape[0]
        unit = F.normalize(joints, dim=1)
        sim = unit @ unit.t()  # (P, P), diagonal 1
        terms.append((F.relu(sim).sum() - p) / (p * (p - 1)))
    return torch.stack(terms).mean()


# --------------------------------------------------------------------------------------------
# Builders


def _check_options(
    name: str,
    *,
    num_classes: int,
    in_channels: int,
    num_joints: int,
    num_persons: int,
    window: int,
    hyper_joints: int,
    dropout: float,
    graph: str | None,
    graph_args: dict[str, Any] | None,
) -> None:
    """Reject option combinations upstream cannot build, naming the valid values."""
    if num_joints != NUM_JOINTS:
        raise ModelConfigError(
            f"{name}: num_joints={num_joints}, but the Hyper-GCN graph is NTU's 25 joints",
            fix="use num_joints=25 (NTU RGB+D joint layout)",
        )
    if graph is not None and graph != UPSTREAM_GRAPH:
        raise ModelConfigError(
            f"{name}: graph {graph!r} is not supported",
            fix=f"use graph={UPSTREAM_GRAPH!r} (NTU RGB+D, with virtual joints) or leave it out",
        )
    args = dict(graph_args or {})
    labeling = args.pop("labeling_mode", UPSTREAM_LABELING)
    if labeling != UPSTREAM_LABELING or args:
        raise ModelConfigError(
            f"{name}: graph_args {graph_args!r} are not supported",
            fix=f"use graph_args={{'labeling_mode': {UPSTREAM_LABELING!r}}} or leave it out",
        )
    for key, value, low in (
        ("num_classes", num_classes, 1),
        ("in_channels", in_channels, 1),
        ("num_persons", num_persons, 1),
        ("hyper_joints", hyper_joints, 2),
        ("window", window, 4),
    ):
        if value < low:
            raise ModelConfigError(
                f"{name}: {key}={value} must be >= {low}", fix=f"set {key} >= {low}"
            )
    if not 0.0 <= dropout < 1.0:
        raise ModelConfigError(f"{name}: dropout={dropout} must be in [0, 1)", fix="use e.g. 0")


def _build(
    name: str, widths: tuple[int, int, int], *, divergence_weight: float, **opts: Any
) -> HyperGCN:
    _check_options(name, **opts)
    return HyperGCN(
        num_classes=opts["num_classes"],
        in_channels=opts["in_channels"],
        num_persons=opts["num_persons"],
        num_virtual=opts["hyper_joints"],
        widths=widths,
        dropout=opts["dropout"],
        divergence_weight=divergence_weight,
    )


_NOTES = (
    "Parameter count includes the fixed graph PA (9 x 8 x 28 x 28 = 56,448 values, "
    "requires_grad=False). Train with cross-entropy (label smoothing 0.1) plus "
    "auxiliary_losses()['divergence'] (weight 1). Any window works; upstream trains at 64. "
    "Per-stream NTU60 X-Sub accuracies are not published; the ensemble weights are in the "
    "preset notes."
)


@register_model(
    ModelCard(
        name="hypergcn",
        title="Hyper-GCN (base)",
        paper="Zhou et al., Adaptive Hyper-Graph Convolution Network for Skeleton-based Human "
        "Action Recognition with Virtual Connections",
        venue="ICCV",
        year=2025,
        upstream="github.com/6UOOON9/Hyper-GCN model/hypergcn_base.py",
        default_window=64,
        joint_layout="ntu25 (N, 3, T, 25, 2)",
        streams=("joint", "bone", "joint_motion", "bone_motion"),
        params_ntu60=1_098_125,
        reported_top1={"ensemble": 93.3},
        notes=_NOTES,
    )
)
def hypergcn(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = NUM_JOINTS,
    num_persons: int = 2,
    window: int = 64,
    dropout: float = 0.0,
    hyper_joints: int = 3,
    divergence_weight: float = 1.0,
    graph: str | None = None,
    graph_args: dict[str, Any] | None = None,
) -> HyperGCN:
    """Hyper-GCN base: widths 128/256/256, 3 virtual joints (upstream `hypergcn_base.Model`)."""
    return _build(
        "hypergcn",
        (128, 256, 256),
        divergence_weight=divergence_weight,
        num_classes=num_classes,
        in_channels=in_channels,
        num_joints=num_joints,
        num_persons=num_persons,
        window=window,
        hyper_joints=hyper_joints,
        dropout=dropout,
        graph=graph,
        graph_args=graph_args,
    )


@register_model(
    ModelCard(
        name="hypergcn-large",
        title="Hyper-GCN (large)",
        paper="Zhou et al., Adaptive Hyper-Graph Convolution Network for Skeleton-based Human "
        "Action Recognition with Virtual Connections",
        venue="ICCV",
        year=2025,
        upstream="github.com/6UOOON9/Hyper-GCN model/hypergcn_large.py",
        default_window=64,
        joint_layout="ntu25 (N, 3, T, 25, 2)",
        streams=("joint", "bone", "joint_motion", "bone_motion"),
        params_ntu60=2_361_741,
        reported_top1={"ensemble": 93.7},
        notes=_NOTES,
    )
)
def hypergcn_large(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = NUM_JOINTS,
    num_persons: int = 2,
    window: int = 64,
    dropout: float = 0.0,
    hyper_joints: int = 3,
    divergence_weight: float = 1.0,
    graph: str | None = None,
    graph_args: dict[str, Any] | None = None,
) -> HyperGCN:
    """Hyper-GCN large: widths 128/256/512, 3 virtual joints (upstream `hypergcn_large.Model`)."""
    return _build(
        "hypergcn-large",
        (128, 256, 512),
        divergence_weight=divergence_weight,
        num_classes=num_classes,
        in_channels=in_channels,
        num_joints=num_joints,
        num_persons=num_persons,
        window=window,
        hyper_joints=hyper_joints,
        dropout=dropout,
        graph=graph,
        graph_args=graph_args,
    )
