"""`skelab data inspect PATH`: keys, shapes, label histogram, valid lengths and value checks."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="describe an NPZ or prepared folder: keys, shapes, labels, valid lengths, NaN",
        epilog="example:\n  skelab data inspect NTU60_CS.npz\n"
        "  skelab data inspect data/ntu60 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", help="NPZ (Kaggle or 5-D layout) or a folder from `skelab data prepare`")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.data.summary import format_summary, summarize

    summary = summarize(args.path)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0 if summary["ok"] else 1
