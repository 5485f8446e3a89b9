"""`skelab bench`: training-step speed, FLOPs and peak memory of registered models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="time a training step of models: samples/s, GFLOPs per sample, peak GPU memory",
        epilog="example:\n  skelab bench ctrgcn msg3d --batch 16 --window 64\n"
        "  skelab bench stgcn-lite --device cuda --amp bf16 --batch 256 --json bench.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("models", nargs="*", help="model names (default: every registered model)")
    p.add_argument("--batch", type=int, default=16, help="batch size (default 16)")
    p.add_argument("--window", type=int, default=None, help="frames (default: model's window)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto (default)")
    p.add_argument("--amp", choices=["none", "bf16", "fp16"], default="none")
    p.add_argument("--repeats", type=int, default=5, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (torch)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.bench import time_train_step
    from skelab.models import list_models

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    names = args.models or list_models()
    print(
        f"training step (forward, loss, backward, SGD) · batch {args.batch} · {device} · "
        f"{args.amp if args.amp != 'none' else 'float32'} · torch {torch.__version__} · "
        f"median of {args.repeats} after {args.warmup} warm-up"
    )
    head = f"{'model':<15} {'params':>10} {'window':>6} {'step s':>8} {'samples/s':>10} "
    head += f"{'GFLOPs/sample':>14} {'peak GB':>8}"
    print(head)
    results = []
    for name in names:
        r = time_train_step(
            name,
            batch=args.batch,
            window=args.window,
            device=device,
            amp=args.amp,
            repeats=args.repeats,
            warmup=args.warmup,
        )
        results.append(r.to_dict())
        peak = f"{r.peak_mem_gb:.2f}" if r.peak_mem_gb is not None else "-"
        print(
            f"{r.model:<15} {r.params:>10,} {r.window:>6} {r.step_s:>8.3f} "
            f"{r.samples_per_s:>10.1f} {r.gflops_per_sample:>14.3f} {peak:>8}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0
