"""`skelab data prepare INPUT OUT_DIR`: convert an NPZ once into a fast, memory-mapped folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from skelab.cli._common import add_progress_option, check_output


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="convert an NPZ into a prepared folder that opens in milliseconds",
        epilog="example:\n  skelab data prepare NTU60_CS.npz data/ntu60-xsub\n"
        "  skelab train ntu60-xsub/ctrgcn-joint --set data.path=data/ntu60-xsub",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, help="NPZ in the Kaggle or 5-D layout")
    p.add_argument("out_dir", type=Path, help="folder to create (made atomically)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.out_dir, overwrite=args.overwrite, option="OUT_DIR", kind="folder",
                 fix="pass --overwrite, or choose another OUT_DIR")  # fmt: skip
    from skelab.cli._progress import byte_progress
    from skelab.data.formats import inspect_npz
    from skelab.data.prepared import open_prepared, prepare

    info = inspect_npz(args.input)
    total = sum(s.x.nbytes for s in info.splits.values())
    with byte_progress(total, "prepare", enabled=not args.no_progress) as progress:
        prepare(args.input, args.out_dir, overwrite=args.overwrite, progress=progress)
    for split in info.splits:
        ds = open_prepared(args.out_dir, split)
        print(f"{split}: {len(ds):,} samples x {ds.num_frames} frames, {ds.num_classes} classes")
    print(f"wrote {args.out_dir}")
    return 0
