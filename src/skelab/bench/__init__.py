"""Timing and memory harness behind `skelab bench`: training-step speed, FLOPs, peak memory."""

from skelab.bench.memory import MemoryEstimate, estimate_train_memory
from skelab.bench.step import StepResult, example_inputs, forward_flops, time_train_step

__all__ = [
    "MemoryEstimate",
    "StepResult",
    "estimate_train_memory",
    "example_inputs",
    "forward_flops",
    "time_train_step",
]
