"""FreqMixFormer: Skeleton-MixFormer with a frequency (DCT) branch in its spatial attention.

Paper: Wu et al., "Frequency Guidance Matters: Skeletal Action Recognition by Frequency-Aware
Mixed Transformer", ACM MM 2024, arXiv 2407.12322.
Upstream: github.com/wenhanwu95/FreqMixFormer, model/skefreqmixformer.py (`Model`),
model/spa_freq_mixf.py (`Spatial_Freq_MixFormer`), model/tem_mixf.py (`Temporal_MixFormer`),
graph/ntu_rgb_d.py (the graph), at commit 1e9f1bc. It extends Skeleton-MixFormer
(github.com/ElricXin/Skeleton-MixFormer, ACM MM 2023) without adding parameters.

Written from the paper and upstream shapes. Attribute names match upstream checkpoint keys, so
upstream state dicts load as-is, including the parameters upstream saves but never uses in the
forward pass (`alpha`, `fc`, `Spa_Att.bn` in every spatial module, `bn` in every `Tem_Seq_h`).
The fixed graph prior (`A_SE`), the relative-coordinate matrix (`A_vector`) and the DCT
matrices are non-persistent buffers: upstream does not save them either.

Data flow for x (N, C, T, V=25, M): relative coordinates I - A_outward^k (k = 8 is the
identity), a linear joint embedding to 80 channels plus a learned joint position embedding,
a data BatchNorm over (M, V, C), ten blocks (80, 80, 80, 80, 160, 160, 160, 320, 320, 320
channels; stride 2 at blocks 5 and 8), a multi-scale fusion of blocks 4 and 7 into block 10,
mean over frames, joints and persons, and a linear classifier.

Differences from upstream (none changes the function computed; golden tests check rel. error
< 1e-4 against upstream outputs, and benchmarks/bench_freqmixformer.py against a plain,
upstream-ordered version of the hot modules):
* The DCT-II / DCT-III (torch-dct's `dct`/`idct`, norm=None) are fixed 25x25 matrix products,
  so skelab needs no torch-dct. Upstream transforms each group's whole feature map and then
  pools it; pooling is linear, so skelab pools first and transforms the 25-vectors.
* The pooled Q/K descriptors come from the time-averaged input and channel-averaged 1x1-conv
  weights (the conv is linear), not from a pass over the projected features.
* The per-sample, per-channel adjacency contraction (upstream: N * C tiny matrix products)
  runs as a few large products over the channels that share an adjacency (see `aggregate`).
* Upstream's Python loops over subsets and channel groups are batched tensor operations; the
  five 1x1 input convolutions of a temporal module run as one (two when strided).
* The window is a parameter. Upstream hard-codes `Frames` = 64 / 32 / 16 for the
  `Linear(F, F)` of each temporal-attention branch, so it only runs with window 64. skelab
  sizes those layers from `window` (W, W/2, W/4; W must be a multiple of 4 so that the
  multi-scale fusion lines up); window 64 gives upstream's shapes, and its checkpoints load.
  A checkpoint only loads into a model of the window it was trained with.
* `hops` exposes upstream's hard-coded k of `I - A_outward^k` (upstream edits the source to
  train its k = 1 and k = 2 streams), and an optional dropout before the classifier
  (`dropout=0.0`, upstream's setting, is the identity and adds no checkpoint key).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.errors import ModelConfigError
from skelab.models.layers.tcn import TemporalConv
from skelab.models.registry import ModelCard, register_model
from skelab.skeletons import NUM_JOINTS, edge_matrix, normalize_columns

# --------------------------------------------------------------------------------------------
# Fixed matrices: the graph, the relative-coordinate transform, the DCT

# FreqMixFormer's NTU tree as (child, parent), 1-based. It is CTR-GCN's list with one edge
# reversed: joint 21 (spine shoulder) hangs off joint 2 (spine middle), so the tree is rooted
# at joint 2 and is 7 edges deep.
FMF_INWARD_1BASED: tuple[tuple[int, int], ...] = (
    (1, 2), (21, 2), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9),
    (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
    (20, 19), (22, 23), (23, 8), (24, 25), (25, 12),
)  # fmt: skip
FMF_INWARD: tuple[tuple[int, int], ...] = tuple((i - 1, j - 1) for i, j in FMF_INWARD_1BASED)

# Frequency operator on the cross-group maps: DCT coefficients below 13 are scaled by 0.5,
# the others by 1.5 (upstream's l, h, d).
FREQ_SPLIT, FREQ_LOW, FREQ_HIGH = 13, 0.5, 1.5


def graph_partition() -> np.ndarray:
    """Upstream's 'spatial' labelling (3, V, V), column-normalised; out_w = sum_v x_v A[v, w].

    Subset 0 is the identity; subset 1 has A[child, parent] = 1 (children flow into their
    parent); subset 2 is its transpose before normalisation (parents flow into children).
    """
    outward = tuple((j, i) for i, j in FMF_INWARD)
    return np.stack(
        [
            np.eye(NUM_JOINTS, dtype=np.float32),
            normalize_columns(edge_matrix(outward, NUM_JOINTS)),
            normalize_columns(edge_matrix(FMF_INWARD, NUM_JOINTS)),
        ]
    )


def relative_coordinates(hops: int) -> np.ndarray:
    """I - A_outward^k, (V, V): row j maps joint j to x_j - x_(k-th ancestor of j)."""
    parent = edge_matrix(tuple((j, i) for i, j in FMF_INWARD), NUM_JOINTS)  # row child -> parent
    return np.eye(NUM_JOINTS, dtype=np.float32) - np.linalg.matrix_power(parent, hops)


def dct_matrix(n: int) -> Tensor:
    """Unnormalised DCT-II as a float64 matrix: X = D @ x, D[k, j] = 2 cos(pi k (2j + 1) / 2n)."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    j = torch.arange(n, dtype=torch.float64)[None, :]
    return 2.0 * torch.cos(math.pi * k * (2.0 * j + 1.0) / (2.0 * n))


