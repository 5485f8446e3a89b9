"""CTR-GCN: channel-wise topology refinement graph convolution.

Paper: Chen et al., "Channel-wise Topology Refinement Graph Convolution for Skeleton-Based
Action Recognition", ICCV 2021 (arXiv 2107.12213).
Upstream: github.com/Uason-Chen/CTR-GCN, model/ctrgcn.py (`Model`, `TCN_GCN_unit`, `unit_gcn`,
`CTRGC`, `MultiScale_TemporalConv`, `unit_tcn`), graph/ntu_rgb_d.py.

Written from the paper and upstream's shapes, layer order and checkpoint keys. Attribute names
match upstream, so official checkpoints load as-is (822 state-dict entries for NTU60, 1,446,672
parameters; 1,462,092 for NTU120).

Each of the ten blocks is a graph convolution (`gcn1`) followed by a multi-scale temporal
convolution (`tcn1`). The graph convolution sums three subsets (self, inward, outward). Per
subset, every output channel gets its own joint-to-joint topology: a learned prior `PA[i]`
plus `alpha` times a refinement computed from pairwise differences of time-averaged joint
embeddings.

How skelab differs from upstream (all exact in real arithmetic; the golden test checks the
float32 outputs against upstream's):

* The three subsets share one embedding matmul instead of a Python loop over three `CTRGC`
  modules: their `conv1`/`conv2` weights stay stored per subset under upstream's keys
  (`gcn1.convs.{0,1,2}.conv*`) and are concatenated in `forward`, so one matmul replaces the
  six conv1/conv2 calls. Per subset, the values `conv3_i(x)` and the topology (built
  transposed, (N, C_out, w, u)) are each their own contiguous tensor, and the joint product
  runs as a batched matmul over (sample, channel) accumulated over the subsets (`bmm`, then
  `baddbmm_` in place), so neither the forward nor the backward copies or permutes them. The
  topology's conv4 product runs through `conv1x1` too (`torch.matmul` would compute it
  transposed and copy the result).
* The 1x1 convolutions of the graph convolution (`conv3`, the projection in `down`) run as
  batched matmuls over the samples (`skelab.models.layers.pointwise.conv1x1`), not through
  oneDNN's convolution, whose layout reorders cost as much as the product at these widths.
* In eager float32 on the CPU the values and topology products run through `_CTRProduct`,
  a written forward and backward: conv3 of the three subsets is one product per sample
  (weights stacked channel-major), which writes each (sample, channel)'s values of all
  subsets as one (3*V, T) block, so the joint product is one K = 75 product, and the
  backward runs sample by sample through small scratch tensors, writing x's gradient once.
  The tensors it saves for the backward are lent by the module between training steps
  (`layers.spares`, not state; dropped by `eval()`), so a step does not allocate and page-fault
  them anew. On a GPU, the meta device, under autocast and in export the plain ops run, and
  so they do without autograd (inference), where the per-sample loop does not pay.
* BatchNorm + residual + ReLU at the end of the graph convolution, and the block's residual +
  ReLU, run in place on the fresh BatchNorm / TCN outputs, as upstream's do.
* `conv1`/`conv2` run on the time-averaged input. A 1x1 conv is affine, so averaging over
  frames before or after it gives the same result; before is T times cheaper.
* `alpha` multiplies the small `conv4` weight and bias instead of the (N, 3, C_out, V, V)
  refinement, and the prior `PA` is added in place to the matmul output, so only one tensor
  of that size is kept for the backward pass.
* Upstream also accepts a 3-D input (N, T, V*C); skelab takes only (N, C, T, V, M).
* With `adaptive=False` upstream moves its fixed graph with `.cuda()`; skelab keeps it as a
  non-persistent buffer (not in the state dict, as upstream), so it works on any device.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from skelab.errors import ModelConfigError
from skelab.models.layers.batchnorm import batch_norm_act
from skelab.models.layers.init import constant_bn_, kaiming_conv_
from skelab.models.layers.pointwise import bn_residual_relu, conv1x1, eager_cpu
from skelab.models.layers.spares import LendingModule, give_back, lend
from skelab.models.layers.tcn import ctrgcn_temporal, frame_mean, unit_tcn
from skelab.models.registry import ModelCard, register_model
from skelab.skeletons import Skeleton, get_skeleton, joints_fix

NUM_SUBSETS = 3  # self, inward, outward ("spatial" labeling)
UPSTREAM_GRAPH = "graph.ntu_rgb_d.Graph"


def rel_channels(c_in: int) -> int:
    """Width R of the refinement embedding: 8 for 3- or 9-channel input, else C_in / 8."""
    return 8 if c_in in (3, 9) else c_in // 8


class CTRGC(nn.Module):
    """One subset's weights: embeddings conv1/conv2 (C_in->R), values conv3, conv4 (R->C_out).

    `CTRGraphConv` computes all three subsets at once from these parameters, so this module
    has no forward of its own; it exists to keep upstream's keys `convs.{i}.conv{1..4}`.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        r = rel_channels(c_in)
        self.conv1 = nn.Conv2d(c_in, r, 1)
        self.conv2 = nn.Conv2d(c_in, r, 1)
        self.conv3 = nn.Conv2d(c_in, c_out, 1)
        self.conv4 = nn.Conv2d(r, c_out, 1)


