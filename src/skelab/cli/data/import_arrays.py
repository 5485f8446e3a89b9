"""`skelab data import-arrays ARRAY_DIR LABELS_CSV OUT_DIR`: your own keypoints, any layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from skelab.cli._common import check_output, int_range

EPILOG = """\
example:
  skelab data import-arrays poses/ labels.csv data/my-coco --layout coco17
  skelab data import-arrays poses/ labels.csv data/my-hand --edges hand.txt --center 0
  skelab data import-arrays poses/ labels.csv data/my-coco --layout coco17 --classes classes.txt

ARRAY_DIR holds one .npy per sample, shaped (frames, joints, channels): e.g. (T, 17, 3) for
COCO-17 x, y, score from YOLO-pose, HRNet, RTMPose or MMPose. LABELS_CSV has a header:
  file,label,split
  clip001.npy,3,train
  clip002.npy,0,test
label is a 0-based integer (kept as written: a gap or a label outside 0..K-1 is an error
naming the row unless --num-classes K allows it) or a class name (numbered in order of first
appearance, or of --classes FILE, one name per line); mixing the two is an error.
split is train or test (default train).
2-D keypoints (--coords 2d; the default for coco17 and openpose18) are (x, y, score) pixels,
or (x, y); each clip is normalised by --normalise: body (centre on the layout's centre joint,
scale by the median mean bone length, y up, score kept as channel 3), box (centre and half the
longer side of the clip's box) or none.
A layout of your own needs no code: --edges FILE lists `child parent` joint indices (0-based),
one pair per line, and --center names the joint to centre on. Named layouts: ntu25,
nwucla20, openpose18, coco17. Layout, classes and names are stored in meta.json; `skelab
train ntu60-xsub/stgcn-lite-joint --set data.path=OUT_DIR` takes them from there.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-arrays",
        help="a folder of (T, V, C) .npy keypoints + labels CSV to a prepared folder",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("array_dir", type=Path, help="folder of (T, V, C) .npy arrays")
    p.add_argument("labels_csv", type=Path, help="CSV with columns file,label[,split]")
    p.add_argument("out_dir", type=Path, help="prepared folder to create")
    p.add_argument("--layout", help="named layout: ntu25, nwucla20, openpose18, coco17")
    p.add_argument("--edges", type=Path, help="edge-list file for a layout of your own")
    p.add_argument(
        "--center", type=int_range(0, 10_000), help="centre joint (0-based) with --edges"
    )
    p.add_argument("--name", default=None, help="name of a layout given by --edges (custom)")
    p.add_argument(
        "--num-classes", type=int_range(1, 1_000_000), default=None, metavar="K",
        help="class count: integer labels may then be any of 0..K-1, with gaps",
    )  # fmt: skip
    p.add_argument(
        "--classes", type=Path, default=None, metavar="FILE",
        help="class names, one per line: their order numbers the classes",
    )  # fmt: skip
    p.add_argument(
        "--coords", choices=("2d", "3d"), default=None,
        help="2d: (x, y, score) pixels; 3d: joints stored as read "
        "(default: 2d for coco17 and openpose18, else 3d)",
    )  # fmt: skip
    p.add_argument(
        "--normalise", choices=("body", "box", "none"), default=None,
        help="2-D keypoints per clip: body (default), box or none (raw pixels)",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.data.importers import import_arrays, read_edges
    from skelab.data.prepared import read_meta
    from skelab.errors import ConfigError
    from skelab.skeletons import get_skeleton, skeleton_from_edges

    if (args.layout is None) == (args.edges is None):
        raise ConfigError("--layout/--edges", "give exactly one of them",
                          fix="e.g. --layout coco17, or --edges edges.txt --center 0")  # fmt: skip
    if args.edges is None and (args.center is not None or args.name is not None):
        option = "--center" if args.center is not None else "--name"
        raise ConfigError(option, "belongs to a layout given by --edges; a named --layout has "
                          "its own", fix=f"drop {option}, or use --edges FILE")  # fmt: skip
    check_output(args.out_dir, overwrite=args.overwrite, option="OUT_DIR", kind="folder",
                 fix="pass --overwrite, or choose another OUT_DIR")  # fmt: skip
    if args.edges is not None:
        if args.center is None:
            raise ConfigError("--center", "is needed with --edges", fix="e.g. --center 0")
        layout = skeleton_from_edges(
            read_edges(args.edges), center=args.center, name=args.name or "custom"
        )
    else:
        layout = get_skeleton(args.layout)
    out = import_arrays(
        args.array_dir, args.labels_csv, args.out_dir, skeleton=layout,
        num_classes=args.num_classes, classes_file=args.classes, coords=args.coords,
        normalise=args.normalise, overwrite=args.overwrite,
    )  # fmt: skip
    meta = read_meta(out)
    for split, sm in meta["splits"].items():
        print(f"{split}: {sm['num_samples']:,} samples x {sm['num_frames']} frames")
    names = meta["class_names"]
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    print(f"{meta['num_classes']} classes: {shown}")
    coords = f"2-D, normalise {meta['normalise']}" if meta["channels"] == "xy-score" else "3-D"
    print(f"wrote {out} (layout {layout.name}, {layout.num_joints} joints, {coords})")
    return 0
