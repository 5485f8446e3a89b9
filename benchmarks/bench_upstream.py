"""Training step and batch-1 latency: upstream's own model code vs skelab, before and after.

Every side runs in its own worker process, so no side shares imports, caches or allocator state
with another:

* `upstream`: the upstream repository's model file, imported from a checkout of the repo
  (`--upstream-root/<owner>+<name>`, the repo root on `sys.path`, as its `main.py` does);
* `before`: skelab's model code from an earlier commit, unpacked outside the repo
  (`git archive <commit> src | tar -x -C DIR`, then `--before DIR/src`);
* `after`: skelab's model code in this working tree.

All sides load the same golden upstream state dict (`../shared/golden/<model>.state_dict.pt`:
upstream keys, randomised weights; skelab goes through its upstream-checkpoint import), are built
with the golden constructor arguments (dropouts 0) and draw the same batch from the same seed.
Before any timing each worker reports its logits in eval and in train mode; the table gives
the largest |difference| from upstream's.

A training step is zero_grad, forward, the loss upstream's training script uses (cross-entropy;
Hyper-GCN adds its divergence loss on the virtual joints), backward and an SGD step (momentum
0.9, Nesterov, weight decay 4e-4). Latency is `model.eval()` + `torch.no_grad()` at batch 1. The
coordinator asks the workers in turn, one step each, rotating the order every round, so that the
sides see the same host load; figures are medians. Every worker uses the same thread count.

On a GPU (`--device cuda`, `--precision fp32|bf16`: CUDA autocast on both sides) each step ends
with a synchronise and the JSON also records each side's peak allocated memory. `--golden` may
name a folder with the fixtures' JSON only (benchmarks/gpu_bundle.sh makes one for the device
machine): the upstream side then draws seeded weights and the other sides load them.

    .venv/bin/python benchmarks/bench_upstream.py --models skateformer \
        --upstream-root /tmp/hup --before /tmp/skelab_before/src --repeats 5

Results: benchmarks/results/upstream_<tag>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from _sidebyside import (
    Side,
    add_common_arguments,
    alternate,
    max_abs,
    reply_channel,
    save_results,
    serve,
    timed,
)

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
RESULTS = HERE.parent / "results"

# model -> (golden fixture, upstream repo folder, module, class, input points, needs index_t)
MODELS: dict[str, tuple[str, str, str, str, int, bool]] = {
    "skateformer": (
        "skateformer_ntu60",
        "KAIST-VICLab+SkateFormer",
        "model.SkateFormer",
        "SkateFormer_",
        24,
        True,
    ),
    "ctrgcn": ("ctrgcn_ntu60", "Uason-Chen+CTR-GCN", "model.ctrgcn", "Model", 25, False),
    "hypergcn": (
        "hypergcn_base_ntu60",
        "6UOOON9+Hyper-GCN",
        "model.hypergcn_base",
        "Model",
        25,
        False,
    ),
    "msg3d": ("msg3d_ntu60", "kenziyuliu+MS-G3D", "model.msg3d", "Model", 25, False),
    "freqmixformer": (
        "freqmixformer_ntu60",
        "wenhanwu95+FreqMixFormer",
        "model.skefreqmixformer",
        "Model",
        25,
        False,
    ),
    "stgcn": ("stgcn_ntu60", "yysijie+st-gcn", "net.st_gcn", "Model", 25, False),
}

# ------------------------------------------------------------------------------------------
# Worker: one side, one model; JSON commands on stdin, JSON replies on a private pipe.


def divergence_loss(hyper: list) -> object:
    """Hyper-GCN's divergence loss on the virtual joints (upstream main.py `DivergenceLoss`)."""
    import torch

    total = 0.0
    for h in hyper:
        v = h.shape[0]
        norm = torch.norm(h, dim=-1, keepdim=True)
        cos = torch.relu((h @ h.T) / (norm @ norm.T + 1e-8))
        total = total + (cos.sum() - v) / (v * (v - 1))
    return total / len(hyper)


def _on_cpu(fn):
    """`fn` with any `device=` argument replaced by the CPU."""

    def wrapped(*a, **k):
        if "device" in k:
            k["device"] = "cpu"
        return fn(*a, **k)

    return wrapped


def keep_upstream_on_cpu() -> None:
    """Upstream code moves tensors with `.cuda(x.get_device())` (Hyper-GCN) and allocates with
    `device='cuda'` (FreqMixFormer); after this both stay on the CPU, the only change made to
    running upstream."""
    import torch

    torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    for fn in ("zeros", "ones", "empty", "full", "tensor", "arange", "eye", "randn", "rand"):
        setattr(torch, fn, _on_cpu(getattr(torch, fn)))


