"""`skelab export`: trained weights to ONNX or TorchScript, checked against PyTorch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX or TorchScript and check its logits against PyTorch",
        description="Rebuilds the model from the config stored in WEIGHTS (a run's "
        "checkpoints/best.pt or last.pt), exports it for the run's window with a free batch "
        "axis, then runs the file on a new batch (ONNX under ONNX Runtime, CPU) and compares "
        "its logits with PyTorch's (max difference <= 1e-4 x max(1, |logits|)).",
        epilog="example:\n  skelab export work_dir/ntu60-xsub/ctrgcn-joint/checkpoints/best.pt "
        "--format onnx\n  skelab export runs/a/checkpoints/last.pt --format torchscript "
        "--out a.ts.pt --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("weights", type=Path, help="a skelab training checkpoint (it holds its config)")
    p.add_argument(
        "--format", dest="fmt", choices=("onnx", "torchscript"), required=True, help="file format"
    )
    p.add_argument(
        "--out", type=Path, default=None, help="output file (WEIGHTS stem + .onnx or .ts.pt)"
    )
    p.add_argument("--no-check", action="store_true", help="skip the comparison with PyTorch")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.engine.export import export_weights

    result = export_weights(args.weights, fmt=args.fmt, out=args.out, check=not args.no_check)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    shapes = ", ".join(f"{k} ({', '.join(map(str, v))})" for k, v in result.inputs.items())
    print(f"wrote {result.path}: {result.model} as {result.format}, inputs {shapes} -> logits")
    if args.no_check:
        print("not checked against PyTorch (--no-check)")
    else:
        print(
            f"checked on a new batch: max |logits difference| {result.max_abs_diff:.2e} "
            f"(logits up to {result.max_abs_logit:.3g}, "
            f"allowed {result.tolerance:g} x max(1, that))"
        )
    return 0
