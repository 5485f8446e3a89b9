"""`skelab predict`: a trained model's top-5 classes for new recordings or a dataset split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelab.cli._common import add_set_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="top-5 classes with names and probabilities for each sample of the input",
        description="Predict with a run folder (config.yaml + checkpoints/best.pt) or a weights "
        "file. INPUT is an NPZ or prepared folder (one split), or raw NTU .skeleton files "
        "(preprocessed as upstream does). Clips are resampled as the run's test transform does.",
        epilog="example:\n"
        "  skelab predict work_dir/ntu60-xsub/ctrgcn-joint S001C001P001R001A001.skeleton\n"
        "  skelab predict runs/st/checkpoints/best.pt data/ntu60 --split test --limit 5\n"
        "  skelab predict ctrgcn_import.pt NTU60_CS.npz --config ntu60-xsub/ctrgcn-joint --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", type=Path, help="a run folder or a weights file")
    p.add_argument(
        "inputs", nargs="+", type=Path, help="an NPZ, a prepared folder, or .skeleton files"
    )
    p.add_argument(
        "--config",
        default=None,
        help="preset or YAML for weights that carry no config (e.g. `skelab models import` files)",
    )
    add_set_option(p, help="override a config key, e.g. train.device=cpu (repeatable)")
    p.add_argument("--split", default="test", help="split of an NPZ or prepared folder [test]")
    p.add_argument("--limit", type=int, default=0, help="print only the first N samples (0 = all)")
    p.add_argument("--json", action="store_true", help="print one JSON object per sample")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.engine.predict import predict, resolve_model

    cfg, weights = resolve_model(args.model, config=args.config, overrides=args.overrides)
    preds = predict(cfg, weights, args.inputs, split=args.split, progress=not args.no_progress)
    if args.limit > 0:
        preds = preds[: args.limit]
    for p in preds:
        if args.json:
            print(json.dumps(p.to_dict()))
            continue
        truth = f" (true: {p.label})" if p.label is not None else ""
        print(f"{p.sample}{truth}")
        for c, name, prob in p.top:
            print(f"  {100 * prob:6.2f}%  {c:3d}  {name}")
    return 0
