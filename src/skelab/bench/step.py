"""Time one training step (forward, loss, backward, optimizer step) of a registered model.

Method: synthetic inputs of the model's layout, `warmup` untimed steps, then `repeats` timed
steps; the median is reported. On CUDA every timing is taken after `torch.cuda.synchronize()`
and the peak memory is `torch.cuda.max_memory_allocated()` over the timed steps (what PyTorch's
allocator handed out; the process holds a little more for the CUDA context). FLOPs are counted
once for the forward pass of one sample with `torch.utils.flop_counter.FlopCounterMode`
(2 FLOPs per multiply-add, convolutions and matrix products only).
"""

from __future__ import annotations

import statistics
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from skelab.models import build, count_parameters, get_card


@dataclass(frozen=True)
class StepResult:
    """One model's training-step measurement."""

    model: str
    device: str
    dtype: str
    batch: int
    window: int
    params: int
    step_s: float  # median seconds per step
    step_s_all: tuple[float, ...]
    samples_per_s: float
    gflops_per_sample: float  # forward pass
    peak_mem_gb: float | None  # CUDA only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def example_inputs(
    name: str, *, batch: int, window: int, device: str | torch.device = "cpu", persons: int = 2
) -> dict[str, Tensor]:
    """Random inputs in the layout a model reads: `x` and, where needed, `index_t`."""
    card = get_card(name)
    x = torch.randn(batch, 3, window, card.input_joints, persons, device=device)
    out = {"x": x}
    if card.needs_index_t:
        out["index_t"] = torch.linspace(-1, 1, window, device=device).expand(batch, -1).clone()
    return out


def forward_flops(model: nn.Module, inputs: dict[str, Tensor]) -> int:
    """Forward FLOPs for the given inputs (2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        x = inputs["x"]
        model(x, **{k: v for k, v in inputs.items() if k != "x"})
    model.train(was_training)
    return int(counter.get_total_flops())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_train_step(
    name: str,
    *,
    batch: int = 16,
    window: int | None = None,
    device: str = "cpu",
    amp: str = "none",
    repeats: int = 5,
    warmup: int = 1,
    num_classes: int = 60,
    options: dict[str, Any] | None = None,
) -> StepResult:
    """Median time of a full training step of `name` with random data."""
    card = get_card(name)
    window = window or card.default_window
    dev = torch.device(device)
    opts = {"num_classes": num_classes, "window": window, **(options or {})}
    model = build(name, **opts).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    one = example_inputs(name, batch=1, window=window, device=dev)
    flops = forward_flops(model, one)
    inputs = example_inputs(name, batch=batch, window=window, device=dev)
    x = inputs.pop("x")
    y = torch.randint(0, num_classes, (batch,), device=dev)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
    autocast = torch.autocast(dev.type, dtype=dtype) if dtype is not None else nullcontext()
    scaler = torch.amp.GradScaler(dev.type, enabled=amp == "fp16")

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = nn.functional.cross_entropy(model(x, **inputs), y)
            aux = getattr(model, "auxiliary_losses", None)
            if aux is not None:
                loss = loss + sum(aux().values())
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    for _ in range(warmup):
        step()
    _sync(dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        _sync(dev)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    peak = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else None
    return StepResult(
        model=name,
        device=str(dev),
        dtype=amp if dtype is not None else "float32",
        batch=batch,
        window=window,
        params=count_parameters(model),
        step_s=med,
        step_s_all=tuple(times),
        samples_per_s=batch / med,
        gflops_per_sample=flops / 1e9,
        peak_mem_gb=peak,
    )
