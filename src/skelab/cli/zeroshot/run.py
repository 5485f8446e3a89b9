"""`skelab zeroshot run`: the whole zero-shot pipeline, staged and resumable, with its table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelab.cli._common import (
    add_device_option,
    add_json_option,
    add_progress_option,
    check_output,
    deprecated_alias,
    int_range,
)
from skelab.cli.zeroshot import add_set


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="features, text, VAE on test and validation splits, gate, ZSL and GZSL figures",
        description="Run MSF-GZSSAR or FS-VAE end to end: skeleton features (trained from "
        "--config, or read from --features), class-text features, the VAE on the test and the "
        "validation split, the GZSL gate, and the evaluation. Every stage is saved in "
        "--out and skipped when its inputs did not change. skelab's figure chooses the "
        "cycle and the gate settings on the validation split only; the upstream-rule figure "
        "(best cycle on the test set, T=2, threshold 0.5) is shown beside it, labelled.",
        epilog="example:\n  skelab data synth --out ntu_like.npz --classes 60 --train 6000 "
        "--test 1200\n  skelab zeroshot run --method fsvae --split ntu60-55/5 --config "
        "ntu60-xsub/stgcn-lite-joint --set data.path=ntu_like.npz --set train.epochs=10\n"
        "  skelab zeroshot run --method msf --features sk_feats --text-encoder npy "
        "--text-dir text_feats/ViT-B/32 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--method", default="fsvae", help="fsvae | msf (fsvae)")
    p.add_argument("--split", default="ntu60-55/5", help="zero-shot split (ntu60-55/5)")
    p.add_argument("--text-mode", default="lb_ad_md", help="text kinds in order (lb_ad_md)")
    p.add_argument("--text-encoder", default="minilm", help="minilm | clip | npy (minilm)")
    p.add_argument("--text-dir", type=Path, default=None, help="with npy: <kind>_<N>.npy folder")
    p.add_argument(
        "--clip-file", type=Path, default=None, help="with clip: the ViT-B-32.pt file on disk"
    )
    deprecated_alias(p, "--weights", "--clip-file")
    p.add_argument(
        "--features", type=Path, default=None,
        help="folder with shift_<ss>_r/ and shift_val_<ss>_r/ (upstream layout), used as is",
    )  # fmt: skip
    p.add_argument("--config", default=None, help="backbone preset or YAML, when no --features")
    add_set(p)
    p.add_argument("--cycles", type=int_range(1, 10_000), default=None, help="VAE cycles (10)")
    p.add_argument(
        "--steps-per-cycle", type=int_range(1, 10**7), default=None,
        help="steps per cycle (1700; NTU120 1900)",
    )  # fmt: skip
    p.add_argument(
        "--method-set", dest="method_options", action="append", default=[], metavar="KEY=VALUE",
        help="override a method option (skelab.zeroshot.methods.MethodConfig), e.g. latent=50 "
        "or alpha=0.1 (repeatable)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=5, help="first seed (5, as upstream)")
    p.add_argument(
        "--seeds", type=int_range(1, 1000), default=1, help="seeds to run; >1 gives mean and std"
    )
    add_device_option(p, default="cpu", help="VAE device: cpu, cuda, cuda:N or auto (cpu)")
    p.add_argument(
        "--out", type=Path, default=None, metavar="PATH",
        help="stage folder, reused when run again (work_dir/zeroshot-<split>)",
    )  # fmt: skip
    deprecated_alias(p, "--work-dir", "--out")
    add_json_option(p)
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.out is not None:  # a stage folder is reused: only its kind and place are checked
        check_output(args.out, overwrite=True, kind="folder")
    from skelab.apps.zsl_pipeline import RunOptions, run_pipeline
    from skelab.engine.presets import parse_overrides

    cfg = None
    if args.features is None and args.config is not None:
        from skelab.engine.presets import load_config

        cfg = load_config(args.config, args.overrides)
    method_options = tuple(parse_overrides(args.method_options))
    opts = RunOptions(
        method=args.method, split=args.split, text_mode=args.text_mode,
        text_encoder=args.text_encoder,
        text_dir=str(args.text_dir) if args.text_dir else None,
        clip_weights=str(args.clip_file) if args.clip_file else None,
        cycles=args.cycles, steps_per_cycle=args.steps_per_cycle, seed=args.seed,
        seeds=args.seeds, device=args.device, method_options=method_options,
    )  # fmt: skip
    work_dir = args.out or Path("work_dir") / f"zeroshot-{args.split.replace('/', '-')}"
    result = run_pipeline(
        opts, work_dir=work_dir, features=args.features, backbone_cfg=cfg,
        progress=not args.no_progress,
    )  # fmt: skip
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(result.to_text())
        print(f"stages: {work_dir}")
    return 0
