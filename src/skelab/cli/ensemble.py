"""`skelab ensemble`: fuse the test scores of several runs (streams) into one accuracy."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from skelab.cli._common import add_json_option, deprecated_alias


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ensemble",
        help="fuse several runs' test scores (weighted sum of logits): top-1 / top-5",
        description="Fuse the test scores of each run's best checkpoint (the epoch the run's "
        "train.select rule chose; --checkpoint last for the last epoch). The runs must share "
        "the split, the sample order and the class count. --search picks the weights on the "
        "held-out part of the TRAINING split (runs trained with data.holdout > 0), never on "
        "the test split; the output names the rule that chose each run's checkpoint.",
        epilog="example:\n  skelab ensemble work_dir/ntu60-xsub/ctrgcn-{joint,bone,joint-motion,"
        "bone-motion} --fusion-weights 0.6,0.6,0.4,0.4\n"
        "  skelab ensemble runs/joint runs/bone --search --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "runs",
        nargs="+",
        type=Path,
        metavar="RUN",
        help="run folders written by `skelab train` (or a checkpoint inside one)",
    )
    p.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        default="best",
        help="each run's best (the epoch train.select chose) or last checkpoint [best]",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--fusion-weights",
        type=fusion_weights,
        default=None,
        metavar="W1,W2,...",
        help="comma-separated weight per run, e.g. 0.6,0.6,0.4,0.4 (default: all 1)",
    )
    deprecated_alias(how, "--weights", "--fusion-weights")
    how.add_argument(
        "--search",
        action="store_true",
        help="choose the weights on the held-out part of the training split",
    )
    add_json_option(p)
    p.set_defaults(run=run)


def fusion_weights(text: str) -> list[float]:
    """argparse type of --fusion-weights: finite numbers >= 0, not all 0."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers, e.g. 0.6,0.4"
        ) from None
    if not all(math.isfinite(v) and v >= 0 for v in values) or not any(values):
        raise argparse.ArgumentTypeError(f"{text!r}: weights must be finite, >= 0 and not all 0")
    return values


def run(args: argparse.Namespace) -> int:
    from skelab.apps.ensemble import ensemble
    from skelab.engine.summary import percent

    result = ensemble(
        args.runs,
        weights=args.fusion_weights,
        search=args.search,
        checkpoint=args.checkpoint,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"fusing the test scores of each run's {args.checkpoint} checkpoint (sum of logits):")
    for r, w, t in zip(result.runs, result.weights, result.member_top1, strict=True):
        print(f"  {w:4.2f} x {r.run_dir} (epoch {r.epoch}, top-1 {percent(t)}; {r.chosen_by})")
    if result.searched:
        print(
            f"weights chosen on the held-out part of the training split "
            f"({result.holdout_samples} samples, fused top-1 {percent(result.holdout_top1 or 0)}); "
            "the test split was not used to choose them"
        )
    if result.test_chose_checkpoints:
        print(
            "note: the test split chose the checkpoint of runs trained with train.select=test "
            "(upstream's rule), so this test figure is not untouched; train with "
            "--set train.select=holdout for one that is"
        )
    print(
        f"ensemble of {len(result.runs)} runs: test top-1 {percent(result.top1)}, "
        f"top-5 {percent(result.top5)} on {len(result.runs[0].labels)} clips"
    )
    return 0
