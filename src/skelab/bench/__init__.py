"""Timing and memory harness behind `skelab bench`: training-step speed, FLOPs, peak memory."""

from skelab.bench.step import StepResult, example_inputs, forward_flops, time_train_step

__all__ = ["StepResult", "example_inputs", "forward_flops", "time_train_step"]
