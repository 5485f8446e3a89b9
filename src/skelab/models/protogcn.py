"""ProtoGCN: prototype reconstruction of motion topologies, with class-specific contrast.

Paper: Liu et al., "Revealing Key Details to See Differences: A Novel Prototypical Perspective
for Skeleton-based Action Recognition", CVPR 2025, arXiv 2411.18941.
Upstream: github.com/firework8/ProtoGCN (built on PYSKL), commit ddf7f27:
protogcn/models/gcns/protogcn.py (`ProtoGCN`, `GCN_Block`, `Prototype_Reconstruction_Network`),
gcns/utils/gcn.py (`unit_gcn`), gcns/utils/tcn.py (`unit_tcn`, `mstcn`),
heads/simple_head.py and heads/base.py (`SimpleHead`, its loss),
losses/Class_Specific_Contrastive_Loss.py, recognizers/recognizergcn.py, utils/graph.py.

Written from the paper and upstream shapes. Module names match PYSKL's recognizer (`backbone.*`,
`cls_head.*`), so released checkpoints (mmcv runner files with a `state_dict` entry) load as
they are through `skelab.models.load_upstream_checkpoint`.

The network: a data BatchNorm over (joint, channel), then 10 blocks (widths 96/192/384, stride 2
at blocks 5 and 8). Each block's graph convolution mixes joints through 8 learned graphs (random
init, no skeleton edges) refined per sample and channel by a tanh of feature differences and a
softmax of feature products ("motion topology enhancement"); its temporal part is a 6-branch
multi-scale TCN that also sees a per-frame mean "global joint". The last block's refinement graph
(N, 384, V, V), averaged over persons, is rebuilt from learned prototypes (the PRN: softmax over
`num_prototype` query scores, then a memory matrix), projected to one (V x V) graph per sample,
and trained with the class-specific contrastive loss against a per-class memory.

Differences from upstream (none changes the function; the golden tests hold to rel. err. 1e-4):

* Input is skelab's (N, C, T, V, M); upstream's backbone takes PYSKL's (N, M, T, V, C). The
  model permutes once at the start; the data BatchNorm sees the same (V*C) channels in the same
  (joint, channel) order.
* `forward` returns the logits only. In training mode it keeps the reconstructed graph, and
  `auxiliary_losses(logits=..., labels=...)` returns upstream's class-specific contrastive loss
  times `cls_head.weight` (0.2 for j/jm, 0.3 for b/bm, 0.1 for k/km in the released configs);
  the trainer adds it to the cross-entropy. This is the step that updates the memory, as in
  upstream (`BaseHead.loss`).
* The contrastive memory `avg_f` (256, num_classes) is a persistent buffer
  (`cls_head.csc_loss.avg_f`), so skelab checkpoints carry it and a resumed run continues with
  the same memory. Upstream keeps it as a plain attribute (not saved; redrawn at random on every
  restart). Upstream state dicts lack the key: the loader keeps the model's value (drawn at
  construction, as upstream). Under DDP, buffers are broadcast from rank 0 at each forward, so
  every rank shares rank 0's memory; upstream's ranks each keep their own.
* In eval mode the prototype branch (PRN, `post`, `bn`) is skipped: it never reaches the
  logits. `forward_with_graph` computes it in either mode. Only the last block builds the
  refinement graph it reads; upstream builds it in every block and drops nine.
* The multi-scale TCN's branches that open with 1x1 conv + BN + ReLU read the same input: their
  convs run as one conv (weights stacked along the output channels) and their BatchNorms as one
  batch norm over the stacked channels (`skelab.models.layers.tcn.stacked_batch_norm`; per
  channel, so exact, and each module's running statistics move as its own forward would move
  them). The weights stay in their modules under upstream's keys.
* The PRN runs on all samples at once (a Linear over the last axis); upstream loops over samples.
* `conv1` and `conv2` of the graph convolution see the frame mean of their input (they are 1x1
  convolutions, so this equals upstream's convolve-then-average); A, the subset-wise and the
  channel-wise refinement are summed with the small terms first, in one multiply-add.
* The graphs `A` are drawn with torch's generator (N(0.04, 0.02^2), upstream's `mode='random'`
  values) instead of numpy's; the PRN dropout (hard-coded 0.1 upstream) is the `prn_dropout`
  option, default 0.1.
* `unit_gcn.alpha` and `.beta` keep all `num_filter` (8) entries, as upstream saves them, but
  only entry 0 is used, as upstream; the other 7 are dead parameters (zero gradient), kept so
  checkpoints load strictly and the parameter count (4,344,860 for the NTU60 joint config)
  agrees.
* The PRN width is the last block's width; upstream hard-codes 384 (the same for the released
  widths). The MS-TCN global-joint weights `add_coeff` hold max(25, V) entries; upstream holds
  25 and fails for V > 25.
* Upstream's head accepts only the 'nturgb+d' (625) and 'coco_new' (400) joint configs for the
  contrastive projection; skelab sizes it V*V for any layout.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.errors import ModelConfigError, SkelabError
from skelab.models.layers.batchnorm import batch_norm_act
from skelab.models.layers.pointwise import bn_residual_relu, eager_cpu, pointwise
from skelab.models.layers.tcn import (
    frame_conv,
    frame_max_pool,
    frame_mean,
    fusable_batch_norms,
    stacked_heads,
)
from skelab.models.registry import ModelCard, register_model
from skelab.skeletons import Skeleton, get_skeleton

NUM_FILTERS = 8  # upstream graph_cfg.num_filter: graphs (subsets) per graph convolution
GRAPH_RATIO = 0.125  # unit_gcn ratio: channels per subset = ratio * C_out
ADD_COEFF_JOINTS = 25  # upstream mstcn num_joints default
CSC_HIDDEN = 256  # contrastive projection width
CSC_TEMPERATURE = 0.125
CSC_MOMENTUM = 0.9
DEFAULT_MS_CFG: tuple[Any, ...] = ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1")

# PYSKL graph layout names -> skelab skeletons (ProtoGCN's graph is random: only V matters).
PYSKL_LAYOUTS: dict[str, str] = {"nturgb+d": "ntu25", "openpose": "openpose18", "coco": "coco17"}
PYSKL_JOINTS: dict[str, int] = {"openpose_new": 20, "coco_new": 20}


# --------------------------------------------------------------------------------------------
# Graph convolution with motion topology enhancement (upstream `unit_gcn`)


class _RefinedGraph(torch.autograd.Function):
    """`base + alpha * tanh(q[..., :, None] - p[..., None, :])`, (N, K, C', V, V) for base
    (N, K, 1, V, V), saving only the tanh. Its backward writes the two full-size passes the
    function needs (the tanh derivative, the reduction over channels into `base`) plus one dot
    product for alpha, instead of autograd's chain (grad * alpha, the subtraction's negated
    copy, a product for alpha's gradient): alpha scales the small (N, K, C', V) sums of q's and
    p's gradients.

    Given `intra` (N, K, 1, V, V) it also returns the refinement graph `intra + alpha * tanh`
    (the last block's, which the PRN reads) from the same tanh; the backward adds the two
    outputs' gradients once and reduces the sum."""

    @staticmethod
    def forward(
        ctx: Any, q: Tensor, p: Tensor, base: Tensor, alpha: Tensor, intra: Tensor | None = None
    ) -> Tensor | tuple[Tensor, Tensor]:
        # tanh(u) = 2 sigmoid(2u) - 1: ATen's CPU sigmoid takes a third of its tanh's time
        # (3.8M values: 4.8 vs 15-18 ms); 2q - 2p is 2(q - p) exactly, and the float32
        # error stays at tanh's own (~1e-7 absolute)
        inter = torch.sub((2 * q).unsqueeze(-1), (2 * p).unsqueeze(-2)).sigmoid_()
        inter.mul_(2).sub_(1)
        ctx.save_for_backward(inter, alpha)
        ctx.set_materialize_grads(False)  # an unused graph output sends no gradient
        full = torch.addcmul(base, inter, alpha)
        if intra is None:
            return full
        return full, torch.addcmul(intra, inter, alpha)

    @staticmethod
    def backward(ctx: Any, grad: Tensor | None, *grad_graph: Tensor | None) -> tuple:
        inter, alpha = ctx.saved_tensors
        need_q, need_p, need_base, need_alpha, *need_intra = ctx.needs_input_grad
        count = len(ctx.needs_input_grad)  # 5 with `intra`, else 4
        g_graph = grad_graph[0] if grad_graph else None
        grad_base = grad_intra = None
        if need_base and grad is not None:
            grad_base = grad.sum(2, keepdim=True)  # base is (N, K, 1, V, V)
        if need_intra and need_intra[0] and g_graph is not None:
            grad_intra = g_graph.sum(2, keepdim=True)
        if grad is None:
            grad = g_graph
        elif g_graph is not None:
            grad = grad + g_graph
        if grad is None:
            return (None, None, grad_base, None, grad_intra)[:count]
        grad = grad.contiguous()
        grad_q = grad_p = grad_alpha = None
        if need_alpha:
            grad_alpha = torch.dot(grad.view(-1), inter.view(-1)).view(alpha.shape)
        if need_q or need_p:
            d = torch.ops.aten.tanh_backward(grad, inter)  # grad * (1 - tanh^2)
            grad_q = d.sum(-1) * alpha if need_q else None
            grad_p = d.sum(-2) * -alpha if need_p else None
        return (grad_q, grad_p, grad_base, grad_alpha, grad_intra)[:count]


class ProtoGraphConv(nn.Module):
    """8 learned graphs, refined per sample and channel, aggregate joints; then post, BN, ReLU."""

    def __init__(self, c_in: int, c_out: int, num_joints: int, num_filters: int = NUM_FILTERS):
        super().__init__()
        k = num_filters
        mid = int(GRAPH_RATIO * c_out)
        self.num_subsets = k
        self.mid_channels = mid
        a = torch.randn(k, num_joints, num_joints) * 0.02 + 0.04  # upstream Graph mode='random'
        self.A = nn.Parameter(a)
        self.pre = nn.Sequential(nn.Conv2d(c_in, mid * k, 1), nn.BatchNorm2d(mid * k), nn.ReLU())
        self.post = nn.Conv2d(mid * k, c_out, 1)
        self.alpha = nn.Parameter(torch.zeros(k))  # only entry 0 is used, as upstream
        self.beta = nn.Parameter(torch.zeros(k))
        self.conv1 = nn.Conv2d(c_in, mid * k, 1)
        self.conv2 = nn.Conv2d(c_in, mid * k, 1)
        if c_in != c_out:
            self.down: nn.Module = nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))
        else:
            self.down = nn.Identity()
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor, want_graph: bool = False) -> tuple[Tensor, Tensor | None]:
        n, c, t, v = x.shape  # (N, C_in, T, V)
        k, mid = self.num_subsets, self.mid_channels
        pre_x = batch_norm_act(self.pre[1], pointwise(self.pre[0], x), relu=True)
        pre_x = pre_x.view(n, k, mid, t, v)
        # conv1 / conv2 are 1x1 convolutions, so the frame mean can come first (upstream
        # convolves every frame, then averages): the same values at 1/T of the cost.
        x_mean = frame_mean(x)  # (N, C_in, 1, V); on the CPU its gradient is a broadcast view
        q = self.conv1(x_mean).view(n, k, mid, v)  # (N, K, C', V)
        p = self.conv2(x_mean).view(n, k, mid, v)
        # Subset-wise refinement: softmax over the row joint of sum_c q_i p_j.
        intra = torch.softmax(q.transpose(-1, -2) @ p, dim=-2) * self.beta[0]  # (N, K, V, V)
        # Channel-wise refinement: tanh(q_i - p_j), one (V, V) per (sample, subset, channel).
        # A + intra + alpha * inter, with the small (N, K, 1, V, V) terms summed first, so the
        # channel-wise graph is written once (one fused multiply-add).
        base = (intra + self.A).unsqueeze(2)
        graph = None  # the refinement alone, without A (the last block's, for the PRN)
        if eager_cpu(x):
            if want_graph:
                full, graph = _RefinedGraph.apply(q, p, base, self.alpha[0], intra.unsqueeze(2))
            else:
                full = _RefinedGraph.apply(q, p, base, self.alpha[0])
        else:
            inter = torch.tanh(q.unsqueeze(-1) - p.unsqueeze(-2))  # (N, K, C', V, V)
            full = torch.addcmul(base, inter, self.alpha[0])
            if want_graph:
                graph = torch.addcmul(intra.unsqueeze(2), inter, self.alpha[0])
        # y[w] = sum_v x[v] A[v, w]: the column is the destination joint.
        y = pre_x @ full  # (N, K, C', T, V)
        y = pointwise(self.post, y.reshape(n, k * mid, t, v))
        if graph is not None:
            graph = graph.reshape(n, k * mid, v, v)
        return bn_residual_relu(self.bn, y, self.down, x), graph


