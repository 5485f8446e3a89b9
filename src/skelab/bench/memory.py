"""Estimate the GPU memory of a training step without a GPU, by counting a real step.

Method (an estimate, labelled as such wherever it is quoted). The model, its optimizer and a
synthetic batch are built on the `meta` device (shapes and dtypes, no data, no arithmetic), and
`skelab.engine.step.train_step` (the step `skelab train` runs: chunked forward, the trainer's
loss, backward, clipping, the preset's optimizer) runs on them twice, at two small batches:

- activations: every distinct storage autograd saves for backward (saved-tensor hooks), other
  than the weights and buffers themselves. Under bf16/fp16 the forward pass runs under CUDA's
  autocast policy (`skelab.bench.autocast_policy`), so the count holds what autocast really keeps:
  16-bit copies of conv/matmul inputs and weights, float32 outputs of layer_norm and softmax.
- transient: a dispatch-level tracker follows every storage created during the step until it is
  freed; the transient is the peak of that live memory minus the activations (gradients of
  activations in flight, backward scratch, optimizer temporaries).
- weights (float32 master weights and buffers, whatever the precision), gradients (float32, like
  the weights) and optimizer state, read from the optimizer after a first step (SGD momentum: one
  buffer per weight; AdamW: two, plus step counters). The estimate is the second step's peak,
  once that state exists. The fp16 grad scaler holds two scalars and unscales in place.
- the CUDA context is not allocator memory (`max_memory_allocated` never sees it): its own column,
  a constant of 0.5 GiB (CUDA 12 with lazy module loading; driver and GPU change it).

Activation and transient bytes are linear in the batch (checked in tests), so two probes give a
fixed and a per-sample part, and `MemoryProbe.at(batch)` answers any batch. What is not counted:
cuDNN/cuBLAS workspaces chosen at run time and allocator fragmentation; `skelab fit` keeps a
safety margin for them.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from skelab.bench.autocast_policy import CudaAutocast
from skelab.errors import ConfigError

GIB = 2**30
CUDA_CONTEXT_BYTES = GIB // 2
PRECISIONS: dict[str, torch.dtype | None] = {
    "fp32": None,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}
PROBE_BATCHES = (2, 4)


def check_precision(precision: str) -> torch.dtype | None:
    """The autocast dtype of "fp32" | "bf16" | "fp16" (None for float32)."""
    if precision not in PRECISIONS:
        raise ConfigError(
            "--precision", f"{precision!r} is not one of fp32, bf16, fp16", fix="--precision bf16"
        )
    return PRECISIONS[precision]


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak memory of one training step (the second one) at `batch` per forward."""

    model: str
    precision: str
    optimizer: str
    window: int
    batch: int  # samples per forward pass
    params: int
    weights_bytes: int
    grads_bytes: int
    optimizer_bytes: int
    activation_bytes: int
    activation_bytes_per_sample: float
    transient_bytes: int
    cuda_context_bytes: int = CUDA_CONTEXT_BYTES

    @property
    def allocated_bytes(self) -> int:
        """What PyTorch's allocator hands out at the peak (compare `max_memory_allocated`)."""
        return (
            self.weights_bytes
            + self.grads_bytes
            + self.optimizer_bytes
            + self.activation_bytes
            + self.transient_bytes
        )

    @property
    def peak_bytes(self) -> int:
        """Allocator peak plus the CUDA context: what the GPU must hold."""
        return self.allocated_bytes + self.cuda_context_bytes

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["allocated_bytes"] = self.allocated_bytes
        out["peak_bytes"] = self.peak_bytes
        return out


