"""Profile one CPU training step of upstream's own model code, by operator, with FLOPs.

The counterpart of `profile_step.py` for the upstream side of `bench_upstream.py`: the model
file is imported from a checkout of the upstream repository (its root on `sys.path`, as its
`main.py` does), built with the golden constructor arguments, loads the golden state dict and
takes one warm-up step, then one profiled step (zero_grad, forward, cross-entropy plus
Hyper-GCN's divergence loss, backward, SGD with momentum 0.9, Nesterov), batch 8, window 64.

Besides the operator table the file gives the floor of issue 18: the dense FLOPs of one step
(convolutions and matrix products, forward and backward, counted by
`torch.utils.flop_counter.FlopCounterMode`) of upstream's model and of skelab's (`--side
skelab`: the same step through skelab's model, which runs no dense work upstream's does not),
and this core's float32 GEMM rate on the same threads (`_sidebyside.sgemm_rate`), measured in
the same process. skelab's FLOPs at that rate are the least time any implementation of the
published function can take with these kernels; upstream's step time over it bounds the
speed-up.

    .venv/bin/python benchmarks/profile_upstream_gcn.py --models ctrgcn,hypergcn \
        --upstream-root /tmp/hup --upstream-path /tmp/hup/site --upstream-path /tmp/hup/shims

One model per process (the upstream repositories all name their package `model`): the script
starts itself once per model and side. Writes benchmarks/results/profile_<model>_<tag>.txt and,
for `--side skelab`, profile_<model>_<tag>_skelab.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _sidebyside import DENSE_OPS, count_flops, sgemm_rate
from bench_upstream import MODELS, divergence_loss, keep_upstream_on_cpu

HERE = Path(__file__).resolve()
RESULTS = HERE.parent / "results"
GOLDEN = HERE.parents[2] / "shared" / "golden"


def profile_one(args: argparse.Namespace) -> None:
    """In the worker process: build upstream's model and profile one step."""
    import importlib

    import torch
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(args.threads)
    rate = sgemm_rate() / 1e9  # first, before the model's tensors take memory and cache
    if args.side == "upstream":
        keep_upstream_on_cpu()
    fixture, _, module, cls, points, needs_t = MODELS[args.model]
    meta = json.loads((args.golden / f"{fixture}.json").read_text())
    state = torch.load(
        args.golden / f"{fixture}.state_dict.pt", map_location="cpu", weights_only=True
    )
    if args.side == "skelab":
        from skelab.models import build, load_upstream_checkpoint

        model = load_upstream_checkpoint(build(args.model, **meta["upstream_constructor"]), state)
    else:
        model = getattr(importlib.import_module(module), cls)(**meta["upstream_constructor"])
        model.load_state_dict(state, strict=True)
    model.train()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, args.window, points, 2, generator=g)
    y = torch.randint(0, 60, (args.batch,), generator=g)
    extra = (torch.linspace(-1, 1, args.window).expand(args.batch, -1).contiguous(),)
    inputs = (x, *extra) if needs_t else (x,)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        out = model(*inputs)
        aux = 0.0
        if isinstance(out, tuple):
            out, hyper = out
            aux = divergence_loss(hyper)
        elif hasattr(model, "auxiliary_losses"):
            aux = sum(model.auxiliary_losses().values())
        loss = F.cross_entropy(out, y) + aux
        loss.backward()
        opt.step()

    step()  # warm-up
    counted = count_flops(step)
    if counted["flops"] is None:
        raise SystemExit(f"{args.model} {args.side}: the FLOP counter failed: {counted['error']}")
    dense = counted["flops"] / 1e9
    cpu = time.process_time()
    step()
    step_s = time.process_time() - cpu
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    lines = [
        f"{args.model} {args.side} ({module}.{cls}) · one training step (fwd + CE + bwd + SGD) · "
        f"batch {args.batch} · T {args.window} · {args.threads} threads · torch "
        f"{torch.__version__} · CPU",
        f"total self CPU time of the step: {total / 1e6:.3f} s (profiler on)",
        f"process CPU time of one step without the profiler: {step_s:.3f} s",
        f"dense FLOPs of the step (convolutions and matrix products, forward and backward): "
        f"{dense:.2f} GFLOP",
        f"this core's float32 GEMM rate (1024 x 1024, {args.threads} threads, median): "
        f"{rate:.1f} GFLOP/s",
        f"floor: the dense FLOPs at that rate: {dense / rate:.3f} s",
        "",
        "## top operators by self CPU time (forward and backward)",
        events.table(sort_by="self_cpu_time_total", row_limit=args.top),
        "## dense kernels (FLOPs as the profiler counts them: forward convolutions and matrix "
        "products; a convolution's backward is not counted by the profiler)",
        f"{'operator':<34} {'calls':>6} {'self s':>8} {'share':>7} {'GFLOP':>8} {'GFLOP/s':>8}",
    ]
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total):
        if e.key in DENSE_OPS:
            gflop = e.flops / 1e9 if e.flops else 0.0
            op_rate = gflop / (e.self_cpu_time_total / 1e6) if gflop else 0.0
            lines.append(
                f"{e.key:<34} {e.count:>6} {e.self_cpu_time_total / 1e6:>8.3f}"
                f" {e.self_cpu_time_total / total:>7.1%} {gflop:>8.2f} {op_rate:>8.1f}"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "_skelab" if args.side == "skelab" else ""
    out = RESULTS / f"profile_{args.model}_{args.tag}{suffix}.txt"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out} (step {step_s:.2f} s, {dense:.1f} GFLOP, floor {dense / rate:.2f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="ctrgcn,hypergcn", help=f"of {', '.join(MODELS)}")
    parser.add_argument("--upstream-root", type=Path, default=Path("/tmp/hup"))
    parser.add_argument("--upstream-path", action="append", default=[])
    parser.add_argument("--tag", default="upstream", help="file suffix: profile_<model>_<tag>.txt")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--golden", type=Path, default=GOLDEN)
    parser.add_argument("--side", choices=("upstream", "skelab"), default="upstream")
    parser.add_argument("--model", help=argparse.SUPPRESS)  # set in the worker process
    args = parser.parse_args(argv)
    if args.model:
        profile_one(args)
        return 0
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        repo = args.upstream_root / MODELS[name][1]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.update({k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
        if args.side == "upstream":
            env["PYTHONPATH"] = os.pathsep.join([str(repo), *args.upstream_path])
        else:
            repo = HERE.parents[1]
        cmd = [sys.executable, str(HERE), "--model", name, "--tag", args.tag, "--side", args.side]
        cmd += ["--batch", str(args.batch), "--window", str(args.window)]
        cmd += ["--threads", str(args.threads), "--top", str(args.top)]
        cmd += ["--golden", str(args.golden.resolve())]
        subprocess.run(cmd, cwd=repo, env=env, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
