"""ST-GCN: spatial temporal graph convolution, and its small CPU-friendly variant.

Paper: Yan, Xiong and Lin, "Spatial Temporal Graph Convolutional Networks for Skeleton-Based
Action Recognition", AAAI 2018.
Upstream: github.com/yysijie/st-gcn, net/st_gcn.py, net/utils/tgcn.py, net/utils/graph.py.
Written from the paper and the upstream shapes (reference/models-gcn.md §3). Attribute names
match the upstream checkpoint keys (`st_gcn_networks.{i}.gcn.conv`, `tcn.{0,2,3}`, `residual`,
`edge_importance.{i}`, `A`, `data_bn`, `fcn`), so official weights load as-is.

Kept from upstream on purpose, because checkpoints depend on it:
* the "spatial" partition is built with hop distances known only up to one hop, so every joint
  two or more hops from the centre has distance inf, and inf == inf puts almost every edge in
  subset 1 (subset sizes 25 / 40 / 8 instead of a true centripetal / centrifugal split);
* the stored graph is indexed A[k, source, destination] (the transpose of CTR-GCN's);
* `data_bn` normalises V·C = 75 channels with persons folded into the batch.

Differs from upstream (same function): the graph contraction sums per-subset batched matrix
products on views of the 1x1 product instead of permuting it into a 5-D einsum, which saves a
copy, and runs before the 1x1 weights where a block widens (`GraphConv`); upstream's
processor-level initialisation (conv N(0, 0.02), BN gamma N(1, 0.02)) is applied by the
builder, so `build("stgcn")` starts where upstream training starts. `stgcn-lite` is skelab's
own small baseline (the original lab's "ST-GCN-lite"); the MLP sanity baseline is in `mlp.py`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from skelab.errors import ModelConfigError
from skelab.models.layers.batchnorm import batch_norm_act
from skelab.models.layers.pointwise import conv1x1, eager_cpu, residual
from skelab.models.layers.tcn import frame_conv
from skelab.models.registry import ModelCard, register_model
from skelab.skeletons import NTU25, Skeleton, get_skeleton, joints_fix

_STRATEGIES = ("uniform", "distance", "spatial")


def stgcn_graph(strategy: str = "spatial", *, skeleton: Skeleton = NTU25) -> np.ndarray:
    """ST-GCN's graph of a layout (NTU by default), (K, V, V) [subset, source, destination],
    max_hop 1, centred on the layout's graph root (joint 21 for NTU)."""
    if strategy not in _STRATEGIES:
        raise ModelConfigError(
            f"ST-GCN graph strategy {strategy!r} is unknown",
            fix=f"use one of {', '.join(_STRATEGIES)} (upstream NTU configs use 'spatial')",
        )
    num_nodes = skeleton.num_joints
    links = [(i, i) for i in range(num_nodes)] + list(skeleton.inward)
    hop = np.full((num_nodes, num_nodes), np.inf)
    for i, j in links:  # distances beyond one hop are never computed upstream: they stay inf
        hop[i, j] = hop[j, i] = 0.0 if i == j else 1.0
    adjacency = (hop <= 1).astype(np.float64)
    norm = adjacency / adjacency.sum(axis=0, keepdims=True)  # column-normalised, A · D^-1
    if strategy == "uniform":
        return norm[None].astype(np.float32)
    if strategy == "distance":
        return np.stack([norm * (hop == d) for d in (0, 1)]).astype(np.float32)
    c = skeleton.graph_root
    subsets = []
    for d in (0, 1):
        near = hop == d  # near[j, i]: j is d hops from i
        to_c_j = hop[:, c][:, None]  # distance of the source j to the centre
        to_c_i = hop[:, c][None, :]  # distance of the destination i to the centre
        root = norm * (near & (to_c_j == to_c_i))  # inf == inf lands here: the upstream quirk
        close = norm * (near & (to_c_j > to_c_i))
        further = norm * (near & (to_c_j < to_c_i))
        subsets += [root] if d == 0 else [root + close, further]
    return np.stack(subsets).astype(np.float32)


