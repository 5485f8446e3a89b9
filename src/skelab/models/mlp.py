"""MLP: skelab's sanity baseline, a floor that real models must beat.

Not from a paper: the original lab's `train_npz_mlp` check that data and training work. Each clip
is pooled to a few time segments (order kept), flattened and classified by two hidden layers.
"""

from __future__ import annotations

from torch import Tensor, nn

from skelab.models.registry import ModelCard, register_model


class MLP(nn.Module):
    """Sanity baseline: each clip pooled to a few time segments, flattened, and classified."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 3,
        num_joints: int = 25,
        num_persons: int = 2,
        segments: int = 16,
        hidden: tuple[int, ...] = (512, 256),
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.segments = segments
        layers: list[nn.Module] = []
        width = in_channels * num_joints * num_persons * segments
        for h in hidden:
            layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True)]
            layers += [nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape  # (N, C, T, V, M)
        x = x.permute(0, 1, 3, 4, 2).reshape(n, c * v * m, t)
        x = nn.functional.adaptive_avg_pool1d(x, self.segments)  # (N, C·V·M, S): keeps order
        return self.net(x.flatten(1))


@register_model(
    ModelCard(
        name="mlp",
        title="MLP",
        paper="skelab sanity baseline (the original lab's train_npz_mlp)",
        venue="skelab",
        year=2026,
        upstream="(none)",
        default_window=64,
        joint_layout="any (N, C, T, V, M)",
        any_layout=True,
        head="net.-1",
        streams=("joint", "bone", "joint_motion", "bone_motion"),
        params_ntu60=1_377_596,
        notes="Clip pooled to 16 time segments, flattened, two hidden layers: a check that data "
        "and training work, and a floor that real models must beat.",
    )
)
def mlp(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = 25,
    num_persons: int = 2,
    window: int | None = None,
    segments: int = 16,
    hidden: tuple[int, ...] = (512, 256),
    dropout: float = 0.2,
) -> MLP:
    """MLP on time-pooled, flattened frames; any window, any joint count."""
    return MLP(
        num_classes=num_classes,
        in_channels=in_channels,
        num_joints=num_joints,
        num_persons=num_persons,
        segments=segments,
        hidden=tuple(hidden),
        dropout=dropout,
    )
