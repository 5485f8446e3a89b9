"""Speed and memory of training steps, behind `skelab bench`, `skelab fit` and `skelab smoke`."""

from skelab.bench.memory import (
    MemoryEstimate,
    MemoryProbe,
    estimate_train_memory,
    model_config,
    probe_memory,
)
from skelab.bench.step import StepResult, example_inputs, forward_flops, time_step

__all__ = [
    "MemoryEstimate",
    "MemoryProbe",
    "StepResult",
    "estimate_train_memory",
    "example_inputs",
    "forward_flops",
    "model_config",
    "probe_memory",
    "time_step",
]
