"""`skelab zeroshot features`: backbones trained on seen classes, features in upstream layout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelab.cli._common import (
    add_device_option,
    add_json_option,
    add_progress_option,
    check_output,
    share,
)
from skelab.cli.zeroshot import add_set


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "features",
        help="train a backbone on the seen classes and write pooled features and logits",
        description="Train the CONFIG backbone on the seen classes of --split (and a second one "
        "on the validation-seen classes, for the gate), then write <out>/shift_<ss>_r/ and "
        "<out>/shift_val_<ss>_r/ in the layout MSF-GZSSAR and FS-VAE read (train, ztest, gtest "
        "features, labels and logits). Finished folders are reused; an interrupted backbone "
        "run resumes from <out>/backbones/.",
        epilog="example:\n  skelab zeroshot features ntu60-xsub/stgcn-lite-joint "
        "--split ntu60-55/5 --out sk_feats --set data.path=NTU60_CS.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="backbone preset (`skelab configs`) or YAML file")
    p.add_argument("--split", default="ntu60-55/5", help="zero-shot split (ntu60-55/5)")
    p.add_argument(
        "--out", type=Path, required=True, metavar="PATH",
        help="folder for the feature folders (finished ones are reused)",
    )  # fmt: skip
    p.add_argument(
        "--val-fraction", type=share, default=0.1,
        help="share of each validation-seen class held out of training for the gate (0.1)",
    )  # fmt: skip
    add_set(p)
    add_device_option(p, default=None)
    add_progress_option(p)
    add_json_option(p, help="print the folders and sizes as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.out, overwrite=True, kind="folder")  # reused: only kind and place checked
    from skelab.apps.zsl_features import make_features
    from skelab.engine.presets import load_config
    from skelab.zeroshot.features import finished_meta
    from skelab.zeroshot.splits import get_split

    split = get_split(args.split)
    device = [f"train.device={args.device}"] if args.device else []
    cfg = load_config(args.config, [*args.overrides, *device])
    folders = make_features(
        cfg, split, args.out, val_fraction=args.val_fraction, progress=not args.no_progress
    )
    report = {str(f): (finished_meta(f) or {}).get("sizes", {}) for f in folders}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    for folder, sizes in report.items():
        print(f"{folder}: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    return 0
