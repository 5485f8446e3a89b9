"""Models: one file per architecture, a registry with model cards, upstream checkpoint import."""

from skelab.models.registry import (
    ModelCard,
    build,
    count_parameters,
    get_card,
    list_models,
    register_model,
)
from skelab.models.upstream import load_upstream_checkpoint, read_state_dict

__all__ = [
    "ModelCard",
    "build",
    "count_parameters",
    "get_card",
    "list_models",
    "load_upstream_checkpoint",
    "read_state_dict",
    "register_model",
]
