"""Hyper-GCN training step: skelab's graph convolution vs a plain reading of upstream's HYPERGC.

The plain side follows the order of operations the reference describes for upstream's `HYPERGC`
(6UOOON9/Hyper-GCN, model/hypergcn_base.py): concatenate the 3 virtual joints onto every frame,
build the full 28 x 28 graph (static + hyper-graph), run the grouped `conv_d` over all 28
vertices, aggregate head by head in a Python loop, then drop the virtual vertices. skelab's side
aggregates only the 25 real rows with batched matrix products, handles the frame-constant virtual
joints as one small term and runs the grouped 1x1 convs as matrix products. Both use the same
weights; the multi-scale TCN, embedding and head are shared code. The plain module is kept here,
not in the package.

Both sides run interleaved in one process on the same inputs, float32, CPU. Reported per variant
(base, large): median seconds per training step (forward, cross-entropy with label smoothing 0.1
+ divergence loss, backward, SGD step), samples/s, the ratio, max |delta logits| in eval and
train mode, max relative gradient difference, and forward FLOPs per sample from
`torch.utils.flop_counter.FlopCounterMode` (the reference measured 3.15 G base, 5.61 G large for
upstream at T = 64; cdist/topk and elementwise ops are not counted).

    .venv/bin/python benchmarks/bench_hypergcn.py             # batch 8, T 64, 5 timed steps
    .venv/bin/python benchmarks/bench_hypergcn.py --quick     # tiny smoke test
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from skelab.models import build
from skelab.models.hypergcn import HyperGraphConv

RESULTS = Path(__file__).resolve().parent / "results"


class PlainHyperGraphConv(HyperGraphConv):
    """Upstream's order: virtual joints concatenated, full 28-vertex graph, loop over 8 heads."""

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v = x.shape  # (N, C_in, T, V)
        p = self.hyper_joint.shape[0]
        x = torch.cat([x, self.hyper_joint.t()[None, :, None, :].expand(n, c, t, p)], dim=-1)
        static = self.edge_importance * self.PA  # (8, 28, 28)
        static = static / (static.abs().sum(-1, keepdim=True) + 1e-8)
        t_x = x.mean(2)  # (N, C_in, 28)
        phi = self.to_V(t_x).view(n, 8, -1, v + p).permute(0, 1, 3, 2)  # (N, 8, 28, h)
        dist = torch.cdist(phi, phi)
        near, idx = dist.topk(9, dim=-1, largest=False)
        h = torch.zeros_like(dist).scatter(-1, idx, torch.softmax(-near, dim=-1))
        w = self.to_W(t_x)  # (N, 8, 28)
        d_e = h.abs().sum(-2) + 1e-8
        hw = h * w.unsqueeze(-2)
        d_v = hw.abs().sum(-1) + 1e-8
        g = torch.diag_embed(1 / d_v) @ hw @ torch.diag_embed(w / d_e) @ h.transpose(-1, -2)
        a = static + F.relu(self.alpha) * g  # (N, 8, 28, 28)
        d = self.conv_d(x)  # (N, C_out, T, 28)
        d = d.view(n, 8, -1, t, v + p)
        y = torch.cat([torch.einsum("nctv,nuv->nctu", d[:, k], a[:, k]) for k in range(8)], 1)
        y = y[..., :v]
        return F.relu(self.bn(y) + self.down(x[..., :v]))


def plain_copy(model: nn.Module) -> nn.Module:
    """A deep copy of `model` whose graph convolutions run the plain upstream order."""
    plain = copy.deepcopy(model)
    for module in plain.modules():
        if type(module) is HyperGraphConv:
            module.__class__ = PlainHyperGraphConv
    return plain


def randomise(model: nn.Module, seed: int) -> None:
    """Trained-like weights: distinct virtual joints, BN gammas of order 1, alpha 0.7."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("hyper_joint"):
                p.normal_(generator=g)
            elif name.endswith("alpha"):
                p.fill_(0.7)
            elif name.endswith("gcn1.bn.weight"):
                p.uniform_(0.5, 1.5, generator=g)
            elif name.endswith("edge_importance"):
                p.uniform_(0.8, 1.2, generator=g)


def loss_of(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Upstream's training loss: label-smoothed cross-entropy plus the divergence term."""
    logits = model(x)
    return F.cross_entropy(logits, y, label_smoothing=0.1) + sum(model.auxiliary_losses().values())


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, y: Tensor) -> float:
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss_of(model, x, y).backward()
    opt.step()
    return time.perf_counter() - start


def forward_flops(model: nn.Module, window: int) -> int:
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.randn(1, 3, window, 25, 2))
    model.train()
    return counter.get_total_flops()


def rel_err(out: Tensor, ref: Tensor) -> float:
    """||out - ref|| / ||ref||, the golden tests' measure."""
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def calibrate(model: nn.Module, x: Tensor, steps: int = 3) -> None:
    """Move BatchNorm running statistics towards the data, so eval mode is not degenerate."""
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(x + 0.1 * torch.randn_like(x))


