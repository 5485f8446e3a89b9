"""`skelab configs`: list the shipped presets; `skelab configs show NAME`: print one resolved."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "configs",
        help="list the shipped presets; `configs show NAME` prints one, fully resolved",
        epilog="example:\n  skelab configs\n  skelab configs --filter stgcn-lite\n"
        "  skelab configs show ntu60-xsub/stgcn-lite-joint --set optim.lr=0.05",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--filter", default="", help="only presets whose name contains this text")
    p.add_argument("--json", action="store_true", help="print name and info of each as JSON")
    p.set_defaults(run=run_list, _parser=p)
    csub = p.add_subparsers(dest="configs_command", metavar="ACTION")
    s = csub.add_parser(
        "show",
        help="print a preset or YAML file with inheritance and overrides resolved",
        epilog="example:\n  skelab configs show ntu60-xsub/stgcn-joint\n"
        "  skelab configs show my_run.yaml --set train.epochs=5",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("name", help="preset name or YAML file")
    s.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key, value parsed as YAML (repeatable)",
    )
    s.set_defaults(run=run_show)


def run_list(args: argparse.Namespace) -> int:
    from skelab.engine.config import list_presets, load_config

    names = [n for n in list_presets() if args.filter in n]
    configs = [load_config(n) for n in names]
    if args.json:
        print(
            json.dumps(
                [{"name": c.name, "model": c.model.name, **c.to_dict()["info"]} for c in configs],
                indent=2,
            )
        )
        return 0
    width = max((len(n) for n in names), default=10)
    print(f"{'preset':<{width}}  {'mem GB':>6}  description")
    print("-" * (width + 10 + 40))
    for cfg in configs:
        mem = cfg.info.expected_peak_memory_gb
        print(
            f"{cfg.name:<{width}}  {'?' if mem is None else f'{mem:.1f}':>6}  "
            f"{cfg.info.description}"
        )
    print(
        f"\n{len(names)} presets. `skelab configs show NAME` prints one in full; "
        "`skelab train NAME --set data.path=...` trains it."
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from skelab.engine.config import load_config

    cfg = load_config(args.name, args.overrides)
    print(f"# {cfg.name}: resolved (inheritance and --set applied)")
    print(cfg.to_yaml(), end="")
    return 0
