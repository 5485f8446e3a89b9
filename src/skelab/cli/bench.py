"""`skelab bench`: speed, FLOPs and memory of models or presets; regenerates the figures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from skelab.cli._common import (
    add_device_option,
    add_out_option,
    add_precision_option,
    add_progress_option,
    check_output,
    deprecated_alias,
    int_range,
)
from skelab.errors import ConfigError

COLUMNS = [
    ("model", "model"),
    ("mode", "mode"),
    ("dtype", "dtype"),
    ("batch", "batch"),
    ("window", "window"),
    ("params", "params"),
    ("GFLOPs/sample", "gflops_per_sample"),
    ("step s (median)", "step_s"),
    ("min", "step_s_min"),
    ("max", "step_s_max"),
    ("samples/s", "samples_per_s"),
    ("peak GiB (CUDA)", "measured_gib"),
    ("est. GiB", "estimated_gib"),
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="time a training step or inference of models or presets: samples/s, GFLOPs, memory",
        epilog="examples:\n  skelab bench ctrgcn msg3d --batch 16 --window 64\n"
        "  skelab bench ntu60-xsub/skateformer-joint --device cuda --precision bf16 --out bench/\n"
        "  skelab bench stgcn-lite --mode both --steps 20 --json\n"
        "  skelab bench --write-figures      # configs/_memory.json and the README models table\n"
        "The original lab's spellings --seq-len/--seq_len, --repeats and --amp still work "
        "(deprecated).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "targets", nargs="*", help="model names or preset names (default: every registered model)"
    )
    p.add_argument("--mode", choices=["train", "infer", "both"], default="train")
    p.add_argument(
        "--batch", type=int_range(1, 1 << 20), default=16, help="samples per step (default 16)"
    )
    p.add_argument(
        "--window", type=int_range(1, 100_000), default=None, help="frames (default: the preset's)"
    )
    deprecated_alias(p, "--seq-len", "--window")
    deprecated_alias(p, "--seq_len", "--window")
    add_precision_option(p, default="fp32")
    p.add_argument("--steps", type=int_range(1, 10_000), default=5, help="timed steps (default 5)")
    deprecated_alias(p, "--repeats", "--steps")
    p.add_argument("--warmup", type=int_range(0, 10_000), default=1, help="untimed steps first")
    add_device_option(p)
    p.add_argument("--threads", type=int_range(1, 4096), default=None, help="CPU threads (torch)")
    p.add_argument("--no-estimate", action="store_true", help="skip the memory estimate")
    add_out_option(p, help="folder for bench.csv, bench.json, bench.png")
    p.add_argument(
        "--json", nargs="?", const="-", default=None, metavar="PATH",
        help="JSON rows to stdout instead of the table, or to PATH",
    )  # fmt: skip
    add_progress_option(p)
    p.add_argument(
        "--write-figures", action="store_true",
        help="regenerate configs/_memory.json and the README models table, then exit",
    )  # fmt: skip
    p.add_argument(
        "--readme", type=Path, default=None, help="with --write-figures: README to update"
    )
    p.set_defaults(run=run)


def check_args(args: argparse.Namespace) -> None:
    """Refuse outputs that cannot be written before torch loads and any step runs."""
    if args.out is not None:
        check_output(args.out, overwrite=args.overwrite, kind="folder")
    if args.json not in (None, "-"):
        check_output(Path(args.json), overwrite=args.overwrite, option="--json")
    if args.readme is not None and not args.write_figures:
        raise ConfigError("--readme", "is used by --write-figures only", fix="drop --readme")
    if args.write_figures and not (args.readme or Path("README.md")).is_file():
        raise ConfigError(
            "--readme",
            f"no such file: {args.readme or 'README.md'}",
            fix="run it in the repository, or --readme path/to/README.md",
        )


def _write_figures(args: argparse.Namespace) -> int:
    import platform

    import torch

    from skelab.bench import figures
    from skelab.cli._progress import progress_bar
    from skelab.engine.presets import list_presets
    from skelab.files import atomic_write_text
    from skelab.models import list_models

    shown = not args.no_progress
    with progress_bar(total=len(list_presets()), desc="presets", enabled=shown) as bar:
        table = figures.memory_table(progress=lambda name: bar.update())
    path = figures.memory_file()
    atomic_write_text(path, json.dumps(table, indent=1) + "\n")
    print(f"wrote {path} ({len(table['presets'])} presets)", file=sys.stderr)
    with progress_bar(total=len(list_models()), desc="models", enabled=shown) as bar:
        rows = figures.model_rows(progress=lambda name: bar.update())
    cpu = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    readme = args.readme or Path("README.md")
    text = figures.replace_readme_table(
        readme.read_text(), figures.readme_table(rows, cpu=cpu), where=str(readme)
    )
    atomic_write_text(readme, text)
    print(f"wrote the models table in {readme}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    check_args(args)
    import torch

    from skelab.bench.memory import GIB, model_config
    from skelab.bench.report import format_table, plot_speed_memory, write_outputs
    from skelab.bench.step import time_step
    from skelab.cli._progress import progress_bar
    from skelab.engine.build import resolve_device
    from skelab.engine.presets import load_config
    from skelab.models import list_models

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.write_figures:
        return _write_figures(args)
    device = resolve_device(args.device)
    precision = args.precision
    modes = ["train", "infer"] if args.mode == "both" else [args.mode]
    targets = args.targets or list_models()
    print(
        f"{device} · {precision} requested · batch {args.batch} · torch {torch.__version__} · "
        f"median of {args.steps} after {args.warmup} warm-up",
        file=sys.stderr,
    )
    rows = []
    for target in progress_bar(targets, desc="bench", unit="model", enabled=not args.no_progress):
        if "/" in target:
            window = [f"data.window={args.window}"] if args.window else []
            cfg, preset = load_config(target, window), target
        else:
            cfg, preset = model_config(target, window=args.window), ""
        for mode in modes:
            r = time_step(
                cfg, batch=args.batch, device=device, precision=precision, mode=mode,
                steps=args.steps, warmup=args.warmup, estimate=not args.no_estimate,
                preset=preset,
            ).to_dict()  # fmt: skip
            r["measured_gib"] = r["measured_peak_bytes"] / GIB if r["measured_peak_bytes"] else None
            est = r["estimated_peak_bytes"]
            r["estimated_gib"] = est / GIB if est else None
            rows.append(r)
    if args.json == "-":
        print(json.dumps(rows, indent=2))
    else:
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
        print(format_table(rows, COLUMNS))
        uncounted = sorted({op for r in rows for op in r["uncounted_ops"].split()})
        print(f"FLOPs leave out: {' '.join(uncounted) or 'nothing'}")
        if device.type != "cuda" and precision != "fp32":
            print(f"note: {precision} applies on CUDA only; the CPU steps ran in float32")
    if args.out:
        paths = write_outputs(rows, args.out, "bench")
        if any(r["mode"] == "train" for r in rows):
            paths.append(plot_speed_memory(rows, args.out / "bench.png"))
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0
