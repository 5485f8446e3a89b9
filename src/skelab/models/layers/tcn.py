"""Multi-scale temporal convolution, shared by CTR-GCN, MS-G3D and Hyper-GCN.

Paper: Liu et al., "Disentangling and Unifying Graph Convolutions for Skeleton-Based Action
Recognition", CVPR 2020 (MS-TCN); CTR-GCN (ICCV 2021) and Hyper-GCN (ICCV 2025) reuse it with
kernel 5 and dilations (1, 2). Attribute names follow the upstream checkpoints
(`branches.{i}.{j}`, `.conv`, `.bn`, `residual`), so their weights load without renaming.

Layout of the branches, for D dilations and branch width b = C_out / (D + 2):
  branch i < D : 1x1 conv -> BN -> ReLU -> TemporalConv(kernel, dilation d_i, stride)
  branch D     : 1x1 conv -> BN -> ReLU -> MaxPool(3, stride) -> BN
  branch D + 1 : 1x1 conv with stride -> BN
The outputs are concatenated along channels; an optional residual is added, then the optional
activation.

Same function, less work than upstream's loop over branches: the 1x1 convolutions that open
the branches all read the same input, so those with stride 1 run as one convolution with their
weights stacked along the output channels, and their BatchNorms as one batch norm over the
stacked channels (BatchNorm is per channel, so this is exact; each module's running statistics
and batch counter are updated as its own forward would). The weights stay in their modules
under upstream's keys. BatchNorms with different settings fall back to the branch loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.models.layers.init import constant_bn_, kaiming_conv_
from skelab.models.layers.pointwise import conv1x1, pointwise


class TemporalConv(nn.Module):
    """Convolution over frames only (kernel (k, 1)), then BatchNorm; joints never mix."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int = 1,
        dilation: int = 1,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        pad = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(
            c_in,
            c_out,
            (kernel, 1),
            stride=(stride, 1),
            padding=(pad, 0),
            dilation=(dilation, 1),
            padding_mode=padding_mode,
        )
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))  # (N, C, T, V) -> (N, C_out, T / stride, V)


