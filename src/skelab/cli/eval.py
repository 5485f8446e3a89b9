"""`skelab eval`: evaluate a trained model (a run folder or a checkpoint) on the test split and
write its scores."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelab.cli._common import (
    add_device_option,
    add_json_option,
    add_out_option,
    add_precision_option,
    add_progress_option,
    add_run_argument,
    add_set_option,
    check_output,
    check_trained,
    deprecated_alias,
    warn_deprecated,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a trained model on the test split; writes scores/eval_<weights>_test.npz",
        epilog="example:\n  skelab eval work_dir/ntu60-xsub/stgcn-lite-joint\n"
        "  skelab eval runs/st --checkpoint last --per-class\n"
        "  skelab eval stgcn_import.pt --config ntu60-xsub/stgcn-joint --set data.path=x.npz "
        "--out runs/eval\n"
        "  skelab eval runs/st --observe 0.1,0.3,0.5,1.0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_argument(
        p,
        help="a run folder written by `skelab train` or a checkpoint file (.pt); "
        "(deprecated: a preset or YAML with --weights)",
    )
    p.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="deprecated: `skelab eval CONFIG --weights W` is `skelab eval W --config CONFIG`",
    )
    add_set_option(p, help="override a config key, e.g. data.path=NTU60_CS.npz (repeatable)")
    add_out_option(
        p, help="folder whose scores/ gets eval_<checkpoint>_test.npz (default: the run folder)"
    )
    deprecated_alias(p, "--work-dir", "--out")
    add_device_option(p, default=None)
    add_precision_option(p)
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
    add_json_option(p)
    add_progress_option(p)
    p.set_defaults(run=run)


def default_work_dir(weights: Path) -> Path:
    """`<run>/checkpoints/best.pt` -> `<run>`; any other file -> its folder."""
    from skelab.engine.rundir import RunDir

    run = RunDir.of_checkpoint(weights)
    return run.path if run is not None else weights.resolve().parent


def run(args: argparse.Namespace) -> int:
    if args.out is not None:
        check_output(args.out, overwrite=True, kind="folder")  # scores/ goes into it
    ratios = None
    if args.observe is not None:  # a bad ratio is an argument error, before any file is read
        from skelab.apps.early import parse_ratios

        ratios = parse_ratios(args.observe)
    check_trained(args.trained if args.weights is None else args.weights)
    from skelab.engine.evaluate import evaluate_weights
    from skelab.engine.fromdata import class_names_of
    from skelab.engine.rundir import RunDir, resolve_trained
    from skelab.engine.summary import percent, summarize_scores

    source, config = args.trained, args.config
    if args.weights is not None:  # the old form: the positional is the config
        warn_deprecated("`skelab eval CONFIG --weights W`", "`skelab eval W --config CONFIG`")
        source, config = args.weights, config or str(args.trained)
    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"train.device={args.device}")
    if args.precision:
        overrides.append(f"train.precision={args.precision}")
    cfg, weights = resolve_trained(
        source, config=config, checkpoint=args.checkpoint, overrides=overrides
    )
    work_dir = args.out or default_work_dir(weights)
    target = (
        Path(work_dir) / f"early_action_{weights.stem}.png"
        if ratios is not None
        else RunDir(work_dir).eval_scores(weights)
    )
    check_output(target, overwrite=args.overwrite, option="--out")
    if ratios is not None:
        return _run_observe(args, cfg, weights, work_dir, ratios)
    result, path = evaluate_weights(cfg, weights, work_dir=work_dir, progress=not args.no_progress)
    trained_in = RunDir.of_checkpoint(weights)  # which epoch, chosen by which rule
    note = trained_in.checkpoint_note(weights) if trained_in is not None else ""
    if args.json:
        print(
            json.dumps(
                {
                    "config": cfg.name,
                    "weights": str(weights),
                    "chosen_by": note or None,
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
        f"on {len(result.labels)} clips ({weights}{'; ' + note if note else ''})"
    )
    if path is not None:
        print(f"scores: {path}")
    if args.per_class:
        names = class_names_of(cfg)
        print(summarize_scores(result.scores, result.labels, names).to_text())
    return 0


def _run_observe(
    args: argparse.Namespace, cfg, weights: Path, work_dir: Path, ratios: list[float]
) -> int:
    from skelab.apps.early import observe_curve, save_curve
    from skelab.engine.summary import percent

    points = observe_curve(cfg, weights, ratios, progress=not args.no_progress)
    png = save_curve(
        points,
        Path(work_dir) / f"early_action_{weights.stem}.png",
        title=f"{cfg.name}: early-action top-1 ({weights.name})",
    )
    if args.json:
        rows = [
            {"observe": p.observe, "top1": p.result.top1, "top5": p.result.top5} for p in points
        ]
        print(
            json.dumps(
                {
                    "config": cfg.name,
                    "weights": str(weights),
                    "observe": rows,
                    "curve": str(png),
                }
            )
        )
        return 0
    print(f"{cfg.name}: early-action evaluation of {weights} on the test split")
    print("observed  top-1    top-5")
    for p in points:
        print(f"{100 * p.observe:7.0f}%  {percent(p.result.top1):>7}  {percent(p.result.top5):>7}")
    print(f"curve: {png}")
    return 0
