"""The generated figures: `configs/_memory.json` (every preset's estimated peak) and the README's
models table. `skelab bench --write-figures` regenerates both, so they stay true.

One estimate per distinct recipe (model, options, window, forward batch, optimizer, loss,
clipping): the stream (joint, bone, motion) does not change a step's memory, and the class count
(60 or 120) changes only the classifier, a few kilobytes; the figure of the first preset of a
recipe is shared by the others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skelab.bench.memory import GIB, MemoryProbe, model_config, probe_memory

MEMORY_FORMAT = 1
GENERATED_BY = "skelab bench --write-figures"
README_START = "<!-- models-table:start -->"
README_END = "<!-- models-table:end -->"
TABLE_BUDGET_GIB = 8.0
CPU_BATCH = 8


def recipe_key(cfg: Any) -> str:
    """What decides a step's memory, as a string (streams and class counts left out)."""
    o = cfg.optim
    return json.dumps(
        [
            cfg.model.name,
            sorted(cfg.model.options.items()),
            cfg.data.window,
            cfg.train.chunk_size,
            o.name,
            o.momentum if o.name == "sgd" else 0,
            cfg.loss.label_smoothing > 0,
            cfg.train.clip_grad > 0,
        ],
        default=str,
    )


def memory_entry(fp32: MemoryProbe, bf16: MemoryProbe, batch: int, window: int) -> dict[str, Any]:
    return {
        "fp32_gb": round(fp32.at(batch).peak_bytes / GIB, 2),
        "bf16_gb": round(bf16.at(batch).peak_bytes / GIB, 2),
        "batch": batch,
        "window": window,
    }


def memory_table(
    presets: list[str] | None = None, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """The content of `configs/_memory.json` for `presets` (default: every shipped preset);
    `progress(name)` is called once per preset."""
    from skelab.engine.presets import list_presets, load_config

    names = presets if presets is not None else list_presets()
    probes: dict[str, tuple[MemoryProbe, MemoryProbe]] = {}
    table: dict[str, Any] = {}
    for name in names:
        cfg = load_config(name)
        key = recipe_key(cfg)
        if progress is not None:
            progress(name)
        if key not in probes:
            probes[key] = (probe_memory(cfg, precision="fp32"), probe_memory(cfg, precision="bf16"))
        table[name] = memory_entry(*probes[key], cfg.train.chunk_size, cfg.data.window)
    return {
        "format": MEMORY_FORMAT,
        "generated_by": (
            f"{GENERATED_BY}: estimated peak of a training step's second step, CUDA context "
            "(0.5 GiB) included, at `batch` samples per forward pass (skelab.bench.memory, "
            "counted on the CPU, not measured on a GPU)"
        ),
        "presets": table,
    }


def memory_file() -> Path:
    import skelab.configs

    return Path(skelab.configs.__file__).parent / "_memory.json"


def model_rows(
    models: list[str] | None = None, *, progress: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Per model: params, GFLOPs/sample, CPU training samples/s, estimated memory at its
    NTU-60 joint preset's forward batch (fp32, bf16), largest forward batch in 8 GiB."""
    from skelab.bench.fit import DEFAULT_MARGIN
    from skelab.bench.step import time_step
    from skelab.models import list_models

    rows = []
    for name in models or list_models():
        if progress is not None:
            progress(name)
        cfg = model_config(name)
        fp32, bf16 = probe_memory(cfg, precision="fp32"), probe_memory(cfg, precision="bf16")
        timing = time_step(cfg, batch=CPU_BATCH, steps=3, warmup=1, estimate=False)
        budget = TABLE_BUDGET_GIB * GIB * (1 - DEFAULT_MARGIN)
        batch = cfg.train.chunk_size
        rows.append(
            {
                "model": name,
                "params": timing.params,
                "gflops_per_sample": timing.gflops_per_sample,
                "cpu_train_samples_per_s": timing.samples_per_s,
                "batch": batch,
                "window": cfg.data.window,
                "fp32_gib": fp32.at(batch).peak_bytes / GIB,
                "bf16_gib": bf16.at(batch).peak_bytes / GIB,
                "fp32_largest_batch_8gib": fp32.largest_batch(budget),
                "bf16_largest_batch_8gib": bf16.largest_batch(budget),
            }
        )
    return rows


def readme_table(rows: list[dict[str, Any]], *, cpu: str) -> str:
    """Markdown table of `model_rows`, with how it was measured."""
    head = (
        "| model | params | GFLOPs/sample | CPU train samples/s | forward batch x window | "
        "est. GiB fp32 | est. GiB bf16 | largest batch in 8 GiB (fp32 / bf16) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r['model']} | {r['params'] / 1e6:.2f} M | {r['gflops_per_sample']:.2f} | "
        f"{r['cpu_train_samples_per_s']:.3g} | {r['batch']} x {r['window']} | "
        f"{r['fp32_gib']:.2f} | {r['bf16_gib']:.2f} | "
        f"{r['fp32_largest_batch_8gib']} / {r['bf16_largest_batch_8gib']} |"
        for r in rows
    ]
    note = (
        f"\nGenerated by `{GENERATED_BY}`. Memory: estimated peak of a training step at the "
        "NTU-60 X-Sub joint preset's forward batch, CUDA context (0.5 GiB) included, counted on "
        "the CPU (skelab.bench.memory), not measured on a GPU; largest batch keeps a 10% margin "
        f"below 8 GiB. CPU samples/s: training step at batch {CPU_BATCH}, float32, median of 3 "
        f"after 1 warm-up, {cpu}. FLOPs: forward pass, matrix products and convolutions only "
        "(torch.utils.flop_counter).\n"
    )
    return head + "\n".join(lines) + "\n" + note


def replace_readme_table(text: str, table: str, *, where: str = "README.md") -> str:
    """`text` with the part between the models-table markers replaced by `table`."""
    from skelab.errors import SkelabError

    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise SkelabError(
            f"no {README_START} ... {README_END} markers",
            where=where,
            fix="add both markers on their own lines where the table belongs",
        )
    return pattern.sub(lambda _: f"{README_START}\n{table}{README_END}", text, count=1)
