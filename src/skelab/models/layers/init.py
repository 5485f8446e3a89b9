"""Weight initialisations that several upstream repositories share (CTR-GCN and its descendants)."""

from __future__ import annotations

from torch import nn


def kaiming_conv_(conv: nn.Conv1d | nn.Conv2d) -> None:
    """Kaiming normal over fan-out, zero bias: the CTR-GCN family's `conv_init`."""
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def constant_bn_(bn: nn.BatchNorm1d | nn.BatchNorm2d, gamma: float) -> None:
    """BatchNorm gamma set to a constant, beta zero: the family's `bn_init`."""
    nn.init.constant_(bn.weight, gamma)
    nn.init.zeros_(bn.bias)
