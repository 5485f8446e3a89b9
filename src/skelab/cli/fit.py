"""`skelab fit`: the largest batch that trains within a memory budget, keeping the recipe."""

from __future__ import annotations

import argparse
import json

from skelab.cli._common import (
    add_device_option,
    add_json_option,
    add_precision_option,
    add_progress_option,
    fraction,
    int_range,
)

COLUMNS = [
    ("model", "model"),
    ("preset", "preset"),
    ("precision", "precision"),
    ("batch", "batch"),
    ("forward batch", "forward_batch"),
    ("largest fwd", "largest_forward_batch"),
    ("est. GiB", "estimated_gib"),
    ("est. alloc GiB", "estimated_alloc_gib"),
    ("measured alloc GiB", "measured_gib"),
    ("recipe kept", "recipe_kept"),
    ("use", "flags"),
    ("note", "note"),
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="largest batch that trains within a GPU memory budget, keeping the recipe",
        epilog="examples:\n  skelab fit --memory 8GiB                       # every model\n"
        "  skelab fit --memory 8GiB --preset ntu60-xsub/skateformer-joint\n"
        "  skelab fit --memory 11GB --model msg3d --window 300 --precision bf16 --json\n"
        "  skelab fit --memory 8GiB --model ctrgcn --device cuda --measure",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--memory", required=True, type=memory_size,
        help="GPU memory budget, e.g. 8GiB, 8GB, 8000MiB",
    )  # fmt: skip
    who = p.add_mutually_exclusive_group()
    who.add_argument("--model", action="append", default=[], help="model name (repeatable)")
    who.add_argument("--preset", action="append", default=[], help="preset name (repeatable)")
    p.add_argument(
        "--window", type=int_range(1, 100_000), default=None, help="frames (default: the preset's)"
    )
    add_precision_option(p, default="fp32")
    p.add_argument("--margin", type=fraction, default=None, help="safety margin (default 0.10)")
    p.add_argument("--measure", action="store_true", help="CUDA: run two real steps at the answer")
    add_device_option(p, help="device for --measure: cpu, cuda, cuda:N or auto (default auto)")
    add_json_option(p, help="print JSON rows instead of the table")
    add_progress_option(p)
    p.set_defaults(run=run)


def memory_size(text: str) -> int:
    """argparse type of --memory: bytes (checked before torch loads)."""
    from skelab.bench.units import parse_bytes
    from skelab.errors import ConfigError

    try:
        return parse_bytes(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(f"{err.problem.split(': ', 1)[1]}; e.g. 8GiB") from None


def run(args: argparse.Namespace) -> int:
    from skelab.bench.fit import DEFAULT_MARGIN, fit_config, measure_row
    from skelab.bench.memory import GIB, model_config
    from skelab.cli._progress import progress_bar
    from skelab.engine.build import resolve_device
    from skelab.engine.presets import load_config
    from skelab.errors import ConfigError
    from skelab.models import list_models

    budget = args.memory
    margin = DEFAULT_MARGIN if args.margin is None else args.margin
    device = resolve_device(args.device) if args.measure else None
    if device is not None and device.type != "cuda":
        raise ConfigError(
            "--measure", f"measures on CUDA only, got {device}", fix="--device cuda, or drop it"
        )
    window = [f"data.window={args.window}"] if args.window else []
    jobs = [(load_config(p, window), p) for p in args.preset]
    if not jobs:
        names = args.model or list_models()
        jobs = []
        for name in names:
            cfg = model_config(name, window=args.window)
            jobs.append((cfg, cfg.preset.name))
    rows = []
    for cfg, preset in progress_bar(jobs, desc="fit", unit="model", enabled=not args.no_progress):
        row = fit_config(
            cfg, budget_bytes=budget, precision=args.precision, preset=preset, margin=margin
        )
        if device is not None and row.forward_batch > 0:
            row = measure_row(cfg, row, device=device)
        d = row.to_dict()
        d["estimated_gib"] = row.estimated_bytes / GIB
        d["measured_gib"] = row.measured_bytes / GIB if row.measured_bytes else None
        d["estimated_alloc_gib"] = row.estimated_allocated_bytes / GIB
        rows.append(d)
    if args.json:
        keys = ("model", "preset", "precision", "batch", "forward_batch", "estimated_bytes")
        out = []
        for d in rows:
            item = {k: d[k] for k in keys}
            if d["measured_bytes"] is not None:
                item["measured_bytes"] = d["measured_bytes"]
                item["estimated_allocated_bytes"] = d["estimated_allocated_bytes"]
            item.update(largest_forward_batch=d["largest_forward_batch"], flags=d["flags"])
            item.update(recipe_kept=d["recipe_kept"], note=d["note"], margin=d["margin"])
            out.append(item)
        print(json.dumps(out, indent=2))
        return 0 if all(r["forward_batch"] > 0 for r in rows) else 1
    from skelab.bench.report import format_table

    print(
        f"budget {budget / GIB:.2f} GiB, {margin:.0%} kept as a safety margin; estimated peaks "
        "include 0.5 GiB of CUDA context (estimates counted on the CPU, not measured)"
    )
    print(format_table(rows, COLUMNS))
    return 0 if all(r["forward_batch"] > 0 for r in rows) else 1