class GraphConv(nn.Module):
    """Upstream's `ConvTemporalGraphical`: a 1x1 conv to K·C_out channels, then the sum over the
    K subsets of each subset's (C_out)-channel map times its graph, A[k] (V, W).

    The two steps are linear and commute, so where the layer widens (C_in < C_out) the graph
    runs first, on the C_in input channels, and the conv weights then mix the K·C_in channels
    (the conv bias passes through the graph sum as b_k · colsum(A[k])). Either order costs the
    same conv FLOPs; the graph sum costs C_in / C_out as much, and block 1 (3 -> 64 channels)
    sums 3 channels instead of 192. The 1x1 products run as batched matrix products
    (`layers.pointwise.conv1x1`). Exact in real arithmetic; weights keep upstream's shapes.
    """

    def __init__(self, c_in: int, c_out: int, num_subsets: int) -> None:
        super().__init__()
        self.k = num_subsets
        self.conv = nn.Conv2d(c_in, c_out * num_subsets, 1)
        self.graph_first = c_in < c_out

    def forward(self, x: Tensor, a: Tensor) -> Tensor:
        n, c, t, v = x.shape
        k = self.k
        c_out = self.conv.out_channels // k
        if self.graph_first:
            # (N, K, C_in·T, W), channel index k·C_in + c: each subset's graph on the input
            z = torch.matmul(x.view(n, 1, c * t, v), a.unsqueeze(0))
            w = self.conv.weight.view(k, c_out, c).transpose(0, 1).reshape(c_out, k * c)
            bias = self.conv.bias.view(k, c_out).t() @ a.sum(dim=1)  # (C_out, W)
            out = conv1x1(z.view(n, k * c, t, -1), w, None)
            return out + bias.view(1, c_out, 1, -1)
        # (N, K, C_out·T, V), channel index k·C_out + c; one batched product per subset, the
        # subsets unbound (not indexed), so backward stacks their gradients in one copy
        y = conv1x1(x, self.conv.weight, self.conv.bias).view(n, k, -1, v).unbind(1)
        out = torch.bmm(y[0], a[0].expand(n, -1, -1))
        for i in range(1, k):
            out = torch.baddbmm(out, y[i], a[i].expand(n, -1, -1))
        return out.view(n, c_out, t, a.shape[-1])  # (N, C_out, T, W)


