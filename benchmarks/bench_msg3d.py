"""Benchmark skelab's MS-G3D against a plain, upstream-style implementation with the same weights.

The plain side (written here, not in the package) does what upstream's code does step by step:
`nn.Unfold` copies every temporal window into a (N, C, T_w, tau * V) tensor, an einsum
aggregates each scale, a permute makes the channels scale-major (k * C + c), a 1x1 conv mixes
them at every window node, and a Conv3d collapses the window. It loads the same upstream-layout
state dict as skelab's model, and the script checks that both give the same logits.

Both sides are timed interleaved in one process (training step = forward, cross-entropy,
backward, SGD step), median of the repeats, `torch.set_num_threads(2)`.

    .venv/bin/python benchmarks/bench_msg3d.py            # batch 16, T 64, 5 repeats
    .venv/bin/python benchmarks/bench_msg3d.py --quick    # tiny smoke test
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from skelab.models import build, count_parameters, load_upstream_checkpoint
from skelab.models.layers.tcn import MultiScaleTemporalConv
from skelab.models.msg3d import disentangled_scales, window_graph
from skelab.skeletons import get_skeleton

RESULTS = Path(__file__).resolve().parent / "results"

# --------------------------------------------------------------------------------------------
# Plain implementation (upstream's structure and state-dict keys)


class PlainMlp(nn.Module):
    def __init__(self, c_in: int, c_out: int, relu: bool) -> None:
        super().__init__()
        layers = [nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out)]
        layers.append(nn.ReLU() if relu else nn.Identity())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class PlainScaleGCN(nn.Module):
    """Einsum per scale over the nodes, permute to scale-major channels, 1x1 mix."""

    def __init__(self, c_in: int, c_out: int, graph: np.ndarray, scales: int, relu: bool) -> None:
        super().__init__()
        self.scales = scales
        a = torch.from_numpy(disentangled_scales(graph, scales))  # (K, n, n)
        self.register_buffer("A_powers", a.reshape(-1, a.shape[-1]), persistent=False)
        self.A_res = nn.Parameter(torch.empty_like(self.A_powers).uniform_(-1e-6, 1e-6))
        self.mlp = PlainMlp(scales * c_in, c_out, relu)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v = x.shape
        agg = torch.einsum("ju,nctu->nctj", self.A_powers + self.A_res, x)
        agg = agg.view(n, c, t, self.scales, v).permute(0, 3, 1, 2, 4).reshape(n, -1, t, v)
        return self.mlp(agg)


class PlainUnfold(nn.Module):
    """Copy each window of tau frames into tau * V nodes, frame-major."""

    def __init__(self, window: int, stride: int) -> None:
        super().__init__()
        self.window = window
        self.unfold = nn.Unfold((window, 1), stride=(stride, 1), padding=((window - 1) // 2, 0))

    def forward(self, x: Tensor) -> Tensor:
        n, c, _, v = x.shape
        x = self.unfold(x).view(n, c, self.window, -1, v)  # (N, C, tau, T_w, V)
        return x.permute(0, 1, 3, 2, 4).reshape(n, c, -1, self.window * v)


class PlainG3D(nn.Module):
    def __init__(self, c_in: int, c_out: int, a: np.ndarray, scales: int, window: int, s: int):
        super().__init__()
        c_mid = c_out if c_in == 3 else c_in
        self.window = window
        self.gcn3d = nn.Sequential(
            PlainUnfold(window, s),
            PlainScaleGCN(c_in, c_mid, window_graph(a, window), scales, False),
        )
        self.relu = nn.ReLU()
        self.out_conv = nn.Conv3d(c_mid, c_out, (1, window, 1))
        self.out_bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        z = self.relu(self.gcn3d(x))  # (N, C_mid, T_w, tau * V)
        n, c, t, _ = z.shape
        z = self.out_conv(z.view(n, c, t, self.window, -1)).squeeze(3)
        return self.out_bn(z)


class PlainMultiWindow(nn.Module):
    def __init__(self, c_in: int, c_out: int, a: np.ndarray, scales: int, s: int) -> None:
        super().__init__()
        self.gcn3d = nn.ModuleList(PlainG3D(c_in, c_out, a, scales, w, s) for w in (3, 5))

    def forward(self, x: Tensor) -> Tensor:
        return sum(g(x) for g in self.gcn3d)


class PlainMSG3D(nn.Module):
    def __init__(self, num_classes: int = 60, num_persons: int = 2) -> None:
        super().__init__()
        a = get_skeleton("ntu25").binary_adjacency
        self.data_bn = nn.BatchNorm1d(num_persons * 3 * 25)
        widths, strides = (3, 96, 192, 384), (1, 2, 2)
        for i in range(3):
            c_in, c_out, s = widths[i], widths[i + 1], strides[i]
            c_gcn = c_out if i == 0 else c_in
            setattr(self, f"gcn3d{i + 1}", PlainMultiWindow(c_in, c_out, a, 6, s))
            setattr(
                self,
                f"sgcn{i + 1}",
                nn.Sequential(
                    PlainScaleGCN(c_in, c_gcn, a, 13, True),
                    MultiScaleTemporalConv(c_gcn, c_out, stride=s),
                    MultiScaleTemporalConv(c_out, c_out, activation=False),
                ),
            )
            setattr(self, f"tcn{i + 1}", MultiScaleTemporalConv(c_out, c_out))
        self.fc = nn.Linear(384, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t))
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for i in (1, 2, 3):
            x = torch.relu(getattr(self, f"sgcn{i}")(x) + getattr(self, f"gcn3d{i}")(x))
            x = getattr(self, f"tcn{i}")(x)
        x = x.view(n, m, x.shape[1], -1).mean(3).mean(1)
        return self.fc(x)


# --------------------------------------------------------------------------------------------
# Measurement


def forward_flops(model: nn.Module, window: int) -> int:
    """FLOPs of one eval forward of one sample (2 per multiply-add; convs, bmm, addmm)."""
    model.eval()
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, window, 25, 2))
    for p, f in zip(model.parameters(), flags, strict=True):
        p.requires_grad_(f)
    return counter.get_total_flops()


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, y: Tensor) -> float:
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="batch 2, T 16, 1 repeat, no FLOPs")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.window, args.repeats, args.warmup = 2, 16, 1, 0
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    fast = build("msg3d")
    plain = PlainMSG3D()
    plain.load_state_dict(fast.state_dict())  # same upstream-layout keys on both sides
    load_upstream_checkpoint(fast, plain.state_dict())
    assert count_parameters(fast) == count_parameters(plain)

    x = torch.randn(args.batch, 3, args.window, 25, 2)
    y = torch.randint(0, 60, (args.batch,))
    with torch.no_grad():
        fast.eval(), plain.eval()
        d_eval = (fast(x) - plain(x)).abs().max().item()
        fast.train(), plain.train()
        d_train = (fast(x) - plain(x)).abs().max().item()
    # Gradients on the same step agree too (checks the backward of the rewritten parts).
    grads = []
    for model in (fast, plain):
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        grads.append({k: p.grad.clone() for k, p in model.named_parameters()})
    # Global relative error of all gradients together: biases feeding a training-mode BN have
    # gradients that are zero in exact arithmetic, so per-tensor ratios would compare noise.
    diff = sum(float((grads[0][k] - grads[1][k]).pow(2).sum()) for k in grads[1])
    ref = sum(float(grads[1][k].pow(2).sum()) for k in grads[1])
    g_rel = (diff / ref) ** 0.5
    # Reload equal weights and BN statistics, then time interleaved.
    load_upstream_checkpoint(fast, plain.state_dict())
    fast.train(), plain.train()
    opts = {
        name: torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9, nesterov=True)
        for name, m in (("skelab", fast), ("plain", plain))
    }
    times: dict[str, list[float]] = {"skelab": [], "plain": []}
    for i in range(args.warmup + args.repeats):
        order = (
            (("skelab", fast), ("plain", plain))
            if i % 2 == 0
            else (("plain", plain), ("skelab", fast))
        )
        for name, model in order:
            t = train_step(model, opts[name], x, y)
            if i >= args.warmup:
                times[name].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    flops = (
        {} if args.quick else {"skelab": forward_flops(fast, 64), "plain": forward_flops(plain, 64)}
    )

    head = (
        f"msg3d · batch {args.batch} · T {args.window} · CPU {args.threads} threads · "
        f"torch {torch.__version__} · fp32 · train step (fwd + CE + bwd + SGD) · "
        f"median of {args.repeats} after {args.warmup} warm-up, interleaved"
    )
    rows = [
        (
            "train step s",
            f"{med['skelab']:.3f}",
            f"{med['plain']:.3f}",
            f"{med['plain'] / med['skelab']:.2f}x",
        ),
        ("samples/s", f"{args.batch / med['skelab']:.2f}", f"{args.batch / med['plain']:.2f}", ""),
    ]
    if flops:
        rows.append(
            (
                "fwd GFLOPs/sample T64",
                f"{flops['skelab'] / 1e9:.2f}",
                f"{flops['plain'] / 1e9:.2f}",
                "",
            )
        )
    lines = [head, f"{'':24}{'skelab':>10}{'plain':>10}{'speed-up':>10}"]
    lines += [f"{a:24}{b:>10}{c:>10}{d:>10}" for a, b, c, d in rows]
    lines.append(
        f"max |Δ logits| eval {d_eval:.1e}, train {d_train:.1e}; rel Δ all grads {g_rel:.1e}; "
        f"all step times skelab {[round(t, 3) for t in times['skelab']]}, "
        f"plain {[round(t, 3) for t in times['plain']]}"
    )
    text = "\n".join(lines)
    print(text)
    if not args.no_write and not args.quick:
        RESULTS.mkdir(exist_ok=True)
        result = {
            "model": "msg3d",
            "batch": args.batch,
            "window": args.window,
            "threads": args.threads,
            "repeats": args.repeats,
            "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(),
            "step_s": med,
            "step_times_s": times,
            "samples_per_s": {k: args.batch / v for k, v in med.items()},
            "speedup": med["plain"] / med["skelab"],
            "forward_flops_per_sample_T64": flops,
            "max_abs_diff_logits": {"eval": d_eval, "train": d_train},
            "rel_diff_all_grads": g_rel,
            "params": count_parameters(fast),
        }
        (RESULTS / "msg3d.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "msg3d.md").write_text("```\n" + text + "\n```\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