class CTRGraphConv(LendingModule):
    """Upstream `unit_gcn`: sum of three channel-wise refined graph convolutions, BN, residual."""

    def __init__(self, c_in: int, c_out: int, graph: Tensor, adaptive: bool = True) -> None:
        super().__init__()
        self.adaptive = adaptive
        self.convs = nn.ModuleList(CTRGC(c_in, c_out) for _ in range(NUM_SUBSETS))
        if adaptive:
            self.PA = nn.Parameter(graph.clone())  # (3, V, V), learned and weight-decayed
        else:
            self.register_buffer("A", graph.clone(), persistent=False)
        self.alpha = nn.Parameter(torch.zeros(1))  # refinement scale, shared by the subsets
        if c_in != c_out:
            self.down: nn.Module = nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))
        else:
            self.down = nn.Identity()
        self.bn = nn.BatchNorm2d(c_out)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_conv_(m)
            elif isinstance(m, nn.BatchNorm2d):
                constant_bn_(m, 1.0)
        constant_bn_(self.bn, 1e-6)  # the block starts close to its residual path

    def _stacked(self, name: str) -> tuple[Tensor, Tensor]:
        """Weights (S*C_o, C_i) and biases (S*C_o) of conv `name` of the 3 subsets, stacked."""
        convs = [getattr(m, name) for m in self.convs]
        return torch.cat([c.weight.flatten(1) for c in convs]), torch.cat([c.bias for c in convs])

    def forward(self, x: Tensor) -> Tensor:
        n, _, t, v = x.shape  # (N, C_in, T, V)
        s = NUM_SUBSETS
        graph = self.PA if self.adaptive else self.A  # (S, V, V)

        # Embeddings of the time-averaged input, all subsets and both convs in one matmul.
        w1, b1 = self._stacked("conv1")
        w2, b2 = self._stacked("conv2")
        w_qk, b_qk = torch.cat([w1, w2]), torch.cat([b1, b2])
        # the frame mean's gradient is a broadcast view on the CPU (layers.tcn.frame_mean)
        qk = torch.matmul(w_qk, frame_mean(x).squeeze(2)) + b_qk[:, None]  # (N, 2*S*R, V)
        r = qk.shape[1] // (2 * s)
        q, k = qk.view(n, 2, s, r, v).unbind(1)  # (N, S, R, V) each
        # rel_i[u, w] = tanh(q_i[u] - k_i[w]), built transposed: (N, S, R, w, u)
        rel_t = (q.unsqueeze(-2) - k.unsqueeze(-1)).tanh_()
        if eager_cpu(x) and torch.is_grad_enabled():  # without a backward the plain ops win
            y = self._product_fast(x, rel_t, graph)
        else:
            y = self._product(x, rel_t, graph)
        return bn_residual_relu(self.bn, y, self.down, x)  # (N, C_out, T, V)

    def _product(self, x: Tensor, rel_t: Tensor, graph: Tensor) -> Tensor:
        """y = sum_i conv3_i(x) @ theta_i^T over joints, (N, C_out, T, V), with autograd's ops."""
        n, _, t, v = x.shape
        s = NUM_SUBSETS
        # Per subset i and output channel c the topology theta_i = alpha * conv4_i(rel_i) + PA_i,
        # and y = sum_i values_i @ theta_i^T over joints, values_i = conv3_i(x). theta_i is
        # built transposed, (N, C_out, w, u), and each subset's values and theta are their own
        # contiguous tensors, so the per-(n, c) matmuls (forward and backward) read and write
        # them in place: no copies, no stacking. alpha scales the small conv4 weight and bias,
        # not the large product.
        graph_t = graph.transpose(1, 2).reshape(s, 1, v * v)  # PA_i^T, (w, u) flattened
        y: Tensor | None = None
        for i, conv in enumerate(self.convs):
            w4 = self.alpha * conv.conv4.weight.flatten(1)  # (C_out, R)
            c_out = w4.shape[0]
            # conv1x1's batched product writes it contiguous (torch.matmul would run
            # (C_out, R) @ (N, R, V*V) transposed and copy its result)
            theta_t = conv1x1(rel_t[:, i], w4).view(n, c_out, v * v)
            theta_t += (self.alpha * conv.conv4.bias).view(c_out, 1) + graph_t[i]
            values = conv1x1(x, conv.conv3.weight, conv.conv3.bias).view(n * c_out, t, v)
            theta_t = theta_t.view(n * c_out, v, v)
            # accumulated in place: the running sum is saved by no backward
            y = torch.bmm(values, theta_t) if y is None else y.baddbmm_(values, theta_t)
        assert y is not None
        return y.view(n, -1, t, v)

    def _product_fast(self, x: Tensor, rel_t: Tensor, graph: Tensor) -> Tensor:
        """`_product` through `_CTRProduct` (eager float32 CPU): the same function."""
        n, _, _, v = x.shape
        s = NUM_SUBSETS
        convs = self.convs
        # conv3 of the 3 subsets as one weight with rows (c, i): output channel-major
        w3 = torch.stack([m.conv3.weight.flatten(1) for m in convs], 1).flatten(0, 1)
        b3 = torch.stack([m.conv3.bias for m in convs], 1).flatten()
        w4 = self.alpha * torch.stack([m.conv4.weight.flatten(1) for m in convs])  # (S, C_out, R)
        b4 = self.alpha * torch.stack([m.conv4.bias for m in convs])  # (S, C_out)
        # the topology's constant part: alpha * b4_i[c] + PA_i^T[w, u], (C_out, S, V*V)
        c4 = (b4.unsqueeze(-1) + graph.transpose(1, 2).reshape(s, 1, v * v)).transpose(0, 1)
        return _CTRProduct.apply(x, w3, b3, rel_t.flatten(3), w4, c4, self.spares())


