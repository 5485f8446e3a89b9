"""`skelab data ...`: inspect, convert, prepare and synthesise skeleton data."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    import skelab.cli.data as pkg
    from skelab.cli.main import discover

    p = sub.add_parser(
        "data",
        help="inspect, convert, prepare and synthesise skeleton data",
        epilog="example:\n  skelab data synth --out ntu_like.npz\n"
        "  skelab data prepare ntu_like.npz data/ntu_like",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(_parser=p)
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    for mod in discover(pkg):
        mod.add_parser(data_sub)
