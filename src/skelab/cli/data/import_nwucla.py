"""`skelab data import-nwucla JSON_DIR OUT_DIR`: NW-UCLA (CTR-GCN's JSON files) to a prepared
folder with the 20-joint `nwucla20` layout."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-nwucla",
        help="NW-UCLA JSON files (CTR-GCN's all_sqe) to a prepared folder, 20 joints",
        epilog="example:\n  skelab data import-nwucla all_sqe/ data/nwucla\n\n"
        "Views 1 and 2 become train, view 3 test (the cross-view protocol). Build a model for\n"
        "it with skeleton='nwucla20', num_joints=20, num_persons=1.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("json_dir", type=Path, help="folder of aAA_sSS_eEE_vVV.json files")
    p.add_argument("out_dir", type=Path, help="prepared folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.data.importers import import_nwucla
    from skelab.data.prepared import read_meta

    out = import_nwucla(args.json_dir, args.out_dir, overwrite=args.overwrite)
    for split, sm in read_meta(out)["splits"].items():
        print(f"{split}: {sm['num_samples']:,} samples x {sm['num_frames']} frames")
    print(f"wrote {out} (layout nwucla20)")
    return 0
