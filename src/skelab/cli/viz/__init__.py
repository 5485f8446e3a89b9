"""`skelab viz ...`: pictures of a clip (3-D animation) and of a run (figures, HTML report)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    import skelab.cli.viz as pkg
    from skelab.cli.main import discover

    p = sub.add_parser(
        "viz",
        help="pictures: animate a clip, plot a run's curves and confusions, write its report",
        epilog="example:\n  skelab viz sample ntu_like.npz --index 3 --out clip3.gif\n"
        "  skelab viz run work_dir/ntu60-xsub/stgcn-lite-joint",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(_parser=p)
    viz_sub = p.add_subparsers(dest="viz_command", metavar="ACTION")
    for mod in discover(pkg):
        mod.add_parser(viz_sub)
