"""`skelab data prepare-raw SKELETON_DIR OUT_DIR`: the official NTU `.skeleton` download to a
prepared folder, with upstream's (CTR-GCN / SGN) denoising, centring and padding."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from skelab.cli._common import add_json_option, add_progress_option, check_output, int_range

EPILOG = """\
example:
  skelab data prepare-raw nturgb+d_skeletons/ data/ntu60-xsub --dataset ntu60 --split xsub
  skelab data prepare-raw nturgb+d_skeletons/ data/ntu120-xset --dataset ntu120 --split xset \\
      --workers 8 --kaggle-npz NTU120_CSet.npz

Files on the official missing-skeleton list are not read. A file that is truncated or
malformed is skipped and listed with its line (or stops the run with --strict); so is one
that upstream's rules leave empty. A killed run resumes where it stopped when started again
with the same arguments (its work folder sits beside OUT_DIR) and ends with the same bytes.
NTU60 zero-fills the second person of one-actor samples; NTU120 copies person 1 there, as
upstream's two scripts do.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare-raw",
        help="raw NTU .skeleton files to a prepared folder (parallel, resumable)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "skeleton_dir", type=Path, help="folder holding the .skeleton files (searched recursively)"
    )
    p.add_argument("out_dir", type=Path, help="prepared folder to create")
    p.add_argument("--dataset", required=True, choices=["ntu60", "ntu120"])
    p.add_argument("--split", required=True, choices=["xsub", "xview", "xset"],
                   help="xsub or xview for ntu60; xsub or xset for ntu120")  # fmt: skip
    p.add_argument("--workers", type=int_range(1, 1024), default=os.cpu_count() or 1,
                   help="worker processes (default: all cores)")  # fmt: skip
    p.add_argument("--strict", action="store_true", help="stop at the first malformed file")
    p.add_argument("--kaggle-npz", type=Path, metavar="FILE",
                   help="also write the NPZ CTR-GCN's seq_transformation.py writes")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    add_json_option(p, help="print the report as JSON")
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from skelab.errors import ConfigError

    if not args.skeleton_dir.is_dir():
        raise ConfigError("SKELETON_DIR", f"{args.skeleton_dir} is not a folder",
                          fix="the folder of the downloaded .skeleton files")  # fmt: skip
    check_output(args.out_dir, overwrite=args.overwrite, option="OUT_DIR", kind="folder",
                 fix="pass --overwrite, or choose another OUT_DIR")  # fmt: skip
    if args.kaggle_npz is not None:
        check_output(args.kaggle_npz, overwrite=args.overwrite, option="--kaggle-npz")
    from skelab.cli._progress import progress_bar
    from skelab.data.raw_prepare import prepare_raw

    bars = []

    def on_plan(total: int, done: int) -> None:
        if done:
            print(f"resuming: {done:,} of {total:,} files already done", file=sys.stderr)
        bar = progress_bar(total=total, initial=done, unit="file", desc="prepare-raw",
                           enabled=not args.no_progress)  # fmt: skip
        bars.append(bar)

    try:
        report = prepare_raw(
            args.skeleton_dir,
            args.out_dir,
            dataset=args.dataset,
            split=args.split,
            workers=args.workers,
            strict=args.strict,
            kaggle_npz=args.kaggle_npz,
            overwrite=args.overwrite,
            progress=lambda n: bars[0].update(n),
            on_plan=on_plan,
        )
    finally:
        for bar in bars:
            bar.close()
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_text())
    return 0