class _CTRProduct(torch.autograd.Function):
    """`CTRGraphConv._product` with a written backward, for eager float32 on the CPU.

    Inputs: x (N, C_in, T, V); w3 (C_out*S, C_in) and b3 (C_out*S), the conv3 weights of the
    S subsets with rows (c, i); rel (N, S, R, V*V), the tanh'd embedding differences with
    (w, u) flattened; w4 (S, C_out, R) and c4 (C_out, S, V*V), alpha * conv4's weight and
    alpha * conv4's bias + PA_i^T. Output y (N, C_out, T, V).

    Per (sample, channel) the values of all subsets are one (S*V, T) block and the topologies
    one (S*V, V) block, so the joint product is one K = S*V product, y = vals^T @ theta, with
    no accumulation passes; for that, conv3 reads each sample with frames and joints
    transposed (V, T), one small copy per sample. Forward and backward run sample by sample:
    the transposed sample, its values' gradient and its topology's gradient live in small
    scratch tensors that stay in cache, conv3's input gradient is written straight into x's
    (no (N, S*C_out, ...) gradient tensor), and its weight gradient is accumulated in the
    products (beta 1). The saved values and topologies (3 and 3*V/T times the output) come
    from the module's spares when it trains: lent in forward, given back when the backward
    has read them, so a training step does not allocate (and page-fault) them anew.
    """

    @staticmethod
    def forward(ctx, x, w3, b3, rel, w4, c4, spares):  # type: ignore[override]
        n, c_in, t, v = x.shape
        s, c_out, _ = w4.shape
        vals = lend(spares, "vals", (n, c_out * s, v * t), x)  # per (n, c): (S*V, T)
        theta = lend(spares, "theta", (n, c_out, s, v * v), x)  # per (n, c): (S*V, V)
        y = x.new_empty(n, c_out, t, v)
        xt = x.new_empty(c_in, v, t)
        bias = b3.unsqueeze(1)
        for i in range(n):
            xt.copy_(x[i].transpose(1, 2))
            torch.addmm(bias, w3, xt.view(c_in, v * t), out=vals[i])
            for j in range(s):
                torch.mm(w4[j], rel[i, j], out=theta[i, :, j])
        theta += c4
        torch.bmm(
            vals.view(n * c_out, s * v, t).mT,
            theta.view(n * c_out, s * v, v),
            out=y.view(n * c_out, t, v),
        )
        ctx.save_for_backward(x, w3, vals, rel, w4, theta)
        ctx.spares = spares
        return y

    @staticmethod
    def backward(ctx, gy):  # type: ignore[override]
        x, w3, vals, rel, w4, theta = ctx.saved_tensors
        n, c_in, t, v = x.shape
        s, c_out, r = w4.shape
        k = s * v
        gy = gy.contiguous()
        g_x = torch.empty_like(x)
        g_w3 = torch.zeros_like(w3)
        g_b3 = w3.new_zeros(w3.shape[0])
        g_rel = torch.empty_like(rel)
        g_w4 = torch.zeros_like(w4)
        g_c4 = torch.zeros_like(theta[0])
        g_theta = theta.new_empty(c_out, s, v * v)  # one sample's, reused
        g_vals = vals.new_empty(c_out * s, v * t)
        xt = x.new_empty(c_in, v, t)
        g_xt = x.new_empty(c_in, v, t)
        for i in range(n):
            g = gy[i].view(c_out, t, v)
            torch.bmm(vals[i].view(c_out, k, t), g, out=g_theta.view(c_out, k, v))
            g_c4 += g_theta
            for j in range(s):
                torch.mm(w4[j].t(), g_theta[:, j], out=g_rel[i, j])
                g_w4[j].addmm_(g_theta[:, j], rel[i, j].t())
            torch.bmm(theta[i].view(c_out, k, v), g.mT, out=g_vals.view(c_out, k, t))
            g_b3 += g_vals.sum(1)
            xt.copy_(x[i].transpose(1, 2))
            g_w3.addmm_(g_vals, xt.view(c_in, v * t).t())
            torch.mm(w3.t(), g_vals, out=g_xt.view(c_in, v * t))
            g_x[i].copy_(g_xt.transpose(1, 2))
        give_back(ctx.spares, "vals", vals)
        give_back(ctx.spares, "theta", theta)
        return g_x, g_w3, g_b3, g_rel, g_w4, g_c4, None


