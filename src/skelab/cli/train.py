"""`skelab train`: train a model from a preset or YAML config."""

from __future__ import annotations

import argparse
from pathlib import Path


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
        '  torchrun --nproc-per-node 2 "$(command -v skelab)" train ntu60-xsub/stgcn-joint',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="preset name (`skelab configs` lists them) or a YAML file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, value parsed as YAML, e.g. optim.lr=0.05 (repeatable)",
    )
    p.add_argument(
        "--work-dir", type=Path, default=None, help="run folder (default: work_dir/<config name>)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --work-dir from checkpoints/last.pt",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def default_work_dir(name: str) -> Path:
    return Path("work_dir") / name


def run(args: argparse.Namespace) -> int:
    from skelab.engine.presets import load_config
    from skelab.engine.summary import percent
    from skelab.engine.trainer import Trainer

    cfg = load_config(args.config, args.overrides)
    work_dir = args.work_dir or default_work_dir(cfg.name)
    trainer = Trainer(cfg, work_dir=work_dir, progress=not args.no_progress)
    result = trainer.fit(resume=args.resume)
    if trainer.dist.is_main:
        last = result.last_eval
        print(
            f"{cfg.name}: {result.epochs_done} epochs; best test top-1 "
            f"{percent(result.best_top1)} at epoch {result.best_epoch}"
            + (f"; last top-1 {percent(last.top1)}, top-5 {percent(last.top5)}" if last else "")
        )
        print(f"run folder: {work_dir}  (checkpoints/best.pt, scores/, metrics.jsonl)")
    return 0