# --------------------------------------------------------------------------------------------
# Multi-scale temporal convolution with a global joint (upstream `mstcn`, `unit_tcn`)


class TemporalUnit(nn.Module):
    """Convolution over frames (kernel (k, 1)), optional BatchNorm; upstream `unit_tcn`."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int = 1, dilation: int = 1, norm=True
    ) -> None:
        super().__init__()
        pad = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(
            c_in, c_out, (kernel, 1), padding=(pad, 0), stride=(stride, 1), dilation=(dilation, 1)
        )
        self.bn: nn.Module = nn.BatchNorm2d(c_out) if norm else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        # (N, C, T, V) -> (N, C_out, T / stride, V)
        return batch_norm_act(self.bn, frame_conv(self.conv, x))


class MultiScaleTCN(nn.Module):
    """Temporal branches over the V joints plus their per-frame mean (a global joint), whose
    branch outputs are added to every joint with learned weights; then BN-ReLU-1x1 and BN."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        stride: int = 1,
        ms_cfg: tuple[Any, ...] = DEFAULT_MS_CFG,
        num_joints: int = ADD_COEFF_JOINTS,
    ) -> None:
        super().__init__()
        nb = len(ms_cfg)
        mid = c_out // nb
        first = c_out - mid * (nb - 1)  # branch 0 takes the remainder
        self.add_coeff = nn.Parameter(torch.zeros(num_joints))
        branches: list[nn.Module] = []
        for i, cfg in enumerate(ms_cfg):
            bc = first if i == 0 else mid
            if cfg == "1x1":
                branches.append(nn.Conv2d(c_in, bc, 1, stride=(stride, 1)))
                continue
            kind, size = cfg
            if kind == "max":
                last: nn.Module = nn.MaxPool2d((size, 1), stride=(stride, 1), padding=(1, 0))
            else:
                last = TemporalUnit(bc, bc, kind, stride, dilation=size, norm=False)
            branches.append(
                nn.Sequential(nn.Conv2d(c_in, bc, 1), nn.BatchNorm2d(bc), nn.ReLU(), last)
            )
        self.branches = nn.ModuleList(branches)
        width = first + mid * (nb - 1)
        self.transform = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, c_out, 1))
        self.bn = nn.BatchNorm2d(c_out)

    def _branch_outputs(self, x: Tensor) -> list[Tensor]:
        """Every branch's output. The branches that open with 1x1 conv + BN + ReLU read the same
        input, so those convs run as one conv with their weights stacked and their BatchNorms as
        one batch norm over the stacked channels (per channel, so exact; each module's running
        statistics are updated as its own forward would)."""
        heads = [b for b in self.branches if isinstance(b, nn.Sequential)]
        if not fusable_batch_norms([b[1] for b in heads]):
            return [branch(x) for branch in self.branches]
        pieces = iter(stacked_heads(x, [b[0] for b in heads], [b[1] for b in heads], relu=True))
        outs = []
        for branch in self.branches:
            if isinstance(branch, nn.Sequential):
                last, piece = branch[3], next(pieces)
                pool = isinstance(last, nn.MaxPool2d)  # max of shifted views on the CPU
                outs.append(frame_max_pool(last, piece) if pool else last(piece))
            else:  # the plain (strided) 1x1 branch
                outs.append(pointwise(branch, x))
        return outs

    def forward(self, x: Tensor, res: Tensor | None = None, relu: bool = False) -> Tensor:
        """The TCN's output, plus `res` and then a ReLU if asked (the block's ending, in the
        final batch norm's pass)."""
        v = x.shape[-1]
        cpu = eager_cpu(x)
        if cpu:  # (N, C, T, V + 1): the joints, then their mean (the global joint)
            x = _GlobalJoint.apply(x)
        else:
            x = torch.cat([x, x.mean(-1, keepdim=True)], dim=-1)
        outs = self._branch_outputs(x)
        # BatchNorm inside the branches sees the global column too, as upstream.
        if cpu:
            out = _GlobalJointMix.apply(self.add_coeff[:v], *outs)
        else:
            joints, glob = torch.cat(outs, dim=1).split([v, 1], dim=-1)
            out = torch.addcmul(joints, glob, self.add_coeff[:v])  # (N, C_out, T', V)
        bn, _, conv = self.transform
        out = pointwise(conv, batch_norm_act(bn, out, relu=True))
        return batch_norm_act(self.bn, out, res, relu=relu)


