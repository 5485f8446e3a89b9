"""`skelab viz run`: a run's figures (curves, confusion matrix, per-class accuracy, confused
pairs) and its self-contained `report.html` with a player of the most confused test clips."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from skelab.cli._common import add_json_option, add_out_option, check_output, int_range, positive


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="plot a run's curves and confusions, and write its report.html",
        description="Reads RUN/metrics.jsonl and the test scores of the epoch of the run's "
        "best checkpoint (or --checkpoint last, or --epoch N) "
        "(scores/epoch_<N>_test.npz), writes four PNGs and report.html into RUN/viz "
        "(or --out). The report's player animates the most confused test clips, read from "
        "the run's data.path (or --data).",
        epilog="example:\n  skelab viz run work_dir/ntu60-xsub/stgcn-lite-joint\n"
        "  skelab viz run runs/a --data ntu_like.npz --epoch 3 --out runs/a/pictures --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "run_dir",
        type=Path,
        metavar="RUN",
        help="a run folder written by `skelab train` (or a checkpoint inside one)",
    )
    p.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        default="best",
        help="the epoch of the run's best (train.select's choice) or last checkpoint [best]",
    )
    add_out_option(p, help="output folder (default: RUN/viz)")
    p.add_argument(
        "--epoch", type=positive, default=None, help="scores of this epoch (--checkpoint)"
    )
    p.add_argument("--data", type=Path, default=None, help="dataset for the player (data.path)")
    p.add_argument(
        "--clips", type=int_range(0, 100), default=6, help="confused clips in the player (6)"
    )
    add_json_option(p, help="print the written paths as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.out is not None:
        check_output(args.out, overwrite=args.overwrite, kind="folder")
    import skelab.data as sd
    from skelab.apps.ensemble import load_run_scores
    from skelab.engine.metrics import read_metrics, topk_accuracy
    from skelab.engine.presets import load_config
    from skelab.engine.rundir import run_of
    from skelab.engine.summary import percent, summarize_scores
    from skelab.errors import SkelabError
    from skelab.viz.report import most_confused, write_report
    from skelab.viz.runplots import RunView, write_run_figures
    from skelab.viz.skeleton import sample_clip

    run = run_of(args.run_dir)
    check_output(args.out or run.viz, overwrite=args.overwrite, kind="folder")
    scores = load_run_scores(run.path, epoch=args.epoch, checkpoint=args.checkpoint)
    cfg = load_config(run.config)
    data_path = args.data or (Path(cfg.data.path) if cfg.data.path else None)
    if data_path is None or not data_path.exists():
        raise SkelabError(
            f"{run.path}: the run's test data ({data_path or 'data.path is empty'}) "
            "is not there, and the report's player needs its clips",
            fix=f"skelab viz run {run.path} --data PATH (the NPZ or prepared folder "
            "the run was trained on)",
        )
    test = sd.load(data_path, split="test")
    stats = summarize_scores(scores.scores, scores.labels, test.class_names)
    view = RunView(
        name=scores.name,
        records=read_metrics(run.path),
        stats=stats,
        scores_file=str(run.epoch_scores(scores.epoch).relative_to(run.path)),
        config_text=run.config.read_text(),
        top1=topk_accuracy(scores.scores, scores.labels, 1),
        top5=topk_accuracy(scores.scores, scores.labels, 5),
    )
    out_dir = args.out or run.viz
    figures = write_run_figures(view, out_dir)
    picks = most_confused(scores.scores, scores.labels, scores.index, k=args.clips)
    clips = [
        (sample_clip(test, pos, max_frames=64), stats.class_names[pred], prob)
        for pos, pred, prob in picks
    ]
    report = write_report(view, figures, clips, out_dir / run.report.name)
    chosen_by = scores.chosen_by if args.epoch is None else "--epoch"
    if args.json:
        paths = {**{k: str(v) for k, v in figures.items()}, "report": str(report)}
        print(json.dumps({**paths, "epoch": scores.epoch, "chosen_by": chosen_by}))
        return 0
    print(
        f"{view.name}: epoch {scores.epoch} ({chosen_by}), test top-1 {percent(view.top1)}",
        file=sys.stderr,
    )
    for path in [*figures.values(), report]:
        print(path)
    print(stats.to_text())
    return 0