class STGCNBlock(nn.Module):
    """Graph conv, then BN-ReLU-temporal conv-BN-dropout, plus a residual, then ReLU."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        num_subsets: int,
        *,
        kernel: int = 9,
        stride: int = 1,
        dropout: float = 0.0,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.gcn = GraphConv(c_in, c_out, num_subsets)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, (kernel, 1), (stride, 1), ((kernel - 1) // 2, 0)),
            nn.BatchNorm2d(c_out),
            nn.Dropout(dropout, inplace=True),
        )
        if not residual:
            self.residual: nn.Module | None = None
        elif c_in == c_out and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, (stride, 1)), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: Tensor, a: Tensor) -> Tensor:
        tcn = self.tcn
        y = batch_norm_act(tcn[0], self.gcn(x, a), relu=True)
        y = frame_conv(tcn[2], y)  # (N, C_out, T / stride, V)
        res = None if self.residual is None else residual(self.residual, x)
        if not tcn[4].training or tcn[4].p == 0.0:  # no dropout between BN and the sum
            return batch_norm_act(tcn[3], y, res, relu=True)
        y = _dropout(tcn[4], batch_norm_act(tcn[3], y))
        if res is not None:
            y = y + res
        return y.relu_()


def _dropout(drop: nn.Dropout, y: Tensor) -> Tensor:
    """`drop(y)` for a fresh y. On the CPU the mask is `rand >= p` scaled by 1 / (1 - p) (the
    same Bernoulli(1 - p) keep mask as `nn.Dropout`, from uniform draws: `bernoulli_` took
    32 ms against 9 ms for 1.6 M values on one core, 9 calls per ST-GCN step)."""
    p = drop.p
    if not drop.training or p == 0.0:
        return y
    if not eager_cpu(y) or p >= 1.0:
        return drop(y)
    mask = torch.rand_like(y).ge_(p).mul_(1.0 / (1.0 - p))
    return y.mul_(mask) if drop.inplace else y * mask


class STGCN(nn.Module):
    """ST-GCN: data BN, a stack of graph blocks with learnable edge importance, a 1x1-conv head."""

    # Upstream checkpoints may lack the fixed graph; the model then keeps its own.
    upstream_ignored_keys = ("A",)

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 3,
        num_joints: int = 25,
        channels: tuple[int, ...] = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
        strides: tuple[int, ...] = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1),
        temporal_kernel: int = 9,
        dropout: float = 0.5,
        edge_importance: bool = True,
        strategy: str = "spatial",
        skeleton: Skeleton = NTU25,
    ) -> None:
        super().__init__()
        if len(channels) != len(strides):
            raise ModelConfigError(
                f"channels ({len(channels)}) and strides ({len(strides)}) differ in length",
                fix="give one stride per block",
            )
        graph = torch.from_numpy(stgcn_graph(strategy, skeleton=skeleton))
        self.register_buffer("A", graph)  # (K, V, V) [subset, source, destination]
        k = graph.shape[0]
        self.data_bn = nn.BatchNorm1d(in_channels * num_joints)
        blocks = []
        c_prev = in_channels
        for i, (c, s) in enumerate(zip(channels, strides, strict=True)):
            blocks.append(
                STGCNBlock(
                    c_prev,
                    c,
                    k,
                    kernel=temporal_kernel,
                    stride=s,
                    dropout=0.0 if i == 0 else dropout,  # the first block never drops
                    residual=i > 0,
                )
            )
            c_prev = c
        self.st_gcn_networks = nn.ModuleList(blocks)
        self.edge_importance = nn.ParameterList(
            [nn.Parameter(torch.ones_like(graph)) for _ in blocks] if edge_importance else []
        )
        self.fcn = nn.Conv2d(c_prev, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape  # (N, C, T, V, M)
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)  # BN over (v, c), persons in batch
        x = batch_norm_act(self.data_bn, x)
        x = x.view(n * m, v, c, t).permute(0, 2, 3, 1).contiguous()  # (N·M, C, T, V)
        for i, block in enumerate(self.st_gcn_networks):
            a = self.A * self.edge_importance[i] if len(self.edge_importance) else self.A
            x = block(x, a)
        x = x.mean(dim=(2, 3)).view(n, m, -1).mean(dim=1)  # pool (T', V), then persons
        return self.fcn(x[:, :, None, None]).view(n, -1)  # (N, num_classes)


def _init_like_upstream(model: nn.Module) -> nn.Module:
    """ST-GCN's processor init: conv weights N(0, 0.02), bias 0; BN gamma N(1, 0.02), beta 0."""
    for mod in model.modules():
        if isinstance(mod, (nn.Conv1d, nn.Conv2d)):
            nn.init.normal_(mod.weight, 0.0, 0.02)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(mod.weight, 1.0, 0.02)
            nn.init.zeros_(mod.bias)
    return model


def _check_graph_args(graph_args: dict[str, Any] | None) -> str:
    """Accept upstream's `graph_args` ({layout, strategy, max_hop, dilation}); return strategy."""
    args = dict(graph_args or {})
    layout = args.pop("layout", "ntu-rgb+d")
    strategy = args.pop("strategy", "spatial")
    if layout != "ntu-rgb+d":
        raise ModelConfigError(
            f"ST-GCN graph layout {layout!r} is not supported",
            fix="skelab's ST-GCN reads NTU RGB+D skeletons: use layout 'ntu-rgb+d'",
        )
    if args.pop("max_hop", 1) != 1 or args.pop("dilation", 1) != 1:
        raise ModelConfigError(
            "ST-GCN graph_args: only max_hop=1 and dilation=1 (the upstream NTU setting) exist",
            fix="drop max_hop / dilation from graph_args",
        )
    if args:
        raise ModelConfigError(
            f"ST-GCN graph_args: unknown keys {sorted(args)}",
            fix="graph_args takes layout, strategy, max_hop and dilation",
        )
    return strategy