def equivalence(fast: nn.Module, plain: nn.Module, x: Tensor, y: Tensor) -> dict[str, float]:
    """Relative error of the logits (eval, train) and of the whole gradient, same weights.

    The gradient is compared as one vector: single entries that are zero in exact arithmetic
    (biases right before a BatchNorm, `to_V.bias`, which shifts all embeddings of a head
    alike and so leaves every distance unchanged) hold only rounding noise."""
    out: dict[str, float] = {}
    for mode in ("eval", "train"):
        fast.train(mode == "train")
        plain.train(mode == "train")
        with torch.no_grad():
            out[f"rel_err_logits_{mode}"] = rel_err(fast(x), plain(x))
    grads = []
    for model in (fast, plain):
        model.train()
        model.zero_grad(set_to_none=True)
        loss_of(model, x, y).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad]))
        model.zero_grad(set_to_none=True)
    out["rel_err_grad"] = rel_err(grads[0], grads[1])
    # Hyper-GCN is ill-conditioned in float32 (cdist's matrix-product form cancels, BatchNorm
    # over few frames amplifies): upstream itself sits ~1e-4 from its float64 result. In float64
    # the two formulations must agree to rounding.
    fast64, plain64 = copy.deepcopy(fast).double(), copy.deepcopy(plain).double()
    with torch.no_grad():
        out["rel_err_logits_train_float64"] = rel_err(fast64(x.double()), plain64(x.double()))
    return out


def bench_variant(name: str, args: argparse.Namespace) -> dict[str, object]:
    torch.manual_seed(0)
    fast = build(name)
    randomise(fast, seed=1)
    x = torch.randn(args.batch, 3, args.window, 25, 2)  # (N, C, T, V, M)
    y = torch.randint(0, 60, (args.batch,))
    calibrate(fast, x)
    plain = plain_copy(fast)
    equiv = equivalence(fast, plain, x, y)
    flops = {"skelab": forward_flops(fast, 64), "plain": forward_flops(plain, 64)}
    opts = {
        side: torch.optim.SGD(
            m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=4e-4
        )
        for side, m in (("skelab", fast), ("plain", plain))
    }
    models = {"skelab": fast, "plain": plain}
    times: dict[str, list[float]] = {"skelab": [], "plain": []}
    for i in range(args.warmup + args.repeats):
        order = ("skelab", "plain") if i % 2 == 0 else ("plain", "skelab")
        for side in order:
            seconds = train_step(models[side], opts[side], x, y)
            if i >= args.warmup:
                times[side].append(seconds)
    med = {side: statistics.median(ts) for side, ts in times.items()}
    return {
        "model": name,
        "median_step_s": med,
        "samples_per_s": {side: args.batch / s for side, s in med.items()},
        "speedup_plain_over_skelab": med["plain"] / med["skelab"],
        "all_step_s": times,
        "forward_flops_per_sample_T64": flops,
        **equiv,
    }


def render(results: list[dict], meta: dict) -> str:
    lines = [
        f"hypergcn · batch {meta['batch']} · T {meta['window']} · CPU, {meta['threads']} threads · "
        f"torch {meta['torch']} · float32 · median of {meta['repeats']} after {meta['warmup']} "
        "warm-up, interleaved",
        "",
        "| model | skelab s/step | plain s/step | speed-up (plain/skelab) | skelab samples/s "
        "| rel err logits eval / train (f32) | rel err grad (f32) | rel err logits (f64) "
        "| fwd GFLOPs/sample skelab / plain |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        med, fl = r["median_step_s"], r["forward_flops_per_sample_T64"]
        lines.append(
            f"| {r['model']} | {med['skelab']:.3f} | {med['plain']:.3f} | "
            f"{r['speedup_plain_over_skelab']:.2f}x | {r['samples_per_s']['skelab']:.1f} | "
            f"{r['rel_err_logits_eval']:.1e} / {r['rel_err_logits_train']:.1e} | "
            f"{r['rel_err_grad']:.1e} | {r['rel_err_logits_train_float64']:.1e} | "
            f"{fl['skelab'] / 1e9:.2f} / {fl['plain'] / 1e9:.2f} |"
        )
    lines += [
        "",
        "Reference (upstream on a quiet 2-vCPU machine, fwd+bwd, batch 8, T 64): base 1.2 s, "
        "large 1.65 s; forward FLOPs 3.15 G base, 5.61 G large.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8, help="samples per step (default 8)")
    parser.add_argument("--window", type=int, default=64, help="frames per clip (default 64)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per side")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per side")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument(
        "--models", nargs="+", default=["hypergcn", "hypergcn-large"], help="variants to run"
    )
    parser.add_argument("--quick", action="store_true", help="batch 2, T 16, 1 repeat, base only")
    parser.add_argument("--no-save", action="store_true", help="print only; write no results")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.window, args.repeats, args.warmup = 2, 16, 1, 1
        args.models = ["hypergcn"]
    torch.set_num_threads(args.threads)
    results = [bench_variant(name, args) for name in args.models]
    meta = {
        "batch": args.batch,
        "window": args.window,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "quick": args.quick,
    }
    table = render(results, meta)
    print(table)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = "hypergcn_quick" if args.quick else "hypergcn"
        (RESULTS / f"{stem}.json").write_text(
            json.dumps({"meta": meta, "results": results}, indent=2)
        )
        (RESULTS / f"{stem}.md").write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
