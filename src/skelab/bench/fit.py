"""`skelab fit`: the largest batch that trains within a memory budget, keeping the recipe.

For a preset (or a model's NTU-60 joint preset) the answer keeps the optimizer batch
(`train.batch_size`) and finds the largest forward batch (`train.forward_batch_size`) whose
estimated peak fits, so gradient accumulation reaches the full batch and the update is the same.
When float32 does not fit even one sample per forward pass, bf16 is tried next; only when
neither fits are the preset's lower-memory variants (lowmem, tiny) tried, and the row then says
that the recipe changes and how.

Safety margin: the budget is reduced by `DEFAULT_MARGIN` (10%) before fitting. Lightning's batch
size finder keeps 5% after measuring, because batches that just fit ran out of memory a few steps
later (fragmentation, cuDNN workspaces); skelab estimates rather than measures, so it keeps twice
that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from skelab.bench.memory import MemoryProbe, probe_memory
from skelab.errors import ConfigError

DEFAULT_MARGIN = 0.10


@dataclass(frozen=True)
class FitRow:
    """One answer of `skelab fit`."""

    model: str
    preset: str
    precision: str
    batch: int  # optimizer batch (0: nothing fits)
    forward_batch: int  # samples per forward pass
    largest_forward_batch: int
    estimated_bytes: int  # estimated peak at forward_batch, CUDA context included
    estimated_allocated_bytes: int  # the same without the context: compare with measured_bytes
    budget_bytes: int
    margin: float
    recipe_kept: bool
    flags: str  # what to pass to `skelab train`
    note: str
    measured_bytes: int | None = None  # CUDA allocator peak of the second real step

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _divisor_at_most(n: int, limit: int) -> int:
    return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)


def _answer(
    cfg: Any, preset: str, probe: MemoryProbe, usable: float, budget: int, margin: float
) -> FitRow | None:
    largest = probe.largest_batch(usable)
    if largest < 1:
        return None
    full = cfg.train.batch_size
    forward = full if largest >= full else _divisor_at_most(full, largest)
    flags = []
    if preset:
        flags += [preset, *_differences_from(preset, cfg)]
    if forward != cfg.train.chunk_size:
        flags.append(f"--set train.forward_batch_size={0 if forward == full else forward}")
    if probe.precision != "fp32":
        flags.append(f"--set train.precision={probe.precision}")
    notes = []
    if forward < full:
        notes.append(f"{full // forward} forward passes of {forward} per update (same update)")
        if probe.batchnorm and forward < cfg.train.chunk_size:
            notes.append(f"BatchNorm statistics over {forward} samples")
    else:
        notes.append(f"full batch fits (up to {largest} per forward pass)")
    return FitRow(
        model=cfg.model.name,
        preset=preset,
        precision=probe.precision,
        batch=full,
        forward_batch=forward,
        largest_forward_batch=largest,
        estimated_bytes=probe.at(forward).peak_bytes,
        estimated_allocated_bytes=probe.at(forward).allocated_bytes,
        budget_bytes=budget,
        margin=margin,
        recipe_kept=True,
        flags=" ".join(flags),
        note="; ".join(notes),
    )


def _differences_from(preset: str, cfg: Any) -> list[str]:
    """`--set KEY=VALUE` for every key where `cfg` differs from `preset` (e.g. data.window from
    `--window`), so that pasting the flags into `skelab train` gives the config that was fitted."""
    import json

    from skelab.engine.presets import load_config
    from skelab.engine.resume import config_diff

    base, mine = load_config(preset).to_dict(), cfg.to_dict()
    flags = []
    for key in config_diff(base, mine):
        if key == "name" or key.startswith("info."):
            continue  # a label and descriptions, not the recipe
        value: Any = mine
        for part in key.split("."):
            value = value[part]
        text = value if isinstance(value, str) else json.dumps(value)
        flags.append(f"--set {key}={text}")
    return flags


def _recipe_changes(base: Any, other: Any) -> str:
    changes = []
    if base.data.window != other.data.window:
        changes.append(f"window {base.data.window}->{other.data.window}")
    for key in sorted(set(base.model.options) | set(other.model.options)):
        a, b = base.model.options.get(key), other.model.options.get(key)
        if a != b:
            changes.append(f"{key} {a}->{b}")
    if base.train.batch_size != other.train.batch_size:
        changes.append(f"batch {base.train.batch_size}->{other.train.batch_size}")
    return ", ".join(changes) or "other recipe keys"


def _variants(record: Any) -> list[str]:
    """Lower-memory presets of the same benchmark, model and stream (lowmem, then tiny), from a
    config's `preset` record (none for a config that is no preset)."""
    from skelab.engine.presets import list_presets

    if not record.name:
        return []
    names = set(list_presets())
    siblings = [record.sibling(variant=kind) for kind in ("lowmem", "tiny")]
    return [n for n in siblings if n in names and n != record.name]


def fit_config(
    cfg: Any,
    *,
    budget_bytes: int,
    precision: str = "fp32",
    preset: str = "",
    margin: float = DEFAULT_MARGIN,
) -> FitRow:
    """The answer for one config: keep the recipe if any precision fits, else say what changes."""
    if not 0 <= margin < 1:
        raise ConfigError("--margin", f"must be in [0, 1), got {margin}", fix="--margin 0.1")
    usable = budget_bytes * (1 - margin)
    order = [precision] + (["bf16"] if precision == "fp32" else [])
    for prec in order:
        row = _answer(cfg, preset, probe_memory(cfg, precision=prec), usable, budget_bytes, margin)
        if row is not None:
            if prec != precision:
                row = _with(
                    row, note=f"{precision} does not fit; {prec} keeps the recipe; " + row.note
                )
            return row
    from skelab.engine.presets import load_config

    for name in _variants(cfg.preset):
        other = load_config(name)
        for prec in order:
            probe = probe_memory(other, precision=prec)
            row = _answer(other, name, probe, usable, budget_bytes, margin)
            if row is not None:
                change = _recipe_changes(cfg, other)
                return _with(
                    row, recipe_kept=False, note=f"only a recipe change fits: {change}; " + row.note
                )
    probe = probe_memory(cfg, precision=order[-1])
    return FitRow(
        model=cfg.model.name,
        preset=preset,
        precision=order[-1],
        batch=0,
        forward_batch=0,
        largest_forward_batch=0,
        estimated_bytes=probe.at(1).peak_bytes,
        estimated_allocated_bytes=probe.at(1).allocated_bytes,
        budget_bytes=budget_bytes,
        margin=margin,
        recipe_kept=False,
        flags="",
        note="does not fit at one sample per forward pass, nor its lowmem/tiny presets",
    )


def _with(row: FitRow, **changes: Any) -> FitRow:
    return FitRow(**{**asdict(row), **changes})


def measure_row(cfg: Any, row: FitRow, *, device: Any) -> FitRow:
    """Two real training steps at the answer on a CUDA device; the peak of the second one."""
    import dataclasses

    from skelab.bench.step import run_steps

    train = dataclasses.replace(cfg.train, forward_batch_size=row.forward_batch)
    cfg = dataclasses.replace(cfg, train=train)
    _, _, peak, _ = run_steps(
        cfg, batch=row.forward_batch, device=device, precision=row.precision, steps=1, warmup=1
    )
    return _with(row, measured_bytes=peak)
