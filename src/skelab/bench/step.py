"""Time a training step (or an inference pass) of a config, on the code path of `skelab train`.

The training step is `skelab.engine.step.train_step` with the config's optimizer
(`skelab.engine.build.build_optimizer`), loss (label smoothing, auxiliary losses) and gradient
clipping, and mixed precision as the trainer applies it (`skelab.engine.step.amp_dtype`: CUDA
only; on the CPU the step runs in float32 and the row says so). Inference is
`skelab.engine.step.forward` under `torch.no_grad()` in eval mode.

Method: synthetic inputs of the model's layout, `warmup` untimed steps, then `steps` timed steps,
each ended by `torch.cuda.synchronize()` on CUDA; the median and the spread (min, max) are
reported. The measured peak is `torch.cuda.max_memory_allocated()` over the timed steps (CUDA
only). FLOPs are counted once for the forward pass of one sample with
`torch.utils.flop_counter.FlopCounterMode` (2 per multiply-add); it counts matrix products,
convolutions and attention only, and `forward_flops` names the operators it saw but did not count.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

from skelab.models import count_parameters, get_card

# Shape and memory-layout operators: no arithmetic, so leaving them out of FLOPs loses nothing.
_NO_ARITHMETIC = frozenset(
    {
        "view", "reshape", "_unsafe_view", "permute", "transpose", "t", "expand", "unsqueeze",
        "squeeze", "select", "slice", "split", "split_with_sizes", "chunk", "unbind", "clone",
        "contiguous", "detach", "alias", "as_strided", "empty", "empty_like", "zeros", "zeros_like",
        "ones", "ones_like", "full", "new_zeros", "new_empty", "copy_", "_to_copy", "to", "cat",
        "stack", "index_select", "gather", "lift_fresh", "arange", "linspace", "repeat", "flip",
        "roll", "pad", "constant_pad_nd", "_reshape_alias", "unfold", "narrow", "fill_",
    }
)  # fmt: skip


@dataclass(frozen=True)
class StepResult:
    """One model's measurement."""

    model: str
    preset: str
    mode: str  # "train" | "infer"
    device: str
    precision: str  # requested
    dtype: str  # what ran ("float32" on the CPU whatever was requested)
    batch: int
    window: int
    params: int
    gflops_per_sample: float  # forward pass, counted operators only
    step_s: float  # median
    step_s_min: float
    step_s_max: float
    samples_per_s: float
    measured_peak_bytes: int | None  # CUDA only
    estimated_peak_bytes: int | None  # skelab.bench.memory, training only
    uncounted_ops: str  # operators with arithmetic that the FLOP counter does not count

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


class _OpNames(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.names.add(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def forward_flops(model: nn.Module, inputs: dict[str, Tensor]) -> tuple[int, list[str]]:
    """(forward FLOPs for `inputs`, operators with arithmetic that the counter leaves out)."""
    from torch.utils.flop_counter import FlopCounterMode, flop_registry

    counted = {packet.__name__ for packet in flop_registry}
    was_training = model.training
    model.eval()
    seen = _OpNames()
    with FlopCounterMode(display=False) as counter, seen, torch.no_grad():
        x = inputs["x"]
        model(x, **{k: v for k, v in inputs.items() if k != "x"})
    model.train(was_training)
    uncounted = sorted(n for n in seen.names - counted if n.rstrip("_") not in _NO_ARITHMETIC)
    return int(counter.get_total_flops()), uncounted


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_steps(
    cfg: Any,
    *,
    batch: int,
    device: torch.device,
    precision: str = "fp32",
    mode: str = "train",
    steps: int = 5,
    warmup: int = 1,
) -> tuple[nn.Module, list[float], int | None, torch.dtype | None]:
    """(model, seconds per timed step, CUDA peak bytes or None, dtype that ran)."""
    from skelab.engine.build import build_model, build_optimizer
    from skelab.engine.step import amp_dtype, forward, make_scaler, train_step

    amp = {"fp32": "none"}.get(precision, precision)
    dtype = amp_dtype(amp, device)
    card = get_card(cfg.model.name)
    model = build_model(cfg).to(device).train(mode == "train")
    inputs = example_inputs(cfg.model.name, batch=batch, window=cfg.data.window, device=device)
    x, index_t = inputs["x"], inputs.get("index_t")
    y = torch.randint(0, cfg.data.num_classes, (batch,), device=device)
    if mode == "train":
        optimizer = build_optimizer(cfg, model)
        scaler = make_scaler(dtype, device)

        def step() -> None:
            train_step(
                model,
                optimizer,
                scaler,
                x,
                y,
                index_t=index_t,
                needs_index_t=card.needs_index_t,
                dtype=dtype,
                chunk_size=batch,
                label_smoothing=cfg.loss.label_smoothing,
                clip_grad=cfg.train.clip_grad,
            )
    else:

        def step() -> None:
            with torch.no_grad():
                forward(model, x, index_t, needs_index_t=card.needs_index_t, dtype=dtype)

    for _ in range(warmup):
        step()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return model, times, peak, dtype


def time_step(
    cfg: Any,
    *,
    batch: int,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    mode: str = "train",
    steps: int = 5,
    warmup: int = 1,
    estimate: bool = True,
    preset: str = "",
) -> StepResult:
    """Median time of a training step (or inference pass) of `cfg` on random data."""
    from skelab.bench.memory import check_precision, probe_memory

    check_precision(precision)
    dev = torch.device(device)
    model, times, peak, dtype = run_steps(
        cfg, batch=batch, device=dev, precision=precision, mode=mode, steps=steps, warmup=warmup
    )
    one = example_inputs(cfg.model.name, batch=1, window=cfg.data.window, device=dev)
    flops, uncounted = forward_flops(model, one)
    est = None
    if estimate and mode == "train":
        est = probe_memory(cfg, precision=precision).at(batch).peak_bytes
    med = statistics.median(times)
    return StepResult(
        model=cfg.model.name,
        preset=preset,
        mode=mode,
        device=str(dev),
        precision=precision,
        dtype=str(dtype).removeprefix("torch.") if dtype is not None else "float32",
        batch=batch,
        window=cfg.data.window,
        params=count_parameters(model),
        gflops_per_sample=flops / 1e9,
        step_s=med,
        step_s_min=min(times),
        step_s_max=max(times),
        samples_per_s=batch / med,
        measured_peak_bytes=peak,
        estimated_peak_bytes=est,
        uncounted_ops=" ".join(uncounted),
    )