class CTRBlock(nn.Module):
    """Upstream `TCN_GCN_unit`: graph conv, multi-scale temporal conv, block residual, ReLU."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        graph: Tensor,
        *,
        stride: int = 1,
        residual: bool = True,
        adaptive: bool = True,
    ) -> None:
        super().__init__()
        self.gcn1 = CTRGraphConv(c_in, c_out, graph, adaptive)
        self.tcn1 = ctrgcn_temporal(c_out, stride)
        if not residual:
            self.residual: nn.Module | None = None
        elif c_in == c_out and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = unit_tcn(c_in, c_out, stride)

    def forward(self, x: Tensor) -> Tensor:
        # (N, C_in, T, V) -> (N, C_out, T / stride, V); + residual and the ReLU run in the
        # TCN's last batch norm pass (layers.tcn)
        y = self.gcn1(x)
        return self.tcn1(y, None if self.residual is None else self.residual(x), relu=True)


# (C_in, C_out, stride, block residual) of l1..l10, with C_in of l1 and width 64 set at build.
_LAYOUT = (
    (None, 64, 1, False),
    (64, 64, 1, True),
    (64, 64, 1, True),
    (64, 64, 1, True),
    (64, 128, 2, True),
    (128, 128, 1, True),
    (128, 128, 1, True),
    (128, 256, 2, True),
    (256, 256, 1, True),
    (256, 256, 1, True),
)


class CTRGCN(nn.Module):
    """Upstream `Model`: input BatchNorm, ten CTR blocks (64/128/256 channels), mean pool, fc."""

    def __init__(
        self,
        *,
        num_classes: int = 60,
        in_channels: int = 3,
        num_persons: int = 2,
        graph: Tensor,
        dropout: float = 0.0,
        adaptive: bool = True,
    ) -> None:
        super().__init__()
        num_joints = graph.shape[-1]
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.num_persons = num_persons
        # One statistic per (person slot, joint, coordinate), flattened in that order.
        self.data_bn = nn.BatchNorm1d(num_persons * num_joints * in_channels)
        for index, (c_in, c_out, stride, residual) in enumerate(_LAYOUT, start=1):
            block = CTRBlock(
                in_channels if c_in is None else c_in,
                c_out,
                graph,
                stride=stride,
                residual=residual,
                adaptive=adaptive,
            )
            self.add_module(f"l{index}", block)  # upstream names l1..l10
        self.drop_out = nn.Dropout(dropout)
        self.fc = nn.Linear(256, num_classes)
        nn.init.normal_(self.fc.weight, 0.0, math.sqrt(2.0 / num_classes))

    def forward(self, x: Tensor) -> Tensor:
        if (
            x.dim() != 5
            or x.shape[1] != self.in_channels
            or x.shape[3:]
            != (
                self.num_joints,
                self.num_persons,
            )
        ):
            raise ModelConfigError(
                f"ctrgcn: input has shape {tuple(x.shape)}, expected (N, {self.in_channels}, T, "
                f"{self.num_joints}, {self.num_persons})",
                fix="pass (N, C, T, V, M) clips and build with matching in_channels/num_persons",
            )
        n, c, t, v, m = x.shape  # (N, C, T, V, M)
        x = x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t)  # (N, M*V*C, T)
        x = batch_norm_act(self.data_bn, x)  # ATen's kernel at this size (MIN_VALUES)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)  # persons->batch
        for index in range(1, len(_LAYOUT) + 1):
            x = getattr(self, f"l{index}")(x)  # ends (N*M, 256, T / 4, V)
        x = x.view(n, m, x.shape[1], -1).mean(3).mean(1)  # (N, 256)
        return self.fc(self.drop_out(x))  # (N, num_classes)


def _check_graph(graph: Any, graph_args: dict[str, Any] | None) -> None:
    if graph not in (UPSTREAM_GRAPH, "ntu25"):
        raise ModelConfigError(
            f"ctrgcn: graph {graph!r} is not supported",
            fix=f"use {UPSTREAM_GRAPH!r} (upstream's NTU graph) or 'ntu25'",
        )
    labeling = (graph_args or {}).get("labeling_mode", "spatial")
    extra = set(graph_args or {}) - {"labeling_mode"}
    if labeling != "spatial" or extra:
        raise ModelConfigError(
            f"ctrgcn: graph_args {graph_args!r} are not supported",
            fix="use graph_args={'labeling_mode': 'spatial'} (the only mode upstream's NTU "
            "configs use)",
        )


@register_model(
    ModelCard(
        name="ctrgcn",
        title="CTR-GCN",
        paper="Chen et al., Channel-wise Topology Refinement Graph Convolution for "
        "Skeleton-Based Action Recognition",
        venue="ICCV",
        year=2021,
        upstream="github.com/Uason-Chen/CTR-GCN model/ctrgcn.py",
        default_window=64,
        joint_layout="ntu25 (N, 3, T, 25, 2)",
        any_layout=True,
        streams=("joint", "bone", "joint_motion", "bone_motion"),
        params_ntu60=1_446_672,
        reported_top1={"joint": 89.9, "ensemble": 92.4},
        notes=(
            "NTU60 X-Sub top-1: 4-stream ensemble 92.4 (paper; X-View 96.8, NTU120 X-Sub 88.9, "
            "X-Set 90.6). Joint 89.9 is the released checkpoint as evaluated by a user "
            "(upstream issue #10); users re-training get 89.3-89.5. Per-stream B/JM/BM numbers "
            "were not found. Ensemble: raw logits weighted J 0.6, B 0.6, JM 0.4, BM 0.4. "
            "Recipe: SGD nesterov momentum 0.9, lr 0.1, wd 4e-4 on all parameters, 5 warm-up "
            "epochs, x0.1 at epochs 35 and 55, 65 epochs, batch 64, window 64, crop ratio "
            "U(0.5, 1) train / 0.95 test, random rotation 0.3 rad, no label smoothing."
        ),
    )
)
def ctrgcn(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = 25,
    num_persons: int = 2,
    window: int = 64,
    dropout: float = 0.0,
    graph: str = UPSTREAM_GRAPH,
    graph_args: dict[str, Any] | None = None,
    adaptive: bool = True,
    skeleton: str | Skeleton = "ntu25",
) -> CTRGCN:
    """CTR-GCN on the 25-joint NTU skeleton, widths 64/128/256, as in upstream's NTU configs.

    `window` is accepted for a uniform interface; nothing in the network depends on T.
    `graph`, `graph_args` and `adaptive` are upstream's constructor keywords. `skeleton` names
    another joint layout (`skelab.skeletons`, e.g. 'nwucla20'); its spatial graph replaces NTU's.
    """
    _check_graph(graph, graph_args)
    layout = get_skeleton(skeleton)
    if num_joints != layout.num_joints:
        raise ModelConfigError(
            f"ctrgcn: num_joints={num_joints}, but the {layout.name!r} graph has "
            f"{layout.num_joints} joints",
            fix=joints_fix(num_joints, layout),
        )
    if num_classes < 1 or num_persons < 1 or window < 1:
        raise ModelConfigError(
            f"ctrgcn: num_classes={num_classes}, num_persons={num_persons}, window={window}; "
            "each must be >= 1",
            fix="e.g. num_classes=60 (NTU60) or 120 (NTU120), num_persons=2, window=64",
        )
    if rel_channels(in_channels) < 1:
        raise ModelConfigError(
            f"ctrgcn: in_channels={in_channels} gives no refinement channels "
            "(upstream uses 8 for 3 or 9 inputs, else in_channels // 8)",
            fix="use in_channels=3 (one stream), 9, or a value >= 8",
        )
    if not 0.0 <= dropout < 1.0:
        raise ModelConfigError(
            f"ctrgcn: dropout={dropout} is outside [0, 1)", fix="use 0 (upstream's NTU configs)"
        )
    return CTRGCN(
        num_classes=num_classes,
        in_channels=in_channels,
        num_persons=num_persons,
        graph=torch.from_numpy(layout.spatial.copy()),
        dropout=dropout,
        adaptive=adaptive,
    )
