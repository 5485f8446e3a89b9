"""FreqMixFormer training step: skelab's batched formulation vs a plain, upstream-ordered one.

The plain side follows the order of operations of upstream's hot modules (wenhanwu95/
FreqMixFormer, model/spa_freq_mixf.py and model/tem_mixf.py), written for this benchmark:
* spatial: a Python loop over the 3 subsets and the 4 channel groups; the DCT-II of every
  group's whole feature map (N, C/4, T, 25) along the joint axis, computed with an FFT as
  torch-dct does; pooled descriptors taken after the DCT; the inverse DCT of the mixed maps
  by FFT; the full per-sample, per-channel adjacency (N, 3, C, 25, 25) built and contracted
  with one einsum;
* temporal: each of the five branches runs its own 1x1 convolution.
Everything else (embedding, temporal convolutions, BatchNorms, head) is shared code. Both
sides carry the same weights (the plain model is a deep copy whose hot modules swap class).

Both sides are timed interleaved in one process, `torch.set_num_threads(2)`, same inputs,
float32, CPU: zero_grad, forward, cross-entropy, backward, then an SGD step (upstream's
optimiser: momentum 0.9, Nesterov, weight decay 5e-4). Reported: median seconds per step,
samples/s, the ratio, max |delta logits| in train and eval mode, the gradient relative error,
and forward FLOPs per sample from `torch.utils.flop_counter.FlopCounterMode` (the reference
measured 5.11 GFLOPs for upstream at T = 64; FFTs are not counted). The float32 gradient
relative error (about 1e-3) reflects the conditioning of a deep, randomised network with
train-mode BatchNorm, not a difference in the maths: in float64 (batch 2, T 8) the two sides'
gradients agree to about 1e-8.

    .venv/bin/python benchmarks/bench_freqmixformer.py            # batch 8, T 64
    .venv/bin/python benchmarks/bench_freqmixformer.py --quick    # tiny smoke test
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from skelab.models import build
from skelab.models.freqmixformer import (
    FREQ_HIGH,
    FREQ_LOW,
    FREQ_SPLIT,
    SpatialFreqMixFormer,
    TemporalMixFormer,
    dct_matrix,
    idct_matrix,
)

RESULTS = Path(__file__).resolve().parent / "results"


def dct_fft(x: Tensor) -> Tensor:
    """Unnormalised DCT-II along the last axis via one complex FFT (Makhoul's reordering)."""
    n = x.shape[-1]
    v = torch.cat([x[..., ::2], x[..., 1::2].flip(-1)], dim=-1)
    k = torch.arange(n, dtype=x.dtype, device=x.device)
    twiddle = torch.polar(torch.ones_like(k), -math.pi * k / (2 * n))
    return 2.0 * (torch.fft.fft(v, dim=-1) * twiddle).real


def idct_fft(coef: Tensor) -> Tensor:
    """Inverse of `dct_fft` along the last axis via one inverse FFT."""
    n = coef.shape[-1]
    k = torch.arange(n, dtype=coef.dtype, device=coef.device)
    flipped = torch.cat([torch.zeros_like(coef[..., :1]), coef[..., 1:].flip(-1)], dim=-1)
    spectrum = torch.complex(coef, -flipped) * torch.polar(
        torch.ones_like(k), math.pi * k / (2 * n)
    )
    v = torch.fft.ifft(spectrum / 2.0, dim=-1).real
    x = torch.empty_like(v)
    half = (n + 1) // 2
    x[..., ::2] = v[..., :half]
    x[..., 1::2] = v[..., half:].flip(-1)
    return x


def _outer_softmax(a: Tensor, b: Tensor) -> Tensor:
    return torch.softmax(a.unsqueeze(-1) * b.unsqueeze(-2), dim=-1)


class PlainSpatial(SpatialFreqMixFormer):
    """Upstream's order: loops over subsets and groups, DCT of whole feature maps, einsum."""

    def forward(self, x0: Tensor) -> Tensor:
        n, _, t, v = x0.shape
        c = self.c_out
        prior = (self.A_SE[:, None] + self.A_GEME).repeat(1, c // 8, 1, 1)  # (3, C, V, V)
        m = self.conv(x0).view(n, 3, c, t, v)
        scale = torch.full((v,), FREQ_HIGH)
        scale[:FREQ_SPLIT] = FREQ_LOW
        finals = []
        for i in range(3):
            groups = torch.chunk(m[:, i], 4, dim=1)  # 4 x (N, C/4, T, V)
            per_domain = []
            for freq in (False, True):
                desc = []
                for z in groups:
                    z = dct_fft(z) if freq else z
                    half = z.shape[1] // 2
                    desc.append((z[:, :half].mean(dim=(1, 2)), z[:, half:].mean(dim=(1, 2))))
                own = [self.Spa_Att(q, k) for q, k in desc]
                cross = []
                for j in range(3):
                    a = F.relu(self.linear(desc[j][1]))
                    b = F.relu(self.linear(desc[j + 1][0]))
                    x_map = _outer_softmax(a, b)
                    cross.append(x_map * scale if freq else x_map)
                mixed = [
                    own[0] / 2 + cross[0] / 4,
                    own[1] / 2 + cross[0] / 4 + cross[1] / 4,
                    own[2] / 2 + cross[1] / 4 + cross[2] / 4,
                    own[3] / 2 + cross[2] / 4,
                ]
                per_domain.append([idct_fft(x) for x in mixed] if freq else mixed)
            fused = [s + f for s, f in zip(*per_domain, strict=True)]  # 4 x (N, V, V)
            tiled = torch.cat([f[:, None].expand(n, c // 4, v, v) for f in fused], dim=1)
            finals.append(0.5 * tiled + prior[i])
        adj = torch.stack(finals, dim=1)  # (N, 3, C, V, V)
        out = torch.einsum("nsctv,nscvw->nctw", m, adj)
        s = self.ChaRef_conv(out.mean(dim=(2, 3)).unsqueeze(1)).view(n, c, 1, 1)
        out = out + out * torch.sigmoid(s)
        return F.relu(self.bn(out) + self.down(x0))


class PlainTemporal(TemporalMixFormer):
    """Upstream's order: every branch runs its own 1x1 convolution."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def plain_copy(model: nn.Module) -> nn.Module:
    """A deep copy of `model` whose hot modules run the plain, upstream-ordered code."""
    plain = copy.deepcopy(model)
    for module in plain.modules():
        if type(module) is SpatialFreqMixFormer:
            module.__class__ = PlainSpatial
        elif type(module) is TemporalMixFormer:
            module.__class__ = PlainTemporal
    return plain


def randomise(model: nn.Module, seed: int, x: Tensor) -> None:
    """Non-trivial weights and BN statistics, so that every path counts in both modes."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("A_GEME"):
                p.add_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("weight") and p.dim() == 1:
                p.uniform_(0.5, 1.5, generator=g)
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the batches below
        model.train()
        for _ in range(2):
            model(torch.randn(x.shape, generator=g, dtype=x.dtype))
        for bn in bns:
            bn.momentum = 0.1


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, y: Tensor) -> dict:
    """Seconds (wall and process CPU) of zero_grad + forward + loss + backward, then + SGD."""
    wall, cpu = time.perf_counter(), time.process_time()
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    out = {"fwd_bwd_wall": time.perf_counter() - wall, "fwd_bwd_cpu": time.process_time() - cpu}
    opt.step()
    out.update(step_wall=time.perf_counter() - wall, step_cpu=time.process_time() - cpu)
    return out


def forward_flops(model: nn.Module, window: int) -> tuple[int, dict[str, int]]:
    """Forward FLOPs for one sample (2 per multiply-add; convs and matmuls only), and per op."""
    model = copy.deepcopy(model).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, window, 25, 2))
    per_op = {str(op): int(n) for op, n in counter.get_flop_counts()["Global"].items()}
    return counter.get_total_flops(), per_op


def equivalence(fast: nn.Module, plain: nn.Module, x: Tensor, y: Tensor) -> dict[str, float]:
    """Logit and gradient differences between the two sides, same weights and input."""
    out: dict[str, float] = {}
    probe = torch.randn(4, 3, 7, 25, dtype=torch.float64)
    out["dct_fft_vs_matrix"] = float((dct_fft(probe) - probe @ dct_matrix(25).T).abs().max())
    out["idct_fft_vs_matrix"] = float((idct_fft(probe) - probe @ idct_matrix(25).T).abs().max())
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
    ga = torch.cat([p.grad.flatten() for p in fast.parameters() if p.grad is not None])
    gb = torch.cat([p.grad.flatten() for p in plain.parameters() if p.grad is not None])
    out["grad_rel_err"] = float((ga - gb).norm() / gb.norm())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
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
    fast = build("freqmixformer", num_classes=60, window=args.window)
    randomise(fast, seed=0, x=x)
    plain = plain_copy(fast)
    eq = equivalence(fast, plain, x, y)

    sides = {"skelab": fast, "plain": plain}
    opts = {
        k: torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9, nesterov=True, weight_decay=5e-4)
        for k, m in sides.items()
    }
    keys = ("fwd_bwd_wall", "fwd_bwd_cpu", "step_wall", "step_cpu")
    times: dict[str, dict[str, list[float]]] = {k: {key: [] for key in keys} for k in sides}
    for i in range(args.warmup + args.repeats):
        order = list(sides) if i % 2 == 0 else list(sides)[::-1]  # alternate who goes first
        for k in order:
            got = train_step(sides[k], opts[k], x, y)
            if i >= args.warmup:
                for key in keys:
                    times[k][key].append(got[key])
    med = {k: {key: statistics.median(v) for key, v in d.items()} for k, d in times.items()}
    walls = zip(times["skelab"]["step_wall"], times["plain"]["step_wall"], strict=True)
    ratios = [b / a for a, b in walls]
    flops = {k: forward_flops(m, args.window) for k, m in sides.items()}

    header = (
        f"freqmixformer · batch {args.batch} · T {args.window} · CPU · {args.threads} threads · "
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
        f"per-repeat speed-up (step, wall): median {statistics.median(ratios):.2f}x, "
        f"range {min(ratios):.2f}-{max(ratios):.2f}x"
    )
    lines.append(
        f"equivalence (same weights): max |Δ logits| train {eq['max_abs_dlogits_train']:.1e}, "
        f"eval {eq['max_abs_dlogits_eval']:.1e}; rel err train {eq['rel_err_train']:.1e}, "
        f"eval {eq['rel_err_eval']:.1e}; gradient rel err {eq['grad_rel_err']:.1e}; "
        f"FFT DCT vs matrix {max(eq['dct_fft_vs_matrix'], eq['idct_fft_vs_matrix']):.1e}"
    )
    for k in sides:
        total, per_op = flops[k]
        split = ", ".join(f"{op.split('.')[-1]} {n / 1e9:.3f}" for op, n in sorted(per_op.items()))
        lines.append(f"forward FLOPs/sample at T={args.window}, {k}: {total / 1e9:.3f} G ({split})")
    lines.append("reference: upstream measured 5.110 G at T=64 (convolution 4.60, bmm 0.50)")
    text = "\n".join(lines)
    print(text)
    if not args.no_save and not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        result = {
            "model": "freqmixformer",
            "batch": args.batch,
            "window": args.window,
            "threads": args.threads,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "torch": torch.__version__,
            "rows": table,
            "per_repeat_speedup_step_wall": ratios,
            "raw_times_s": times,
            "equivalence": eq,
            "forward_flops_per_sample": {
                k: {"total": t, "per_op": p} for k, (t, p) in flops.items()
            },
        }
        stem = "freqmixformer" if args.threads == 2 else f"freqmixformer_threads{args.threads}"
        (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2))
        (RESULTS / f"{stem}.md").write_text("```\n" + text + "\n```\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
