"""`skelab pose VIDEO --out OUT.npz`: keypoints of every person in every frame of a video."""

from __future__ import annotations

import argparse
from pathlib import Path

from skelab.cli._common import add_device_option, add_out_option, add_progress_option

EPILOG = """\
example:
  skelab pose clip.mp4 --out clip.npz --estimator rtmlib --model models/rtmo-s.onnx
  skelab pose clip.mp4 --out clip.npz --estimator ultralytics --model yolo11n-pose.onnx
  skelab predict runs/mine clip.npz --stride 8          # then a timeline of actions

--model is a local file; skelab never downloads one. rtmlib: an RTMO .onnx (several people)
or an RTMPose .onnx (one person, the whole frame as its box), from rtmlib's model zoo
(https://github.com/Tau-J/rtmlib). ultralytics: a YOLO-pose model exported to ONNX
(`yolo export model=yolo11n-pose.pt format=onnx`). Needs the [pose] extra:
pip install 'skelab[pose]'. The NPZ lists every person per frame (COCO-17, pixels);
`skelab data import-keypoints --format pose-npz` and `skelab predict` track them.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pose",
        help="run a local pose-estimator model on every frame of a video (COCO-17 keypoints)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("video", type=Path, help="a video file (anything FFmpeg decodes)")
    add_out_option(p, help="the NPZ to write", required=True)
    p.add_argument("--estimator", choices=("rtmlib", "ultralytics"), required=True,
                   help="which model family --model is")  # fmt: skip
    p.add_argument("--model", type=Path, required=True, help="local .onnx model file")
    add_device_option(p, default="cpu")
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skelab.cli._common import check_output
    from skelab.cli._progress import progress_bar
    from skelab.data.keypoints import read_pose_npz
    from skelab.pose.run import estimate_video
    from skelab.pose.video import video_info

    check_output(args.out, overwrite=args.overwrite)
    total = video_info(args.video).frames or None
    with progress_bar(total=total, desc="pose", unit="frame",
                      enabled=not args.no_progress) as bar:  # fmt: skip
        out = estimate_video(
            args.video, args.out, estimator=args.estimator, model=args.model,
            device=args.device, progress=bar.update, overwrite=args.overwrite,
        )  # fmt: skip
    det = read_pose_npz(out)
    frames = len(det.all_frames())
    with_people = len(set(det.frame.tolist()))
    print(f"wrote {out}: {len(det.frame)} people in {with_people} of {frames} frames "
          f"(layout coco17, {args.estimator} {args.model.name})")  # fmt: skip
    return 0
