"""skelab: Skeleton Action Lab.

Skeleton-based human action recognition on NTU RGB+D: data formats and on-device transforms,
faithful model reimplementations that load upstream checkpoints, training, evaluation and
stream fusion. Importing `skelab` is cheap; submodules load on first use:

    import skelab
    ds = skelab.data.load("NTU60_CS.npz", split="test")
    model = skelab.models.build("ctrgcn", num_classes=60)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = [
    "__version__", "data", "engine", "errors", "models", "skeletons", "load_config", "Predictor",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in {"data", "engine", "errors", "models", "skeletons", "zeroshot", "bench", "viz"}:
        return importlib.import_module(f"skelab.{name}")
    if name == "load_config":
        return importlib.import_module("skelab.engine.config").load_config
    if name == "Predictor":  # frames one at a time, an answer every stride (skelab.apps.timeline)
        return importlib.import_module("skelab.apps.timeline").Predictor
    raise AttributeError(f"module 'skelab' has no attribute {name!r}")
