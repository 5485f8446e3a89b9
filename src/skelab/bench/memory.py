"""Estimate the GPU memory of a training step without a GPU, by counting a real step.

Method (an estimate, labelled as such wherever it is quoted). The model, its optimizer and a
synthetic batch are built on the `meta` device (shapes and dtypes, no data, no arithmetic), and
`skelab.engine.step.train_step` (the step `skelab train` runs: chunked forward, the trainer's
loss, backward, clipping, the preset's optimizer) runs on them at two batches:

- activations: every distinct storage autograd saves for backward (saved-tensor hooks), other
  than the weights and buffers themselves. Under bf16/fp16 the forward pass runs under CUDA's
  autocast policy (`skelab.bench.autocast_policy`), so the count holds what autocast really keeps:
  16-bit copies of conv/matmul inputs and weights, float32 outputs of layer_norm and softmax.
- transient: a dispatch-level tracker follows every storage created during the step until it is
  freed. The backward transient is the live peak before the optimizer step minus the
  activations (gradients of activations in flight, backward scratch); the optimizer transient is
  the live peak during the optimizer step (its temporaries, the batch still held). The step's
  peak takes the larger of activations + backward transient and the optimizer transient.
- weights (float32 master weights and buffers, whatever the precision), gradients (float32, like
  the weights) and optimizer state, read from the optimizer after a first step (SGD momentum: one
  buffer per weight; AdamW: two, plus step counters). The estimate is the second step's peak,
  once that state exists. The fp16 grad scaler holds two scalars and unscales in place.
- the CUDA context is not allocator memory (`max_memory_allocated` never sees it): its own column,
  a constant of 0.5 GiB (CUDA 12 with lazy module loading; driver and GPU change it).

Activation and transient bytes are linear in the batch (checked in tests), so two probes give a
fixed and a per-sample part, and `MemoryProbe.at(batch)` answers any batch. The probes use 16 and
32 samples: meta tensors cost the same at any batch, and below about 16 samples fixed buffers
still decide the backward peak, so a line through smaller probes underestimates large batches.
What is not counted: cuDNN/cuBLAS workspaces chosen at run time and allocator fragmentation;
`skelab fit` keeps a safety margin for them.
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
PROBE_BATCHES = (16, 32)


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
    optimizer_transient_bytes: int
    cuda_context_bytes: int = CUDA_CONTEXT_BYTES

    @property
    def allocated_bytes(self) -> int:
        """What PyTorch's allocator hands out at the peak (compare `max_memory_allocated`)."""
        step = max(self.activation_bytes + self.transient_bytes, self.optimizer_transient_bytes)
        return self.weights_bytes + self.grads_bytes + self.optimizer_bytes + step

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
    optimizer_transient_fixed: float
    optimizer_transient_per_sample: float
    batchnorm: bool = False  # the model has BatchNorm layers (statistics per forward pass)

    def at(self, batch: int) -> MemoryEstimate:
        """The estimate at `batch` samples per forward pass."""
        act = max(0.0, self.activation_fixed + self.activation_per_sample * batch)
        tmp = max(0.0, self.transient_fixed + self.transient_per_sample * batch)
        opt = self.optimizer_transient_fixed + self.optimizer_transient_per_sample * batch
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
            optimizer_transient_bytes=round(max(0.0, opt)),
        )

    def largest_batch(self, budget_bytes: float, *, limit: int = 2**24) -> int:
        """Largest forward batch whose `peak_bytes` fits `budget_bytes` (0 if none)."""

        def fits(n: int) -> bool:
            return self.at(n).peak_bytes <= budget_bytes

        if not fits(1):
            return 0
        lo, hi = 1, 2
        while hi <= limit and fits(hi):
            lo, hi = hi, hi * 2
        while hi - lo > 1:  # fits(lo), not fits(hi); the peak never falls as the batch grows
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        return lo


@dataclass(frozen=True)
class StepCount:
    """One counted step: activation and transient bytes at one batch."""

    batch: int
    activation_bytes: int
    transient_bytes: int  # backward: the live peak up to the optimizer step, minus activations
    optimizer_transient_bytes: int  # the live peak during the optimizer step (gradients apart)


class LiveStorages(TorchDispatchMode):
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

    def peak(self, skip: set[int], start: int = 0, stop: int | None = None) -> int:
        """Highest live total over events[start:stop], leaving out the allocations in `skip`."""
        stop = len(self.events) if stop is None else stop
        now = top = 0
        for i, (serial, n) in enumerate(self.events[:stop]):
            if serial not in skip:
                now += n
                if i >= start:
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

    def __init__(
        self,
        cfg: Any,
        *,
        precision: str = "fp32",
        model: nn.Module | None = None,
        joints: int | None = None,
    ) -> None:
        """`model` (with `joints` per person) replaces the config's model; tests use it."""
        from skelab.engine.build import build_model, build_optimizer
        from skelab.models import get_card

        self.cfg = cfg
        self.precision = precision
        self.dtype = check_precision(precision)
        card = get_card(cfg.model.name)
        self.needs_index_t = card.needs_index_t and model is None
        self.joints = joints or card.input_joints
        # Built on the CPU (some builders compute constants from tensors), then moved.
        self.model = (model or build_model(cfg)).to("meta").train()
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
        w, v = self.cfg.data.window, self.joints
        x = torch.empty(batch, 3, w, v, 2, device="meta")
        y = torch.zeros(batch, dtype=torch.long, device="meta")
        index_t = torch.empty(batch, w, device="meta") if self.needs_index_t else None
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

        tracker = LiveStorages(existing)
        for t in (x, y, index_t):
            if t is not None:
                tracker.add(t)
        policy = CudaAutocast(self.dtype).attach(model) if self.dtype is not None else None
        marks: list[int] = []
        hook = self.optimizer.register_step_pre_hook(lambda *_: marks.append(len(tracker.events)))
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
                    needs_index_t=self.needs_index_t,
                    dtype=None,  # the CUDA policy above stands in for torch.autocast
                    chunk_size=batch,
                    label_smoothing=self.cfg.loss.label_smoothing,
                    clip_grad=self.cfg.train.clip_grad,
                )
        finally:
            hook.remove()
            if policy is not None:
                policy.detach_hooks()
        grads = tracker.serials(p.grad for p in model.parameters() if p.grad is not None)
        activations = sum(saved.values())
        mark = marks[0] if marks else len(tracker.events)
        backward = tracker.peak(grads, 0, mark)
        return StepCount(
            batch, activations, max(0, backward - activations), tracker.peak(grads, mark)
        )


def probe_memory(
    cfg: Any,
    *,
    precision: str = "fp32",
    batches: tuple[int, int] = PROBE_BATCHES,
    step: CountedStep | None = None,
) -> MemoryProbe:
    """Count two training steps of `cfg` (a `skelab.engine.config.Config`) at two batches;
    `step` is a ready `CountedStep` to count instead (a custom model)."""
    step = step or CountedStep(cfg, precision=precision)
    a, b = (step.count(n) for n in batches)

    def line(key: str) -> tuple[float, float]:
        """(fixed, per sample) of a count that is linear in the batch."""
        per = (getattr(b, key) - getattr(a, key)) / (b.batch - a.batch)
        return getattr(a, key) - per * a.batch, per

    act, tmp, opt = (
        line(k) for k in ("activation_bytes", "transient_bytes", "optimizer_transient_bytes")
    )
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
        activation_fixed=act[0],
        activation_per_sample=act[1],
        transient_fixed=tmp[0],
        transient_per_sample=tmp[1],
        optimizer_transient_fixed=opt[0],
        optimizer_transient_per_sample=opt[1],
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
