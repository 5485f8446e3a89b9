"""Samples per second of the built-in NTU-like data generator, on one core.

Times `skelab.synth.make_ntu_like(num_classes=60, n_train=N, n_test=0, frames=300)`, the
whole path the CLI takes except the NPZ write: labels, per-sample draws, pose curves,
inverse kinematics, camera, noise, centring and padding, into a fresh zeroed output. BLAS and
OpenMP pools are limited to one thread before numpy is imported (the generator uses no BLAS:
its maths is element-wise, so that results do not depend on batch shapes). One warm-up round,
then the median of R rounds with different seeds. Wall time and process CPU time are both
reported: on a shared machine the CPU rate is the one that says what one free core does.

There is no upstream generator to compare with, so the table has a single side.

    .venv/bin/python benchmarks/bench_synth.py            # 2,048 samples x 5 rounds
    .venv/bin/python benchmarks/bench_synth.py --quick    # 256 samples x 2 rounds
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from skelab.synth import make_ntu_like  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def one_round(n: int, seed: int, frames: int) -> tuple[float, float, float]:
    """(wall s, cpu s, mean valid frames) of one generation of n training samples."""
    wall, cpu = time.perf_counter(), time.process_time()
    data = make_ntu_like(num_classes=60, n_train=n, n_test=0, seed=seed, frames=frames)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    valid = (np.abs(data["x_train"]) > 0).any(axis=2).sum(axis=1).mean()
    return wall, cpu, float(valid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="256 samples, 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.rounds = 256, 2

    one_round(args.samples, seed=1000, frames=args.frames)  # warm-up: tables, bank, pages
    rounds = [one_round(args.samples, seed=r, frames=args.frames) for r in range(args.rounds)]
    wall = statistics.median(r[0] for r in rounds)
    cpu = statistics.median(r[1] for r in rounds)
    result = {
        "samples": args.samples,
        "rounds": args.rounds,
        "frames": args.frames,
        "mean_valid_frames": round(statistics.mean(r[2] for r in rounds), 1),
        "samples_per_s_wall": round(args.samples / wall, 1),
        "samples_per_s_cpu": round(args.samples / cpu, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
    }
    table = (
        f"skelab.synth.make_ntu_like · 60 classes · T {args.frames} · {args.samples} samples "
        f"· numpy {np.__version__} · 1 thread · median of {args.rounds} after 1 warm-up · "
        f"load average {result['load_average_1min']} on {os.cpu_count()} CPUs\n"
        "measure               samples/s\n"
        f"wall clock            {result['samples_per_s_wall']:>9.1f}\n"
        f"process CPU time      {result['samples_per_s_cpu']:>9.1f}\n"
    )
    print(table, end="")
    RESULTS.mkdir(exist_ok=True)
    name = "synth_quick" if args.quick else "synth"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text("```\n" + table + "```\n")


if __name__ == "__main__":
    main()
