"""`skelab export`: trained weights to ONNX or TorchScript, checked against PyTorch."""

from __future__ import annotations

import argparse
import json

from skelab.cli._common import (
    add_json_option,
    add_out_option,
    add_run_argument,
    check_output,
    check_trained,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX or TorchScript and check its logits against PyTorch",
        description="Rebuilds the model of RUN (a run folder, or a checkpoint file) from its "
        "config, exports it for the run's window with a free batch "
        "axis, then runs the file on a new batch (ONNX under ONNX Runtime, CPU) and compares "
        "its logits with PyTorch's (max difference <= 1e-4 x max(1, |logits|)).",
        epilog="example:\n  skelab export work_dir/ntu60-xsub/ctrgcn-joint --format onnx\n"
        "  skelab export runs/a --checkpoint last --format torchscript --out a.ts.pt --json\n"
        "  skelab export ctrgcn_import.pt --config ntu60-xsub/ctrgcn-joint --format onnx",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_argument(p)
    p.add_argument(
        "--format", dest="fmt", choices=("onnx", "torchscript"), required=True, help="file format"
    )
    add_out_option(p, help="output file (default: the checkpoint's stem + .onnx or .ts.pt)")
    p.add_argument("--no-check", action="store_true", help="skip the comparison with PyTorch")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_trained(args.trained)
    if args.out is not None:
        check_output(args.out, overwrite=args.overwrite)
    from skelab.apps.export import export_weights
    from skelab.engine.rundir import resolve_trained

    cfg, weights = resolve_trained(args.trained, config=args.config, checkpoint=args.checkpoint)
    result = export_weights(weights, cfg=cfg, fmt=args.fmt, out=args.out, check=not args.no_check,
                            overwrite=args.overwrite)  # fmt: skip
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
