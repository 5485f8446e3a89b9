"""Speed and memory of training steps, behind `skelab bench`, `skelab fit` and `skelab smoke`.

Importing this package is cheap (torch loads on first use of a name), so the command line can
check its arguments, e.g. `skelab.bench.units.parse_bytes`, before torch is imported.
"""

from __future__ import annotations

from skelab._lazy import lazy_exports

_LAZY = {
    "MemoryEstimate": "skelab.bench.memory",
    "MemoryProbe": "skelab.bench.memory",
    "estimate_train_memory": "skelab.bench.memory",
    "model_config": "skelab.bench.memory",
    "probe_memory": "skelab.bench.memory",
    "StepResult": "skelab.bench.step",
    "example_inputs": "skelab.bench.step",
    "forward_flops": "skelab.bench.step",
    "time_step": "skelab.bench.step",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)
