"""Training batches per second: skelab's loader + batch transform vs an upstream-style loop.

The per-sample side follows CTR-GCN's training feeder (Uason-Chen/CTR-GCN,
feeders/feeder_ntu.py + feeders/tools.py), written here from its described semantics: copy the
sample (3, T, 25, 2), count the frames whose sum is non-zero, draw a crop ratio in [0.5, 1]
(at least 64 frames) and a start with NumPy, resize the crop to 64 frames with
`F.interpolate(mode="bilinear", align_corners=False)`, rotate by three angles in [-0.3, 0.3],
then stack the batch. It is a single-process loop over samples, as one DataLoader worker runs
it, and it builds one 3x3 rotation per sample (lighter than upstream, which stacks a matrix per
frame), so its rate is if anything flattering.

The skelab side is `BatchLoader(prepared folder, BatchTransform("ctrgcn", train=True))` on the
CPU: it reads only the frames the crop + resize needs and transforms the whole batch at once,
in the calling thread (the CPU default, `prefetch=0`). The same loader with `prefetch=2` (a
background thread plans, reads and transforms ahead; the accelerator default) is timed as a third
side in the same rounds. A per-stage profile of skelab's batch (CPU time of the calling thread,
`time.thread_time`, single-threaded torch, so machine load inflates it less than wall time) is
measured after the rounds: seeding, `plan()`, `read_frames`, the blend, the rotation and the
rest of `apply()`.

NPZ-direct rows: the same loader on the NPZ itself (`skelab.data.load("x.npz")`, no prepare
step), in the Kaggle layout (x_train at an unaligned offset inside the zip, as `np.savez` puts
it), in the 5-D layout (`skelab data convert --to 5d`), and deflate-compressed. Each is timed in
the same rounds and reported as a ratio to the prepared folder.

Both use the same synthetic set (plain NumPy random walks of varied valid length, zero-padded
to T like the NTU NPZ), made inside this script: skelab reads the prepared folder from disk
(page cache), the loop reads an in-memory contiguous (n, 3, T, 25, 2) copy, as upstream holds
it. They are timed interleaved, round by round, in one process; the median rate of each side
and their ratio are reported. The baseline runs with `torch.set_num_threads(1)` (what a
DataLoader worker uses), skelab with 2; the table also gives the baseline at 2 threads. Also
measured: opening a prepared 40,000-sample folder (wall time and resident memory in a fresh
process that imports only `skelab.data`).

    .venv/bin/python benchmarks/bench_loader.py            # 5,000 x 300 frames, 6 rounds
    .venv/bin/python benchmarks/bench_loader.py --quick    # tiny smoke run
    .venv/bin/python benchmarks/bench_loader.py --samples 2000 --rounds 4 --open-samples 4000
"""

from __future__ import annotations

import os

# On a shared, overloaded machine, OpenMP workers that spin after each parallel region steal
# the CPU from the thread doing the work; passive waiting is fairer to both sides.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import platform
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch
import torch.nn.functional as F  # noqa: E402

import skelab.data as sd  # noqa: E402
from skelab.data.npzwrite import NpzWriter, convert_npz, one_hot  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def synthetic_npz(path: Path, n: int, t: int, lengths: str, seed: int = 0) -> np.ndarray:
    """Write a Kaggle-layout NPZ of random walks; returns the valid lengths of x_train."""
    rng = np.random.default_rng(seed)
    if lengths == "ntu":  # skewed like NTU: most clips 1.5-4 s at 30 fps, a tail up to T
        valid = np.clip(rng.lognormal(np.log(75), 0.45, n), 20, t).astype(np.int64)
    else:
        valid = rng.integers(min(32, t), t + 1, n)
    labels = rng.integers(0, 60, n)
    with NpzWriter(path) as w:
        for split, count in (("train", n), ("test", min(n, 64))):
            with w.begin(f"x_{split}", (count, t, 150), np.float32) as out:
                for start in range(0, count, 256):
                    m = min(256, count - start)
                    steps = rng.normal(0, 0.01, (m, t, 150)).astype(np.float32)
                    walk = np.cumsum(steps, axis=1) + rng.normal(0, 0.5, (m, 1, 150))
                    walk[:, :, 75:] *= rng.random((m, 1, 1)) < 0.3  # 30 % two-person clips
                    walk[np.arange(t)[None, :] >= valid[start : start + m, None]] = 0
                    out.write(walk.astype(np.float32))
            w.write(f"y_{split}", one_hot(labels[:count], 60))
    return valid