@dataclass(frozen=True)
class MemoryProbe:
    """Fixed and per-sample parts of a step's memory, from two probe batches."""

    model: str
    precision: str
    optimizer: str
    window: int
    params: int
    weights_bytes: int
    grads_bytes: int
    optimizer_bytes: int
    activation_fixed: float
    activation_per_sample: float
    transient_fixed: float
    transient_per_sample: float
    batchnorm: bool = False  # the model has BatchNorm layers (statistics per forward pass)

    def at(self, batch: int) -> MemoryEstimate:
        """The estimate at `batch` samples per forward pass."""
        act = max(0.0, self.activation_fixed + self.activation_per_sample * batch)
        tmp = max(0.0, self.transient_fixed + self.transient_per_sample * batch)
        return MemoryEstimate(
            model=self.model,
            precision=self.precision,
            optimizer=self.optimizer,
            window=self.window,
            batch=batch,
            params=self.params,
            weights_bytes=self.weights_bytes,
            grads_bytes=self.grads_bytes,
            optimizer_bytes=self.optimizer_bytes,
            activation_bytes=round(act),
            activation_bytes_per_sample=self.activation_per_sample,
            transient_bytes=round(tmp),
        )

    def largest_batch(self, budget_bytes: float) -> int:
        """Largest forward batch whose `peak_bytes` fits `budget_bytes` (0 if none)."""
        fixed = self.at(0).peak_bytes
        per = self.activation_per_sample + self.transient_per_sample
        if per <= 0 or fixed > budget_bytes:
            return 0
        batch = int((budget_bytes - fixed) // per)
        while batch > 0 and self.at(batch).peak_bytes > budget_bytes:
            batch -= 1
        return batch


@dataclass(frozen=True)
class StepCount:
    """One counted step: activation and transient bytes at one batch."""

    batch: int
    activation_bytes: int
    transient_bytes: int


class _LiveStorages(TorchDispatchMode):
    """Follows every storage an operator creates until it is freed; keeps an event log.

    Storage addresses are reused once freed, so each allocation gets its own serial number."""

    def __init__(self, existing: set[int]) -> None:
        super().__init__()
        self.existing = existing
        self.live: dict[int, tuple[int, int]] = {}  # storage address -> (serial, bytes)
        self.events: list[tuple[int, int]] = []  # (serial, +bytes | -bytes)

    def add(self, t: Tensor) -> None:
        st = t.untyped_storage()
        key = st._cdata
        if key in self.existing or key in self.live:
            return
        serial = len(self.events)
        self.live[key] = (serial, st.nbytes())
        self.events.append((serial, st.nbytes()))
        weakref.finalize(st, self._free, key)

    def _free(self, key: int) -> None:
        entry = self.live.pop(key, None)
        if entry is not None:
            self.events.append((entry[0], -entry[1]))

    def serials(self, tensors: Iterator[Tensor]) -> set[int]:
        """Serial numbers of the live storages of `tensors`."""
        keys = _keys(tensors)
        return {serial for key, (serial, _) in self.live.items() if key in keys}

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, Tensor):
                self.add(t)
        return out

    def peak(self, skip: set[int]) -> int:
        """Highest live total over the log, leaving out the allocations in `skip`."""
        now = top = 0
        for serial, n in self.events:
            if serial not in skip:
                now += n
                top = max(top, now)
        return top


def _keys(tensors: Iterator[Tensor]) -> set[int]:
    return {t.untyped_storage()._cdata for t in tensors}


def _bytes(tensors: Iterator[Tensor]) -> int:
    seen: dict[int, int] = {}
    for t in tensors:
        st = t.untyped_storage()
        seen[st._cdata] = st.nbytes()
    return sum(seen.values())


def _state_tensors(optimizer: torch.optim.Optimizer) -> Iterator[Tensor]:
    for state in optimizer.state.values():
        yield from (v for v in state.values() if isinstance(v, Tensor))


