"""`skelab predict`: a trained model's top-5 classes for new recordings or a dataset split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelab.cli._common import (
    add_device_option,
    add_overwrite_option,
    add_run_argument,
    add_set_option,
    check_trained,
    int_range,
    non_negative,
)

KEYPOINT_FORMATS = ("coco-json", "openpose-json", "npy", "pose-npz")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
TIMELINE_ONLY = ("span", "format", "windows", "plot", "estimator", "pose_model")
MAX_FRAMES = 1_000_000  # frames per window or stride: far above any recording's window


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="top-5 classes with names and probabilities for each sample of the input",
        description="Predict with RUN: a run folder (its config.yaml and the checkpoint "
        "--checkpoint names) or a checkpoint file. INPUT is an NPZ or prepared folder (one "
        "split), or raw NTU .skeleton files "
        "(preprocessed as upstream does). Clips are resampled as the run's test transform does.",
        epilog="example:\n"
        "  skelab predict work_dir/ntu60-xsub/ctrgcn-joint S001C001P001R001A001.skeleton\n"
        "  skelab predict runs/st/checkpoints/best.pt data/ntu60 --split test --limit 5\n"
        "  skelab predict ctrgcn_import.pt NTU60_CS.npz --config ntu60-xsub/ctrgcn-joint --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_argument(p)
    p.add_argument(
        "inputs", nargs="+", type=Path, help="an NPZ, a prepared folder, or .skeleton files"
    )
    add_set_option(p, help="override a config key, e.g. train.device=cpu (repeatable)")
    p.add_argument("--split", default="test", help="split of an NPZ or prepared folder [test]")
    p.add_argument(
        "--limit", type=non_negative, default=0, help="print only the first N samples (0 = all)"
    )
    add_device_option(p, default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object per sample")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    t = p.add_argument_group(
        "timeline of a long recording (--stride)",
        "INPUT is one keypoint file that `skelab data import-keypoints` reads (a COCO-format "
        "JSON, an OpenPose folder, a .npy array) or a `skelab pose` NPZ, or a video with "
        "--estimator and --pose-model. Windows of the model's length slide by S frames; "
        "consecutive windows with the same top class merge into one segment.",
    )
    t.add_argument("--stride", type=int_range(1, MAX_FRAMES), metavar="S",
                   help="frames between windows")  # fmt: skip
    t.add_argument("--span", type=int_range(1, MAX_FRAMES),
                   help="frames per window [median training clip, else data.window]")  # fmt: skip
    t.add_argument("--format", choices=KEYPOINT_FORMATS,
                   help="keypoint format of INPUT [guessed from its name]")  # fmt: skip
    t.add_argument("--windows", action="store_true", help="every window, not merged segments")
    t.add_argument("--plot", type=Path, metavar="PNG", help="write the timeline as a PNG strip")
    t.add_argument("--estimator", choices=("rtmlib", "ultralytics"),
                   help="pose estimator for a video INPUT (see `skelab pose`)")  # fmt: skip
    t.add_argument("--pose-model", type=Path, help="local weight file of the estimator")
    add_overwrite_option(t, "--plot")
    p.set_defaults(run=run)


def _overrides(args: argparse.Namespace) -> list[str]:
    """--set, then --device (train.device)."""
    return [*args.overrides, *([f"train.device={args.device}"] if args.device else [])]


def run(args: argparse.Namespace) -> int:
    check_trained(args.trained)
    from skelab.apps.predict import predict, resolve_model

    if args.stride is not None:
        return _run_timeline(args)
    given = [name for name in TIMELINE_ONLY if getattr(args, name) not in (None, False)]
    if given:
        from skelab.errors import ConfigError

        option = "--" + given[0].replace("_", "-")
        raise ConfigError(option, "belongs to a timeline and needs --stride",
                          fix=f"add --stride 8, or drop {option}")  # fmt: skip
    cfg, weights = resolve_model(
        args.trained, config=args.config, overrides=_overrides(args), checkpoint=args.checkpoint
    )
    preds = predict(cfg, weights, args.inputs, split=args.split, progress=not args.no_progress)
    if args.limit > 0:
        preds = preds[: args.limit]
    for p in preds:
        if args.json:
            print(json.dumps(p.to_dict()))
            continue
        truth = f" (true: {p.label})" if p.label is not None else ""
        print(f"{p.sample}{truth}")
        for c, name, prob in p.top:
            print(f"  {100 * prob:6.2f}%  {c:3d}  {name}")
    return 0


def _run_timeline(args: argparse.Namespace) -> int:
    import tempfile

    from skelab.errors import ConfigError

    if len(args.inputs) != 1:
        raise ConfigError("--stride", f"needs one long input, got {len(args.inputs)}",
                          fix="run skelab predict once per recording")  # fmt: skip
    if args.plot is not None:
        from skelab.cli._common import check_output

        check_output(args.plot, overwrite=args.overwrite, option="--plot")
    if args.pose_model is not None and not args.pose_model.is_file():
        raise ConfigError("--pose-model", f"{args.pose_model} is not a file; skelab never "
                          "downloads models", fix="pass a local .onnx file")  # fmt: skip
    source = args.inputs[0]
    video = source.suffix.lower() in VIDEO_SUFFIXES
    if video and (args.estimator is None or args.pose_model is None):
        raise ConfigError(
            "--estimator/--pose-model",
            f"{source} is a video",
            fix="add --estimator rtmlib --pose-model rtmo.onnx (a local file)",
        )
    from skelab.apps.timeline import timeline
    from skelab.engine.rundir import resolve_trained  # torch loads here, after the checks

    cfg, weights = resolve_trained(
        args.trained, config=args.config, overrides=_overrides(args), checkpoint=args.checkpoint
    )
    with tempfile.TemporaryDirectory(prefix="skelab-predict-") as tmp:
        if video:
            from skelab.cli._progress import progress_bar
            from skelab.pose.run import estimate_video
            from skelab.pose.video import video_info

            total = video_info(source).frames or None
            with progress_bar(total=total, desc="pose", unit="frame",
                              enabled=not args.no_progress) as bar:  # fmt: skip
                source = estimate_video(source, Path(tmp) / "pose.npz", estimator=args.estimator,
                                        model=args.pose_model, progress=bar.update,
                                        device=args.device or "cpu")  # fmt: skip
        segments = timeline(
            cfg,
            weights,
            source,
            stride=args.stride,
            span=args.span,
            fmt=None if video else args.format,
            merged=not args.windows,
        )
    rows = [s.to_dict() for s in segments]
    if args.plot is not None:
        from skelab.viz.timeline import plot_timeline

        plot_timeline(rows, args.plot, title=str(args.inputs[0].name))
    if args.json:
        print(json.dumps({"timeline": rows}))
        return 0
    for seg in segments:
        c, name, prob = seg.top[0]
        print(f"frames {seg.start:6d}-{seg.end:<6d} {100 * prob:6.2f}%  {c:3d}  {name}")
    return 0