def deflated_copy(src: Path, dst: Path) -> Path:
    """The same NPZ with every member deflate-compressed (level 1), streamed member by member."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, 1) as zout:
        for info in zin.infolist():
            with zin.open(info) as fin, zout.open(info.filename, "w", force_zip64=True) as fout:
                while block := fin.read(2**24):
                    fout.write(block)
    return dst


def rotation(angles: torch.Tensor) -> torch.Tensor:
    a, b, c = angles.tolist()
    rx = torch.tensor([[1, 0, 0], [0, np.cos(a), np.sin(a)], [0, -np.sin(a), np.cos(a)]])
    ry = torch.tensor([[np.cos(b), 0, -np.sin(b)], [0, 1, 0], [np.sin(b), 0, np.cos(b)]])
    rz = torch.tensor([[np.cos(c), np.sin(c), 0], [-np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return (rz @ ry @ rx).float()


def upstream_item(x: np.ndarray, window: int = 64) -> torch.Tensor:
    """One training sample the upstream way: (3, T, 25, 2) -> (3, window, 25, 2)."""
    data = np.array(x)
    valid = int(np.sum(data.sum(0).sum(-1).sum(-1) != 0))
    p = np.random.rand() * 0.5 + 0.5
    length = min(max(int(np.floor(valid * p)), 64), valid)
    begin = np.random.randint(0, valid - length + 1)
    crop = torch.tensor(data[:, begin : begin + length], dtype=torch.float)
    c, _, v, m = crop.shape
    flat = crop.permute(0, 2, 3, 1).reshape(c * v * m, length)
    flat = F.interpolate(
        flat[None, None], size=(c * v * m, window), mode="bilinear", align_corners=False
    )[0, 0]
    clip = flat.reshape(c, v, m, window).permute(0, 3, 1, 2)  # (3, W, 25, 2)
    r = rotation(torch.empty(3).uniform_(-0.3, 0.3))
    return torch.einsum("ij,jtvm->itvm", r, clip)


def time_upstream(data: np.ndarray, labels: np.ndarray, batch: int, batches: int) -> float:
    """`data` is an in-memory contiguous (n, 3, T, 25, 2) array, as upstream's feeder holds."""
    order = np.random.permutation(len(data))
    t0 = time.perf_counter()
    for k in range(batches):
        idx = order[(np.arange(batch) + k * batch) % len(data)]
        xb = torch.stack([upstream_item(data[i]) for i in idx])
        yb = torch.from_numpy(labels[idx])
        assert xb.shape == (batch, 3, 64, 25, 2) and len(yb) == batch
    return batches * batch / (time.perf_counter() - t0)


def profile_skelab(loader, batches: int) -> dict[str, float]:
    """Median CPU ms per batch of each stage of skelab's batch, run in this thread."""
    from skelab.data.loader import _seed

    ds, t = loader.dataset, loader.transform
    stages: dict[str, list[float]] = {}
    order = loader.batches()
    w = t.window
    for k in range(min(batches, len(order))):
        index = order[k]
        c0 = time.thread_time()
        g = torch.Generator().manual_seed(_seed(loader.seed, 0, 0, k))
        c1 = time.thread_time()
        plan = t.plan(ds.lengths[index], g, ds.y[index])
        c2 = time.thread_time()
        buf = ds.read_frames(index[plan.rows.numpy()], plan.frames.numpy())
        src = torch.from_numpy(buf).view(*plan.frames.shape, *buf.shape[1:])
        c3 = time.thread_time()
        out = t.apply(src, plan, g)
        c4 = time.thread_time()
        x = torch.empty_like(out.x)  # the two bulk steps of apply() on their own
        torch.lerp(
            src[:, :w].transpose(1, 2),
            src[:, w : 2 * w].transpose(1, 2),
            plan.weight[:, None, :, None, None],
            out=x,
        )
        c5 = time.thread_time()
        torch.bmm(plan.rotation, x.view(len(x), 3, -1))
        c6 = time.thread_time()
        for name, dt in (
            ("seed_and_generator", c1 - c0),
            ("plan", c2 - c1),
            ("read_frames", c3 - c2),
            ("apply_total", c4 - c3),
            ("apply_blend", c5 - c4),
            ("apply_rotate", c6 - c5),
        ):
            stages.setdefault(name, []).append(dt * 1e3)
    med = {k: statistics.median(v) for k, v in stages.items()}
    med["total"] = med["seed_and_generator"] + med["plan"] + med["read_frames"] + med["apply_total"]
    return med


def time_skelab(loader, epoch: int, batches: int) -> float:
    loader.set_epoch(epoch)
    t0 = time.perf_counter()
    it = iter(loader)
    for _ in range(batches):
        b = next(it)
        assert b.x.shape[1:] == (3, 64, 25, 2)
    dt = time.perf_counter() - t0
    it.close()
    return batches * loader.batch_size / dt