class _GlobalJoint(torch.autograd.Function):
    """`cat([x, x.mean(-1, keepdim=True)], -1)`: x (N, C, T, V) -> (N, C, T, V + 1), written
    into one buffer. Its backward is one pass, `g[..., :V] + g[..., V:] / V` (the mean's
    gradient divided on the (N, C, T, 1) column, then broadcast), where autograd's chain
    divided the expanded gradient over the full (N, C, T, V) and added it to the slice's in a
    second pass. The values are the same: each element is divided by V once, and the two
    terms are added once."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        v = x.shape[-1]
        out = x.new_empty(*x.shape[:-1], v + 1)
        out[..., :v] = x
        out[..., v:] = x.mean(-1, keepdim=True)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        v = grad.shape[-1] - 1
        return torch.add(grad[..., :v], grad[..., v:] / v)


class _GlobalJointMix(torch.autograd.Function):
    """`cat(branches)[..., :V] + cat(branches)[..., V:] * coeff` for branch outputs
    (N, C_i, T, V + 1): each branch's mix is written into its channels of one (N, C, T, V)
    buffer (no concatenated copy), and the global columns are kept as one (N, C, T) tensor.
    The backward reduces the whole gradient against `coeff` and against the global columns
    in one matrix-vector product each (one pass over the gradient, no per-branch products),
    then writes each branch's gradient: its joint columns and its global column."""

    @staticmethod
    def forward(ctx: Any, coeff: Tensor, *branches: Tensor) -> Tensor:
        n, _, t, v1 = branches[0].shape
        v = v1 - 1
        widths = [b.shape[1] for b in branches]
        out = branches[0].new_empty(n, sum(widths), t, v)
        for b, piece in zip(branches, out.split(widths, dim=1), strict=True):
            torch.addcmul(b[..., :v], b[..., v:], coeff, out=piece)
        glob = torch.cat([b[..., v] for b in branches], dim=1)  # (N, C, T)
        ctx.save_for_backward(coeff, glob)
        ctx.widths = widths
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        coeff, glob = ctx.saved_tensors
        n, c, t, v = grad.shape
        rows = grad.contiguous().view(n * c * t, v)
        grad_coeff = None
        if ctx.needs_input_grad[0]:  # sum over (N, C, T) of grad * glob
            grad_coeff = torch.mv(rows.t(), glob.reshape(-1))
        mixed = torch.mv(rows, coeff).view(n, c, t, 1)  # sum_v grad * coeff[v]
        grads = [
            torch.cat([g, m], dim=-1)  # (N, C_i, T, V + 1)
            for g, m in zip(
                rows.view(n, c, t, v).split(ctx.widths, 1),
                mixed.split(ctx.widths, 1),
                strict=True,
            )
        ]
        return (grad_coeff, *grads)


