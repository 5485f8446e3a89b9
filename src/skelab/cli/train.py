"""`skelab train`: train a model from a preset or YAML config."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelab.cli._common import (
    add_device_option,
    add_json_option,
    add_precision_option,
    add_progress_option,
    add_set_option,
    check_output,
    deprecated_alias,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a preset or YAML config",
        description="Train a model. The run folder gets config.yaml, metrics.jsonl, "
        "checkpoints/{last,best}.pt, scores/epoch_<N>_test.npz and TensorBoard events. "
        "Under torchrun the run is distributed (DDP).",
        epilog="example:\n  skelab train ntu60-xsub/stgcn-lite-joint --set data.path=NTU60_CS.npz\n"
        "  skelab train ntu60-xsub/stgcn-joint --set train.batch_size=32 --out runs/st\n"
        "  skelab train runs/st/config.yaml --out runs/st --resume --set train.epochs=100\n"
        '  torchrun --nproc-per-node 2 "$(command -v skelab)" train ntu60-xsub/stgcn-joint\n'
        "  skelab train ntu60-xsub/ctrgcn-joint --streams all --out runs/ctrgcn --device cuda\n"
        "  skelab train ntu60-xsub/ctrgcn-joint --set data.num_classes=10 "
        "--weights ctrgcn60.pt --drop-head",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="preset name (`skelab configs` lists them) or a YAML file")
    add_set_option(
        p, help="override a config key, value parsed as YAML, e.g. optim.lr=0.05 (repeatable)"
    )
    p.add_argument(
        "--out", type=Path, default=None, metavar="PATH",
        help="run folder, new or empty (default: work_dir/<config name>)",
    )  # fmt: skip
    deprecated_alias(p, "--work-dir", "--out")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from checkpoints/last.pt",
    )
    add_device_option(p, default=None)
    add_precision_option(p)
    p.add_argument(
        "--streams",
        choices=["all"],
        default=None,
        help="train every stream of the preset's model (joint, bone, joint-motion, "
        "bone-motion) one after another, each in its own folder, then fuse them",
    )
    p.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="start from these weights: a run folder (its best checkpoint), a skelab "
        "checkpoint or an upstream file (sets train.weights)",
    )
    p.add_argument(
        "--drop-head",
        action="store_true",
        help="with --weights: start the classifier afresh when the class count differs",
    )
    p.add_argument(
        "--select",
        choices=("test", "holdout", "last"),
        default=None,
        help="how checkpoints/best.pt is chosen (train.select): test = best test top-1, "
        "upstream's rule [default]; holdout = best top-1 on data.holdout, test read once "
        "after training; last = the last epoch",
    )
    add_json_option(p, help="print the summary as JSON (one object per run)")
    add_progress_option(p)
    p.set_defaults(run=run)


def default_work_dir(name: str) -> Path:
    return Path("work_dir") / name


RESUME = "pass --resume to continue the run there, or choose another --out"


def _is_main_process() -> bool:
    """Rank 0 under torchrun (the others find the folder rank 0 is filling)."""
    import os

    return os.environ.get("RANK", "0") == "0"


def check_args(args: argparse.Namespace) -> None:
    """What can be refused before torch loads and any data is read."""
    from skelab.errors import ConfigError

    if args.out is not None:
        if args.resume:
            if not args.out.is_dir():
                raise ConfigError(
                    "--out", f"no run folder {args.out} to resume", fix="drop --resume"
                )
        else:
            check_output(args.out, overwrite=not _is_main_process(), kind="folder", fix=RESUME)
    if args.weights is not None and not args.weights.exists():
        raise ConfigError(
            "--weights",
            f"no such file or folder: {args.weights}",
            fix="a checkpoint (.pt), a run folder or an upstream weights file",
        )


def run(args: argparse.Namespace) -> int:
    check_args(args)
    from skelab.engine.presets import load_config

    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"train.device={args.device}")
    if args.precision:
        overrides.append(f"train.precision={args.precision}")
    if args.weights:
        overrides.append(f"train.weights={args.weights}")
    if args.drop_head:
        overrides.append("train.drop_head=true")
    if args.select:
        overrides.append(f"train.select={args.select}")
    if args.streams:
        return _run_streams(args, overrides)
    cfg = load_config(args.config, overrides)
    work_dir = args.out or default_work_dir(cfg.name)
    if args.out is None and not args.resume:
        check_output(work_dir, overwrite=not _is_main_process(), kind="folder", fix=RESUME)
    from skelab.engine.summary import fit_summary
    from skelab.engine.trainer import Trainer  # torch loads here, after the config is checked

    trainer = Trainer(cfg, work_dir=work_dir, progress=not args.no_progress)
    result = trainer.fit(resume=args.resume)
    if trainer.dist.is_main and args.json:
        print(json.dumps(_result_dict(cfg.name, work_dir, result)))
    elif trainer.dist.is_main:
        print(fit_summary(cfg.name, result))
        print(f"run folder: {work_dir}  (checkpoints/best.pt, scores/, metrics.jsonl)")
    return 0


def _result_dict(name: str, work_dir: Path, result) -> dict:
    """`--json`: the run's figures, with null (not NaN) where a split was not evaluated."""
    import math

    def number(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else x

    last, final = result.last_eval, result.final_eval
    return {
        "config": name,
        "run": str(work_dir),
        "epochs": result.epochs_done,
        "select": result.select,
        "best_epoch": result.best_epoch,
        "best_top1": number(result.best_top1),
        "last_top1": number(last.top1) if last else None,
        "last_top5": number(last.top5) if last else None,
        "final_test_top1": number(final.top1) if final else None,
    }


def _run_streams(args: argparse.Namespace, overrides: list[str]) -> int:
    from skelab.apps.ensemble import train_streams
    from skelab.engine.summary import percent

    run_dirs, fused = train_streams(
        args.config,
        overrides,
        work_root=args.out,
        resume=args.resume,
        progress=not args.no_progress,
    )
    if fused is None:
        return 0
    for r, w, t in zip(fused.runs, fused.weights, fused.member_top1, strict=True):
        print(f"{r.name}: test top-1 {percent(t)} at epoch {r.epoch}, chosen by {r.chosen_by} "
              f"(weight {w:g})")  # fmt: skip
    chosen = (
        f"weights chosen on {fused.holdout_samples} held-out training samples, not on the test "
        "split"
        if fused.searched
        else "the upstream repo's own fusion weights (the presets' info.fusion_weight)"
    )
    print(
        f"fused {len(run_dirs)} streams: test top-1 {percent(fused.top1)}, top-5 "
        f"{percent(fused.top5)}; {chosen}"
        + (
            "; the checkpoints were chosen on the test split"
            if fused.test_chose_checkpoints
            else ""
        )  # fmt: skip
    )
    how = (
        "--search"
        if fused.searched
        else "--fusion-weights " + ",".join(f"{w:g}" for w in fused.weights)
    )
    print(f"`skelab ensemble {' '.join(map(str, run_dirs))} {how}` repeats the fusion")
    return 0