OPEN_PROBE = """
import json, resource, sys, time
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) / 1024
def rchar():
    for line in open('/proc/self/io'):
        if line.startswith('rchar'):
            return int(line.split()[1])
import skelab.data as sd
r_import = rss()
load = sd.load  # module import (numpy) is not part of opening
r0, c0 = rss(), rchar()
times = []
for _ in range(5):
    t0 = time.perf_counter()
    ds = load(sys.argv[1], 'train')
    times.append(time.perf_counter() - t0)
c1 = rchar()
print(json.dumps({'open_ms_first': times[0] * 1e3, 'open_ms_median': sorted(times)[2] * 1e3,
                  'rss_mb_after_open': rss(), 'rss_mb_before_open': r0,
                  'rss_mb_after_import': r_import,
                  'bytes_read_per_open': (c1 - c0) / 5, 'n': len(ds),
                  'torch_imported': 'torch' in sys.modules}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--batches", type=int, default=8, help="batches per side per round")
    ap.add_argument("--lengths", choices=["ntu", "uniform"], default="ntu")
    ap.add_argument("--open-samples", type=int, default=40000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--name", help="results file stem (default: loader_<lengths>)")
    args = ap.parse_args()
    if args.quick:
        args.samples, args.frames, args.rounds, args.batches = 400, 120, 2, 2
        args.open_samples = 2000

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="skelab-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        valid = synthetic_npz(tmp / "synth.npz", args.samples, args.frames, args.lengths)
        make_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        sd.prepare(tmp / "synth.npz", tmp / "synth")
        prepare_s = time.perf_counter() - t0
        ds = sd.load(tmp / "synth", "train")
        assert np.array_equal(ds.lengths, valid)
        transform = sd.BatchTransform(style="ctrgcn", window=64, modality="joint", train=True)
        loader = sd.BatchLoader(ds, batch_size=args.batch, train=True, transform=transform, seed=0)

        np.random.seed(0)
        torch.manual_seed(0)
        inline = sd.BatchLoader(
            ds, batch_size=args.batch, train=True, transform=transform, seed=0, prefetch=2
        )
        npz_files = {
            "npz_kaggle": tmp / "synth.npz",
            "npz_5d": convert_npz(tmp / "synth.npz", tmp / "synth5d.npz", to="5d"),
            "npz_kaggle_deflated": deflated_copy(tmp / "synth.npz", tmp / "synthz.npz"),
        }
        npz_open_s, npz_loaders = {}, {}
        for name, path in npz_files.items():
            t0 = time.perf_counter()
            npz_ds = sd.load(path, "train")
            npz_open_s[name] = time.perf_counter() - t0
            assert np.array_equal(npz_ds.lengths, valid)
            npz_loaders[name] = sd.BatchLoader(
                npz_ds, batch_size=args.batch, train=True, transform=transform, seed=0
            )
        rows = {
            "skelab": [],
            "skelab_prefetch2": [],
            **{name: [] for name in npz_loaders},
            "upstream_1thread": [],
            "upstream_2threads": [],
        }
        time_skelab(loader, 99, 2)  # warm-up: page cache
        time_skelab(inline, 99, 2)
        for npz_loader in npz_loaders.values():
            time_skelab(npz_loader, 99, 1)
        # upstream keeps the whole split in RAM as one contiguous (N, 3, T, 25, 2) array; a
        # 1,024-sample copy of that layout gives the loop the same per-sample work
        base_x = np.ascontiguousarray(ds.x[:1024])
        base_y = ds.y[:1024]
        time_upstream(base_x, base_y, args.batch, 1)
        for r in range(args.rounds):
            torch.set_num_threads(2)
            rows["skelab"].append(time_skelab(loader, r, args.batches))
            rows["skelab_prefetch2"].append(time_skelab(inline, r, args.batches))
            for name, npz_loader in npz_loaders.items():
                rows[name].append(time_skelab(npz_loader, r, args.batches))
            torch.set_num_threads(1)
            rows["upstream_1thread"].append(time_upstream(base_x, base_y, args.batch, args.batches))
            torch.set_num_threads(2)
            rows["upstream_2threads"].append(
                time_upstream(base_x, base_y, args.batch, max(1, args.batches // 4))
            )
        med = {k: statistics.median(v) for k, v in rows.items()}
        torch.set_num_threads(1)
        profile = profile_skelab(loader, 4 * args.batches)
        torch.set_num_threads(2)

        open_tmp = tmp / "open"
        open_t = 8
        synthetic_npz(open_tmp.with_suffix(".npz"), args.open_samples, open_t, "uniform", seed=1)
        sd.prepare(open_tmp.with_suffix(".npz"), open_tmp)
        probe = subprocess.run(
            [sys.executable, "-c", OPEN_PROBE, str(open_tmp)],
            capture_output=True,
            text=True,
            check=True,
        )
        opened = json.loads(probe.stdout)

    result = {
        "what": "training batches/s: skelab BatchLoader+BatchTransform(ctrgcn, train) vs "
        "per-sample loop with upstream CTR-GCN feeder semantics",
        "samples": args.samples,
        "frames": args.frames,
        "batch": args.batch,
        "valid_lengths": args.lengths,
        "valid_length_percentiles": dict(
            zip(
                ["p5", "p50", "p95", "max"],
                np.percentile(valid, [5, 50, 95, 100]).astype(int).tolist(),
                strict=True,
            )
        ),
        "rounds": args.rounds,
        "batches_per_round": args.batches,
        "samples_per_s": rows,
        "median_samples_per_s": med,
        "speedup_vs_upstream_1thread": med["skelab"] / med["upstream_1thread"],
        "speedup_vs_upstream_2threads": med["skelab"] / med["upstream_2threads"],
        "speedup_prefetch2_vs_upstream_1thread": med["skelab_prefetch2"] / med["upstream_1thread"],
        "npz_direct_over_prepared": {name: med[name] / med["skelab"] for name in npz_files},
        "npz_open_s": npz_open_s,
        "skelab_cpu_ms_per_batch_1thread": profile,
        "make_synthetic_s": make_s,
        "prepare_s": prepare_s,
        "open_prepared": {"samples": args.open_samples, "frames": open_t, **opened},
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_average_at_end": os.getloadavg(),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    RESULTS.mkdir(exist_ok=True)
    name = args.name or ("loader_quick" if args.quick else f"loader_{args.lengths}")
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    pct = result["valid_length_percentiles"]
    md = [
        f"# Loader benchmark ({name})",
        "",
        f"{args.samples} samples x {args.frames} frames (valid lengths {args.lengths}: p5 "
        f"{pct['p5']}, median {pct['p50']}, p95 {pct['p95']}), batch {args.batch}, window 64, "
        f"CTR-GCN training transform (crop 0.5-1 with 64-frame floor, resize, rotation), CPU, "
        f"torch {torch.__version__}. Median of {args.rounds} interleaved rounds of "
        f"{args.batches} batches per side.",
        "",
        "| side | samples/s (median) | skelab speed-up |",
        "|---|---:|---:|",
        f"| skelab BatchLoader + BatchTransform (torch 2 threads, CPU default prefetch=0) | "
        f"{med['skelab']:,.0f} | - |",
        f"| skelab, same loader with prefetch=2 (background thread) | "
        f"{med['skelab_prefetch2']:,.0f} | "
        f"{result['speedup_prefetch2_vs_upstream_1thread']:.1f}x vs 1-thread loop |",
        *(
            f"| skelab on the NPZ itself, {name[4:].replace('_', ' ')} layout (opened in "
            f"{npz_open_s[name]:.1f} s) | {med[name]:,.0f} | "
            f"{result['npz_direct_over_prepared'][name]:.2f}x of prepared |"
            for name in npz_files
        ),
        f"| per-sample upstream-style loop (1 thread, as a DataLoader worker) | "
        f"{med['upstream_1thread']:,.0f} | {result['speedup_vs_upstream_1thread']:.1f}x |",
        f"| per-sample upstream-style loop (2 threads) | {med['upstream_2threads']:,.0f} | "
        f"{result['speedup_vs_upstream_2threads']:.1f}x |",
        "",
        f"Where skelab's time goes per batch of {args.batch} (median CPU ms of the calling "
        "thread, torch 1 thread, `time.thread_time`): "
        + ", ".join(f"{k} {v:.2f}" for k, v in profile.items())
        + f" ({profile['total'] / args.batch * 1e3:.0f} us per sample).",
        "",
        f"Opening a prepared {args.open_samples:,}-sample folder (T = {open_t}; opening does not "
        f"depend on T) in a fresh process that imported only `skelab.data`: first open "
        f"{opened['open_ms_first']:.1f} ms, median {opened['open_ms_median']:.1f} ms, resident "
        f"memory {opened['rss_mb_after_open']:.0f} MB after opening "
        f"({opened['rss_mb_before_open']:.0f} MB before), {opened['bytes_read_per_open']:,.0f} "
        f"bytes read per open (meta.json + the (N,) label/length/person arrays; x is only "
        f"memory-mapped), torch imported: {opened['torch_imported']}.",
        "",
        f"Synthetic set: {make_s:.1f} s to make, {prepare_s:.1f} s to prepare. "
        f"OMP_WAIT_POLICY={result['omp_wait_policy']}; load average at the end "
        f"{result['load_average_at_end'][0]:.1f} on {os.cpu_count()} cores (shared machine: "
        "absolute rates are noisy, the interleaved ratio is the figure to read).",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
