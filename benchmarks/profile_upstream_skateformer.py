"""Profile one CPU training step of upstream SkateFormer's own code, by operator, with FLOPs.

The upstream side of `bench_upstream.py --models skateformer`, under `torch.profiler`: upstream's
`model/SkateFormer.py` (KAIST-VICLab/SkateFormer, imported from a checkout, its dependencies from
`--upstream-path`) built with the golden constructor arguments, the golden state dict, one
warm-up step, then one profiled step: zero_grad, forward, cross-entropy, backward, SGD (momentum
0.9, Nesterov), batch 8, window 64, one thread.

Besides the operator table it lists the dense kernels (convolutions, matrix products) with the
FLOPs the profiler counts and the rate they ran at, and the step's user and system CPU seconds
without the profiler: the floor of issue 18 is the time of the dense kernels skelab must run too.

    .venv/bin/python benchmarks/profile_upstream_skateformer.py --upstream-root /tmp/hup \
        --upstream-path /tmp/hup/site --upstream-path /tmp/hup/shims

Writes benchmarks/results/profile_skateformer_upstream.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
RESULTS = HERE.parent / "results"
GOLDEN = HERE.parents[2] / "shared" / "golden"
REPO = "KAIST-VICLab+SkateFormer"
DENSE = ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::bmm", "aten::mm")
DENSE += ("aten::addmm", "aten::baddbmm")


def profile(args: argparse.Namespace) -> None:
    """In the worker process (upstream checkout on sys.path): build, warm up, time, profile."""
    import importlib

    import torch
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(args.threads)
    meta = json.loads((args.golden / "skateformer_ntu60.json").read_text())
    state = torch.load(
        args.golden / "skateformer_ntu60.state_dict.pt", map_location="cpu", weights_only=True
    )
    model = importlib.import_module("model.SkateFormer").SkateFormer_(
        **meta["upstream_constructor"]
    )
    model.load_state_dict(state, strict=True)
    model.train()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, args.window, 24, 2, generator=g)
    y = torch.randint(0, 60, (args.batch,), generator=g)
    index_t = torch.linspace(-1, 1, args.window).expand(args.batch, -1).contiguous()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x, index_t), y).backward()
        opt.step()

    step()  # warm-up
    times = []
    for _ in range(args.repeats):
        a = os.times()
        step()
        b = os.times()
        times.append((b.user - a.user, b.system - a.system))
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    lines = [
        f"skateformer upstream (model.SkateFormer.SkateFormer_) · one training step (fwd + CE + "
        f"bwd + SGD) · batch {args.batch} · T {args.window} · {args.threads} threads · torch "
        f"{torch.__version__} · CPU",
        "without the profiler, user / system CPU s per step: "
        + ", ".join(f"{u:.2f} / {s:.2f}" for u, s in times),
        f"total self CPU time of the profiled step: {total / 1e6:.3f} s (profiler on)",
        "",
        "## top operators by self CPU time (forward and backward)",
        events.table(sort_by="self_cpu_time_total", row_limit=args.top),
        "## dense kernels (FLOPs as the profiler counts them: forward convolutions and matrix "
        "products; a convolution's backward is not counted by the profiler)",
        f"{'operator':<34} {'calls':>6} {'self s':>8} {'share':>7} {'GFLOP':>8} {'GFLOP/s':>8}",
    ]
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total):
        if e.key in DENSE:
            gflop = e.flops / 1e9 if e.flops else 0.0
            rate = gflop / (e.self_cpu_time_total / 1e6) if gflop else 0.0
            lines.append(
                f"{e.key:<34} {e.count:>6} {e.self_cpu_time_total / 1e6:>8.3f}"
                f" {e.self_cpu_time_total / total:>7.1%} {gflop:>8.2f} {rate:>8.1f}"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile_skateformer_{args.tag}.txt"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out} ({total / 1e6:.2f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-root", type=Path, default=Path("/tmp/hup"))
    parser.add_argument("--upstream-path", action="append", default=[])
    parser.add_argument("--tag", default="upstream", help="file suffix")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, help="unprofiled timed steps")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--golden", type=Path, default=GOLDEN)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        profile(args)
        return 0
    repo = args.upstream_root / REPO
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.update({k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    env["PYTHONPATH"] = os.pathsep.join([str(repo), *args.upstream_path])
    cmd = [sys.executable, str(HERE), "--worker", "--tag", args.tag, "--top", str(args.top)]
    cmd += [
        "--batch",
        str(args.batch),
        "--window",
        str(args.window),
        "--repeats",
        str(args.repeats),
    ]
    cmd += ["--threads", str(args.threads), "--golden", str(args.golden.resolve())]
    subprocess.run(cmd, cwd=repo, env=env, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
