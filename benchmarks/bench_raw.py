"""Files per second of `prepare-raw` against a plain per-line Python parser, on real NTU files.

The five real recordings in shared/data/ntu are copied K times under distinct NTU60 names (other
performers and replications, none on the missing list) into a temporary folder. Then, on one
process unless --workers says otherwise:

* parse: `skelab.data.read_skeleton` (whole file at once with numpy) against a per-line parser
  written here the way upstream's `get_raw_skes_data.py` reads: `readline`, `split`, `float` per
  value, Python lists, x y z and colorX colorY kept. Both produce the same (B, T, 25, 3)
  positions; the table's last column is the largest difference (0 means identical).
* pipeline: the whole `skelab data prepare-raw` (parse, denoise, centre, pad, staging memmap,
  final prepared folder with checksums) against the per-line parser followed by the same
  preprocessing in memory (no disk writes, which favours the baseline).

Wall time and process CPU time (children included for --workers > 1) are reported, with the
load average: on the shared 2-core machine the CPU rate is what one free core does. The NTU120
figure extrapolates the pipeline rate to 114,480 files (the real files average about the size
of these samples, ~250 KB and 85 frames).

    .venv/bin/python benchmarks/bench_raw.py            # 5 x 12 = 60 files, median of 3
    .venv/bin/python benchmarks/bench_raw.py --quick    # 5 x 4 = 20 files, 1 round
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from skelab.data.denoise import preprocess
from skelab.data.raw import RawSkeleton, read_skeleton
from skelab.data.raw_prepare import prepare_raw

RESULTS = Path(__file__).resolve().parent / "results"
SHARED = Path(os.environ.get("SKELAB_SHARED", Path(__file__).resolve().parents[2] / "shared"))
NTU120_FILES = 114_480


def per_line_parse(path: Path) -> RawSkeleton:
    """The upstream way: one readline and one float() per value, lists, then arrays."""
    bodies: dict[str, dict[int, list]] = {}
    counts = []
    with open(path) as fh:
        num_frames = int(fh.readline())
        for f in range(num_frames):
            num_bodies = int(fh.readline())
            counts.append(num_bodies)
            for _ in range(num_bodies):
                body_id = fh.readline().split()[0]
                joints, colors = [], []
                for _ in range(int(fh.readline())):
                    v = fh.readline().split()
                    joints.append([float(v[0]), float(v[1]), float(v[2])])
                    colors.append([float(v[5]), float(v[6])])
                bodies.setdefault(body_id, {})[f] = joints
    ids = list(bodies)
    positions = np.zeros((len(ids), num_frames, 25, 3), np.float32)
    present = np.zeros((len(ids), num_frames), bool)
    for b, body_id in enumerate(ids):
        for f, joints in bodies[body_id].items():
            positions[b, f] = np.array(joints, dtype=np.float32)
            present[b, f] = True
    return RawSkeleton(
        path=path,
        bodies_per_frame=np.asarray(counts, np.int64),
        body_ids=np.asarray([int(i) for i in ids], np.uint64),
        positions=positions,
        present=present,
        tracking=np.zeros((len(ids), num_frames, 25), np.int8),
    )


def make_copies(folder: Path, copies: int) -> list[Path]:
    src = sorted((SHARED / "data" / "ntu").glob("*.skeleton"))
    out = []
    for k in range(copies):
        for i, f in enumerate(src):
            performer = 41 + (k * len(src) + i) % 59  # 41..99: no NTU60 missing-list clash
            name = f"{f.name[:8]}P{performer:03d}R{1 + k % 2:03d}{f.name[16:]}"
            dst = folder / f"k{k}" / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, dst)
            out.append(dst)
    return out


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - wall, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="4 copies, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.copies, args.rounds = 4, 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = make_copies(tmp / "in", args.copies)
        n = len(files)
        diff = max(
            float(np.abs(read_skeleton(f).positions - per_line_parse(f).positions).max())
            for f in files[:5]
        )
        rows = {"parse skelab": [], "parse per-line": [], "pipeline skelab": [], "pipeline pl": []}
        for r in range(args.rounds + 1):  # round 0 warms caches and is dropped
            t = {
                "parse skelab": timed(lambda: [read_skeleton(f) for f in files]),
                "parse per-line": timed(lambda: [per_line_parse(f) for f in files]),
                "pipeline skelab": timed(
                    lambda r=r: prepare_raw(
                        tmp / "in",
                        tmp / f"out{r}",
                        dataset="ntu60",
                        split="xsub",
                        workers=args.workers,
                    )  # fmt: skip
                ),
                "pipeline pl": timed(lambda: [preprocess(per_line_parse(f)) for f in files]),
            }
            if r:
                for k, v in t.items():
                    rows[k].append(v)
    rate = {k: (n / statistics.median(w for w, _ in v), n / statistics.median(c for _, c in v))
            for k, v in rows.items()}  # fmt: skip
    load = os.getloadavg()[0]
    result = {
        "files": n, "rounds": args.rounds, "workers": args.workers,
        "files_per_s": {k: {"wall": round(w, 1), "cpu": round(c, 1)} for k, (w, c) in rate.items()},
        "speedup_parse_cpu": round(rate["parse skelab"][1] / rate["parse per-line"][1], 2),
        "speedup_pipeline_cpu": round(rate["pipeline skelab"][1] / rate["pipeline pl"][1], 2),
        "max_abs_diff_positions": diff,
        "ntu120_hours_one_core_skelab": round(NTU120_FILES / rate["pipeline skelab"][1] / 3600, 2),
        "ntu120_hours_one_core_per_line": round(NTU120_FILES / rate["pipeline pl"][1] / 3600, 2),
        "load_average_1min": round(load, 2), "cpu_count": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__,
    }  # fmt: skip
    lines = [
        f"prepare-raw · {n} real NTU files (5 recordings x {args.copies}) · workers "
        f"{args.workers} · numpy {np.__version__} · median of {args.rounds} after 1 warm-up · "
        f"load average {load:.1f} on {os.cpu_count()} CPUs",
        "step       skelab files/s (wall, cpu)  per-line files/s (wall, cpu)  speed-up (cpu)  "
        "max |Δ positions|",
    ]
    for step, a, b in (("parse", "parse skelab", "parse per-line"),
                       ("pipeline", "pipeline skelab", "pipeline pl")):  # fmt: skip
        (aw, ac), (bw, bc) = rate[a], rate[b]
        delta = f"{diff:g}" if step == "parse" else "–"
        lines.append(
            f"{step:<10} {aw:>12.1f} {ac:>12.1f}  {bw:>14.1f} {bc:>13.1f}  {ac / bc:>13.2f}x  "
            f"{delta:>17}"
        )
    lines.append(
        f"NTU120 ({NTU120_FILES:,} files), one core: skelab "
        f"{result['ntu120_hours_one_core_skelab']} h, per-line parser + same preprocessing "
        f"{result['ntu120_hours_one_core_per_line']} h; N workers divide the skelab time by "
        "up to N"
    )
    table = "\n".join(lines) + "\n"
    print(table, end="")
    RESULTS.mkdir(exist_ok=True)
    name = "raw_quick" if args.quick else "raw"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text("```\n" + table + "```\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
