"""MS-G3D: disentangled multi-scale graph convolution and unified spatial-temporal G3D.

Paper: Liu, Zhang, Chen, Wang, Ouyang, "Disentangling and Unifying Graph Convolutions for
Skeleton-Based Action Recognition", CVPR 2020 (arXiv 2003.14111).
Upstream: github.com/kenziyuliu/MS-G3D, model/msg3d.py, ms_gcn.py, ms_gtcn.py, ms_tcn.py,
mlp.py, graph/ntu_rgb_d.py, graph/tools.py.
Written from the paper and the upstream shapes. Attribute names match upstream checkpoint keys,
so official weights load as-is (`skelab.models.load_upstream_checkpoint`).

Three blocks (widths 96, 192, 384; stride 1, 2, 2). Each block sums two pathways and applies
one more multi-scale TCN:

* factorised (`sgcn`): a 13-scale disentangled spatial GCN (MS-GCN), then two MS-TCNs;
* unified (`gcn3d`): G3D over temporal windows of 3 and of 5 frames. Each window of tau frames
  is one graph of tau * 25 nodes; a 6-scale disentangled GCN runs on it and a (1, tau, 1)
  convolution collapses the window.

"Disentangled" scale k uses the exact-k-hop neighbourhood plus self-loops, symmetrically
normalised, instead of the k-th power of A.

Differences from upstream (all exact in real arithmetic; the golden test checks rel err < 1e-4):

* The temporal windows are never unfolded. Upstream copies every window into a tensor of
  tau * 25 nodes per frame (`nn.Unfold`), aggregates it with an einsum and permutes the result
  into scale-major channels. Here the window aggregation is a convolution over frames whose
  kernel spans tau frames and all 25 joints, with the (tau * 25, tau * 25) adjacency as its
  weight; the stride, zero padding and node order (frame-major, w * V + v) are upstream's.
* Where the layer widens (block 1: 3 channels in, 96 out) the graph aggregation runs first, as
  upstream. Where it does not (blocks 2 and 3), the 1x1 "mlp" weights are applied first, to the
  frames before windowing (1x1 convolution and graph aggregation commute; the bias is added
  after aggregation). That is tau (stride 1) or tau / 2 (stride 2) times fewer mlp FLOPs, and
  the aggregation then contracts (scale, window node) in one convolution.
* Scale-major channels (upstream index k * C + c) are produced as c * K + k; the 1x1 weights
  are rearranged to match, so no permute copy is needed. Checkpoint shapes are upstream's.
* The graph convs' 1x1 mixes and the spatial (one-frame) aggregation run as batched matrix
  products (`layers.pointwise.conv1x1`, `torch.bmm`) rather than as convolutions: on the CPU
  the training step's wide mixes (up to 13 * 192 inputs) and the 25-joint aggregation cost
  less that way.
* The normalised k-hop adjacencies are non-persistent buffers (upstream: plain tensor
  attributes); neither is saved, so checkpoints are identical.
* Block 1 reads `in_channels` (upstream hard-codes 3 there); with 3 it is upstream's model.
* Options outside upstream's constructor: `window` is recorded only (no parameter depends on
  the number of frames; any T >= 1 works, stride-2 blocks give ceil(T / 2) frames);
  `dropout` must be 0 (MS-G3D has none).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.errors import ModelConfigError
from skelab.models.layers.batchnorm import batch_norm_act
from skelab.models.layers.pointwise import conv1x1
from skelab.models.layers.tcn import MultiScaleTemporalConv
from skelab.models.registry import ModelCard, register_model
from skelab.skeletons import Skeleton, get_skeleton, joints_fix

# --------------------------------------------------------------------------------------------
# Graphs: exact-k-hop ("disentangled") adjacencies, spatial and over temporal windows


def k_hop_adjacency(a: np.ndarray, k: int) -> np.ndarray:
    """Nodes exactly k hops apart, plus self-loops; k = 0 gives the identity (0/1 matrix)."""
    eye = np.eye(a.shape[0], dtype=np.int64)
    if k == 0:
        return eye
    reach = a.astype(np.int64) + eye  # one step, or stay
    within_k = np.minimum(np.linalg.matrix_power(reach, k), 1)
    within_k_minus_1 = np.minimum(np.linalg.matrix_power(reach, k - 1), 1)
    return within_k - within_k_minus_1 + eye


def normalize_symmetric(a: np.ndarray) -> np.ndarray:
    """D^-1/2 A D^-1/2 with D the row sums (every row has its self-loop, so D > 0)."""
    inv_sqrt = a.sum(axis=1).astype(np.float64) ** -0.5
    return (inv_sqrt[:, None] * a * inv_sqrt[None, :]).astype(np.float32)


def disentangled_scales(a: np.ndarray, num_scales: int) -> np.ndarray:
    """(K, n, n) normalised exact-k-hop adjacencies for k = 0..K-1; row = destination."""
    return np.stack([normalize_symmetric(k_hop_adjacency(a, k)) for k in range(num_scales)])


def window_graph(a_binary: np.ndarray, window: int) -> np.ndarray:
    """G3D's graph over a window of `window` frames: (A + I) tiled, node index w * V + v.

    Every frame of the window links joint v to itself and its neighbours in every frame,
    including the same joint in the other frames.
    """
    return np.tile(a_binary + np.eye(a_binary.shape[0], dtype=a_binary.dtype), (window, window))


# --------------------------------------------------------------------------------------------
# Graph convolution over (possibly temporal-windowed) graphs


def _dense(w: Tensor) -> Tensor:
    """Row-major copy. `.contiguous()` keeps odd strides on size-1 dims (window 1), which
    makes oneDNN return a channels-last output."""
    return w.clone(memory_format=torch.contiguous_format)


class Mlp(nn.Module):
    """Upstream's `MLP`: a 1x1 conv over the K * C_in scale channels, then BatchNorm.

    The conv's weights keep upstream's layout, (C_out, K * C_in, 1, 1) with input channel
    k * C_in + c; `GraphConv` applies them in a rearranged order instead of calling the conv.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out)])