def idct_matrix(n: int) -> Tensor:
    """The exact inverse of `dct_matrix(n)` (a scaled DCT-III), float64: x = Dinv @ X."""
    j = torch.arange(n, dtype=torch.float64)[:, None]
    k = torch.arange(n, dtype=torch.float64)[None, :]
    weight = torch.where(k == 0, 0.5, 1.0) / n
    return weight * torch.cos(math.pi * k * (2.0 * j + 1.0) / (2.0 * n))


# --------------------------------------------------------------------------------------------
# Spatial module


class SpatialAttention(nn.Module):
    """Self-attention map of one channel group from its pooled Q and K ('Spa_Atten')."""

    def __init__(self, group_channels: int, num_joints: int) -> None:
        super().__init__()
        self.linear = nn.Linear(num_joints, num_joints)
        self.bn = nn.BatchNorm2d(group_channels)  # saved by upstream, unused in its forward

    def forward(self, q: Tensor, k: Tensor) -> Tensor:
        """(..., V) pooled descriptors -> (..., V, V) map, normalised over the last index."""
        return _outer_softmax(F.relu(self.linear(q)), F.relu(self.linear(k)))


def _outer_softmax(a: Tensor, b: Tensor) -> Tensor:
    """softmax_w(a_v * b_w): (..., V), (..., V) -> (..., V, V)."""
    return torch.softmax(a.unsqueeze(-1) * b.unsqueeze(-2), dim=-1)


