"""`skelab data import-kinetics`: Kinetics-Skeleton (ST-GCN's JSON clips) to a prepared folder
with the 18-joint `openpose18` layout."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-kinetics",
        help="Kinetics-Skeleton JSON clips to a prepared folder, 18 joints, (x, y, score)",
        epilog="example:\n  skelab data import-kinetics data/kinetics data/kinetics-skeleton\n\n"
        "ROOT holds kinetics_train/ and kinetics_val/ (one JSON per clip) and\n"
        "kinetics_train_label.json / kinetics_val_label.json, as ST-GCN distributes them.\n"
        "val becomes the test split. Build a model with skeleton='openpose18', num_joints=18.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("root", type=Path, help="folder with the clip folders and label files")
    p.add_argument("out_dir", type=Path, help="prepared folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.data.importers import import_kinetics
    from skelab.data.prepared import read_meta

    parts = {"train": "train", "test": "val"}
    out = import_kinetics(
        {s: args.root / f"kinetics_{p}" for s, p in parts.items()},
        {s: args.root / f"kinetics_{p}_label.json" for s, p in parts.items()},
        args.out_dir,
        overwrite=args.overwrite,
    )
    for split, sm in read_meta(out)["splits"].items():
        print(f"{split}: {sm['num_samples']:,} clips x {sm['num_frames']} frames")
    print(f"wrote {out} (layout openpose18)")
    return 0
