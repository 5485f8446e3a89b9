"""DeGCN: deformable graph convolutional networks, as released.

Paper: Myung, Su, Xue, Wang, "DeGCN: Deformable Graph Convolutional Networks for Skeleton-Based
Action Recognition", IEEE Transactions on Image Processing 2024 (doi 10.1109/TIP.2024.3378886).
Upstream: github.com/WoominM/DeGCN_pytorch, model/degcn.py (`Model`, `DeGCN`) and
model/modules.py (`Basic_Block`, `ST_GC`, `CTR_GC`, `DeTGC`, `MultiScale_TemporalModeling`,
`PointWiseTCN`), graph/ntu_rgb_d.py, main.py (the loss); commit a0a261f.

Written from upstream's shapes, layer order and checkpoint keys (1,380,754 parameters and 1,345
state-dict entries for NTU60 with two streams). What the released code computes, which is not
all of the paper: the paper's deformable *spatial* graph convolution (DeSGC) is a stub upstream
("not included in the open-source release"), and every block after the first uses a CTR-GCN-style
channel-wise refined graph convolution over 4 channel groups instead; the first block (3 input
channels) uses a plain 3-subset graph convolution. The deformable *temporal* convolution (DeTGC)
is there: each of its `eta` taps samples the frame axis at a learned fractional offset `tr`
(linear interpolation between the two neighbouring frames, clamped at the clip's ends), and a
convolution over the `eta` samples mixes them. The network runs `num_stream` (2) identical
10-block streams side by side on the same normalised input; each has its own classifier, and the
prediction is the sum of their logits. LeakyReLU(0.1) is the activation everywhere.

How skelab differs from upstream (the golden test checks the float32 outputs against upstream's):

* `forward` returns the summed logits (upstream's prediction, (N, num_classes)), so training,
  evaluation, ensembles and export treat DeGCN like any model. The per-stream logits of the last
  forward are kept and `stream_logits()` returns them; the loss hook
  (`skelab.engine.losses.compute_loss`) then takes the label-smoothed cross-entropy of each
  stream and sums them, as upstream's main.py does, instead of the cross-entropy of the sum.
* Upstream's window is fixed at 64 frames (`base_frame`): the temporal sampling indices are
  clamped to frames 0..63 (then 0..31, 0..15 after each stride), so a 48-frame clip fails inside
  `gather` and a longer clip is silently read as if it ended at frame 63. skelab refuses any
  window other than 64, when the model is built and when it is called.
* DeTGC: the sampling positions are the same for every sample, channel and joint, so the two
  frames around each position are picked with one `index_select` along T rather than a `gather`
  with indices expanded to (N, C, eta*T, V), and mixed with one `torch.lerp`; the Conv3d with
  kernel (eta, 1, 1) over the samples runs as a 1x1 conv over (channel, sample) pairs with the
  same weights, and its BatchNorm3d is a BatchNorm2d on the same values (same checkpoint keys).
  Gradients match upstream's, the offsets' included (the floor is taken without gradient, as
  upstream does).
* Every 1x1 convolution (the graph convs' query, key, value and relation convs, the residuals,
  the branches' opening convs, the deformable taps' mixing conv) runs as batched matrix products
  per sample and channel group (`pointwise`, `layers.pointwise.conv1x1`): the same sums without
  oneDNN's layout reorders or PyTorch's slow grouped-conv path. The temporal module's stride-1
  opening convs run as one product with their weights stacked, their BatchNorms as one batch
  norm over the stacked channels (`layers.tcn.stacked_batch_norm`: per channel, so exact; each
  module's running statistics move as its own forward would move them).
* CTR_GC: the query/key 1x1 convs run on the time-averaged input (a 1x1 conv is affine, so this
  equals averaging their output, T times cheaper), and the per-channel aggregation is one batched
  matrix product over (sample, group, channel) with the three subsets in its contraction.
* Module names are skelab's; `upstream_key_map` renames upstream's keys (`block-{i}_tcngcn`,
  the `nn.Sequential` indices of the temporal branches), so upstream checkpoints load strictly.
* The graph is skelab's `ntu25` spatial partition, which equals DeGCN's graph/ntu_rgb_d.py
  (CTR-GCN's hand edges 22-23-8, 24-25-12); other skelab layouts can be passed as `skeleton`.
  It only initialises the learnable `A` of each block.
* Upstream also accepts a 3-D input (N, T, V*C); skelab takes only (N, C, T, V, M).
* Upstream's `k` (DeSGC's neighbour count), `graph` and `graph_args` are accepted and checked;
  `k` is unused, as upstream. Only 3 input channels are accepted: upstream builds a CTR_GC first
  block for any other count, whose grouped convs do not divide for small inputs.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.errors import ModelConfigError, SkelabError
from skelab.models.layers.batchnorm import batch_norm_act
from skelab.models.layers.pointwise import conv1x1, eager_cpu, pointwise
from skelab.models.layers.tcn import frame_max_pool, fusable_batch_norms, stacked_heads
from skelab.models.registry import ModelCard, register_model
from skelab.skeletons import Skeleton, get_skeleton

WINDOW = 64  # upstream `base_frame`: the only clip length the released model runs correctly
NUM_SUBSETS = 3  # identity, inward, outward ("spatial" labeling)
NUM_GROUPS = 4  # upstream `num_scale`: channel groups of every block after the first
LEAKY_SLOPE = 0.1
BASE_CHANNELS = 64
UPSTREAM_GRAPH = "graph.ntu_rgb_d.Graph"


def _init_conv(conv: nn.Conv2d | nn.Conv3d) -> None:
    """Upstream `init_param`: Kaiming normal over fan-out for LeakyReLU(0.1), zero bias."""
    nn.init.kaiming_normal_(conv.weight, a=LEAKY_SLOPE, mode="fan_out", nonlinearity="leaky_relu")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


# values per chunk of the CTR aggregation's (samples, G, S, C', T, V) product: 16 MB of float32
_CHUNK_VALUES = 1 << 22


class PointWise(nn.Module):
    """1x1 conv (optionally strided over frames, grouped), BatchNorm; upstream `PointWiseTCN`."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, stride=(stride, 1), groups=groups)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return batch_norm_act(self.bn, pointwise(self.conv, x))


