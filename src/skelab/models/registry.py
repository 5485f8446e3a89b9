"""Model registry and model cards.

Each model file ends with builders decorated by `@register_model(card)`. A builder takes
keyword-only skelab options (`num_classes`, `in_channels`, `num_joints`, `num_persons`,
`window`, ...) and, where the upstream constructor names them differently, accepts those names
too, so an upstream config's `model_args` can be passed as they are. `build` maps the aliases
every upstream repo shares; a builder handles the ones only its repo uses.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from skelab.errors import ModelConfigError, UnknownNameError, did_you_mean

# Upstream keyword -> skelab keyword, shared by the CTR-GCN family of repos.
COMMON_ALIASES: dict[str, str] = {
    "num_class": "num_classes",
    "num_point": "num_joints",
    "num_person": "num_persons",
    "drop_out": "dropout",
}


@dataclass(frozen=True)
class ModelCard:
    """What a user needs to know before training a model: source, size, expected accuracy."""

    name: str
    title: str  # e.g. "CTR-GCN"
    paper: str
    venue: str
    year: int
    upstream: str  # repository and file
    default_window: int
    joint_layout: str  # input the model expects, e.g. "ntu25 (N, 3, T, 25, 2)"
    streams: tuple[str, ...]
    params_ntu60: int
    reported_top1: dict[str, float] = field(default_factory=dict)  # NTU60 X-Sub, per stream
    needs_index_t: bool = False
    needs_joint: bool = False  # BlockGCN: forward(x, joint=raw joints), the blockgcn data style
    input_joints: int = 25  # joints per person the model reads (SkateFormer: 24, reordered)
    # True: the builder takes any joint layout (`skeleton=`, `num_joints=`, `num_persons=`),
    # so training on a prepared folder takes them from its meta.json (`skelab.engine.fromdata`)
    any_layout: bool = False
    # Module path of the classifier, whose keys `train.drop_head` skips (another class count);
    # a part `-1` is the module's last child (MLP: "net.-1").
    head: str = "fc"
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Entry:
    builder: Callable[..., nn.Module]
    card: ModelCard


_REGISTRY: dict[str, _Entry] = {}
_DISCOVERED = False


def register_model(
    card: ModelCard,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a builder under `card.name`; a name registered twice is an error."""

    def wrap(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if card.name in _REGISTRY and _REGISTRY[card.name].builder is not builder:
            raise ModelConfigError(f"model name {card.name!r} is registered twice")
        _REGISTRY[card.name] = _Entry(builder, card)
        return builder

    return wrap


def _discover() -> None:
    """Import every module of `skelab.models` once, so that their builders register."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    import skelab.models as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name in {"registry", "upstream", "layers"}:
            continue
        importlib.import_module(f"skelab.models.{info.name}")
    _DISCOVERED = True


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    _discover()
    return sorted(_REGISTRY)


def _entry(name: str) -> _Entry:
    _discover()
    if name not in _REGISTRY:
        hint = did_you_mean(name, _REGISTRY)
        raise UnknownNameError(
            f"unknown model {name!r}{hint}", fix="`skelab models` lists every model"
        )
    return _REGISTRY[name]


def get_card(name: str) -> ModelCard:
    """The model card of a registered model."""
    return _entry(name).card


def any_layout_models() -> list[str]:
    """Models whose card says they take any joint layout, sorted."""
    _discover()
    return sorted(n for n, e in _REGISTRY.items() if e.card.any_layout)


def builder_defaults(name: str) -> dict[str, Any]:
    """The builder's keyword options with their defaults (what `build` passes when unset)."""
    params = inspect.signature(_entry(name).builder).parameters
    return {
        k: p.default
        for k, p in params.items()
        if p.kind is not inspect.Parameter.VAR_KEYWORD and p.default is not inspect.Parameter.empty
    }


def build(name: str, **options: Any) -> nn.Module:
    """Build a registered model from skelab options or upstream constructor keywords."""
    entry = _entry(name)
    params = inspect.signature(entry.builder).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    resolved: dict[str, Any] = {}
    for key, value in options.items():
        target = key
        if key not in params and COMMON_ALIASES.get(key) in params:
            target = COMMON_ALIASES[key]
        if target in resolved:
            raise ModelConfigError(
                f"{name}: option {target!r} given twice (as {key!r} and under its other name)",
                fix="pass it once",
            )
        if target not in params and not accepts_any:
            valid = sorted(p for p in params if not p.startswith("_"))
            hint = did_you_mean(target, valid)
            raise ModelConfigError(
                f"{name}: unknown option {key!r}{hint}",
                fix=f"valid options: {', '.join(valid)}",
            )
        resolved[target] = value
    return entry.builder(**resolved)


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters, frozen ones included (as upstream papers and repos count them).

    Hyper-GCN keeps its graph prior `PA` as a frozen parameter: 1,098,125 in all for the base
    model, 1,041,677 of them trainable.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
