"""`skelab smoke`: one forward and backward pass of every model on a tiny synthetic batch."""

from __future__ import annotations

import argparse
import json
import sys

from skelab.cli._common import add_device_option, add_json_option, add_progress_option

COLUMNS = [
    ("case", "name"),
    ("result", "result"),
    ("seconds", "seconds"),
    ("peak MiB", "peak_mib"),
    ("error", "error"),
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "smoke",
        help="forward + backward of every model and preset's options on a tiny batch",
        epilog="examples:\n  skelab smoke --model all\n"
        "  skelab smoke --model ctrgcn --device cuda\n"
        "  skelab smoke --model all --no-presets --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model", action="append", default=[], help="model name (repeatable) or all (default)"
    )
    add_device_option(p, default="cpu")
    p.add_argument("--no-presets", action="store_true", help="skip the presets' model options")
    p.add_argument("--no-zeroshot", action="store_true", help="skip the zero-shot methods")
    add_json_option(p, help="print JSON rows instead of the table")
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.bench.report import format_table
    from skelab.bench.smoke import model_cases, run_case, zeroshot_cases
    from skelab.cli._progress import progress_bar
    from skelab.engine.build import resolve_device

    device = resolve_device(args.device)
    models = [m for m in args.model if m != "all"] or None
    cases = model_cases(models, presets=not args.no_presets)
    if not args.no_zeroshot and models is None:
        cases.update(zeroshot_cases())
    results = []
    bar = progress_bar(cases.items(), desc="smoke", unit="case", enabled=not args.no_progress)
    for name, case in bar:
        results.append(run_case(name, case, device))
    rows = []
    for r in results:
        d = r.to_dict()
        d["result"] = "pass" if r.ok else "FAIL"
        d["peak_mib"] = r.peak_bytes / 2**20 if r.peak_bytes is not None else None
        rows.append(d)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        where = "CUDA allocator peak" if device.type == "cuda" else "peak of live tensors"
        print(f"{len(rows)} cases on {device}; peak MiB = {where}")
        print(format_table(rows, COLUMNS))
    failed = sum(not r.ok for r in results)
    if failed:
        print(f"skelab: {failed} of {len(results)} smoke cases failed", file=sys.stderr)
    return 1 if failed else 0
