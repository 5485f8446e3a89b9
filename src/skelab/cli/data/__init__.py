"""`skelab data ...`: inspect, convert, prepare and synthesise skeleton data."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    import skelab.cli.data as pkg
    from skelab.cli._common import add_group

    add_group(
        sub,
        pkg,
        "data",
        help="inspect, convert, prepare and synthesise skeleton data",
        epilog="example:\n  skelab data synth --out ntu_like.npz\n"
        "  skelab data prepare ntu_like.npz data/ntu_like",
    )
