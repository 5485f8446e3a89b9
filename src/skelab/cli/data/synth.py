"""`skelab data synth`: write the built-in NTU-like data as a Kaggle-style NPZ."""

from __future__ import annotations

import argparse
import time

from skelab.cli._common import add_out_option, check_output, int_range


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="write synthetic NTU-like skeletons (Kaggle NPZ: x_train, y_train, x_test, y_test)",
        epilog="example:\n  skelab data synth --out ntu_like.npz --classes 60 --train 3000 "
        "--test 1200 --seed 0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_out_option(p, required=True, help="NPZ file to write (atomically)")
    p.add_argument("--classes", type=int_range(1, 120), default=60,
                   help="number of classes, 1..120 (60)")  # fmt: skip
    p.add_argument("--train", type=int_range(1, 1_000_000), default=3000,
                   help="training samples (3000)")  # fmt: skip
    p.add_argument("--test", type=int_range(1, 1_000_000), default=1200,
                   help="test samples (1200)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same bytes (0)")
    p.add_argument("--frames", type=int_range(30, 10_000), default=300,
                   help="frames per sample, 30..10000 (300)")  # fmt: skip
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.out, overwrite=args.overwrite)
    from skelab.synth import write_ntu_like

    start = time.perf_counter()
    path = write_ntu_like(
        args.out, num_classes=args.classes, n_train=args.train, n_test=args.test,
        seed=args.seed, frames=args.frames,
    )  # fmt: skip
    mb, secs = path.stat().st_size / 1e6, time.perf_counter() - start
    print(
        f"wrote {path}: {args.train} train + {args.test} test samples, {args.classes} classes, "
        f"{args.frames} frames, seed {args.seed}, {mb:.1f} MB in {secs:.1f} s"
    )
    return 0
