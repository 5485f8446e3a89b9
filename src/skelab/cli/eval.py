"""`skelab eval`: evaluate saved weights on the test split and write their scores."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelab.cli._common import add_set_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate weights on the test split; writes scores/eval_<weights>_test.npz",
        epilog="example:\n  skelab eval ntu60-xsub/stgcn-lite-joint "
        "--weights work_dir/ntu60-xsub/stgcn-lite-joint/checkpoints/best.pt\n"
        "  skelab eval ntu60-xsub/stgcn-joint --weights stgcn_import.pt --set data.path=x.npz "
        "--work-dir runs/eval --per-class\n"
        "  skelab eval runs/st/config.yaml --weights runs/st/checkpoints/best.pt "
        "--observe 0.1,0.3,0.5,1.0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="preset name or YAML file the weights were trained with")
    p.add_argument(
        "--weights",
        type=Path,
        required=True,
        help="a run's checkpoints/best.pt or last.pt, or a `skelab models import` file",
    )
    add_set_option(p, help="override a config key, e.g. data.path=NTU60_CS.npz (repeatable)")
    p.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="where scores/ goes (default: the weights' run folder)",
    )
    p.add_argument(
        "--per-class",
        action="store_true",
        help="also print best/worst classes and the most frequent confusions",
    )
    p.add_argument(
        "--observe",
        default=None,
        metavar="RATIOS",
        help="early-action evaluation: top-1 when only the first share of each clip is seen, "
        "e.g. 0.1,0.3,0.5,1.0; prints a table and saves early_action_<weights>.png",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def default_work_dir(weights: Path) -> Path:
    """`<run>/checkpoints/best.pt` -> `<run>`; any other file -> its folder."""
    parent = weights.resolve().parent
    return parent.parent if parent.name == "checkpoints" else parent


def run(args: argparse.Namespace) -> int:
    from skelab.engine.evaluate import evaluate_weights
    from skelab.engine.presets import load_config
    from skelab.engine.summary import percent, summarize_scores
    from skelab.skeletons import class_names

    cfg = load_config(args.config, args.overrides)
    work_dir = args.work_dir or default_work_dir(args.weights)
    if args.observe is not None:
        return _run_observe(args, cfg, work_dir)
    result, path = evaluate_weights(
        cfg, args.weights, work_dir=work_dir, progress=not args.no_progress
    )
    if args.json:
        print(
            json.dumps(
                {
                    "config": cfg.name,
                    "weights": str(args.weights),
                    "top1": result.top1,
                    "top5": result.top5,
                    "loss": result.loss,
                    "samples": len(result.labels),
                    "scores": str(path) if path else None,
                }
            )
        )
        return 0
    print(
        f"{cfg.name}: test top-1 {percent(result.top1)}, top-5 {percent(result.top5)} "
        f"on {len(result.labels)} clips ({args.weights})"
    )
    if path is not None:
        print(f"scores: {path}")
    if args.per_class:
        names = class_names(cfg.data.num_classes)
        print(summarize_scores(result.scores, result.labels, names).to_text())
    return 0


def _run_observe(args: argparse.Namespace, cfg, work_dir: Path) -> int:
    from skelab.engine.early import observe_curve, parse_ratios, save_curve
    from skelab.engine.summary import percent

    ratios = parse_ratios(args.observe)
    points = observe_curve(cfg, args.weights, ratios, progress=not args.no_progress)
    png = save_curve(
        points,
        Path(work_dir) / f"early_action_{args.weights.stem}.png",
        title=f"{cfg.name}: early-action top-1 ({args.weights.name})",
    )
    if args.json:
        rows = [
            {"observe": p.observe, "top1": p.result.top1, "top5": p.result.top5} for p in points
        ]
        print(
            json.dumps(
                {
                    "config": cfg.name,
                    "weights": str(args.weights),
                    "observe": rows,
                    "curve": str(png),
                }
            )
        )
        return 0
    print(f"{cfg.name}: early-action evaluation of {args.weights} on the test split")
    print("observed  top-1    top-5")
    for p in points:
        print(f"{100 * p.observe:7.0f}%  {percent(p.result.top1):>7}  {percent(p.result.top5):>7}")
    print(f"curve: {png}")
    return 0
