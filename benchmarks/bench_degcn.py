"""DeGCN training step on the CPU: upstream's own model code vs skelab, same weights.

Protocol of benchmarks/bench_upstream.py, for DeGCN's loss: each side runs in its own worker
process (upstream: WoominM/DeGCN_pytorch@a0a261f `model.degcn.Model`, imported from a checkout
of the repo given by `--upstream`, its root on `sys.path` as main.py has it; skelab: this working
tree). Both load the golden upstream state dict (`../shared/golden/degcn_ntu60.state_dict.pt`,
skelab through `load_upstream_checkpoint`), are built with the golden constructor arguments
(upstream's NTU60 X-Sub `model_args`) and draw the same batch from the same seed.

A training step is zero_grad, forward, upstream main.py's loss (label-smoothed cross-entropy,
eps 0.1, of each of the two streams' logits, summed; skelab: `skelab.engine.losses.compute_loss`
on the model's `stream_logits()`), backward and an SGD step (momentum 0.9, Nesterov, weight
decay 4e-4). Latency: `model.eval()` + `torch.no_grad()` at batch 1. The coordinator asks the two
workers in turn, one step each, alternating which goes first, so both see the same host load;
figures are medians, of wall time and of the worker's process CPU time (the steadier
figure on a shared host). Before timing, each worker reports its logits (eval and train mode)
and the loss of the batch; the table gives the largest differences from upstream's.

    git --git-dir=<mirror of WoominM/DeGCN_pytorch> archive HEAD model graph \\
        | tar -x -C /tmp/upstream_degcn
    .venv/bin/python benchmarks/bench_degcn.py --upstream /tmp/upstream_degcn

Results: benchmarks/results/degcn.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
RESULTS = HERE.parent / "results"
FIXTURE = "degcn_ntu60"
SMOOTHING = 0.1  # upstream main.py LabelSmoothingCrossEntropy(eps=0.1)


def _worker(args: argparse.Namespace) -> int:
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the model code prints goes to stderr, not into the replies
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    golden = Path(args.golden)
    meta = json.loads((golden / f"{FIXTURE}.json").read_text())
    state = torch.load(golden / f"{FIXTURE}.state_dict.pt", map_location="cpu", weights_only=True)
    options = meta["upstream_constructor"]
    if args.worker == "upstream":
        from model.degcn import Model  # the upstream checkout is on sys.path

        model = Model(**options)
        model.load_state_dict(state, strict=True)

        def run(x: torch.Tensor, y: torch.Tensor | None) -> tuple:
            out = model(x)  # one logit tensor per stream
            loss = None
            if y is not None:
                loss = sum(F.cross_entropy(z, y, label_smoothing=SMOOTHING) for z in out)
            return sum(out), loss
    else:
        from skelab.engine.losses import compute_loss
        from skelab.models import build, load_upstream_checkpoint

        model = load_upstream_checkpoint(build("degcn", **options), state)

        def run(x: torch.Tensor, y: torch.Tensor | None) -> tuple:
            logits = model(x)
            loss = None
            if y is not None:
                loss = compute_loss(model, logits, y, label_smoothing=SMOOTHING)[0]
            return logits, loss

    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, 64, 25, 2, generator=g)
    y = torch.randint(0, 60, (args.batch,), generator=g)
    x1 = x[:1].clone()
    opt = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=4e-4
    )

    def step() -> dict:
        start, cpu = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        run(x, y)[1].backward()
        opt.step()
        return {"s": time.perf_counter() - start, "cpu": time.process_time() - cpu}

    def latency() -> dict:
        start, cpu = time.perf_counter(), time.process_time()
        with torch.no_grad():
            run(x1, None)
        return {"s": time.perf_counter() - start, "cpu": time.process_time() - cpu}

    for line in sys.stdin:
        op = json.loads(line)["op"]
        if op == "check":
            out: dict = {}
            for mode in ("eval", "train"):
                model.train(mode == "train")
                with torch.no_grad():
                    logits, loss = run(x, y)
                out[mode] = logits.tolist()
                out[f"loss_{mode}"] = float(loss)
            reply.write(json.dumps(out) + "\n")
        elif op == "step":
            model.train()
            reply.write(json.dumps(step()) + "\n")
        elif op == "latency":
            model.eval()
            reply.write(json.dumps(latency()) + "\n")
        elif op == "quit":
            break
    return 0


class Side:
    """One worker process."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name = name
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.update({k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
        cwd = Path(args.upstream) if name == "upstream" else REPO
        env["PYTHONPATH"] = str(cwd) if name == "upstream" else ""
        cmd = [sys.executable, str(HERE), "--worker", name, "--golden", args.golden]
        cmd += ["--threads", str(args.threads), "--batch", str(args.batch)]
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, op: str) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker died (see its stderr above)")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.ask("quit")
        except (RuntimeError, BrokenPipeError):
            pass
        self.proc.wait(timeout=120)


def _max_abs(a: list, b: list) -> float:
    return max(abs(p - q) for ra, rb in zip(a, b, strict=True) for p, q in zip(ra, rb, strict=True))


def measure(args: argparse.Namespace) -> dict:
    sides = [Side("upstream", args), Side("skelab", args)]
    try:
        checks = {s.name: s.ask("check") for s in sides}
        up, ours = checks["upstream"], checks["skelab"]
        equivalence = {
            f"max_abs_dlogits_{m}": _max_abs(ours[m], up[m]) for m in ("eval", "train")
        } | {f"abs_dloss_{m}": abs(ours[f"loss_{m}"] - up[f"loss_{m}"]) for m in ("eval", "train")}
        keys = ("step", "step_cpu", "latency", "latency_cpu")
        times: dict[str, dict[str, list[float]]] = {s.name: {k: [] for k in keys} for s in sides}
        for op, warm, reps in (("step", args.warmup, args.repeats), ("latency", 2, args.latency)):
            for r in range(warm + reps):
                for s in sides if r % 2 == 0 else sides[::-1]:
                    t = s.ask(op)
                    if r >= warm:
                        times[s.name][op].append(t["s"])
                        times[s.name][f"{op}_cpu"].append(t["cpu"])
                print(f"  {op} {r + 1}/{warm + reps}", file=sys.stderr)
    finally:
        for s in sides:
            s.close()
    med = {n: {op: statistics.median(v) for op, v in d.items()} for n, d in times.items()}
    return {
        "median_s": med,
        "raw_s": times,
        "step_speedup": med["upstream"]["step"] / med["skelab"]["step"],
        "step_cpu_speedup": med["upstream"]["step_cpu"] / med["skelab"]["step_cpu"],
        "latency_speedup": med["upstream"]["latency"] / med["skelab"]["latency"],
        "equivalence": equivalence,
    }


def table(row: dict, header: str) -> str:
    m, eq = row["median_s"], row["equivalence"]
    lines = [
        header,
        "",
        "| measure | upstream | skelab | speed-up (upstream/skelab) |",
        "|---|---:|---:|---:|",
        f"| train step, wall s | {m['upstream']['step']:.3f} | {m['skelab']['step']:.3f} | "
        f"**{row['step_speedup']:.2f}x** |",
        f"| train step, process CPU s | {m['upstream']['step_cpu']:.3f} | "
        f"{m['skelab']['step_cpu']:.3f} | {row['step_cpu_speedup']:.2f}x |",
        f"| batch-1 eval latency, ms | {1000 * m['upstream']['latency']:.1f} | "
        f"{1000 * m['skelab']['latency']:.1f} | {row['latency_speedup']:.2f}x |",
        "",
        f"Same weights: max |Δ logits| eval {eq['max_abs_dlogits_eval']:.1e}, train "
        f"{eq['max_abs_dlogits_train']:.1e}; |Δ loss| eval {eq['abs_dloss_eval']:.1e}, train "
        f"{eq['abs_dloss_train']:.1e}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", default="/tmp/upstream_degcn", help="upstream checkout")
    parser.add_argument("--golden", default=str(REPO.parent / "shared" / "golden"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency", type=int, default=5, help="timed batch-1 forwards")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.golden = str(Path(args.golden).resolve())
    if args.worker:
        return _worker(args)
    import torch

    row = measure(args)
    header = (
        f"degcn · upstream vs skelab · batch {args.batch} · T 64 · CPU {platform.machine()} · "
        f"{args.threads} threads per side · torch {torch.__version__} · fp32 · train step = "
        f"fwd + summed per-stream label-smoothed CE + bwd + SGD · median of {args.repeats} "
        f"after {args.warmup} warm-up; batch-1 latency median of {args.latency} · each side its "
        "own process, sides alternated"
    )
    text = table(row, header)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        result = {
            "header": header,
            "batch": args.batch,
            "threads": args.threads,
            "torch": torch.__version__,
            "upstream": "WoominM/DeGCN_pytorch@a0a261f model/degcn.py",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            **row,
        }
        (RESULTS / "degcn.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "degcn.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