def _check_joints_persons(num_joints: int, num_persons: int, skeleton: Skeleton) -> None:
    if num_joints != skeleton.num_joints:
        raise ModelConfigError(
            f"num_joints={num_joints}, but the {skeleton.name!r} graph has "
            f"{skeleton.num_joints} joints",
            fix=joints_fix(num_joints, skeleton),
        )
    if num_persons < 1:
        raise ModelConfigError(f"num_persons must be >= 1, got {num_persons}", fix="use 1 or 2")


_STGCN_CARD = ModelCard(
    name="stgcn",
    title="ST-GCN",
    paper="Yan et al., Spatial Temporal Graph Convolutional Networks for Skeleton-Based "
    "Action Recognition",
    venue="AAAI",
    year=2018,
    upstream="github.com/yysijie/st-gcn net/st_gcn.py",
    default_window=300,
    joint_layout="ntu25 (N, 3, T, 25, M)",
    any_layout=True,
    head="fcn",  # a 1x1 convolution, as upstream
    streams=("joint",),
    params_ntu60=3_098_832,
    reported_top1={"joint": 81.5},
    notes="Upstream trains the joint stream on raw 300-frame arrays, no augmentation; the "
    "released X-Sub model scores 81.6. Keeps upstream's degenerate 'spatial' partition.",
)


@register_model(_STGCN_CARD)
def stgcn(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = 25,
    num_persons: int = 2,
    window: int | None = None,
    dropout: float = 0.5,
    edge_importance_weighting: bool = True,
    graph_args: dict[str, Any] | None = None,
    skeleton: str | Skeleton = "ntu25",
) -> STGCN:
    """ST-GCN as in the paper's NTU experiments: ten blocks, 64/128/256 channels, K = 3 subsets.

    `window` is accepted for a uniform interface; ST-GCN runs on any number of frames.
    `skeleton` names the joint layout (`skelab.skeletons`), e.g. 'nwucla20' or 'coco17'.
    """
    layout = get_skeleton(skeleton)
    _check_joints_persons(num_joints, num_persons, layout)
    model = STGCN(
        num_classes=num_classes,
        in_channels=in_channels,
        num_joints=num_joints,
        dropout=dropout,
        edge_importance=edge_importance_weighting,
        strategy=_check_graph_args(graph_args),
        skeleton=layout,
    )
    return _init_like_upstream(model)


@register_model(
    ModelCard(
        name="stgcn-lite",
        title="ST-GCN-lite",
        paper="skelab baseline after Yan et al., AAAI 2018",
        venue="skelab",
        year=2026,
        upstream="(none: skelab's own small ST-GCN)",
        default_window=64,
        joint_layout="ntu25 (N, 3, T, 25, M)",
        any_layout=True,
        head="fcn",
        streams=("joint", "bone", "joint_motion", "bone_motion"),
        params_ntu60=521_540,
        notes="Six ST-GCN blocks of 32/64/128 channels, frames halved after blocks 1 and 3, "
        "temporal kernel 9; 1.06 GFLOPs per sample at window 64 (ST-GCN: 7.29).",
    )
)
def stgcn_lite(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = 25,
    num_persons: int = 2,
    window: int | None = None,
    dropout: float = 0.1,
    channels: tuple[int, ...] = (32, 32, 64, 64, 128, 128),
    strides: tuple[int, ...] = (1, 2, 1, 2, 1, 1),
    temporal_kernel: int = 9,
    skeleton: str | Skeleton = "ntu25",
) -> STGCN:
    """A small ST-GCN for quick experiments and the demo; same blocks, fewer and narrower."""
    layout = get_skeleton(skeleton)
    _check_joints_persons(num_joints, num_persons, layout)
    model = STGCN(
        num_classes=num_classes,
        in_channels=in_channels,
        num_joints=num_joints,
        channels=tuple(channels),
        strides=tuple(strides),
        temporal_kernel=temporal_kernel,
        dropout=dropout,
        skeleton=layout,
    )
    return _init_like_upstream(model)