class ProtoGCNBlock(nn.Module):
    """relu(TCN(GCN(x)) + residual(x)); upstream `GCN_Block`."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        num_joints: int,
        stride: int = 1,
        residual: bool = True,
        ms_cfg: tuple[Any, ...] = DEFAULT_MS_CFG,
        coeff_joints: int = ADD_COEFF_JOINTS,
    ) -> None:
        super().__init__()
        self.gcn = ProtoGraphConv(c_in, c_out, num_joints)
        self.tcn = MultiScaleTCN(c_out, c_out, stride, ms_cfg, coeff_joints)
        self.has_residual = residual
        if residual and (c_in != c_out or stride != 1):
            self.residual: nn.Module = TemporalUnit(c_in, c_out, 1, stride)
        else:
            self.residual = nn.Identity()

    def forward(self, x: Tensor, want_graph: bool = False) -> tuple[Tensor, Tensor | None]:
        y, graph = self.gcn(x, want_graph)
        res = self.residual(x) if self.has_residual else None  # strided 1x1 unit or identity
        return self.tcn(y, res, relu=True), graph


class PrototypeReconstruction(nn.Module):
    """Each row becomes a convex mix of `n_prototype` learned prototypes (softmax attention);
    upstream `Prototype_Reconstruction_Network`."""

    def __init__(self, dim: int, n_prototype: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.query_matrix = nn.Linear(dim, n_prototype, bias=False)
        self.memory_matrix = nn.Linear(n_prototype, dim, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.memory_matrix(torch.softmax(self.query_matrix(x), dim=-1)))


class ProtoGCNBackbone(nn.Module):
    """Data BN, 10 blocks, and the prototype reconstruction of the last block's graph."""

    def __init__(
        self,
        *,
        in_channels: int,
        num_joints: int,
        num_persons: int,
        base_channels: int = 96,
        ch_ratio: int = 2,
        num_stages: int = 10,
        inflate_stages: tuple[int, ...] = (5, 8),
        down_stages: tuple[int, ...] = (5, 8),
        num_prototype: int = 100,
        ms_cfg: tuple[Any, ...] = DEFAULT_MS_CFG,
        prn_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        v = num_joints
        coeff = max(ADD_COEFF_JOINTS, v)
        self.data_bn = nn.BatchNorm1d(in_channels * v)
        blocks = [ProtoGCNBlock(in_channels, base_channels, v, 1, False, ms_cfg, coeff)]
        c_in, inflations = base_channels, 0
        for i in range(2, num_stages + 1):
            inflations += i in inflate_stages
            c_out = int(base_channels * ch_ratio**inflations + 1e-4)
            stride = 2 if i in down_stages else 1
            blocks.append(ProtoGCNBlock(c_in, c_out, v, stride, True, ms_cfg, coeff))
            c_in = c_out
        self.gcn = nn.ModuleList(blocks)
        self.out_channels = c_in
        self.post = nn.Conv2d(c_in, c_in, 1)
        self.bn = nn.BatchNorm2d(c_in)
        self.prn = PrototypeReconstruction(c_in, num_prototype, prn_dropout)

    def forward(self, x: Tensor, want_graph: bool) -> tuple[Tensor, Tensor | None]:
        n, c, t, v, m = x.shape  # (N, C, T, V, M)
        # data_bn normalises each (joint, channel) over persons, batch and frames.
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        x = self.data_bn(x).view(n * m, v, c, t).permute(0, 2, 3, 1).contiguous()
        last = len(self.gcn) - 1
        graph = None
        for i, block in enumerate(self.gcn):
            x, graph = block(x, want_graph and i == last)
        x = x.view(n, m, *x.shape[1:])  # (N, M, C, T', V)
        if graph is None:
            return x, None
        ch = graph.shape[1]
        graph = graph.view(n, m, ch, v * v).mean(1).transpose(1, 2)  # (N, V*V, C)
        graph = self.prn(graph)  # (N, V*V, C)
        if eager_cpu(graph):
            # `post` is a 1x1 conv: a Linear over the channels, read in the PRN's layout; the
            # result is viewed as (N, C, V, V) channels-last, which BatchNorm reads as it is
            graph = F.linear(graph, self.post.weight.flatten(1), self.post.bias)
            graph = graph.transpose(1, 2).view(n, ch, v, v)
        else:
            graph = self.post(graph.transpose(1, 2).reshape(n, ch, v, v))
        graph = self.bn(graph).relu_()
        return x, graph.mean(1).reshape(n, v * v)  # (N, V*V)


# --------------------------------------------------------------------------------------------
# Head and class-specific contrastive loss (upstream `SimpleHead`, `BaseHead.loss`)


class ClassSpecificContrast(nn.Module):
    """Contrast each sample's projected graph with a per-class memory (cosine / 0.125, CE).

    The memory moves towards the batch mean of the classes predicted correctly (momentum 0.9),
    and the loss scores against the moved memory, as upstream."""

    def __init__(self, num_classes: int, n_channel: int, hidden: int = CSC_HIDDEN) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.register_buffer("avg_f", torch.randn(hidden, num_classes))
        self.cl_fc = nn.Linear(n_channel, hidden)

    def forward(self, graph: Tensor, labels: Tensor, logits: Tensor) -> Tensor:
        feature = self.cl_fc(graph)  # (N, 256)
        k = self.num_classes
        pred_one = F.one_hot(logits.argmax(1), k).to(feature.dtype)
        label_one = F.one_hot(labels, k).to(feature.dtype)
        positive = (torch.softmax(logits, 1) > 0.0).to(feature.dtype)  # upstream pred_threshold
        mask = label_one * pred_one * positive  # (N, K): correctly predicted samples
        mask_sum = mask.sum(0, keepdim=True)  # (1, K)
        class_mean = (feature.t() @ mask) / (mask_sum + 1e-12)  # (256, K)
        keep = torch.where(mask_sum > 1e-8, CSC_MOMENTUM, 1.0)
        memory = self.avg_f * keep + (1 - keep) * class_mean  # gradient flows via class_mean
        with torch.no_grad():
            self.avg_f.copy_(memory)
        feature = feature / (feature.norm(dim=1, keepdim=True) + 1e-12)
        memory = memory / (memory.norm(dim=0, keepdim=True) + 1e-12)
        score = (feature @ memory) / CSC_TEMPERATURE  # (N, K)
        return F.cross_entropy(score, labels)


class SimpleHead(nn.Module):
    """Pool over frames, joints and persons, then a linear classifier; owns the contrast loss."""

    def __init__(
        self, num_classes: int, in_channels: int, num_joints: int, weight: float, dropout: float
    ) -> None:
        super().__init__()
        self.weight = weight
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.csc_loss = ClassSpecificContrast(num_classes, num_joints * num_joints)
        self.fc_cls = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.fc_cls.weight, 0.0, 0.01)
        nn.init.zeros_(self.fc_cls.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = x.mean(dim=(3, 4)).mean(dim=1)  # (N, M, C, T, V) -> (N, C)
        return self.fc_cls(self.dropout(x))  # (N, num_classes)


class ProtoGCN(nn.Module):
    """PYSKL `RecognizerGCN` with the ProtoGCN backbone and SimpleHead; skelab's input layout."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        num_joints: int,
        num_persons: int,
        num_prototype: int,
        loss_weight: float,
        ms_cfg: tuple[Any, ...] = DEFAULT_MS_CFG,
        prn_dropout: float = 0.1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.backbone = ProtoGCNBackbone(
            in_channels=in_channels,
            num_joints=num_joints,
            num_persons=num_persons,
            num_prototype=num_prototype,
            ms_cfg=ms_cfg,
            prn_dropout=prn_dropout,
        )
        width = self.backbone.out_channels
        self.cls_head = SimpleHead(num_classes, width, num_joints, loss_weight, dropout)
        self._graph: Tensor | None = None

    # The contrastive memory is not in upstream state dicts; it keeps the model's value.
    upstream_ignored_keys = ("cls_head.csc_loss.avg_f",)

    def forward_with_graph(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Logits (N, K) and the prototype-reconstructed graph (N, V*V), in either mode."""
        feats, graph = self.backbone(x, want_graph=True)
        assert graph is not None
        return self.cls_head(feats), graph

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            logits, self._graph = self.forward_with_graph(x)
            return logits
        feats, _ = self.backbone(x, want_graph=False)
        return self.cls_head(feats)  # (N, num_classes)

    def auxiliary_losses(self, *, logits: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Class-specific contrastive loss of the last training forward, times the head weight;
        updates the contrastive memory, as upstream's loss does."""
        if self._graph is None:
            raise SkelabError(
                "ProtoGCN's contrastive loss needs a training-mode forward pass first",
                fix="call model.train() and the model on a batch before auxiliary_losses()",
            )
        graph, self._graph = self._graph, None
        loss = self.cls_head.csc_loss(graph.float(), labels, logits.detach().float())
        return {"csc": self.cls_head.weight * loss}


# --------------------------------------------------------------------------------------------
# Builders


def _layout_joints(skeleton: str | Skeleton | dict[str, Any]) -> int:
    """Joint count of a skelab skeleton or a PYSKL graph layout name."""
    if isinstance(skeleton, str) and skeleton in PYSKL_JOINTS:
        return PYSKL_JOINTS[skeleton]
    if isinstance(skeleton, str) and skeleton in PYSKL_LAYOUTS:
        skeleton = PYSKL_LAYOUTS[skeleton]
    return get_skeleton(skeleton).num_joints


def _ms_cfg(value: Any) -> tuple[Any, ...]:
    """`tcn_ms_cfg` from a config file (lists) or Python (tuples), checked."""
    out: list[Any] = []
    for item in value:
        if item == "1x1":
            out.append(item)
            continue
        if isinstance(item, (list, tuple)) and len(item) == 2:
            kind, size = item
            if (kind == "max" or (isinstance(kind, int) and kind >= 1)) and isinstance(size, int):
                out.append((kind, size))
                continue
        raise ModelConfigError(
            f"protogcn: tcn_ms_cfg entry {item!r} is not (kernel, dilation), ('max', k) or '1x1'",
            fix="use upstream's [[3, 1], [3, 2], [3, 3], [3, 4], ['max', 3], '1x1']",
        )
    return tuple(out)


def _plain(value: Any) -> Any:
    """Tuples as lists, so config-file and Python values compare equal."""
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _upstream_options(backbone: dict[str, Any], cls_head: dict[str, Any]) -> dict[str, Any]:
    """skelab options from a PYSKL config's `model.backbone` and `model.cls_head`."""
    b = {k: v for k, v in backbone.items() if k != "type"}
    h = {k: v for k, v in cls_head.items() if k != "type"}
    if backbone.get("type", "ProtoGCN") != "ProtoGCN" or cls_head.get("type", "SimpleHead") != (
        "SimpleHead"
    ):
        raise ModelConfigError(
            f"protogcn: backbone type {backbone.get('type')!r} / head type "
            f"{cls_head.get('type')!r} are not ProtoGCN's",
            fix="use backbone type 'ProtoGCN' and cls_head type 'SimpleHead'",
        )
    graph = dict(b.pop("graph_cfg", {}))
    wanted = {"mode": "random", "num_filter": NUM_FILTERS, "init_off": 0.04, "init_std": 0.02}
    layout = graph.pop("layout", "nturgb+d")
    for key, value in graph.items():
        if wanted.get(key) != value:
            raise ModelConfigError(
                f"protogcn: graph_cfg {key}={value!r} is not supported",
                fix=f"use {wanted} (the released configs' graph)",
            )
    opts: dict[str, Any] = {"skeleton": layout}
    fixed = {
        "base_channels": 96, "ch_ratio": 2, "num_stages": 10, "inflate_stages": [5, 8],
        "down_stages": [5, 8], "data_bn_type": "VC", "pretrained": None,
    }  # fmt: skip
    for key, value in b.items():
        if key == "num_prototype":
            opts["num_prototype"] = value
        elif key == "tcn_ms_cfg":
            opts["tcn_ms_cfg"] = value
        elif key in ("in_channels", "num_person"):
            opts["in_channels" if key == "in_channels" else "num_persons"] = value
        elif key in fixed and _plain(value) == fixed[key]:
            continue
        else:
            raise ModelConfigError(
                f"protogcn: backbone option {key}={value!r} is not supported",
                fix="leave it out (the released configs use upstream's defaults)",
            )
    for key, value in h.items():
        if key in ("num_classes", "weight", "dropout"):
            opts["loss_weight" if key == "weight" else key] = value
        elif key == "joint_cfg":
            if _layout_joints(value) != _layout_joints(layout):
                raise ModelConfigError(
                    f"protogcn: cls_head joint_cfg {value!r} does not match layout {layout!r}",
                    fix="use the same layout for graph_cfg.layout and cls_head.joint_cfg",
                )
        elif key == "in_channels":
            if value != 384:
                raise ModelConfigError(
                    f"protogcn: cls_head in_channels={value}, but the backbone ends with 384",
                    fix="use in_channels=384",
                )
        elif key in ("mode", "init_std") or (
            key == "loss_cls" and value.get("type") == ("CrossEntropyLoss")
        ):
            continue
        else:
            raise ModelConfigError(
                f"protogcn: cls_head option {key}={value!r} is not supported",
                fix="leave it out (the released configs use upstream's defaults)",
            )
    return opts


_NOTES = (
    "Published top-1 (upstream data/README.md): NTU60 X-Sub J 91.54 B 91.98 K 91.59, 2s 92.96, "
    "4s 93.53, 6s 93.81; X-View J 96.33 B 96.15 K 96.61, 6s 97.76; NTU120 X-Sub J 85.52 "
    "B 88.96 K 88.30, 6s 90.92; X-Set J 88.35 B 90.01 K 89.65, 6s 92.16 (motion streams alone "
    "not published). Ensemble (tools/ensemble.py, on test-time softmax scores of 10 clips): "
    "J 2, B 2, K 2, JM 1, BM 1, KM 1. Train with cross-entropy plus auxiliary_losses()['csc'] "
    "(weight 0.2 j/jm, 0.3 b/bm, 0.1 k/km). Any window works; upstream samples 100 frames. "
    "The graphs are learned from random init, so any joint layout works (the contrastive head "
    "reads V*V); num_prototype 400 for j/jm, 100 for the others."
)


@register_model(
    ModelCard(
        name="protogcn",
        title="ProtoGCN",
        paper="Liu et al., Revealing Key Details to See Differences: A Novel Prototypical "
        "Perspective for Skeleton-based Action Recognition",
        venue="CVPR",
        year=2025,
        upstream="github.com/firework8/ProtoGCN protogcn/models/gcns/protogcn.py",
        default_window=100,
        joint_layout="any (N, C, T, V, M); released: ntu25 (N, 3, T, 25, 2), coco_new 20",
        streams=("joint", "bone", "k_bone", "joint_motion", "bone_motion", "k_bone_motion"),
        params_ntu60=4_344_860,
        reported_top1={"joint": 91.54, "bone": 91.98, "k_bone": 91.59, "ensemble": 93.81},
        head="cls_head",  # its fc_cls and the class-feature memory of its loss
        any_layout=True,
        notes=_NOTES,
    )
)
def protogcn(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int | None = None,
    num_persons: int = 2,
    window: int = 100,
    dropout: float = 0.0,
    num_prototype: int = 400,
    loss_weight: float = 0.2,
    prn_dropout: float = 0.1,
    tcn_ms_cfg: Any = DEFAULT_MS_CFG,
    skeleton: str | Skeleton | dict[str, Any] = "ntu25",
    backbone: dict[str, Any] | None = None,
    cls_head: dict[str, Any] | None = None,
    type: str | None = None,  # noqa: A002 - PYSKL's model dict key, swallowed
    train_cfg: dict[str, Any] | None = None,
    test_cfg: dict[str, Any] | None = None,
) -> ProtoGCN:
    """ProtoGCN on any joint layout, widths 96/192/384, as in the released NTU configs.

    Also takes a PYSKL config's whole `model` dict: `build('protogcn', **cfg.model)` with
    `backbone` (num_prototype, tcn_ms_cfg, graph_cfg) and `cls_head` (num_classes, weight,
    joint_cfg, in_channels); `type`, `train_cfg` and `test_cfg` are accepted and ignored.
    `loss_weight` is the head's `weight` on the contrastive loss; `window` is accepted for a
    uniform interface (nothing in the network depends on T).
    """
    if type is not None and type != "RecognizerGCN":
        raise ModelConfigError(
            f"protogcn: model type {type!r} is not ProtoGCN's recognizer",
            fix="use type='RecognizerGCN' or leave it out",
        )
    if backbone is not None or cls_head is not None:
        opts = _upstream_options(backbone or {}, cls_head or {})
        skeleton = opts.pop("skeleton")
        num_prototype = opts.pop("num_prototype", num_prototype)
        tcn_ms_cfg = opts.pop("tcn_ms_cfg", tcn_ms_cfg)
        num_classes = opts.pop("num_classes", num_classes)
        loss_weight = opts.pop("loss_weight", loss_weight)
        dropout = opts.pop("dropout", dropout)
        in_channels = opts.pop("in_channels", in_channels)
        num_persons = opts.pop("num_persons", num_persons)
    v = _layout_joints(skeleton)
    if num_joints is not None and num_joints != v:
        raise ModelConfigError(
            f"protogcn: num_joints={num_joints}, but layout {skeleton!r} has {v} joints",
            fix="pass the data's layout, e.g. skeleton='coco17' (a dataset's `ds.skeleton`)",
        )
    for key, value in (
        ("num_classes", num_classes),
        ("in_channels", in_channels),
        ("num_persons", num_persons),
        ("window", window),
        ("num_prototype", num_prototype),
    ):
        if value < 1:
            raise ModelConfigError(f"protogcn: {key}={value} must be >= 1", fix=f"set {key} >= 1")
    for key, value in (("dropout", dropout), ("prn_dropout", prn_dropout)):
        if not 0.0 <= value < 1.0:
            raise ModelConfigError(f"protogcn: {key}={value} is outside [0, 1)", fix="use 0")
    if not math.isfinite(loss_weight) or loss_weight < 0:
        raise ModelConfigError(
            f"protogcn: loss_weight={loss_weight} must be >= 0", fix="use 0.2 (joint configs)"
        )
    return ProtoGCN(
        num_classes=num_classes,
        in_channels=in_channels,
        num_joints=v,
        num_persons=num_persons,
        num_prototype=num_prototype,
        loss_weight=loss_weight,
        ms_cfg=_ms_cfg(tcn_ms_cfg),
        prn_dropout=prn_dropout,
        dropout=dropout,
    )
