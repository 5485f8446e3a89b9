"""`skelab viz ...`: pictures of a clip (3-D animation) and of a run (figures, HTML report)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    import skelab.cli.viz as pkg
    from skelab.cli._common import add_group

    add_group(
        sub,
        pkg,
        "viz",
        help="pictures: animate a clip, plot a run's curves and confusions, write its report",
        epilog="example:\n  skelab viz sample ntu_like.npz --index 3 --out clip3.gif\n"
        "  skelab viz run work_dir/ntu60-xsub/stgcn-lite-joint",
    )