def _worker(args: argparse.Namespace) -> int:
    reply = reply_channel()  # anything the model code prints goes to stderr
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    fixture, _, module, cls, points, needs_t = MODELS[args.model]
    golden = Path(args.golden)
    meta = json.loads((golden / f"{fixture}.json").read_text())
    options = meta["upstream_constructor"]
    state_file = golden / f"{fixture}.state_dict.pt"
    if not state_file.exists():
        # A folder with the fixtures' JSON only (the GPU bundle, benchmarks/gpu_bundle.sh): the
        # upstream side draws seeded weights and writes them; the coordinator starts the other
        # sides after it has answered, so they load the same weights.
        state_file = Path(args.scratch) / f"{fixture}.state_dict.pt"
    state = None
    if state_file.exists():
        state = torch.load(state_file, map_location="cpu", weights_only=True)
    if args.side == "upstream" and not cuda:
        keep_upstream_on_cpu()
    if args.side == "upstream":
        import importlib

        torch.manual_seed(0)
        model = getattr(importlib.import_module(module), cls)(**options)
        if state is None:
            partial = state_file.with_suffix(".partial")
            torch.save(model.state_dict(), partial)
            partial.replace(state_file)
        else:
            model.load_state_dict(state, strict=True)
    else:
        from skelab.models import build, load_upstream_checkpoint

        model = load_upstream_checkpoint(build(args.model, **options), state)
    model.to(device)
    # bf16: CUDA autocast around forward and loss on both sides, as `skelab train` applies it
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def finish() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    def batch(n: int) -> tuple:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n, 3, args.window, points, 2, generator=g)
        y = torch.randint(0, 60, (n,), generator=g)
        extra = (torch.linspace(-1, 1, args.window).expand(n, -1).contiguous(),) if needs_t else ()
        return tuple(t.to(device) for t in (x, *extra)), y.to(device)

    def logits_and_aux(out) -> tuple:
        if isinstance(out, tuple):  # upstream Hyper-GCN: (logits, virtual joints per layer)
            logits, aux = out
            return logits, (divergence_loss(aux) if args.model == "hypergcn" else 0.0)
        extra = getattr(model, "auxiliary_losses", None)
        aux = sum(extra().values()) if extra is not None and model.training else 0.0
        return out, aux

    inputs, y = batch(args.batch)
    inputs1, _ = batch(1)
    opt = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=4e-4
    )

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast:
            logits, aux = logits_and_aux(model(*inputs))
            loss = F.cross_entropy(logits.float(), y) + aux
        loss.backward()
        opt.step()
        finish()

    def latency() -> None:
        with torch.no_grad(), autocast:
            model(*inputs1)
        finish()

    def logits() -> dict:
        out = {}
        for mode in ("eval", "train"):
            model.train(mode == "train")
            with torch.no_grad():
                out[mode] = logits_and_aux(model(*inputs))[0].float().cpu().tolist()
        return out

    def measured(fn, training: bool) -> dict:
        """`timed(fn)` in train or eval mode, with the GPU's peak memory of the call."""
        model.train(training)
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        got = timed(fn)
        got["peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else 0.0
        return got

    ops = {
        "logits": logits,
        "step": lambda: measured(step, True),
        "latency": lambda: measured(latency, False),
    }
    return serve(reply, ops)


# ------------------------------------------------------------------------------------------
# Coordinator


def start_side(name: str, model: str, args: argparse.Namespace) -> Side:
    """A worker process (`_sidebyside.Side`) for one side of one model."""
    env = {k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    paths: list[str] = []
    cwd = REPO
    if name == "upstream":
        cwd = Path(args.upstream_root) / MODELS[model][1]
        paths = [str(cwd), *args.upstream_path]
    elif name == "before":
        paths = [args.before]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    cmd = [sys.executable, str(HERE), "--worker", name, "--model", model]
    cmd += ["--golden", str(Path(args.golden).resolve()), "--threads", str(args.threads)]
    cmd += ["--batch", str(args.batch), "--window", str(args.window)]
    cmd += ["--device", args.device, "--precision", args.precision]
    cmd += ["--scratch", args.scratch]
    return Side(name, cmd, env, cwd)


def measure(model: str, args: argparse.Namespace) -> dict:
    names = ["upstream", "after"] + (["before"] if args.before else [])
    sides = [start_side("upstream", model, args)]
    try:
        logits = {"upstream": sides[0].ask("logits")}  # the weights exist once it has answered
        sides += [start_side(n, model, args) for n in names[1:]]
        logits.update({s.name: s.ask("logits") for s in sides[1:]})
        ref = logits["upstream"]
        dlogits = {
            s.name: {m: max_abs(logits[s.name][m], ref[m]) for m in ("eval", "train")}
            for s in sides
        }
        # Wall seconds, and the worker's process CPU seconds: on a loaded host the second
        # leaves out the time the worker waited for a core (one thread: CPU time = work).
        step = alternate(sides, "step", args.warmup, args.repeats)
        latency = alternate(sides, "latency", 2, args.latency_repeats)
        times = {
            s.name: {
                "step": step[s.name]["s"],
                "latency": latency[s.name]["s"],
                "step_cpu": step[s.name]["cpu"],
                "latency_cpu": latency[s.name]["cpu"],
                "step_peak_mib": step[s.name]["peak_mib"],
            }
            for s in sides
        }
    finally:
        for s in sides:
            s.close()
    med = {n: {op: statistics.median(v) for op, v in d.items()} for n, d in times.items()}
    row: dict = {"model": model, "median_s": med, "raw_s": times, "max_abs_dlogits": dlogits}
    for n in names[1:]:
        for key in ("step", "latency", "step_cpu", "latency_cpu"):
            row[f"{key}_speedup_{n}"] = med["upstream"][key] / med[n][key]
    return row


def table(rows: list[dict], args: argparse.Namespace, header: str) -> str:
    """Two lines per model: wall-clock and process-CPU medians of the step and the latency."""
    sides = ["upstream"] + (["before"] if args.before else []) + ["after"]
    later = sides[1:]
    cols = ["model", "clock"]
    cols += [f"{n} s/step" for n in sides] + [f"upstream/{n} step" for n in later]
    cols += [f"{n} batch-1 ms" for n in sides] + [f"upstream/{n} batch-1" for n in later]
    cols += ["max abs Δ logits eval / train (after vs upstream)"]
    lines = [header, "", "| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
    for r in rows:
        m = r["median_s"]
        d = r["max_abs_dlogits"]["after"]
        for clock, suffix in (("wall", ""), ("process CPU", "_cpu")):
            cells = [r["model"], clock]
            cells += [f"{m[n]['step' + suffix]:.3f}" for n in sides]
            cells += [f"**{r[f'step{suffix}_speedup_{n}']:.2f}x**" for n in later]
            cells += [f"{1000 * m[n]['latency' + suffix]:.1f}" for n in sides]
            cells += [f"{r[f'latency{suffix}_speedup_{n}']:.2f}x" for n in later]
            cells.append(f"{d['eval']:.1e} / {d['train']:.1e}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _device_name(args: argparse.Namespace) -> str:
    import torch

    if args.device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(args.device))
    return f"CPU {platform.machine()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="skateformer,ctrgcn,hypergcn,msg3d,freqmixformer")
    parser.add_argument("--upstream-root", default="/tmp/hup", help="folder of repo checkouts")
    parser.add_argument(
        "--upstream-path",
        action="append",
        default=[],
        help="extra PYTHONPATH entries for upstream's dependencies (timm, einops, torch_dct)",
    )
    add_common_arguments(parser)
    parser.add_argument("--golden", default=str(REPO.parent / "shared" / "golden"))
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--latency-repeats", type=int, default=10)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (both sides)")
    parser.add_argument(
        "--precision", choices=("fp32", "bf16"), default="fp32", help="bf16: CUDA autocast"
    )
    parser.add_argument("--tag", default="", help="results file name: upstream_<tag>.{json,md}")
    parser.add_argument("--scratch", default="", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.side = args.worker
        return _worker(args)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    scratch = tempfile.TemporaryDirectory(prefix="bench_upstream_")
    args.scratch = scratch.name
    if args.precision == "bf16" and not args.device.startswith("cuda"):
        parser.error("--precision bf16 is CUDA autocast: add --device cuda")
    rows = []
    for model in models:
        rows.append(measure(model, args))
    import torch

    header = (
        f"upstream vs skelab · batch {args.batch} · T {args.window} · {_device_name(args)} · "
        f"{args.threads} threads per side · torch {torch.__version__} · {args.precision} "
        f"· train step = fwd + CE (+ Hyper-GCN divergence) + bwd + SGD · median of "
        f"{args.repeats} after {args.warmup} warm-up; batch-1 eval latency median of "
        f"{args.latency_repeats} · each side its own process, sides alternated, order rotated"
        + (f" · before = skelab {args.before_commit}" if args.before_commit else "")
    )
    text = table(rows, args, header)
    print(text)
    if not args.no_save:
        tag = args.tag or "_".join(models)
        result = {
            "header": header,
            "batch": args.batch,
            "window": args.window,
            "threads": args.threads,
            "device": args.device,
            "precision": args.precision,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "torch": torch.__version__,
            "before_commit": args.before_commit,
            "rows": rows,
        }
        save_results(f"upstream_{tag}", result, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