class GraphConv(nn.Module):
    """Disentangled multi-scale graph conv over windows of `window` frames (MS-GCN, G3D).

    For window 1 this is upstream's `MultiScale_GraphConv`; for window tau it is
    `UnfoldTemporalWindows` followed by `SpatialTemporal_MS_GCN`. Input (N, C_in, V, T) (joints
    before frames, so that frames are the aggregation's conv axis), output
    (N, C_out, T_w, window * V), a transposed view: frames stay last in memory, so that the
    window collapse reads (channel, window frame) as one axis in place.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        graph: np.ndarray,
        num_scales: int,
        *,
        window: int = 1,
        stride: int = 1,
        dilation: int = 1,
        activation: bool = True,
    ) -> None:
        super().__init__()
        nodes = graph.shape[0]  # window * V
        self.num_scales = num_scales
        self.window, self.stride, self.dilation = window, stride, dilation
        self.num_joints = nodes // window
        self.padding = (window + (window - 1) * (dilation - 1) - 1) // 2  # upstream's unfold pad
        self.register_buffer(
            "A_scales", torch.from_numpy(disentangled_scales(graph, num_scales)), persistent=False
        )  # (K, window * V, window * V)
        self.A_res = nn.Parameter(torch.empty(num_scales * nodes, nodes).uniform_(-1e-6, 1e-6))
        self.mlp = Mlp(num_scales * c_in, c_out)
        self.act = activation
        # Which order is cheaper: aggregate C_in channels, then mix (upstream), or mix first.
        flops_aggregate_first = c_in * nodes * (nodes + c_out)
        flops_mix_first = c_out * (c_in * self.num_joints * stride + nodes * nodes)
        self.mix_first = flops_mix_first < flops_aggregate_first

    def adjacency(self) -> Tensor:
        """A_scales + A_res as (K, n, V, window): [k, destination node, joint, source frame]."""
        k, n, _ = self.A_scales.shape
        a = self.A_scales + self.A_res.view(k, n, n)
        return a.view(k, n, self.window, self.num_joints).transpose(2, 3)

    def _aggregate(self, x: Tensor, weight: Tensor) -> Tensor:
        # A 1-D convolution over frames with (source node, scale) as input channels: the
        # windows are read in place, never unfolded. A window of one frame (MS-GCN) is a plain
        # matrix product with the adjacency, shared by every sample and channel.
        if self.window == 1 and self.stride == 1:
            return torch.bmm(weight.view(1, *weight.shape[:2]).expand(x.shape[0], -1, -1), x)
        return F.conv1d(x, weight, stride=self.stride, padding=self.padding, dilation=self.dilation)

    def forward(self, x: Tensor) -> Tensor:
        n, c, v, t = x.shape  # (N, C_in, V, T): joints before frames
        k = self.num_scales
        conv, bn = self.mlp.layers
        w = conv.weight.view(conv.out_channels, k, c)  # upstream input channel k * C_in + c
        a = self.adjacency()  # (K, n, V, window)
        if self.mix_first:
            # 1x1 mix per scale on the frames, (N, C_out * K, V, T) with channel o * K + k ...
            y = conv1x1(x, w.reshape(-1, c)).view(n * conv.out_channels, k * v, t)
            # ... then each channel o aggregates its K scales over every window.
            weight = _dense(a.transpose(0, 1).reshape(a.shape[1], k * v, self.window))
            z = self._aggregate(y, weight)  # (N * C_out, window * V, T_w)
            z = z.view(n, conv.out_channels, -1, z.shape[2]) + conv.bias.view(1, -1, 1, 1)
        else:
            # Aggregate each input channel over every window: (N * C_in, K * window * V, T_w) ...
            agg = self._aggregate(x.reshape(n * c, v, t), _dense(a.reshape(-1, v, self.window)))
            agg = agg.view(n, c * k, -1, agg.shape[2])  # channel c * K + k
            # ... then mix the K * C_in scale channels at every node.
            z = conv1x1(agg, w.transpose(1, 2).reshape(conv.out_channels, c * k), conv.bias)
        z = batch_norm_act(bn, z, relu=self.act)  # (N, C_out, window * V, T_w)
        return z.transpose(2, 3)  # (N, C_out, T_w, window * V), frames last in memory


class SpatialGraphConv(GraphConv):
    """MS-GCN (`MultiScale_GraphConv`): K disentangled spatial scales, 1x1 mix, BN, ReLU."""

    def __init__(self, c_in: int, c_out: int, a_binary: np.ndarray, num_scales: int) -> None:
        super().__init__(c_in, c_out, a_binary, num_scales)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x).contiguous()  # (N, C_in, V, T) -> (N, C_out, T, V)


# --------------------------------------------------------------------------------------------
# G3D: unified spatial-temporal graph conv over temporal windows


class WindowCollapse(nn.Conv3d):
    """Upstream's `out_conv`: a (1, tau, 1) Conv3d that merges the tau frames of each window."""

    def __init__(self, c_in: int, c_out: int, window: int) -> None:
        super().__init__(c_in, c_out, kernel_size=(1, window, 1))

    def forward(self, z: Tensor) -> Tensor:
        n, c, t, nodes = z.shape  # (N, C, T_w, window * V), node w * V + v
        tau = self.kernel_size[1]
        w = self.weight.view(self.out_channels, c * tau)  # input index c * tau + w
        # (c, w) and (v, t) merge in place (a view) for GraphConv's frames-last output
        frames_last = z.transpose(2, 3).reshape(n, c * tau, nodes // tau, t)
        out = conv1x1(frames_last, w, self.bias)  # (N, C_out, V, T_w)
        return out.transpose(2, 3)  # (N, C_out, T_w, V), a view


class G3D(nn.Module):
    """One G3D pathway (`MS_G3D`): window graph conv, ReLU, window collapse, BN (no ReLU)."""

    def __init__(
        self,
        c_in: int,
        c_mid: int,
        c_out: int,
        a_binary: np.ndarray,
        num_scales: int,
        window: int,
        stride: int,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        graph = GraphConv(
            c_in, c_mid, window_graph(a_binary, window), num_scales,
            window=window, stride=stride, dilation=dilation,
        )  # fmt: skip
        # Index 0 is upstream's parameter-free `UnfoldTemporalWindows`; GraphConv reads the
        # windows in place, so an Identity keeps the checkpoint key `gcn3d.1.*`.
        self.gcn3d = nn.Sequential(nn.Identity(), graph)
        self.out_conv = WindowCollapse(c_mid, c_out, window)
        self.out_bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        z = self.gcn3d(x)  # (N, C_in, V, T) -> (N, C_mid, T_w, window * V)
        return batch_norm_act(self.out_bn, self.out_conv(z))  # (N, C_out, T_w, V)


class MultiWindowG3D(nn.Module):
    """`MultiWindow_MS_G3D`: G3D pathways of windows 3 and 5, summed.

    The graph conv runs at width c_mid: c_out in block 1 (from raw coordinates), else c_in, so
    blocks 2 and 3 widen only in the window collapse.
    """

    def __init__(
        self,
        c_in: int,
        c_mid: int,
        c_out: int,
        a_binary: np.ndarray,
        num_scales: int,
        stride: int,
        windows: tuple[int, ...] = (3, 5),
    ) -> None:
        super().__init__()
        self.gcn3d = nn.ModuleList(
            G3D(c_in, c_mid, c_out, a_binary, num_scales, w, stride) for w in windows
        )

    def forward(self, x: Tensor) -> Tensor:
        out = self.gcn3d[0](x)
        for pathway in self.gcn3d[1:]:
            out = out + pathway(x)
        return out  # (N, C_out, T_w, V)


# --------------------------------------------------------------------------------------------
# Network


class MSG3D(nn.Module):
    """MS-G3D for skeleton clips (N, C, T, V, M): 3 STGC blocks, global mean, linear head."""

    def __init__(
        self,
        *,
        num_classes: int = 60,
        in_channels: int = 3,
        num_persons: int = 2,
        num_gcn_scales: int = 13,
        num_g3d_scales: int = 6,
        skeleton: Skeleton | None = None,
    ) -> None:
        super().__init__()
        skeleton = skeleton or get_skeleton("ntu25")
        a = skeleton.binary_adjacency  # symmetric 0/1, zero diagonal
        v = skeleton.num_joints
        self.data_bn = nn.BatchNorm1d(num_persons * in_channels * v)
        widths = (in_channels, 96, 192, 384)
        strides = (1, 2, 2)
        for i in range(3):
            c_in, c_out, s = widths[i], widths[i + 1], strides[i]
            c_mid = c_out if i == 0 else c_in  # graph convs widen only from raw coordinates
            g3d = MultiWindowG3D(c_in, c_mid, c_out, a, num_g3d_scales, s)
            setattr(self, f"gcn3d{i + 1}", g3d)
            sgcn = nn.Sequential(
                SpatialGraphConv(c_in, c_mid, a, num_gcn_scales),
                MultiScaleTemporalConv(c_mid, c_out, stride=s),
                MultiScaleTemporalConv(c_out, c_out, activation=False),
            )
            setattr(self, f"sgcn{i + 1}", sgcn)
            setattr(self, f"tcn{i + 1}", MultiScaleTemporalConv(c_out, c_out))
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape  # (N, C, T, V, M)
        x = x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t)  # BN channel order (m, v, c)
        x = batch_norm_act(self.data_bn, x)
        # Persons go into the batch; the graph convs read joints before frames, (N * M, C, V, T).
        x_vt = x.view(n, m, v, c, t).transpose(2, 3).reshape(n * m, c, v, t)
        for i in (1, 2, 3):
            g3d, sgcn, tcn = (getattr(self, f"{p}{i}") for p in ("gcn3d", "sgcn", "tcn"))
            if i > 1:
                x_vt = x.transpose(2, 3).contiguous()
            x = torch.relu_(sgcn(x_vt) + g3d(x_vt))  # pathways summed before any activation
            x = tcn(x)  # (N * M, C_out, T / s, V); ends (N * M, 384, ceil(T / 4), V)
        x = x.view(n, m, x.shape[1], -1).mean(dim=3).mean(dim=1)  # (N, 384)
        return self.fc(x)  # (N, num_classes)


# --------------------------------------------------------------------------------------------
# Builder

_UPSTREAM_GRAPHS = ("graph.ntu_rgb_d.AdjMatrixGraph", "ntu_rgb_d.AdjMatrixGraph", "ntu25")

CARD = ModelCard(
    name="msg3d",
    title="MS-G3D",
    paper="Liu et al., Disentangling and Unifying Graph Convolutions for Skeleton-Based Action "
    "Recognition",
    venue="CVPR",
    year=2020,
    upstream="github.com/kenziyuliu/MS-G3D, model/msg3d.py",
    default_window=300,
    joint_layout="ntu25 (N, 3, T, 25, 2)",
    any_layout=True,
    streams=("joint", "bone"),
    params_ntu60=3_194_595,
    reported_top1={"joint": 89.4, "bone": 90.1, "ensemble": 91.5},
    notes="Upstream trains on the full 300-frame pre-normalised arrays without augmentation, "
    "batch 32 as two forward passes of 16. The bone figure is recalled from the paper "
    "(unverified); NTU60 X-View 96.2, NTU120 X-Sub 86.9, X-Set 88.4 (joint + bone).",
)


CARD_DEFAULTS = {
    "num_classes": 60,
    "in_channels": 3,
    "num_persons": 2,
    "window": 300,
    "num_gcn_scales": 13,
    "num_g3d_scales": 6,
}


@register_model(CARD)
def msg3d(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = 25,
    num_persons: int = 2,
    window: int = 300,
    dropout: float = 0.0,
    num_gcn_scales: int = 13,
    num_g3d_scales: int = 6,
    graph: str = "graph.ntu_rgb_d.AdjMatrixGraph",
    skeleton: str | Skeleton = "ntu25",
) -> MSG3D:
    """MS-G3D with 13 spatial and 6 G3D scales, widths 96/192/384, as in the NTU experiments.

    `skeleton` names another joint layout (`skelab.skeletons`, e.g. 'nwucla20')."""
    if graph not in _UPSTREAM_GRAPHS:
        raise ModelConfigError(
            f"msg3d: graph {graph!r} is not supported",
            fix=f"use one of {', '.join(_UPSTREAM_GRAPHS)} (the NTU RGB+D 25-joint graph)",
        )
    skeleton = get_skeleton(skeleton)
    if num_joints != skeleton.num_joints:
        raise ModelConfigError(
            f"msg3d: num_joints={num_joints}, but the {skeleton.name!r} graph has "
            f"{skeleton.num_joints} joints",
            fix=joints_fix(num_joints, skeleton),
        )
    if dropout != 0.0:
        raise ModelConfigError(
            f"msg3d: dropout={dropout}, but MS-G3D has no dropout layer",
            fix="leave dropout at 0",
        )
    for key, value in (
        ("num_classes", num_classes),
        ("in_channels", in_channels),
        ("num_persons", num_persons),
        ("window", window),
        ("num_gcn_scales", num_gcn_scales),
        ("num_g3d_scales", num_g3d_scales),
    ):
        if not isinstance(value, int) or value < 1:
            raise ModelConfigError(
                f"msg3d: {key} must be a positive integer, got {value!r}",
                fix=f"e.g. {key}={CARD_DEFAULTS[key]}",
            )
    return MSG3D(
        num_classes=num_classes,
        in_channels=in_channels,
        num_persons=num_persons,
        num_gcn_scales=num_gcn_scales,
        num_g3d_scales=num_g3d_scales,
        skeleton=skeleton,
    )
