"""`skelab data import-keypoints SRC OUT`: a pose estimator's output files to a prepared folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from skelab.cli._common import add_overwrite_option, int_range

FORMATS = ("coco-json", "openpose-json", "npy", "pose-npz")
EPILOG = """\
example:
  skelab data import-keypoints results/ data/mine --format coco-json --labels labels.csv
  skelab data import-keypoints openpose_out/ data/mine --format openpose-json \\
      --labels labels.csv --layout coco17 --max-people 1
  skelab data import-keypoints poses/ data/mine --format npy --layout coco17 --labels labels.csv

SRC holds one clip per entry, named in the labels CSV's file column:
  coco-json      one COCO-format keypoint result JSON per clip: a list of detections with
                 image_id or frame, keypoints (17 x (x, y, score), flat), score, and
                 optionally track_id (MMPose, RTMPose, YOLO-pose exports)
  openpose-json  one folder per clip of OpenPose --write_json files (BODY_25 or COCO-18)
  npy            one (T, V, C) or (M, T, V, C) array per clip, C = 3 (x, y, score) or 2
  pose-npz       the files `skelab pose` writes
LABELS (file,label,split) follows import-arrays' rules; --num-classes and --classes as there.
People are tracked (by track_id, else nearest predicted box centre), the --max-people most
moving kept; frames with no person are left out and listed (--empty-frames error stops
instead). x, y are normalised per clip (--normalise body|box|none), y up, score kept.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-keypoints",
        help="pose-estimator output (COCO JSON, OpenPose JSON, arrays) + labels to a prepared "
        "folder",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("src", type=Path, help="folder with one clip (file or folder) per CSV row")
    p.add_argument("out", type=Path, help="prepared folder to create")
    p.add_argument("--format", required=True, choices=FORMATS, help="what SRC holds")
    p.add_argument("--labels", type=Path, required=True, help="CSV with columns file,label,split")
    p.add_argument(
        "--layout",
        help="layout of the written folder: coco17 (default for COCO JSON), openpose18 "
        "(default for OpenPose); for COCO JSON and arrays also the input's joint order",
    )
    p.add_argument(
        "--max-people", type=int_range(1, 100), default=2, help="persons kept per clip [2]"
    )
    p.add_argument(
        "--normalise", choices=("body", "box", "none"), default="body",
        help="2-D normalisation per clip [body]",
    )  # fmt: skip
    p.add_argument(
        "--num-classes", type=int_range(1, 1_000_000), help="class count K (allows label gaps)"
    )
    p.add_argument("--classes", type=Path, help="class names, one per line, in label order")
    p.add_argument(
        "--empty-frames", choices=("skip", "error"), default="skip",
        help="frames with no person: leave out and list them, or stop [skip]",
    )  # fmt: skip
    add_overwrite_option(p, "OUT")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.data.keypoints import import_keypoints
    from skelab.skeletons import get_skeleton

    report = import_keypoints(
        args.src, args.labels, args.out,
        fmt=args.format,
        layout=get_skeleton(args.layout) if args.layout else None,
        max_people=args.max_people,
        normalise=args.normalise,
        num_classes=args.num_classes,
        classes_file=args.classes,
        empty=args.empty_frames,
        overwrite=args.overwrite,
    )  # fmt: skip
    for clip, frames in report.skipped.items():
        shown = ", ".join(map(str, frames[:10])) + (", ..." if len(frames) > 10 else "")
        print(f"{clip}: left out {len(frames)} frames with no person ({shown})")
    for clip, n in report.dropped.items():
        print(f"{clip}: left out {n} tracks (noise or beyond --max-people {args.max_people})")
    for split, n in report.samples.items():
        print(f"{split}: {n:,} clips")
    layout = report.layout
    print(f"wrote {report.out} (layout {layout.name}, {layout.num_joints} joints, "
          f"{args.max_people} persons, normalise {args.normalise})")  # fmt: skip
    return 0
