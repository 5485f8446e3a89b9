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
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from skelab.models.layers.init import constant_bn_, kaiming_conv_


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

    def forward(self, x: Tensor) -> Tensor:
        out = torch.cat([branch(x) for branch in self.branches], dim=1)  # (N, C_out, T/s, V)
        if self.residual is not None:
            out = out + self.residual(x)
        return self.act(out)


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
