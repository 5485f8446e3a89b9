"""`skelab configs`: list the presets; `show NAME` prints one resolved; `keys` lists the schema."""

from __future__ import annotations

import argparse
import json

from skelab.cli._common import add_set_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "configs",
        help="list the shipped presets; `configs show NAME` prints one, fully resolved",
        epilog="example:\n  skelab configs\n  skelab configs --filter stgcn-lite\n"
        "  skelab configs show ntu60-xsub/stgcn-lite-joint --set optim.lr=0.05\n"
        "  skelab configs keys",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--filter", default="", help="only presets whose name contains this text")
    p.add_argument("--json", action="store_true", help="print name and info of each as JSON")
    p.set_defaults(run=run_list, _parser=p)
    csub = p.add_subparsers(dest="configs_command", metavar="ACTION")
    s = csub.add_parser(
        "show",
        help="print a preset or YAML file with inheritance and overrides resolved, and how it "
        "differs from upstream and the original lab",
        epilog="example:\n  skelab configs show ntu60-xsub/stgcn-joint\n"
        "  skelab configs show my_run.yaml --set train.epochs=5",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("name", help="preset name or YAML file")
    add_set_option(s, help="override a key, value parsed as YAML (repeatable)")
    s.set_defaults(run=run_show)
    k = csub.add_parser(
        "keys",
        help="every config key with its type, default and meaning (from the schema)",
        epilog="example:\n  skelab configs keys\n  skelab configs keys --filter data.\n"
        "  skelab configs keys --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    k.add_argument("--filter", default="", help="only keys containing this text")
    k.add_argument("--json", action="store_true", help="print the reference as JSON")
    k.set_defaults(run=run_keys)


def run_list(args: argparse.Namespace) -> int:
    from skelab.engine.presets import list_presets, load_config

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
    from skelab.engine.presets import load_config

    cfg = load_config(args.name, args.overrides)
    print(f"# {cfg.name}: resolved (inheritance and --set applied)")
    print(cfg.to_yaml(), end="")
    diffs = cfg.info.differences
    print("\n# How this preset differs")
    if not diffs:
        print("#   (no differences recorded)")
    for versus in ("upstream", "lab"):
        rows = [(i, d) for i, d in diffs.items() if versus in d["versus"]]
        if not rows:
            continue
        title = "the upstream recipe" if versus == "upstream" else "the original lab's config"
        print(
            f"#   from {title} ({cfg.info.source or 'source not recorded'}):"
            if versus == "upstream"
            else f"#   from {title}:"
        )
        for ident, d in rows:
            keys = ", ".join(d["keys"]) or "no config key"
            print(f"#   - {ident} [{keys}]: {d['note']}")
    return 0


def run_keys(args: argparse.Namespace) -> int:
    from skelab.engine.configfile import key_reference

    rows = [r for r in key_reference() if args.filter in r["key"]]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max((len(r["key"]) for r in rows), default=10)
    for r in rows:
        default = json.dumps(r["default"])
        print(f"{r['key']:<{width}}  {r['type']:<22} {default:<12} {r['doc']}")
    print(f"\n{len(rows)} keys. Set them in a YAML file or with --set KEY=VALUE.")
    return 0
