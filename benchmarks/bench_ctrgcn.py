"""CTR-GCN training step: skelab's fused graph convolution vs a plain per-subset loop.

The plain side is the straightforward reading of upstream's `unit_gcn`/`CTRGC` (Uason-Chen/
CTR-GCN, model/ctrgcn.py): for each of the three subsets, conv1/conv2 over all frames then a
time mean, tanh of pairwise differences, conv4 * alpha + PA, conv3, one einsum; the subset
outputs are summed. It is kept here, not in the package, and runs with the same weights as the
skelab model (everything else, the MS-TCN included, is shared).

Both sides are timed interleaved in one process, `torch.set_num_threads(2)`, same inputs,
float32, CPU. Reported: median seconds per step, samples/s, the ratio, max |delta logits| in
train and eval mode, max relative gradient difference, and forward FLOPs per sample from
`torch.utils.flop_counter.FlopCounterMode` (upstream measured 3.88 GFLOPs at T = 64).

    .venv/bin/python benchmarks/bench_ctrgcn.py            # batch 16, T 64, 10 timed steps
    .venv/bin/python benchmarks/bench_ctrgcn.py --quick    # tiny smoke test
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from skelab.models import build
from skelab.models.ctrgcn import CTRGraphConv

RESULTS = Path(__file__).resolve().parent / "results"


class PlainCTRGraphConv(CTRGraphConv):
    """Upstream's order of operations: a Python loop over the three CTRGC subsets."""

    def forward(self, x: Tensor) -> Tensor:
        graph = self.PA if self.adaptive else self.A
        y = None
        for i, m in enumerate(self.convs):
            q = m.conv1(x).mean(-2)  # (N, R, V)
            k = m.conv2(x).mean(-2)
            value = m.conv3(x)  # (N, C_out, T, V)
            rel = torch.tanh(q.unsqueeze(-1) - k.unsqueeze(-2))  # (N, R, V, V)
            theta = m.conv4(rel) * self.alpha + graph[i]  # (N, C_out, V, V)
            z = torch.einsum("ncuv,nctv->nctu", theta, value)
            y = z if y is None else y + z
        return F.relu(self.bn(y) + self.down(x))


def plain_copy(model: nn.Module) -> nn.Module:
    """A deep copy of `model` whose graph convolutions run the plain per-subset loop."""
    plain = copy.deepcopy(model)
    for module in plain.modules():
        if type(module) is CTRGraphConv:
            module.__class__ = PlainCTRGraphConv
    return plain