class MultiScaleTemporalConv(nn.Module):
    """Parallel temporal branches of several dilations, a max-pool and a strided 1x1 branch."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int = 3,
        stride: int = 1,
        dilations: tuple[int, ...] = (1, 2, 3, 4),
        residual: bool = True,
        activation: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        n_branches = len(dilations) + 2
        if c_out % n_branches:
            raise ValueError(f"c_out={c_out} must be a multiple of {n_branches} branches")
        b = c_out // n_branches
        branches: list[nn.Module] = [
            nn.Sequential(
                nn.Conv2d(c_in, b, 1),
                nn.BatchNorm2d(b),
                nn.ReLU(inplace=True),
                TemporalConv(b, b, kernel, stride, d, padding_mode),
            )
            for d in dilations
        ]
        branches.append(
            nn.Sequential(
                nn.Conv2d(c_in, b, 1),
                nn.BatchNorm2d(b),
                nn.ReLU(inplace=True),
                nn.MaxPool2d((3, 1), stride=(stride, 1), padding=(1, 0)),
                nn.BatchNorm2d(b),
            )
        )
        branches.append(nn.Sequential(nn.Conv2d(c_in, b, 1, stride=(stride, 1)), nn.BatchNorm2d(b)))
        self.branches = nn.ModuleList(branches)
        if not residual:
            self.residual: nn.Module | None = None
        elif c_in == c_out and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = TemporalConv(c_in, c_out, 1, stride)
        self.act = nn.ReLU(inplace=True) if activation else nn.Identity()

    def _heads(self) -> list[nn.Sequential]:
        """Branches whose opening 1x1 convolution has stride 1 (all of them when stride is 1)."""
        return [b for b in self.branches if b[0].stride == (1, 1)]

    def _branches_fused(self, x: Tensor) -> list[Tensor]:
        """All branch outputs, the stride-1 opening convolutions and BatchNorms run as one."""
        heads = self._heads()
        convs = [b[0] for b in heads]
        weight = torch.cat([c.weight for c in convs])
        bias = torch.cat([c.bias for c in convs])
        h = stacked_batch_norm(conv1x1(x, weight, bias), [b[1] for b in heads])
        # split, not sliced: backward concatenates the branch gradients once, where each
        # slice's backward would zero-fill a tensor the size of h
        parts = iter(h.split([c.out_channels for c in convs], dim=1))
        outs = []
        for branch in self.branches:
            if branch[0].stride != (1, 1):  # the strided 1x1 branch: its own conv and BN
                outs.append(branch[1](pointwise(branch[0], x)))
                continue
            y = next(parts)
            for layer in list(branch)[2:]:  # after conv and BN: ReLU, then the branch's tail
                y = F.relu(y) if isinstance(layer, nn.ReLU) else layer(y)
            outs.append(y)
        return outs

    def forward(self, x: Tensor) -> Tensor:
        if fusable_batch_norms([b[1] for b in self._heads()]):
            outs = self._branches_fused(x)
        else:
            outs = [branch(x) for branch in self.branches]
        out = torch.cat(outs, dim=1)  # (N, C_out, T/s, V)
        if self.residual is not None:
            out = out + self.residual(x)
        return self.act(out)


def fusable_batch_norms(bns: list[nn.Module]) -> bool:
    """True if these BatchNorms can run as one: same type and settings, all affine."""
    if len(bns) < 2 or any(type(b) is not nn.BatchNorm2d for b in bns):
        return False
    first = bns[0]
    return all(
        b.affine
        and b.training == first.training
        and b.eps == first.eps
        and b.momentum == first.momentum
        and b.track_running_stats == first.track_running_stats
        # a cumulative average (momentum None) weighs by the batch count, read in training only
        and (
            b.momentum is not None
            or not b.training
            or int(b.num_batches_tracked) == int(first.num_batches_tracked)
        )
        for b in bns
    )


def stacked_batch_norm(x: Tensor, bns: list[nn.BatchNorm2d]) -> Tensor:
    """`cat([bn_i(x_i)])` for x = cat([x_i]) along channels, as one batch norm.

    Follows `nn.BatchNorm2d.forward`: batch statistics in training (or without running
    statistics), the running statistics otherwise; in training each module's running mean,
    variance and batch counter are updated as its own forward would update them.
    """
    first = bns[0]
    training = first.training
    track = first.track_running_stats and first.running_mean is not None
    factor = 0.0 if first.momentum is None else first.momentum
    if training and track:
        for bn in bns:
            bn.num_batches_tracked.add_(1)
        if first.momentum is None:  # cumulative moving average
            factor = 1.0 / float(first.num_batches_tracked)
    mean = torch.cat([bn.running_mean for bn in bns]) if track else None
    var = torch.cat([bn.running_var for bn in bns]) if track else None
    weight = torch.cat([bn.weight for bn in bns])
    bias = torch.cat([bn.bias for bn in bns])
    use_batch = training or not track
    y = F.batch_norm(x, mean, var, weight, bias, use_batch, factor, first.eps)
    if training and track:
        with torch.no_grad():
            start = 0
            for bn in bns:
                width = bn.num_features
                bn.running_mean.copy_(mean[start : start + width])
                bn.running_var.copy_(var[start : start + width])
                start += width
    return y


def ctrgcn_temporal(channels: int, stride: int = 1, padding_mode: str = "zeros") -> nn.Module:
    """CTR-GCN's `tcn1`: kernel 5, dilations (1, 2), no inner residual or activation, with
    upstream's `weights_init` (Kaiming convs, zero biases, BN gamma ~ N(1, 0.02), beta 0).
    Hyper-GCN uses the same module with replicate padding."""
    tcn = MultiScaleTemporalConv(
        channels,
        channels,
        kernel=5,
        stride=stride,
        dilations=(1, 2),
        residual=False,
        activation=False,
        padding_mode=padding_mode,
    )
    for m in tcn.modules():
        if isinstance(m, nn.Conv2d):
            kaiming_conv_(m)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return tcn


def unit_tcn(c_in: int, c_out: int, stride: int = 1, padding_mode: str = "zeros") -> TemporalConv:
    """The CTR-GCN family's projected unit residual: 1x1 conv with stride, then BN (gamma 1)."""
    res = TemporalConv(c_in, c_out, 1, stride, padding_mode=padding_mode)
    kaiming_conv_(res.conv)
    constant_bn_(res.bn, 1.0)
    return res