class CountedStep:
    """A model and its optimizer on the meta device, ready to count training steps."""

    def __init__(self, cfg: Any, *, precision: str = "fp32") -> None:
        from skelab.engine.build import build_model, build_optimizer
        from skelab.models import get_card

        self.cfg = cfg
        self.precision = precision
        self.dtype = check_precision(precision)
        self.card = get_card(cfg.model.name)
        # Built on the CPU (some builders compute constants from tensors), then moved.
        self.model = build_model(cfg).to("meta").train()
        self.optimizer = build_optimizer(cfg, self.model)
        self._first_step()

    def _first_step(self) -> None:
        """One optimizer step on zero gradients, so the optimizer state exists (step 2)."""
        for p in self.model.parameters():
            if p.requires_grad:
                p.grad = torch.zeros_like(p)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def fixed_bytes(self) -> tuple[int, int, int]:
        """(weights and buffers, gradients, optimizer state) in bytes."""
        weights = _bytes(
            t for t in (*self.model.parameters(), *self.model.buffers()) if t is not None
        )
        grads = sum(
            p.numel() * p.element_size() for p in self.model.parameters() if p.requires_grad
        )
        return weights, grads, _bytes(_state_tensors(self.optimizer))

    def inputs(self, batch: int) -> tuple[Tensor, Tensor, Tensor | None]:
        w, v = self.cfg.data.window, self.card.input_joints
        x = torch.empty(batch, 3, w, v, 2, device="meta")
        y = torch.zeros(batch, dtype=torch.long, device="meta")
        index_t = torch.empty(batch, w, device="meta") if self.card.needs_index_t else None
        return x, y, index_t

    def count(self, batch: int) -> StepCount:
        """Run one training step of `batch` samples per forward pass and count its memory."""
        from skelab.engine.step import make_scaler, train_step

        x, y, index_t = self.inputs(batch)
        model = self.model
        existing = _keys(
            t
            for t in (*model.parameters(), *model.buffers(), *_state_tensors(self.optimizer))
            if t is not None
        )
        saved: dict[int, int] = {}

        def pack(t: Tensor) -> Tensor:
            st = t.untyped_storage()
            if st._cdata not in existing:
                saved[st._cdata] = st.nbytes()
            return t

        tracker = _LiveStorages(existing)
        for t in (x, y, index_t):
            if t is not None:
                tracker.add(t)
        policy = CudaAutocast(self.dtype).attach(model) if self.dtype is not None else None
        try:
            with contextlib.ExitStack() as stack:
                if policy is not None:
                    stack.enter_context(policy)
                stack.enter_context(tracker)
                stack.enter_context(torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t))
                train_step(
                    model,
                    self.optimizer,
                    make_scaler(None, x.device),
                    x,
                    y,
                    index_t=index_t,
                    needs_index_t=self.card.needs_index_t,
                    dtype=None,  # the CUDA policy above stands in for torch.autocast
                    chunk_size=batch,
                    label_smoothing=self.cfg.loss.label_smoothing,
                    clip_grad=self.cfg.train.clip_grad,
                )
        finally:
            if policy is not None:
                policy.detach_hooks()
        grads = tracker.serials(p.grad for p in model.parameters() if p.grad is not None)
        activations = sum(saved.values())
        peak = tracker.peak(grads)
        return StepCount(batch, activations, max(0, peak - activations))


def probe_memory(
    cfg: Any, *, precision: str = "fp32", batches: tuple[int, int] = PROBE_BATCHES
) -> MemoryProbe:
    """Count two training steps of `cfg` (a `skelab.engine.config.Config`) at two batches."""
    step = CountedStep(cfg, precision=precision)
    a, b = (step.count(n) for n in batches)
    span = b.batch - a.batch
    act_per = (b.activation_bytes - a.activation_bytes) / span
    tmp_per = (b.transient_bytes - a.transient_bytes) / span
    weights, grads, state = step.fixed_bytes()
    return MemoryProbe(
        model=cfg.model.name,
        precision=precision,
        optimizer=describe_optimizer(cfg),
        window=cfg.data.window,
        params=step.params,
        weights_bytes=weights,
        grads_bytes=grads,
        optimizer_bytes=state,
        activation_fixed=a.activation_bytes - act_per * a.batch,
        activation_per_sample=act_per,
        transient_fixed=a.transient_bytes - tmp_per * a.batch,
        transient_per_sample=tmp_per,
        batchnorm=any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in step.model.modules()),
    )


def describe_optimizer(cfg: Any) -> str:
    o = cfg.optim
    if o.name == "sgd":
        return "sgd+momentum" if o.momentum > 0 else "sgd"
    return o.name


def estimate_train_memory(
    cfg: Any, *, precision: str = "fp32", batch: int | None = None
) -> MemoryEstimate:
    """Estimated peak of a training step of `cfg` at `batch` per forward pass (default: the
    config's `train.forward_batch_size`, or its batch size)."""
    return probe_memory(cfg, precision=precision).at(batch or cfg.train.chunk_size)


def model_config(name: str, *, window: int | None = None) -> Any:
    """The config `skelab bench/fit` use for a bare model name: its NTU-60 X-Sub joint preset
    when there is one (the recipe's optimizer, batch and options), else the defaults."""
    from skelab.engine.config import Config, DataConfig, ModelConfig
    from skelab.engine.presets import list_presets, load_config
    from skelab.models import get_card

    card = get_card(name)
    preset = f"ntu60-xsub/{name}-joint"
    if preset in set(list_presets()):
        return load_config(preset, [f"data.window={window}"] if window else [])
    data = DataConfig(window=window or card.default_window)
    return Config(name=name, model=ModelConfig(name=name), data=data)