def randomise(model: nn.Module, seed: int, x: Tensor) -> None:
    """Non-trivial weights and BN statistics, so every path matters in train and eval mode.

    alpha = 0.7 switches the refinement on, BN gammas ~ U(0.5, 1.5) let the graph branch
    count, and running statistics are averaged over two batches of `x`-like noise.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("alpha"):
                p.fill_(0.7)
            elif name.endswith("bn.weight"):
                p.uniform_(0.5, 1.5, generator=g)
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average
        model.train()
        for _ in range(2):
            model(torch.randn(x.shape, generator=g))
        for bn in bns:
            bn.momentum = 0.1


def train_step(
    model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, y: Tensor
) -> dict[str, float]:
    """Seconds (wall and process CPU) of zero_grad + forward + loss + backward, then + SGD."""
    wall, cpu = time.perf_counter(), time.process_time()
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    out = {"fwd_bwd_wall": time.perf_counter() - wall, "fwd_bwd_cpu": time.process_time() - cpu}
    opt.step()
    out.update(step_wall=time.perf_counter() - wall, step_cpu=time.process_time() - cpu)
    return out


def forward_flops(model: nn.Module, window: int) -> int:
    """Forward FLOPs for one sample (2 per multiply-add; convs and matmuls only)."""
    model = copy.deepcopy(model).eval()
    model.requires_grad_(False)  # FlopCounterMode trips over `alpha` under no_grad
    x = torch.randn(1, 3, window, 25, 2)
    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


def equivalence(fast: nn.Module, plain: nn.Module, x: Tensor, y: Tensor) -> dict[str, float]:
    out: dict[str, float] = {}
    for mode in ("train", "eval"):
        fast.train(mode == "train")
        plain.train(mode == "train")
        with torch.no_grad():
            a, b = fast(x), plain(x)
        out[f"max_abs_dlogits_{mode}"] = float((a - b).abs().max())
        out[f"rel_err_{mode}"] = float((a - b).norm() / b.norm())
    fast.train()
    plain.train()
    for m in (fast, plain):
        m.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
    ga = torch.cat([p.grad.flatten() for p in fast.parameters()])
    gb = torch.cat([p.grad.flatten() for p in plain.parameters()])
    out["grad_rel_err"] = float((ga - gb).norm() / gb.norm())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="batch 2, T 16, 1 warm-up, 2 steps")
    parser.add_argument("--no-save", action="store_true", help="print only; write no results")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.window, args.warmup, args.repeats = 2, 16, 1, 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    x = torch.randn(args.batch, 3, args.window, 25, 2)
    y = torch.randint(0, 60, (args.batch,))
    fast = build("ctrgcn", num_classes=60)
    randomise(fast, seed=0, x=x)
    plain = plain_copy(fast)
    eq = equivalence(fast, plain, x, y)

    sides = {"skelab": fast, "plain": plain}
    opts = {
        k: torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
        for k, m in sides.items()
    }
    keys = ("fwd_bwd_wall", "fwd_bwd_cpu", "step_wall", "step_cpu")
    times: dict[str, dict[str, list[float]]] = {k: {key: [] for key in keys} for k in sides}
    for i in range(args.warmup + args.repeats):
        for k, m in sides.items():  # interleaved: both sides see the same host load
            got = train_step(m, opts[k], x, y)
            if i >= args.warmup:
                for key in keys:
                    times[k][key].append(got[key])
    med = {k: {key: statistics.median(v) for key, v in d.items()} for k, d in times.items()}
    flop_t = args.window if args.quick else 64
    flops = {k: forward_flops(m, flop_t) for k, m in sides.items()}

    header = (
        f"ctrgcn · batch {args.batch} · T {args.window} · CPU · {args.threads} threads · "
        f"torch {torch.__version__} · fp32 · median of {args.repeats} after {args.warmup} "
        "warm-up, sides interleaved"
    )
    lines = [
        header,
        f"{'measure':<26} {'skelab s':>9} {'plain s':>9} {'skelab sam/s':>13}"
        f" {'plain sam/s':>12} {'speed-up':>9}",
    ]
    table = []
    for label, key in (
        ("fwd+loss+bwd, wall", "fwd_bwd_wall"),
        ("fwd+loss+bwd, process CPU", "fwd_bwd_cpu"),
        ("+SGD step, wall", "step_wall"),
        ("+SGD step, process CPU", "step_cpu"),
    ):
        a, b = med["skelab"][key], med["plain"][key]
        table.append(
            {
                "measure": label,
                "skelab_s": a,
                "plain_s": b,
                "skelab_samples_per_s": args.batch / a,
                "plain_samples_per_s": args.batch / b,
                "speedup": b / a,
            }
        )
        lines.append(
            f"{label:<26} {a:>9.3f} {b:>9.3f} {args.batch / a:>13.1f} {args.batch / b:>12.1f}"
            f" {b / a:>8.2f}x"
        )
    lines.append(
        f"equivalence (same weights, alpha 0.7): max |Δ logits| train "
        f"{eq['max_abs_dlogits_train']:.1e}, eval {eq['max_abs_dlogits_eval']:.1e}; "
        f"rel err train {eq['rel_err_train']:.1e}, eval {eq['rel_err_eval']:.1e}; "
        f"gradient rel err {eq['grad_rel_err']:.1e}"
    )
    lines.append(
        f"forward FLOPs/sample at T={flop_t}: skelab {flops['skelab'] / 1e9:.3f} G, "
        f"plain {flops['plain'] / 1e9:.3f} G (upstream measured 3.878 G at T=64)"
    )
    text = "\n".join(lines)
    print(text)
    if not args.no_save and not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        result = {
            "model": "ctrgcn",
            "batch": args.batch,
            "window": args.window,
            "threads": args.threads,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "torch": torch.__version__,
            "rows": table,
            "raw_times_s": times,
            "equivalence": eq,
            "forward_flops_per_sample": flops,
        }
        (RESULTS / "ctrgcn.json").write_text(json.dumps(result, indent=2))
        (RESULTS / "ctrgcn.md").write_text("```\n" + text + "\n```\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
