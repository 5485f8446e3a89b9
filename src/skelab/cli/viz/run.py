"""`skelab viz run`: a run's figures (curves, confusion matrix, per-class accuracy, confused
pairs) and its self-contained `report.html` with a player of the most confused test clips."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="plot a run's curves and confusions, and write its report.html",
        description="Reads RUN_DIR/metrics.jsonl and the test scores of the best epoch "
        "(scores/epoch_<N>_test.npz), writes four PNGs and report.html into RUN_DIR/viz "
        "(or --out). The report's player animates the most confused test clips, read from "
        "the run's data.path (or --data).",
        epilog="example:\n  skelab viz run work_dir/ntu60-xsub/stgcn-lite-joint\n"
        "  skelab viz run runs/a --data ntu_like.npz --epoch 3 --out runs/a/pictures --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", type=Path, help="a run folder written by `skelab train`")
    p.add_argument("--out", type=Path, default=None, help="output folder (RUN_DIR/viz)")
    p.add_argument("--epoch", type=int, default=None, help="scores of this epoch (the best one)")
    p.add_argument("--data", type=Path, default=None, help="dataset for the player (data.path)")
    p.add_argument("--clips", type=int, default=6, help="confused clips in the player (6)")
    p.add_argument("--json", action="store_true", help="print the written paths as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import skelab.data as sd
    from skelab.engine.ensemble import load_run_scores
    from skelab.engine.metrics import read_metrics, topk_accuracy
    from skelab.engine.presets import load_config
    from skelab.engine.summary import percent, summarize_scores
    from skelab.errors import ConfigError, SkelabError
    from skelab.viz.report import most_confused, write_report
    from skelab.viz.runplots import RunView, write_run_figures
    from skelab.viz.skeleton import sample_clip

    if args.clips < 0:
        raise ConfigError("--clips", f"must be >= 0, got {args.clips}", fix="e.g. --clips 6")
    scores = load_run_scores(args.run_dir, epoch=args.epoch)
    config_file = args.run_dir / "config.yaml"
    cfg = load_config(config_file)
    data_path = args.data or (Path(cfg.data.path) if cfg.data.path else None)
    if data_path is None or not data_path.exists():
        raise SkelabError(
            f"{args.run_dir}: the run's test data ({data_path or 'data.path is empty'}) "
            "is not there, and the report's player needs its clips",
            fix=f"skelab viz run {args.run_dir} --data PATH (the NPZ or prepared folder "
            "the run was trained on)",
        )
    test = sd.load(data_path, split="test")
    stats = summarize_scores(scores.scores, scores.labels, test.class_names)
    view = RunView(
        name=scores.name,
        records=read_metrics(args.run_dir),
        stats=stats,
        scores_file=f"scores/epoch_{scores.epoch}_test.npz",
        config_text=config_file.read_text(),
        top1=topk_accuracy(scores.scores, scores.labels, 1),
        top5=topk_accuracy(scores.scores, scores.labels, 5),
    )
    out_dir = args.out or args.run_dir / "viz"
    figures = write_run_figures(view, out_dir)
    picks = most_confused(scores.scores, scores.labels, scores.index, k=args.clips)
    clips = [
        (sample_clip(test, pos, max_frames=64), stats.class_names[pred], prob)
        for pos, pred, prob in picks
    ]
    report = write_report(view, figures, clips, out_dir / "report.html")
    if args.json:
        print(json.dumps({**{k: str(v) for k, v in figures.items()}, "report": str(report)}))
        return 0
    print(f"{view.name}: epoch {scores.epoch}, test top-1 {percent(view.top1)}", file=sys.stderr)
    for path in [*figures.values(), report]:
        print(path)
    print(stats.to_text())
    return 0