class SpatialFreqMixFormer(nn.Module):
    """Graph convolution whose adjacency mixes a learned prior with spatial and DCT attention.

    The 3*C_out projection is split into 3 subsets (graph partitions) x 4 channel groups. Each
    group gets a self map, neighbouring groups share cross maps; the same maps computed from
    the DCT of the pooled descriptors, with the cross maps re-weighted by frequency and brought
    back by the IDCT, are added to them ('spa_mixf' in upstream).
    """

    groups = 4  # channel groups ('partitions' in the paper)
    prior_groups = 8  # channel c uses learned prior A_GEME[:, c % 8]

    def __init__(self, c_in: int, c_out: int, partition: np.ndarray) -> None:
        super().__init__()
        if c_out % (2 * self.groups) or c_out % self.prior_groups:
            raise ModelConfigError(
                f"FreqMixFormer spatial module: {c_out} channels do not split into "
                f"{self.groups} groups of two halves and {self.prior_groups} prior groups",
                fix="use channel widths that are multiples of 8 (upstream: 80, 160, 320)",
            )
        subsets, v, _ = partition.shape
        self.subsets, self.c_out = subsets, c_out
        a = torch.from_numpy(partition)
        self.alpha = nn.Parameter(torch.zeros(1))  # saved by upstream, unused in its forward
        self.A_GEME = nn.Parameter(a[:, None].repeat(1, self.prior_groups, 1, 1))
        self.register_buffer("A_SE", a.clone(), persistent=False)
        self.linear = nn.Linear(v, v)  # cross-group maps
        self.Spa_Att = SpatialAttention(c_out // self.groups, v)  # self maps
        self.ChaRef_conv = nn.Conv1d(1, 1, kernel_size=3, padding=1, bias=False)
        self.conv = nn.Conv2d(c_in, subsets * c_out, 1)
        self.fc = nn.Linear(2 * v, v)  # saved by upstream, unused in its forward
        self.bn = nn.BatchNorm2d(c_out)
        if c_in != c_out:
            self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))
        else:
            self.down = nn.Identity()
        self.register_buffer("dct", dct_matrix(v).float(), persistent=False)
        self.register_buffer("idct", idct_matrix(v).float(), persistent=False)
        scale = torch.full((v,), FREQ_HIGH)
        scale[:FREQ_SPLIT] = FREQ_LOW
        self.register_buffer("freq_scale", scale, persistent=False)
        # mix[g, h] = 1 where cross map h (between groups h and h+1) touches group g
        mix = torch.zeros(self.groups, self.groups - 1)
        for h in range(self.groups - 1):
            mix[h, h] = mix[h + 1, h] = 1.0
        self.register_buffer("cross_mix", mix, persistent=False)

    def group_maps(self, q: Tensor, k: Tensor) -> Tensor:
        """Spatial + frequency maps per subset and group: (N, S, G, V) x2 -> (N, S, G, V, V)."""
        # Pooled descriptors of both domains side by side: axis 1 is (joints, DCT of joints).
        q = torch.stack([q, q @ self.dct.T], dim=1)  # (N, 2, S, G, V)
        k = torch.stack([k, k @ self.dct.T], dim=1)
        own = self.Spa_Att(q, k)  # (N, 2, S, G, V, V)
        cross = _outer_softmax(  # maps between groups h and h+1: (N, 2, S, G-1, V, V)
            F.relu(self.linear(k[..., :-1, :])), F.relu(self.linear(q[..., 1:, :]))
        )
        cross = torch.stack([cross[:, 0], cross[:, 1] * self.freq_scale], dim=1)
        maps = 0.5 * own + 0.25 * torch.einsum("gh,ndshvw->ndsgvw", self.cross_mix, cross)
        return maps[:, 0] + maps[:, 1] @ self.idct.T  # IDCT along the output-joint axis

    def aggregate(self, m: Tensor, maps: Tensor) -> Tensor:
        """out[n, c, t, w] = sum_(s, v) m[n, s, c, t, v] * A[n, s, c, v, w], output joint = column.

        Upstream builds A = 0.5 * maps[group of c] + (A_SE + A_GEME)[c % 8] for every sample and
        channel and contracts it with one einsum: N * C tiny matrix products, slow on CPU.
        Channels of one group with one residue c % 8 share A, so skelab contracts per class:
        * group width a multiple of 8 (160, 320 channels): one large product per (sample,
          group, residue) with the summed A;
        * otherwise (80 channels): the maps per (sample, group) and the prior per residue as
          two large products, added.
        Both are exact up to float rounding.
        """
        n, s, c, t, v = m.shape  # (N, S, C, T, V)
        g, r = self.groups, self.prior_groups
        prior = (self.A_SE[:, None] + self.A_GEME).transpose(0, 1)  # (R, S, V, V)
        if (c // g) % r == 0:
            q = c // (g * r)  # channel c = (group, q, residue)
            rows = m.view(n, s, g, q, r, t, v).permute(0, 2, 4, 3, 5, 1, 6)
            rows = rows.reshape(n, g, r, q * t, s * v)  # (subset, joint) innermost
            adj = 0.5 * maps.transpose(1, 2)[:, :, None] + prior  # (N, G, R, S, V, V)
            out = torch.matmul(rows, adj.reshape(n, g, r, s * v, v))  # (N, G, R, Q*T, V)
            return out.view(n, g, r, q, t, v).transpose(2, 3).reshape(n, c, t, v)
        rows = m.permute(0, 2, 3, 1, 4).reshape(n, c, t, s * v)  # (subset, joint) innermost
        adj = maps.transpose(1, 2).reshape(n, g, s * v, v)  # (N, G, S*V, V)
        out = torch.matmul(rows.view(n, g, (c // g) * t, s * v), 0.5 * adj).view(n, c, t, v)
        by_residue = rows.view(n, c // r, r, t, s * v).permute(2, 0, 1, 3, 4).reshape(r, -1, s * v)
        static = torch.bmm(by_residue, prior.reshape(r, s * v, v)).view(r, n, c // r, t, v)
        return out + static.permute(1, 2, 0, 3, 4).reshape(n, c, t, v)

    def forward(self, x0: Tensor) -> Tensor:
        n, _, t, v = x0.shape  # (N, C_in, T, V)
        s, c, g = self.subsets, self.c_out, self.groups
        m = self.conv(x0).view(n, s, c, t, v)  # (N, S, C, T, V)
        # Q from the first half of each group's channels, K from the second, pooled over
        # channels and time. The 1x1 conv is linear, so pool its input and average its weights
        # instead of pooling m: same values, no extra pass over m forward or backward.
        w = self.conv.weight.view(s, g, 2, c // (2 * g), -1).mean(dim=3)  # (S, G, 2, C_in)
        b = self.conv.bias.view(s, g, 2, c // (2 * g)).mean(dim=3)
        pooled = torch.einsum("sghi,niv->nsghv", w, x0.mean(dim=2)) + b[..., None]
        maps = self.group_maps(pooled[:, :, :, 0], pooled[:, :, :, 1])  # (N, S, G, V, V)
        out = self.aggregate(m, maps)  # (N, C, T, V)
        # Channel reforming: a 3-tap conv across channels of the channel means, as a gate.
        gate = self.ChaRef_conv(out.mean(dim=(2, 3)).unsqueeze(1))  # (N, 1, C)
        out = out * (1.0 + torch.sigmoid(gate).view(n, c, 1, 1))
        return F.relu(self.bn(out) + self.down(x0))


# --------------------------------------------------------------------------------------------
# Temporal module


class TemporalAttention(nn.Module):
    """Frame-to-frame attention from pooled frame descriptors, sigmoid-normalised ('Tem_Trans')."""

    def __init__(self, c_in: int, c: int, frames: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c, 1, (stride, 1))
        self.bn = nn.BatchNorm2d(c)
        self.linear = nn.Linear(frames, frames)

    def attend(self, x: Tensor) -> Tensor:
        """Mix frames of the projected x (N, C, T, V) with att[t, u] = sigmoid(q_t k_u)."""
        half = x.shape[1] // 2
        q = x[:, :half].mean(dim=(1, 3))  # (N, T): mean over channels and joints
        k = x[:, half:].amax(dim=(1, 3))  # (N, T): max over channels and joints
        q, k = F.relu(self.linear(q)), F.relu(self.linear(k))
        att = torch.sigmoid(q.unsqueeze(2) * k.unsqueeze(1))  # (N, T, U)
        return self.bn(torch.einsum("nctv,ntu->ncuv", x, att))

    def forward(self, x: Tensor) -> Tensor:
        return self.attend(self.conv(x))


class TemporalGate(nn.Module):
    """Per-frame sigmoid gate from the mean and max over channels and joints ('Tem_Seq_h')."""

    def __init__(self, c_in: int, c: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c, 1, (stride, 1))
        self.bn = nn.BatchNorm2d(c)  # saved by upstream, unused in its forward
        self.combine_conv = nn.Conv2d(2, 1, 1)

    def gate(self, x: Tensor) -> Tensor:
        """Scale each frame of the projected x (N, C, T, V) by its gate."""
        stats = torch.stack([x.mean(dim=(1, 3)), x.amax(dim=(1, 3))], dim=1)  # (N, 2, T)
        return x * torch.sigmoid(self.combine_conv(stats.unsqueeze(-1)))  # gate (N, 1, T, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.gate(self.conv(x))


class TemporalMixFormer(nn.Module):
    """Five temporal branches of C/5 channels each, concatenated ('tem_mixf').

    Branches 0-1: 1x1 conv, BN, ReLU, temporal conv (kernel 5, dilation 1 / 2) with BN.
    Branch 2: 1x1 conv, BN, ReLU, max-pool over 3 frames, BN. Branch 3: temporal attention,
    BN. Branch 4: temporal gate, BN. All five start with a 1x1 conv of the same input; skelab
    runs those as one convolution (two when strided: branches 3-4 project strided frames).
    """

    def __init__(self, c_in: int, c_out: int, frames: int, stride: int = 1) -> None:
        super().__init__()
        if c_out % 5:
            raise ModelConfigError(
                f"FreqMixFormer temporal module: {c_out} channels do not split into 5 branches",
                fix="use channel widths that are multiples of 5 (upstream: 80, 160, 320)",
            )
        b = c_out // 5
        self.stride = stride

        def pointwise(stride_: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(c_in, b, 1, (stride_, 1)), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]

        self.branches = nn.ModuleList(
            [
                nn.Sequential(*pointwise(), TemporalConv(b, b, 5, stride, dilation=1)),
                nn.Sequential(*pointwise(), TemporalConv(b, b, 5, stride, dilation=2)),
                nn.Sequential(
                    *pointwise(),
                    nn.MaxPool2d((3, 1), (stride, 1), (1, 0)),
                    nn.BatchNorm2d(b),
                ),
                nn.Sequential(TemporalAttention(c_in, b, frames, stride), nn.BatchNorm2d(b)),
                nn.Sequential(TemporalGate(c_in, b, stride), nn.BatchNorm2d(b)),
            ]
        )

    def _projections(self, x: Tensor) -> list[Tensor]:
        """The five 1x1 convolutions of x, as one or two convolutions."""
        convs = [self.branches[i][0] for i in range(3)]
        convs += [self.branches[3][0].conv, self.branches[4][0].conv]
        weight = torch.cat([c.weight for c in convs])
        bias = torch.cat([c.bias for c in convs])
        b = convs[0].out_channels
        if self.stride == 1:
            return list(F.conv2d(x, weight, bias).split(b, dim=1))
        full = F.conv2d(x, weight[: 3 * b], bias[: 3 * b]).split(b, dim=1)
        strided = F.conv2d(x[:, :, :: self.stride], weight[3 * b :], bias[3 * b :])
        return list(full) + list(strided.split(b, dim=1))

    def forward(self, x: Tensor) -> Tensor:
        p = self._projections(x)  # 5 x (N, C/5, T or T / stride, V)
        outs = []
        for branch, y in zip(self.branches[:3], p[:3], strict=True):
            for layer in list(branch)[1:]:  # the rest of the branch after its 1x1 conv
                y = layer(y)
            outs.append(y)
        outs.append(self.branches[3][1](self.branches[3][0].attend(p[3])))
        outs.append(self.branches[4][1](self.branches[4][0].gate(p[4])))
        return torch.cat(outs, dim=1)  # (N, C_out, T / stride, V)


# --------------------------------------------------------------------------------------------
# Blocks and the network


class UnitSkip(nn.Module):
    """Strided 1x1 convolution with BatchNorm: the residual of a block that changes shape."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, (stride, 1))
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


class SkeMixFBlock(nn.Module):
    """relu(temporal(spatial(x)) + residual(x)) ('Ske_MixF')."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        partition: np.ndarray,
        frames: int,
        stride: int = 1,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.spa_mixf = SpatialFreqMixFormer(c_in, c_out, partition)
        self.tem_mixf = TemporalMixFormer(c_out, c_out, frames, stride)
        self.has_residual = residual
        if residual and (c_in != c_out or stride != 1):
            self.residual = UnitSkip(c_in, c_out, stride)
        else:
            self.residual = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y = self.tem_mixf(self.spa_mixf(x))
        return F.relu(y + self.residual(x)) if self.has_residual else F.relu(y)


class FreqMixFormer(nn.Module):
    """Relative-coordinate joint embedding, ten mixed blocks, multi-scale fusion, classifier."""

    def __init__(
        self,
        *,
        num_classes: int = 60,
        in_channels: int = 3,
        num_persons: int = 2,
        window: int = 64,
        hops: int = 8,
        dropout: float = 0.0,
        embed_channels: int = 80,
    ) -> None:
        super().__init__()
        c1 = embed_channels
        c2, c3 = 2 * c1, 4 * c1
        f1, f2, f3 = window, window // 2, window // 4  # frames seen by each stage
        partition = graph_partition()
        v = partition.shape[-1]
        self.register_buffer(
            "A_vector", torch.from_numpy(relative_coordinates(hops)), persistent=False
        )
        self.to_joint_embedding = nn.Linear(in_channels, c1)
        self.pos_embedding = nn.Parameter(torch.randn(1, v, c1))
        self.data_bn = nn.BatchNorm1d(num_persons * c1 * v)
        self.l1 = SkeMixFBlock(c1, c1, partition, f1, residual=False)
        self.l2 = SkeMixFBlock(c1, c1, partition, f1)
        self.l3 = SkeMixFBlock(c1, c1, partition, f1)
        self.l4 = SkeMixFBlock(c1, c1, partition, f1)
        self.l5 = SkeMixFBlock(c1, c2, partition, f2, stride=2)
        self.l6 = SkeMixFBlock(c2, c2, partition, f2)
        self.l7 = SkeMixFBlock(c2, c2, partition, f2)
        self.l8 = SkeMixFBlock(c2, c3, partition, f3, stride=2)
        self.l9 = SkeMixFBlock(c3, c3, partition, f3)
        self.l10 = SkeMixFBlock(c3, c3, partition, f3)
        self.first_tram = nn.Sequential(
            nn.AvgPool2d((4, 1)), nn.Conv2d(c1, c3, 1), nn.BatchNorm2d(c3), nn.ReLU(inplace=True)
        )
        self.second_tram = nn.Sequential(
            nn.AvgPool2d((2, 1)), nn.Conv2d(c2, c3, 1), nn.BatchNorm2d(c3), nn.ReLU(inplace=True)
        )
        self.drop_out = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(c3, num_classes)
        self._init_weights(num_classes)

    def _init_weights(self, num_classes: int) -> None:
        """Upstream's final init: Kaiming (fan_out) for every Conv2d, BN2d at (1, 0), fc normal."""
        for mod in self.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out")
                if mod.bias is not None:
                    nn.init.zeros_(mod.bias)
            elif isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
                nn.init.ones_(mod.weight)
                nn.init.zeros_(mod.bias)
        nn.init.normal_(self.fc.weight, 0.0, math.sqrt(2.0 / num_classes))

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape  # (N, C, T, V, M)
        x = torch.einsum("uv,ncsvm->nmsuc", self.A_vector, x)  # (N, M, T, V, C), relative coords
        x = self.to_joint_embedding(x) + self.pos_embedding  # (N, M, T, V, C1)
        c1 = x.shape[-1]
        x = x.permute(0, 1, 3, 4, 2).reshape(n, m * v * c1, t)  # BN over (M, V, C) channels
        x = self.data_bn(x).view(n, m, v, c1, t).permute(0, 1, 3, 4, 2).reshape(n * m, c1, t, v)
        x = self.l4(self.l3(self.l2(self.l1(x))))
        x2 = x  # (N*M, C1, T, V)
        x = self.l7(self.l6(self.l5(x)))
        x3 = x  # (N*M, C2, T/2, V)
        x = self.l10(self.l9(self.l8(x)))  # (N*M, C3, T/4, V)
        x = x + self.first_tram(x2) + self.second_tram(x3)
        x = x.reshape(n, m, x.shape[1], -1).mean(dim=3).mean(dim=1)  # (N, C3)
        return self.fc(self.drop_out(x))  # (N, num_classes)


# --------------------------------------------------------------------------------------------
# Builder


def _check_graph(graph: str | None, graph_args: dict[str, Any] | None) -> None:
    """Accept upstream's graph options only where they name the NTU 'spatial' graph."""
    if graph is not None and graph.rsplit(".", 2)[-2:] != ["ntu_rgb_d", "Graph"]:
        raise ModelConfigError(
            f"freqmixformer: graph {graph!r} is not supported",
            fix="use graph='graph.ntu_rgb_d.Graph' (the NTU RGB+D 25-joint graph) or leave it out",
        )
    mode = (graph_args or {}).get("labeling_mode", "spatial")
    unknown = set(graph_args or {}) - {"labeling_mode"}
    if mode != "spatial" or unknown:
        raise ModelConfigError(
            f"freqmixformer: graph_args {graph_args!r} are not supported",
            fix="use graph_args={'labeling_mode': 'spatial'}, upstream's only labelling",
        )


@register_model(
    ModelCard(
        name="freqmixformer",
        title="FreqMixFormer",
        paper="Frequency Guidance Matters: Skeletal Action Recognition by Frequency-Aware "
        "Mixed Transformer",
        venue="ACM MM",
        year=2024,
        upstream="github.com/wenhanwu95/FreqMixFormer model/skefreqmixformer.py",
        default_window=64,
        joint_layout="ntu25 (N, 3, T, 25, M), raw joints; the model forms I - A^k coordinates",
        streams=("joint", "joint_motion"),
        params_ntu60=2_065_048,
        reported_top1={"joint": 91.5, "ensemble": 93.6},
        notes="Upstream trains joint and joint-motion inputs, each with k = 8 (raw joints), "
        "1 (joint minus parent, bone-like) and 2 in I - A^k: build option hops=8/1/2. Ensemble "
        "= 6 streams (93.6 X-Sub; 4 streams k=8,1: 93.4); only joint (k=8) has a published "
        "single-stream figure. Window must be a multiple of 4; upstream runs window 64 only.",
    )
)
def freqmixformer(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = 25,
    num_persons: int = 2,
    window: int = 64,
    hops: int = 8,
    dropout: float = 0.0,
    graph: str | None = None,
    graph_args: dict[str, Any] | None = None,
) -> FreqMixFormer:
    """FreqMixFormer as in upstream's NTU configs (widths 80/160/320); `window` sizes the
    temporal attention (upstream: 64 only); `hops` is k in I - A_outward^k (8: raw joints)."""
    _check_graph(graph, graph_args)
    if num_joints != NUM_JOINTS:
        raise ModelConfigError(
            f"freqmixformer: num_joints={num_joints}, but its graph is NTU's 25-joint tree",
            fix="use num_joints=25 with NTU RGB+D (N, C, T, 25, M) input",
        )
    if window < 4 or window % 4:
        raise ModelConfigError(
            f"freqmixformer: window={window} is not a positive multiple of 4; the temporal "
            "attention is sized W, W/2, W/4 and the fusion pools blocks 4 and 7 by 4 and 2",
            fix="use window 64 (upstream's only value, needed for its checkpoints) or e.g. 48, 32",
        )
    if hops < 1:
        raise ModelConfigError(
            f"freqmixformer: hops={hops}, but k in I - A^k must be >= 1",
            fix="use 8 for joints (upstream default), 1 for the bone-like or 2 for the k=2 stream",
        )
    if not 0.0 <= dropout < 1.0:
        raise ModelConfigError(
            f"freqmixformer: dropout={dropout} is outside [0, 1)",
            fix="use 0.0 as upstream does",
        )
    for name, value in (
        ("num_classes", num_classes),
        ("in_channels", in_channels),
        ("num_persons", num_persons),
    ):
        if value < 1:
            raise ModelConfigError(
                f"freqmixformer: {name}={value} must be >= 1", fix="use e.g. 60, 3, 2"
            )
    return FreqMixFormer(
        num_classes=num_classes,
        in_channels=in_channels,
        num_persons=num_persons,
        window=window,
        hops=hops,
        dropout=dropout,
    )
