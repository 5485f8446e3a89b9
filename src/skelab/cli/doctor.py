"""`skelab doctor`: versions, devices, memory, precision support and optional extras."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="show Python/torch/CUDA/cuDNN versions, devices and memory, installed extras",
        epilog="example:\n  skelab doctor\n  skelab doctor --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.apps.doctor import environment_report, report_text

    report = environment_report()
    print(json.dumps(report, indent=2) if args.json else report_text(report))
    return 0
