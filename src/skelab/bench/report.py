"""Tables, CSV, JSON and the speed-memory plot for `skelab bench`, `fit` and `smoke`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skelab.bench.memory import GIB


def gib(n: float | None) -> str:
    return "-" if n is None else f"{n / GIB:.2f}"


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Plain-text table: `columns` is a list of (header, key); numbers right-aligned."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    body = [[cell(r.get(key)) for _, key in columns] for r in rows]
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, (h, _) in enumerate(columns)]
    numeric = [
        all(isinstance(r.get(key), (int, float)) or r.get(key) is None for r in rows)
        for _, key in columns
    ]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line([h for h, _ in columns])] + [line(b) for b in body])


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_outputs(rows: Sequence[dict[str, Any]], out: Path, stem: str) -> list[Path]:
    """`<stem>.csv` and `<stem>.json` in `out`; returns the paths written."""
    from skelab.files import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.csv", out / f"{stem}.json"]
    atomic_write_text(paths[0], to_csv(rows))
    atomic_write_text(paths[1], json.dumps(list(rows), indent=2) + "\n")
    return paths


def plot_speed_memory(rows: Sequence[dict[str, Any]], path: Path, *, line_gib: float = 8.0) -> Path:
    """Samples/s against peak memory (measured where there is one, else estimated), one point
    per model, with a vertical line at `line_gib`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        peak = r.get("measured_peak_bytes") or r.get("estimated_peak_bytes")
        if peak is None or r.get("mode") != "train":
            continue
        marker = "o" if r.get("measured_peak_bytes") else "s"
        ax.scatter(peak / GIB, r["samples_per_s"], marker=marker)
        ax.annotate(r["model"], (peak / GIB, r["samples_per_s"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")  # fmt: skip
    ax.axvline(line_gib, color="tab:red", linestyle="--", label=f"{line_gib:g} GiB")
    ax.set_xlabel("peak memory of a training step, GiB (o measured, s estimated)")
    ax.set_ylabel("training samples/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
