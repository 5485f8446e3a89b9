"""`skelab smoke`: one forward and one backward pass of every model, on a tiny synthetic batch.

Cases: every registered model with its default options, every distinct set of model options the
shipped presets use (at the preset's window), and the zero-shot methods' own cases when
`skelab.zeroshot.smoke` is installed. Each case records pass/fail, seconds and peak memory: the
CUDA allocator's peak on CUDA, elsewhere the peak of tensors alive during the pass (counted by
`skelab.bench.memory`'s storage tracker; the case builds its model, so weights count).
"""

from __future__ import annotations

import importlib.util
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from skelab.errors import SkelabError

SMOKE_BATCH = 2
SMOKE_MAX_WINDOW = 64  # a 300-frame model (MS-G3D, ST-GCN) runs at 64 frames here


@dataclass(frozen=True)
class SmokeResult:
    name: str
    ok: bool
    seconds: float
    peak_bytes: int | None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _model_case(name: str, options: dict[str, Any]) -> Callable[[torch.device], None]:
    def case(device: torch.device) -> None:
        from skelab.bench.step import example_inputs
        from skelab.models import build, get_card

        card = get_card(name)
        opts = {"num_classes": 10, **options}
        opts.setdefault("window", min(card.default_window, SMOKE_MAX_WINDOW))
        model = build(name, **opts).to(device).train()
        inputs = example_inputs(name, batch=SMOKE_BATCH, window=opts["window"], device=device)
        x = inputs.pop("x")
        logits = model(x, **inputs)
        if logits.shape != (SMOKE_BATCH, 10):
            raise SkelabError(f"{name}: logits of shape {tuple(logits.shape)}, expected (2, 10)")
        loss = logits.float().logsumexp(1).mean()
        aux = getattr(model, "auxiliary_losses", None)
        if aux is not None:
            from skelab.engine.losses import auxiliary_inputs

            labels = torch.zeros(SMOKE_BATCH, dtype=torch.long, device=device)
            loss = loss + sum(aux(**auxiliary_inputs(aux, logits, labels)).values())
        loss.backward()
        missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        if len(missing) == sum(1 for p in model.parameters() if p.requires_grad):
            raise SkelabError(f"{name}: backward reached no parameter")

    return case


def model_cases(
    models: list[str] | None = None, *, presets: bool = True
) -> dict[str, Callable[[torch.device], None]]:
    """Smoke cases of registered models and (`presets`) of the shipped presets' model options."""
    from skelab.engine.presets import list_presets, load_config
    from skelab.models import get_card, list_models

    names = models or list_models()
    cases = {name: _model_case(name, {}) for name in names if get_card(name)}
    if not presets:
        return cases
    seen: set[str] = set()
    for preset in list_presets():
        cfg = load_config(preset)
        if cfg.model.name not in names or not (cfg.model.options or cfg.data.window != 64):
            continue
        opts = {**cfg.model.options, "window": cfg.data.window}
        if cfg.data.window > SMOKE_MAX_WINDOW and not cfg.model.options:
            continue  # the default case already covers the model at a short window
        key = f"{cfg.model.name} {sorted(opts.items())}"
        if key in seen:
            continue
        seen.add(key)
        cases[f"{cfg.model.name} ({preset.split('/', 1)[1]})"] = _model_case(cfg.model.name, opts)
    return cases


def zeroshot_cases() -> dict[str, Callable[[torch.device], None]]:
    """The zero-shot methods' smoke cases, when that module is installed."""
    if importlib.util.find_spec("skelab.zeroshot") is None:
        return {}
    if importlib.util.find_spec("skelab.zeroshot.smoke") is None:
        return {}
    from skelab.zeroshot.smoke import smoke_cases

    cases = smoke_cases()
    return {(k if k.startswith("zeroshot") else f"zeroshot {k}"): v for k, v in cases.items()}


def run_case(name: str, case: Callable[[torch.device], None], device: torch.device) -> SmokeResult:
    """Run one case; any exception is a failure with its last line of traceback."""
    from skelab.bench.memory import LiveStorages

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    tracker = LiveStorages(set())
    t0 = time.perf_counter()
    try:
        if device.type == "cuda":
            case(device)
            torch.cuda.synchronize(device)
        else:
            with tracker:
                case(device)
    except Exception as exc:  # a smoke test reports every failure instead of stopping
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return SmokeResult(name, False, time.perf_counter() - t0, None, last[:300])
    seconds = time.perf_counter() - t0
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = tracker.peak(set())
    return SmokeResult(name, True, seconds, peak)
