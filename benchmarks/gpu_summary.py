"""Summarise benchmarks/gpu_check.sh's rows: step time per precision, bf16's speed-up, and the
measured peak memory against skelab's estimate (the figure `skelab fit` plans with).

    python benchmarks/gpu_summary.py OUT      # reads OUT/bench_fp32.jsonl, OUT/bench_bf16.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GIB = 2**30


def load(folder: Path, precision: str) -> dict[str, dict]:
    path = folder / f"bench_{precision}.jsonl"
    if not path.exists():
        return {}
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {r["model"]: r for r in rows if r["mode"] == "train"}


def _gib(value: int | None) -> str:
    return f"{value / GIB:.2f}" if value else "-"


def _ratio(measured: int | None, estimated: int | None) -> str:
    return f"{estimated / measured:.2f}" if measured and estimated else "-"


def summary(folder: Path) -> str:
    fp32, bf16 = load(folder, "fp32"), load(folder, "bf16")
    models = list(dict.fromkeys([*fp32, *bf16]))
    if not models:
        return f"no rows in {folder}/bench_{{fp32,bf16}}.jsonl"
    any_row = next(iter({**fp32, **bf16}.values()))
    lines = [
        f"training step · batch {any_row['batch']} · {any_row['device']} · median of the timed "
        "steps · peak = torch.cuda.max_memory_allocated · estimate = skelab.bench.memory "
        "(what `skelab fit` plans with)",
        "",
        "| model | fp32 s/step | bf16 s/step | bf16 speed-up | fp32 peak GiB | fp32 estimate GiB "
        "| estimate/peak | bf16 peak GiB | bf16 estimate GiB | estimate/peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in models:
        a, b = fp32.get(m, {}), bf16.get(m, {})
        step_a, step_b = a.get("step_s"), b.get("step_s")
        cells = [
            m,
            f"{step_a:.4f}" if step_a else "-",
            f"{step_b:.4f}" if step_b else "-",
            f"{step_a / step_b:.2f}x" if step_a and step_b else "-",
            _gib(a.get("measured_peak_bytes")),
            _gib(a.get("estimated_peak_bytes")),
            _ratio(a.get("measured_peak_bytes"), a.get("estimated_peak_bytes")),
            _gib(b.get("measured_peak_bytes")),
            _gib(b.get("estimated_peak_bytes")),
            _ratio(b.get("measured_peak_bytes"), b.get("estimated_peak_bytes")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