class SpatialGraphConv(nn.Module):
    """First block's graph conv: one 1x1 conv per subset, aggregated by a learned A; `ST_GC`."""

    def __init__(self, c_in: int, c_out: int, graph: Tensor) -> None:
        super().__init__()
        self.A = nn.Parameter(graph.clone())  # (S, V, V), row v gathers from column u
        self.conv = nn.Conv2d(c_in, c_out * graph.shape[0], 1)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor, res: Tensor | None = None) -> Tensor:
        """bn(graph conv(x)) + res."""
        n, _, t, v = x.shape
        s = self.A.shape[0]
        values = pointwise(self.conv, x).view(n, s, -1, t, v)  # (N, S, C_out, T, V)
        return batch_norm_act(self.bn, torch.einsum("svu,nsctu->nctv", self.A, values), res)


class GroupedCTRGraphConv(nn.Module):
    """Channel-wise refined graph conv over `groups` channel groups; upstream `CTR_GC`.

    Per group and subset, every output channel aggregates its values with its own topology:
    alpha * conv4(tanh(q_v - k_u)) + A, where q and k embed the time-averaged input."""

    def __init__(self, c_in: int, c_out: int, graph: Tensor, groups: int) -> None:
        super().__init__()
        s = graph.shape[0]
        rel = c_in // 8 if c_in != 3 else 8
        self.groups = groups
        self.A = nn.Parameter(graph.clone())
        self.conv1 = nn.Conv2d(c_in, rel * s, 1, groups=groups)  # queries
        self.conv2 = nn.Conv2d(c_in, rel * s, 1, groups=groups)  # keys
        self.conv3 = nn.Conv2d(c_in, c_out * s, 1, groups=groups)  # values
        self.conv4 = nn.Conv2d(rel * s, c_out * s, 1, groups=groups * s)  # relation -> channels
        self.alpha = nn.Parameter(torch.zeros(1))
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor, res: Tensor | None = None) -> Tensor:
        """bn(graph conv(x)) + res."""
        n, _, t, v = x.shape
        g, s = self.groups, self.A.shape[0]
        mean = x.mean(2, keepdim=True)  # (N, C_in, 1, V): the 1x1 convs commute with the mean
        q = pointwise(self.conv1, mean).squeeze(2)  # (N, G*S*R, V)
        k = pointwise(self.conv2, mean).squeeze(2)
        if eager_cpu(x):
            # the relations transposed, [u, v], the layout the aggregation's product reads
            rel_t = torch.tanh(q.unsqueeze(-2) - k.unsqueeze(-1))  # (N, G*S*R, U, V)
            return batch_norm_act(self.bn, self._aggregate(x, rel_t), res)
        rel = torch.tanh(q.unsqueeze(-1) - k.unsqueeze(-2))  # (N, G*S*R, V, V)
        theta = pointwise(self.conv4, rel).view(n, g, s, -1, v, v)  # (N, G, S, C', V, V)
        theta = theta * self.alpha + self.A.view(1, 1, s, 1, v, v)
        values = pointwise(self.conv3, x).view(n, g, s, -1, t, v)  # (N, G, S, C', T, V)
        c = values.shape[3]
        # out[n, g, c, t, v] = sum over (s, u) of values[n, g, s, c, t, u] * theta[n, g, s, c, v, u]
        lhs = values.permute(0, 1, 3, 4, 2, 5).reshape(n * g * c, t, s * v)
        rhs = theta.permute(0, 1, 3, 2, 5, 4).reshape(n * g * c, s * v, v)
        out = torch.bmm(lhs, rhs).view(n, g * c, t, v)
        return batch_norm_act(self.bn, out, res)

    def _aggregate(self, x: Tensor, rel_t: Tensor) -> Tensor:
        """`forward`'s aggregation without the (N, G, S, C', V, V) temporaries: the topology
        alpha * conv4(rel) + A comes out of one product, rel extended by two constant
        channels (A and ones, weighted 1 and alpha * bias), and the per-channel aggregation is
        one batched product per (sample, group, subset, channel) in the layouts the 1x1 convs
        write, summed over the subsets after (no regrouping copies, forward or backward). Takes
        the relations transposed, rel_t[.., u, v] = tanh(q_v - k_u), so the topology comes out
        as the product's right-hand side, [u, v]."""
        n, _, t, v = x.shape
        g, s = self.groups, self.A.shape[0]
        gs = g * s
        r = rel_t.shape[1] // gs
        c = self.conv4.out_channels // gs
        vv = v * v
        a_t = self.A.transpose(1, 2).reshape(s, vv)
        consts = torch.stack([a_t, torch.ones_like(a_t)], 1)
        consts = consts.view(1, 1, s, 2, vv).expand(n, g, -1, -1, -1)  # (N, G, S, 2, V*V)
        rel_t = torch.cat([rel_t.view(n, g, s, r, vv), consts], 3).view(n * gs, r + 2, vv)
        w = self.conv4.weight.view(gs, c, r) * self.alpha
        b = (self.conv4.bias * self.alpha).view(gs, c, 1)
        w = torch.cat([w, torch.ones_like(b), b], 2)  # (G*S, C', R + 2)
        # A few samples at a time, so that the (samples, G, S, C', T, V) values, products and
        # their gradients, and the topology, stay under glibc's mmap threshold (32 MB): above
        # it every such tensor is a fresh mapping, page-faulted in on each step (the 128- and
        # 256-channel blocks' full-batch products are 39 MB). Split, not sliced: the backward
        # concatenates the chunks' gradients once.
        step = max(1, _CHUNK_VALUES // (gs * c * max(t, v) * v))
        outs = []
        for xm, rel in zip(x.split(step), rel_t.split(step * gs), strict=True):
            m = xm.shape[0]
            wm = w.unsqueeze(0).expand(m, -1, -1, -1).reshape(m * gs, c, r + 2)
            theta_t = torch.bmm(wm, rel)  # (m*G*S, C', U*V): theta[.., c, v, u] at [c, u*V + v]
            values = pointwise(self.conv3, xm).view(m * gs * c, t, v)  # (m, G, S, C', T, U)
            out = torch.bmm(values, theta_t.view(m * gs * c, v, v))
            outs.append(out.view(m, g, s, c, t, v).sum(2))
        out = outs[0] if len(outs) == 1 else torch.cat(outs)
        return out.view(n, g * c, t, v)


class _FrameTaps(torch.autograd.Function):
    """`lerp(x[lo], x[lo + 1], frac)` along frames for `eta` taps whose frames lie a fixed
    offset from every stride-th frame (lo[e, o] = o * stride + offsets[e], clamped to the clip),
    read from strided views of the edge-padded input and written into one (N, C, eta, T', V)
    buffer; the backward adds each tap's gradient into strided views of one padded gradient
    (no index_add) and saves only x. Same values as index_select + lerp; the offsets get no
    gradient (the floor), frac gets lerp's."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, frac: Tensor, offsets: list[int], stride: int) -> Tensor:
        n, c, t, v = x.shape
        eta, t_out = frac.shape
        span = stride * (t_out - 1) + 1  # frames from the first read of a tap to its last
        pad = max(1, -min(offsets), max(offsets) + span - t + 1)
        xp = F.pad(x, (0, 0, pad, pad), mode="replicate")  # frame i at pad + i, ends repeated
        out = x.new_empty(n, c, eta, t_out, v)
        for e, f in enumerate(offsets):
            lo = xp[:, :, pad + f : pad + f + span : stride]
            hi = xp[:, :, pad + f + 1 : pad + f + 1 + span : stride]
            torch.lerp(lo, hi, frac[e].view(t_out, 1), out=out[:, :, e])
        ctx.save_for_backward(x, frac)
        ctx.taps = (offsets, stride, pad)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        x, frac = ctx.saved_tensors
        offsets, stride, pad = ctx.taps
        n, c, t, v = x.shape
        eta, t_out = frac.shape
        span = stride * (t_out - 1) + 1
        gp = x.new_zeros(n, c, t + 2 * pad, v)
        grad_frac = None
        if ctx.needs_input_grad[1]:
            xp = F.pad(x, (0, 0, pad, pad), mode="replicate")
            diff = xp[:, :, 1:] - xp[:, :, :-1]  # x[lo + 1] - x[lo]
            grad_frac = torch.stack(
                [
                    (grad[:, :, e] * diff[:, :, pad + f : pad + f + span : stride]).sum((0, 1, 3))
                    for e, f in enumerate(offsets)
                ]
            )
        for e, f in enumerate(offsets):
            w = frac[e].view(t_out, 1)
            ge = grad[:, :, e]
            gp[:, :, pad + f : pad + f + span : stride].addcmul_(ge, 1 - w)
            gp[:, :, pad + f + 1 : pad + f + 1 + span : stride].addcmul_(ge, w)
        gx = gp[:, :, pad : pad + t]
        gx[:, :, :1] += gp[:, :, :pad].sum(2, keepdim=True)  # the clamped reads of frame 0
        gx[:, :, -1:] += gp[:, :, pad + t :].sum(2, keepdim=True)  # and of the last frame
        return gx, grad_frac, None, None


class DeformableTemporalConv(nn.Module):
    """Upstream `DeTGC`: `eta` taps at learned fractional frame offsets `tr`, mixed by a conv.

    For output frame o and tap e the input is read at o * stride + tr[e], linearly interpolated
    between its two neighbouring frames and clamped to the clip."""

    def __init__(
        self, channels: int, eta: int, kernel: int, dilation: int, stride: int, frames: int
    ) -> None:
        super().__init__()
        reach = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
        self.stride, self.frames = stride, frames
        self.tr = nn.Parameter(torch.linspace(-reach, reach, eta))  # offsets of the taps
        self.conv = nn.Conv3d(channels, channels, (eta, 1, 1))  # mixes channels and taps
        self.bn = nn.BatchNorm2d(channels)  # upstream's BatchNorm3d on (N, C, 1, T', V)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v = x.shape
        eta = self.tr.shape[0]
        t_out = t // self.stride
        starts = torch.arange(0, t, self.stride, dtype=x.dtype, device=x.device)
        pos = starts.view(1, -1) + self.tr.to(x.dtype).view(-1, 1)  # (eta, T') sample positions
        below = pos.detach().floor()
        frac = pos - below  # (eta, T') weight of the later frame
        offsets = below[:, :1]  # floor(tr[e])
        # below[e, o] = o * stride + floor(tr[e]) unless rounding moved a position across an
        # integer (then the general path)
        if eager_cpu(x) and t == self.frames and torch.equal(below, starts.view(1, -1) + offsets):
            samples = _FrameTaps.apply(x, frac, offsets.long().flatten().tolist(), self.stride)
        else:
            last = self.frames - 1
            lo = below.clamp(0, last).long().flatten()
            hi = (below + 1).clamp(0, last).long().flatten()
            x_lo, x_hi = x.index_select(2, lo), x.index_select(2, hi)  # (N, C, eta*T', V)
            samples = torch.lerp(x_lo, x_hi, frac.view(1, 1, -1, 1))  # x_lo + frac * (x_hi - x_lo)
        # (N, C, eta, T', V) -> channels (c, e), matching the Conv3d weight (C_out, C, eta, 1, 1).
        samples = samples.view(n, c * eta, t_out, v)
        weight = self.conv.weight.reshape(self.conv.out_channels, c * eta, 1, 1)
        return batch_norm_act(self.bn, conv1x1(samples, weight, self.conv.bias))


class DeformableBranch(nn.Module):
    """1x1 conv + BN, LeakyReLU, deformable temporal conv: upstream `tcn1` / `tcn2`."""

    def __init__(
        self, c_in: int, width: int, eta: int, dilation: int, stride: int, frames: int
    ) -> None:
        super().__init__()
        self.pre = PointWise(c_in, width)
        self.deform = DeformableTemporalConv(width, eta, 5, dilation, stride, frames)

    def forward(self, x: Tensor) -> Tensor:
        return self.deform(F.leaky_relu(self.pre(x), LEAKY_SLOPE))


class PoolBranch(nn.Module):
    """1x1 conv + BN, LeakyReLU, max over 3 frames (strided), BN: upstream `maxpool3x1`."""

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        self.pre = PointWise(c_in, width)
        self.pool = nn.MaxPool2d((3, 1), (stride, 1), (1, 0))  # no parameters: no keys
        self.bn = nn.BatchNorm2d(width)

    def forward(self, x: Tensor) -> Tensor:
        x = F.leaky_relu(self.pre(x), LEAKY_SLOPE)
        return batch_norm_act(self.bn, frame_max_pool(self.pool, x))  # max of shifted views


class MultiScaleTemporal(nn.Module):
    """Four branches of C/4 channels, concatenated: two deformable (dilation 1 and 2), max-pool,
    strided 1x1; upstream `MultiScale_TemporalModeling` (no residual, no activation)."""

    def __init__(self, channels: int, eta: int, stride: int, frames: int) -> None:
        super().__init__()
        width = channels // NUM_GROUPS
        self.tcn1 = DeformableBranch(channels, width, eta, 1, stride, frames)
        self.tcn2 = DeformableBranch(channels, width, eta, 2, stride, frames)
        self.maxpool3x1 = PoolBranch(channels, width, stride)
        self.conv1x1 = PointWise(channels, width, stride=stride)

    def forward(self, x: Tensor) -> Tensor:
        heads = [self.tcn1.pre, self.tcn2.pre, self.maxpool3x1.pre]
        if self.conv1x1.conv.stride == (1, 1):
            heads.append(self.conv1x1)
        if not fusable_batch_norms([h.bn for h in heads]):
            return torch.cat([self.tcn1(x), self.tcn2(x), self.maxpool3x1(x), self.conv1x1(x)], 1)
        # The branches' opening 1x1 convs read the same input: one product with their weights
        # stacked, one batch norm over the stacked channels (per channel, so exact).
        pieces = stacked_heads(x, [h.conv for h in heads], [h.bn for h in heads])
        act = [F.leaky_relu(piece, LEAKY_SLOPE) for piece in pieces[:3]]
        last = pieces[3] if len(heads) == 4 else self.conv1x1(x)
        pooled = frame_max_pool(self.maxpool3x1.pool, act[2])
        return torch.cat(
            [
                self.tcn1.deform(act[0]),
                self.tcn2.deform(act[1]),
                batch_norm_act(self.maxpool3x1.bn, pooled),
                last,
            ],
            1,
        )


class DeGCNBlock(nn.Module):
    """lrelu(tcn(lrelu(gcn(x) + residual1(x))) + residual2(x)); upstream `Basic_Block`."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        graph: Tensor,
        eta: int,
        stride: int,
        frames: int,
        residual: bool,
    ) -> None:
        super().__init__()
        groups = 1 if c_in == 3 else NUM_GROUPS
        if c_in == 3:
            self.gcn: nn.Module = SpatialGraphConv(c_in, c_out, graph)
        else:
            self.gcn = GroupedCTRGraphConv(c_in, c_out, graph, groups)
        self.tcn = MultiScaleTemporal(c_out, eta, stride, frames)
        # Identity and absent residuals hold no parameters (upstream uses lambdas).
        self.residual1 = PointWise(c_in, c_out, groups=groups) if c_in != c_out else None
        self.residual2 = (
            PointWise(c_in, c_out, stride=stride, groups=groups)
            if residual and (c_in != c_out or stride != 1)
            else None
        )
        self.has_residual2 = residual
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                _init_conv(m)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        skip = x if self.residual1 is None else self.residual1(x)
        # the sums and activations run in place on fresh outputs (BatchNorm's, cat's), whose
        # backwards do not read them; LeakyReLU's backward reads its output
        y = self.gcn(x, skip)  # bn(gcn) + skip in one pass
        y = self.tcn(F.leaky_relu_(y, LEAKY_SLOPE))
        if self.has_residual2:
            y += x if self.residual2 is None else self.residual2(x)
        return F.leaky_relu_(y, LEAKY_SLOPE)


