"""`skelab train`: train a model from a preset or YAML config."""

from __future__ import annotations

import argparse
from pathlib import Path

from skelab.cli._common import add_set_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a preset or YAML config",
        description="Train a model. The run folder gets config.yaml, metrics.jsonl, "
        "checkpoints/{last,best}.pt, scores/epoch_<N>_test.npz and TensorBoard events. "
        "Under torchrun the run is distributed (DDP).",
        epilog="example:\n  skelab train ntu60-xsub/stgcn-lite-joint --set data.path=NTU60_CS.npz\n"
        "  skelab train ntu60-xsub/stgcn-joint --set train.batch_size=32 --work-dir runs/st\n"
        "  skelab train runs/st/config.yaml --work-dir runs/st --resume --set train.epochs=100\n"
        '  torchrun --nproc-per-node 2 "$(command -v skelab)" train ntu60-xsub/stgcn-joint\n'
        "  skelab train ntu60-xsub/ctrgcn-joint --streams all --work-dir runs/ctrgcn\n"
        "  skelab train ntu60-xsub/ctrgcn-joint --set data.num_classes=10 "
        "--weights ctrgcn60.pt --drop-head",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="preset name (`skelab configs` lists them) or a YAML file")
    add_set_option(
        p, help="override a config key, value parsed as YAML, e.g. optim.lr=0.05 (repeatable)"
    )
    p.add_argument(
        "--work-dir", type=Path, default=None, help="run folder (default: work_dir/<config name>)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --work-dir from checkpoints/last.pt",
    )
    p.add_argument(
        "--streams",
        choices=["all"],
        default=None,
        help="train every stream of the preset's model (joint, bone, joint-motion, "
        "bone-motion) one after another, each in its own folder, then fuse them",
    )
    p.add_argument(
        "--weights",
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
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def default_work_dir(name: str) -> Path:
    return Path("work_dir") / name


def run(args: argparse.Namespace) -> int:
    from skelab.engine.presets import load_config
    from skelab.engine.summary import fit_summary
    from skelab.engine.trainer import Trainer

    overrides = list(args.overrides)
    if args.weights:
        overrides.append(f"train.weights={args.weights}")
    if args.drop_head:
        overrides.append("train.drop_head=true")
    if args.select:
        overrides.append(f"train.select={args.select}")
    if args.streams:
        return _run_streams(args, overrides)
    cfg = load_config(args.config, overrides)
    work_dir = args.work_dir or default_work_dir(cfg.name)
    trainer = Trainer(cfg, work_dir=work_dir, progress=not args.no_progress)
    result = trainer.fit(resume=args.resume)
    if trainer.dist.is_main:
        print(fit_summary(cfg.name, result))
        print(f"run folder: {work_dir}  (checkpoints/best.pt, scores/, metrics.jsonl)")
    return 0


def _run_streams(args: argparse.Namespace, overrides: list[str]) -> int:
    from skelab.engine.ensemble import train_streams
    from skelab.engine.summary import percent

    run_dirs, fused = train_streams(
        args.config,
        overrides,
        work_root=args.work_dir,
        resume=args.resume,
        progress=not args.no_progress,
    )
    if fused is None:
        return 0
    for r, w, t in zip(fused.runs, fused.weights, fused.member_top1, strict=True):
        print(f"{r.name}: test top-1 {percent(t)} at epoch {r.epoch}, chosen by {r.chosen_by} "
              f"(weight {w:g})")  # fmt: skip
    print(
        f"fused {len(run_dirs)} streams: test top-1 {percent(fused.top1)}, top-5 "
        f"{percent(fused.top5)}; weights chosen on {fused.holdout_samples} held-out training "
        "samples, not on the test split"
        + ("; the checkpoints were chosen on the test split" if fused.test_chose_checkpoints
           else "")  # fmt: skip
    )
    print(f"`skelab ensemble {' '.join(map(str, run_dirs))} --search` repeats the fusion")
    return 0
