"""`skelab models`: list models and their cards; `skelab models import`: upstream weights."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelab.cli._common import add_json_option, add_out_option, add_set_option, check_output


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list models and their cards; import upstream checkpoints",
        epilog="example:\n  skelab models\n  skelab models show ctrgcn\n"
        "  skelab models import ctrgcn runs-65-20000.pt --out ctrgcn_joint.pt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_json_option(p, help="print the cards as JSON")
    p.set_defaults(run=run_list)
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")

    s = msub.add_parser(
        "show",
        help="print one model card in full",
        epilog="example:\n  skelab models show stgcn",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("name", help="model name; `skelab models` lists them")
    s.set_defaults(run=run_show)

    i = msub.add_parser(
        "import",
        help="load a checkpoint saved by the upstream repo and save it as a skelab state dict",
        epilog="example:\n  skelab models import ctrgcn runs-65-20000.pt --out ctrgcn_joint.pt "
        "--set num_classes=120",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    i.add_argument("name", help="model name; `skelab models` lists them")
    i.add_argument("checkpoint", type=Path, help="upstream .pt file (with or without module.)")
    add_out_option(i, required=True, help="where to write the skelab weights")
    add_set_option(i, dest="options", help="model option, e.g. num_classes=120 (repeatable)")
    i.set_defaults(run=run_import)


def run_list(args: argparse.Namespace) -> int:
    from skelab.models import get_card, list_models

    cards = [get_card(n) for n in list_models()]
    if args.json:
        print(json.dumps([c.to_dict() for c in cards], indent=2))
        return 0
    acc_head = "NTU60 X-Sub top-1 (J / B / JM / BM / ens.)"
    head = f"{'name':<15} {'model':<14} {'venue':<10} {'params':>10} {'window':>6}  {acc_head}"
    print(head)
    print("-" * len(head))
    for c in cards:
        acc = " / ".join(
            f"{c.reported_top1[k]:.1f}" if k in c.reported_top1 else "-"
            for k in ("joint", "bone", "joint_motion", "bone_motion", "ensemble")
        )
        venue = f"{c.venue} {c.year}"
        size = f"{c.params_ntu60:>10,} {c.default_window:>6}"
        print(f"{c.name:<15} {c.title:<14} {venue:<10} {size}  {acc}")
    print("\n`skelab models show NAME` prints a card in full.")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from skelab.models import get_card

    card = get_card(args.name)
    for key, value in card.to_dict().items():
        print(f"{key:>15}: {value}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    check_output(args.out, overwrite=args.overwrite)
    if not args.checkpoint.is_file():
        from skelab.errors import CheckpointError

        raise CheckpointError(f"no such file: {args.checkpoint}", fix="the upstream .pt file")
    from skelab.engine.presets import parse_overrides
    from skelab.files import atomic_save
    from skelab.models import build, count_parameters, load_upstream_checkpoint

    model = build(args.name, **dict(parse_overrides(args.options)))
    load_upstream_checkpoint(model, args.checkpoint)
    atomic_save({"model": model.state_dict(), "model_name": args.name}, args.out)
    print(
        f"{args.name}: loaded {len(model.state_dict())} entries "
        f"({count_parameters(model):,} parameters) from {args.checkpoint}; wrote {args.out}"
    )
    return 0
