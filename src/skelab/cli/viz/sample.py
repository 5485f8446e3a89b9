"""`skelab viz sample`: animate one clip of a dataset in 3-D, titled with its class."""

from __future__ import annotations

import argparse
from pathlib import Path

from skelab.cli._common import add_out_option, check_output, int_range


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="animate one clip in 3-D (GIF, or MP4 when ffmpeg is installed)",
        epilog="example:\n  skelab viz sample ntu_like.npz --index 3 --out clip3.gif\n"
        "  skelab viz sample data/ntu60 --split train --index 0 --out a.mp4 --fps 30",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", type=Path, help="an NPZ or a `skelab data prepare` folder")
    p.add_argument(
        "--index", type=int_range(0, 10**9), required=True, help="sample position in the split"
    )
    p.add_argument("--split", choices=("train", "test"), default="test", help="split (test)")
    add_out_option(p, required=True, help="FILE.gif, or FILE.mp4 (needs ffmpeg)")
    p.add_argument("--fps", type=int_range(1, 240), default=15, help="frames per second (15)")
    p.add_argument(
        "--max-frames",
        type=int_range(0, 100_000),
        default=60,
        help="keep at most this many evenly spaced frames; 0 keeps all (60)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.out, overwrite=args.overwrite)
    import skelab.data as sd
    from skelab.viz.skeleton import animate_clip, sample_clip

    ds = sd.load(args.data, split=args.split)
    clip = sample_clip(ds, args.index, max_frames=args.max_frames or None)
    out = animate_clip(clip, args.out, fps=args.fps)
    persons = clip.joints.shape[1]
    print(f"wrote {out}: {clip.title}, {clip.joints.shape[0]} frames, {persons} person(s)")
    return 0