def _block_plan(in_channels: int) -> list[tuple[int, int, int, bool, int]]:
    """(C_in, C_out, stride, residual, frames) of the 10 blocks: widths 64/128/256."""
    b, f = BASE_CHANNELS, WINDOW
    return [
        (in_channels, b, 1, False, f),
        (b, b, 1, True, f),
        (b, b, 1, True, f),
        (b, b, 1, True, f),
        (b, 2 * b, 2, True, f),
        (2 * b, 2 * b, 1, True, f // 2),
        (2 * b, 2 * b, 1, True, f // 2),
        (2 * b, 4 * b, 2, True, f // 2),
        (4 * b, 4 * b, 1, True, f // 4),
        (4 * b, 4 * b, 1, True, f // 4),
    ]


def _check_window(t: int, where: str) -> None:
    if t != WINDOW:
        raise ModelConfigError(
            f"degcn: {where} {t} frames, but DeGCN runs on {WINDOW}-frame clips only (upstream "
            f"hard-codes base_frame={WINDOW}: shorter clips crash there, longer ones are read "
            f"as if they ended at frame {WINDOW - 1})",
            fix=f"resample clips to {WINDOW} frames: --set data.window={WINDOW}",
        )


class DeGCN(nn.Module):
    """Input BN over (person, joint, channel), `num_streams` parallel 10-block streams, one
    classifier per stream; returns the sum of the streams' logits."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        num_persons: int,
        graph: Tensor,
        num_streams: int,
        eta: int,
        dropout: float,
    ) -> None:
        super().__init__()
        v = graph.shape[-1]
        self.data_bn = nn.BatchNorm1d(num_persons * in_channels * v)
        plan = _block_plan(in_channels)
        self.streams = nn.ModuleList(
            nn.ModuleList(
                DeGCNBlock(c_in, c_out, graph, eta, stride, frames, residual)
                for c_in, c_out, stride, residual, frames in plan
            )
            for _ in range(num_streams)
        )
        width = plan[-1][1]
        self.fc = nn.ModuleList(nn.Linear(width, num_classes) for _ in range(num_streams))
        for fc in self.fc:
            nn.init.normal_(fc.weight, 0.0, math.sqrt(2.0 / num_classes))
        nn.init.ones_(self.data_bn.weight)
        nn.init.zeros_(self.data_bn.bias)
        self.drop_out = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self._stream_logits: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape  # (N, C, T, V, M)
        _check_window(t, "the input has")
        # data_bn normalises each (person, joint, channel) over batch and frames.
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t))
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        logits = []
        for blocks, fc in zip(self.streams, self.fc, strict=True):
            y = x
            for block in blocks:
                y = block(y)  # ends (N*M, 256, T/4, V)
            y = y.reshape(n, m, y.shape[1], -1).mean(3).mean(1)  # (N, 256)
            logits.append(fc(self.drop_out(y)))
        self._stream_logits = logits
        return torch.stack(logits).sum(0)  # (N, num_classes): upstream's prediction

    def stream_logits(self) -> list[Tensor]:
        """Each stream's logits from the last forward; the loss hook sums their losses."""
        if not self._stream_logits:
            raise SkelabError(
                "DeGCN's per-stream logits need a forward pass first",
                fix="call the model on a batch before stream_logits()",
            )
        return list(self._stream_logits)

    @staticmethod
    def upstream_key_map(key: str) -> str:
        """Upstream key -> skelab key: block names, the temporal branches' Sequential indices."""
        key = re.sub(r"^streams\.(\d+)\.block-(\d+)_tcngcn\.", r"streams.\1.\2.", key)
        key = re.sub(r"\.tcn\.(tcn[12])\.0\.", r".tcn.\1.pre.", key)
        key = re.sub(r"\.tcn\.(tcn[12])\.2\.tr$", r".tcn.\1.deform.tr", key)
        key = re.sub(r"\.tcn\.(tcn[12])\.2\.conv_out\.0\.", r".tcn.\1.deform.conv.", key)
        key = re.sub(r"\.tcn\.(tcn[12])\.2\.conv_out\.1\.", r".tcn.\1.deform.bn.", key)
        key = re.sub(r"\.tcn\.maxpool3x1\.0\.", ".tcn.maxpool3x1.pre.", key)
        return re.sub(r"\.tcn\.maxpool3x1\.3\.", ".tcn.maxpool3x1.bn.", key)


def _check_options(
    *,
    graph: str,
    graph_args: dict[str, Any] | None,
    in_channels: int,
    num_classes: int,
    num_persons: int,
    num_streams: int,
    eta: int,
    dropout: float,
    window: int,
) -> None:
    """Reject what upstream cannot build or run, naming the valid values."""
    _check_window(window, "window is")
    if graph != UPSTREAM_GRAPH:
        raise ModelConfigError(
            f"degcn: graph {graph!r} is not supported",
            fix=f"use {UPSTREAM_GRAPH!r} (upstream's NTU graph) or pass skeleton='...'",
        )
    args = dict(graph_args or {})
    if args.pop("labeling_mode", "spatial") != "spatial" or args:
        raise ModelConfigError(
            f"degcn: graph_args {graph_args!r} are not supported",
            fix="use graph_args={'labeling_mode': 'spatial'} (upstream's only mode)",
        )
    if in_channels != 3:
        raise ModelConfigError(
            f"degcn: in_channels={in_channels}; the released model is built for 3 "
            "(upstream's first block becomes a grouped CTR_GC otherwise, which does not divide)",
            fix="use in_channels=3 (x, y, z or x, y, score)",
        )
    for key, value in (
        ("num_classes", num_classes),
        ("num_persons", num_persons),
        ("num_stream", num_streams),
        ("eta", eta),
    ):
        if value < 1:
            raise ModelConfigError(
                f"degcn: {key}={value} must be >= 1",
                fix="upstream's NTU configs: num_class 60/120, num_person 2, num_stream 2, eta 4",
            )
    if not 0.0 <= dropout < 1.0:
        raise ModelConfigError(
            f"degcn: dropout={dropout} is outside [0, 1)", fix="use 0 (upstream's NTU configs)"
        )


@register_model(
    ModelCard(
        name="degcn",
        title="DeGCN",
        paper="Myung et al., DeGCN: Deformable Graph Convolutional Networks for Skeleton-Based "
        "Action Recognition",
        venue="TIP",
        year=2024,
        upstream="github.com/WoominM/DeGCN_pytorch model/degcn.py",
        default_window=WINDOW,
        joint_layout="ntu25 (N, 3, 64, 25, 2); other skelab layouts with skeleton=",
        streams=("joint", "bone", "joint_motion", "bone_motion"),
        params_ntu60=1_380_754,
        reported_top1={"ensemble": 93.6},
        notes=(
            "Top-1, 4-stream ensemble (paper, as listed by benchmark aggregators; upstream's "
            "README gives no numbers and no weights): NTU60 X-Sub 93.6, X-View 97.4, NTU120 "
            "X-Sub 91.0, X-Set 92.1. Per-stream numbers were not found. The released code lacks "
            "the paper's deformable spatial graph conv (CTR-GCN-style graph convs instead); the "
            "deformable temporal conv is in. Two parallel streams, prediction = sum of their "
            "logits; training loss = sum of their label-smoothed (0.1) cross-entropies. Window "
            "fixed at 64 frames. Recipe: SGD nesterov momentum 0.9, lr 0.1, wd 4e-4, 5 warm-up "
            "epochs, cosine over 60 epochs while above 0.01 then x0.1 steps at 35/60/75, 80 "
            "epochs, batch 64, CTR-GCN's feeder."
        ),
    )
)
def degcn(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = 25,
    num_persons: int = 2,
    window: int = WINDOW,
    dropout: float = 0.0,
    num_stream: int = 2,
    eta: int = 4,
    k: int = 8,
    graph: str = UPSTREAM_GRAPH,
    graph_args: dict[str, Any] | None = None,
    skeleton: str | Skeleton = "ntu25",
) -> DeGCN:
    """DeGCN as released: two parallel 10-block streams, widths 64/128/256, 4 deformable taps.

    `num_stream`, `eta`, `k`, `graph` and `graph_args` are upstream's constructor keywords
    (`k` is unused upstream too). `skeleton` names another joint layout (`skelab.skeletons`)."""
    del k  # upstream's DeSGC neighbour count; the released model never uses it
    _check_options(
        graph=graph,
        graph_args=graph_args,
        in_channels=in_channels,
        num_classes=num_classes,
        num_persons=num_persons,
        num_streams=num_stream,
        eta=eta,
        dropout=dropout,
        window=window,
    )
    layout = get_skeleton(skeleton)
    if num_joints != layout.num_joints:
        raise ModelConfigError(
            f"degcn: num_joints={num_joints}, but the {layout.name!r} graph has "
            f"{layout.num_joints} joints",
            fix="pass the data's layout, e.g. skeleton='nwucla20' (a dataset's `ds.skeleton`)",
        )
    return DeGCN(
        num_classes=num_classes,
        in_channels=in_channels,
        num_persons=num_persons,
        graph=torch.from_numpy(layout.spatial.astype("float32")),
        num_streams=num_stream,
        eta=eta,
        dropout=dropout,
    )
