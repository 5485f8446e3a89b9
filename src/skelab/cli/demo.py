"""`skelab demo`: train a small ST-GCN on built-in NTU-like data, on the CPU, in minutes."""

from __future__ import annotations

import argparse
from pathlib import Path

from skelab.cli._common import add_progress_option, check_output, int_range


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="make NTU-like data, train ST-GCN-lite on the CPU for a few minutes, evaluate",
        description="The first thing to run: makes built-in NTU-like skeleton data, prepares it, "
        "trains ST-GCN-lite on the CPU (a few minutes on 2 cores), evaluates the best "
        "checkpoint and prints top-1 / top-5 and a per-class summary.",
        epilog="example:\n  skelab demo\n  skelab demo --out /tmp/demo --epochs 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("skelab-demo"),
        help="folder for the data and the run (default: skelab-demo)",
    )
    p.add_argument(
        "--epochs", type=int_range(1, 1000), default=None, help="training epochs (default: 6)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a few seconds: tiny data and model, 1 epoch (for tests)",
    )
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # the demo replaces only a folder it made itself (a marker file); here: kind and place
    check_output(args.out, overwrite=True, kind="folder")
    from skelab.apps.demo import PRESET, run_demo

    r = run_demo(args.out, epochs=args.epochs, quick=args.quick, progress=not args.no_progress)
    minutes, seconds = divmod(int(round(r.seconds)), 60)
    print()
    print(
        f"skelab demo: {r.config.model.name} on {r.n_train} + {r.n_test} built-in NTU-like "
        f"clips, {r.config.data.num_classes} classes, {r.config.train.epochs} "
        f"epoch{'s' if r.config.train.epochs != 1 else ''}, "
        f"{minutes} min {seconds:02d} s"
    )
    print(
        f"  test top-1 {100 * r.top1:.1f}%   top-5 {100 * r.top5:.1f}%   "
        f"(chance {100 * r.chance:.1f}%; best epoch {r.best_epoch})"
    )
    print(r.summary.to_text())
    print(
        f"  the run: {r.work_dir}/ (config.yaml, metrics.jsonl, checkpoints/, scores/, "
        "tensorboard/)"
    )
    print("next:")
    print(f"  tensorboard --logdir {r.work_dir}/tensorboard")
    print(f"  skelab eval {r.work_dir} --per-class")
    print(
        f"  skelab train {PRESET} --set data.path={r.config.data.path} "
        "--set train.epochs=20 --out my-run"
    )
    print("  skelab configs      (presets for NTU RGB+D 60/120: mlp, stgcn, stgcn-lite, ...)")
    return 0
