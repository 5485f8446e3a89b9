"""Latency of `skelab.Predictor` per answer on the CPU: the webcam-loop case, one frame pushed
at a time, an answer every `stride` frames.

What one answer costs is the window function `predict --stride` also runs: the 2-D
normalisation of the window (`normalise_2d`, mode body), the run's test transform (crop and
resample to data.window), the model's forward pass at batch 1 and the softmax. Frames that do
not complete a stride only go into the ring buffer; their cost is reported too.

Each model is the NTU-60 X-Sub joint preset with its own window, on COCO-17 keypoints (17
joints, 2 person slots, 2 classes), untrained (latency does not depend on the weights): its
state dict is saved to a temporary file and loaded through `--config`, as imported weights are.
Frames are a synthetic person (tests/keypoint_clips.py's wave) in pixels.

    .venv/bin/python benchmarks/bench_predictor.py                 # stgcn-lite and ctrgcn
    .venv/bin/python benchmarks/bench_predictor.py --answers 50 --threads 4

One thread by default: on a loaded host two torch threads spin against other processes and
inflate both clocks many times over (2 threads at load ~7 on 2 cores: 244 and 3152 CPU ms per
answer where 1 thread measures 14 and 78). The host's load average is written with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "tests"))

from keypoint_clips import clip  # noqa: E402
from skelab.apps.timeline import Predictor  # noqa: E402
from skelab.engine.build import build_model  # noqa: E402
from skelab.engine.presets import load_config  # noqa: E402

OVERRIDES = (
    "model.options.skeleton=coco17", "model.options.num_joints=17",
    "model.options.num_persons=2", "data.num_classes=2", "train.device=cpu",
)  # fmt: skip


def measure(model: str, *, stride: int, answers: int, warmup: int, threads: int) -> dict:
    preset = f"ntu60-xsub/{model}-joint"
    overrides = [*OVERRIDES, f"train.num_threads={threads}"]
    cfg = load_config(preset, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "weights.pt"
        torch.save(build_model(cfg).state_dict(), weights)
        predictor = Predictor(weights, stride=stride, config=preset, overrides=overrides,
                              normalise="body")  # fmt: skip
    span = predictor.span
    total = span + stride * (warmup + answers)
    frames = clip("wave", total)
    answer_ms, answer_cpu_ms, buffer_ms = [], [], []
    got = 0
    for frame in frames:
        t0, c0 = time.perf_counter(), time.process_time()
        out = predictor.push(frame)
        dt, dc = 1e3 * (time.perf_counter() - t0), 1e3 * (time.process_time() - c0)
        if out is None:
            buffer_ms.append(dt)
            continue
        got += 1
        if got > warmup:
            answer_ms.append(dt)
            answer_cpu_ms.append(dc)
    return {
        "model": model,
        "preset": preset,
        "window": cfg.data.window,
        "span": span,
        "stride": stride,
        "answers": len(answer_ms),
        "answer_ms_median": statistics.median(answer_ms),
        "answer_ms_p90": float(np.percentile(answer_ms, 90)),
        "answer_cpu_ms_median": statistics.median(answer_cpu_ms),
        "push_only_ms_median": statistics.median(buffer_ms),
        "answers_per_s": 1e3 / statistics.median(answer_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["stgcn-lite", "ctrgcn"])
    parser.add_argument("--stride", type=int, default=8)
    parser.add_argument("--answers", type=int, default=20, help="timed answers per model")
    parser.add_argument("--warmup", type=int, default=3, help="answers before timing")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "predictor")
    args = parser.parse_args()
    rows = [measure(m, stride=args.stride, answers=args.answers, warmup=args.warmup,
                    threads=args.threads) for m in args.models]  # fmt: skip
    env = {
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "torch": torch.__version__,
        "threads": args.threads,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    head = (
        f"skelab.Predictor latency per answer · CPU ({env['machine']}, {args.threads} threads) · "
        f"torch {env['torch']} · fp32 · batch 1 · COCO-17, 2 persons · stride {args.stride} · "
        f"median of {args.answers} answers after {args.warmup} warm-up · "
        f"load average {env['load_average'][0]} on {env['cpus']} cores ({env['date']})"
    )
    lines = [
        head, "",
        "| model | window | span (frames) | ms per answer (median) | p90 ms | answers/s | "
        "CPU ms per answer (all threads) | ms per push without answer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['window']} | {r['span']} | {r['answer_ms_median']:.1f} | "
            f"{r['answer_ms_p90']:.1f} | {r['answers_per_s']:.1f} | "
            f"{r['answer_cpu_ms_median']:.1f} | {r['push_only_ms_median']:.3f} |"
        )
    lines += [
        "", "An answer: normalise_2d (body) + test transform + forward + softmax. Wall-clock "
        "figures on a shared machine are upper bounds; the CPU column (process time, all "
        "threads) depends less on other load.", "",
    ]  # fmt: skip
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(table)
    args.out.with_suffix(".json").write_text(json.dumps({"env": env, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
