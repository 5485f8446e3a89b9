"""`skelab data convert INPUT OUTPUT --to kaggle|5d`: rewrite an NPZ in the other layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from skelab.cli._common import add_overwrite_option, add_progress_option, check_output


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert an NPZ between the Kaggle (N, T, 150) and 5-D (N, 3, T, 25, 2) layouts",
        epilog="example:\n  skelab data convert NTU60_CS.npz NTU60_CS_skeleton5d.npz --to 5d\n"
        "  skelab data convert NTU60_CS_skeleton5d.npz NTU60_CS.npz --to kaggle",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, help="NPZ in either layout")
    p.add_argument("output", type=Path, help="NPZ to write (written to a temp file, then renamed)")
    p.add_argument("--to", required=True, choices=["kaggle", "5d"], help="layout to write")
    p.add_argument(
        "--label-dtype",
        default="float32",
        choices=["float32", "float64"],
        help="one-hot dtype for --to kaggle (upstream's own script writes float64)",
    )
    add_overwrite_option(p, "OUTPUT")
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.output, overwrite=args.overwrite, option="OUTPUT",
                 fix="pass --overwrite, or choose another OUTPUT")  # fmt: skip
    from skelab.cli._progress import byte_progress
    from skelab.data.formats import inspect_npz
    from skelab.data.npzwrite import convert_npz

    info = inspect_npz(args.input)
    total = sum(s.x.nbytes for s in info.splits.values())
    with byte_progress(total, f"convert to {args.to}", enabled=not args.no_progress) as progress:
        convert_npz(
            args.input, args.output, to=args.to, label_dtype=args.label_dtype, progress=progress
        )
    print(f"wrote {args.output} ({args.to} layout, from {info.layout})")
    return 0
