"""SkateFormer training step: skelab's channels-last model vs a plain upstream-order forward.

The plain side is the straightforward reading of upstream's `SkateFormer_` (KAIST-VICLab/
SkateFormer, model/SkateFormer.py) as described in the reference notes: every block permutes to
`(N, C, T, V)` and back, each of the four Skate-MSA types partitions with its own view/permute/
contiguous copy and reverses with another, attention is the explicit
`softmax(q * scale @ k^T + bias) @ v`, and the relative-position bias is expanded from
`relative_position_index` on every step. It is kept here, not in the package, and walks the
very same modules (same weights) as the skelab model.

A third side, "skelab-sdpa", is the skelab model with `F.scaled_dot_product_attention` forced
on (`SkateMSA.fused = True`); it shows why the CPU default is the explicit form.

All sides are timed interleaved in one process, `torch.set_num_threads(2)`, same inputs, float32,
CPU, with the training config's dropouts (attn_drop 0.5, drop_path 0.2) on. A step is forward,
label-smoothed cross-entropy, backward and an AdamW step. Equivalence is checked with dropouts
off. Also reported: forward FLOPs per sample (`FlopCounterMode`; upstream measured 6.93 G) and an
activation-memory estimate for training presets (saved-for-backward tensors at batch 2, scaled
linearly, plus weights, gradients and AdamW state).

    .venv/bin/python benchmarks/bench_skateformer.py            # batch 8, T 64, 5 timed steps
    .venv/bin/python benchmarks/bench_skateformer.py --quick    # tiny smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import platform
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from skelab.models import build, count_parameters
from skelab.models.skateformer import DropPath, SkateFormer, SkateFormerBlock, SkateMSA

RESULTS = Path(__file__).resolve().parent / "results"

# ------------------------------------------------------------------------------------------
# Plain implementation: upstream's order of operations, channels-first between blocks.


def plain_partition(x: Tensor, kind: int, p: int, q: int) -> Tensor:
    """(N, T, V, C) -> (N * windows, P*Q, C) for partition type 1..4, one copy per call."""
    n, t, v, c = x.shape
    if kind == 1:  # P consecutive frames x Q consecutive points
        x = x.view(n, t // p, p, v // q, q, c).permute(0, 1, 3, 2, 4, 5)
    elif kind == 2:  # P consecutive frames x Q points V/Q apart
        x = x.view(n, t // p, p, q, v // q, c).permute(0, 1, 4, 2, 3, 5)
    elif kind == 3:  # P frames T/P apart x Q consecutive points
        x = x.view(n, p, t // p, v // q, q, c).permute(0, 2, 3, 1, 4, 5)
    else:  # P frames T/P apart x Q points V/Q apart
        x = x.view(n, p, t // p, q, v // q, c).permute(0, 2, 4, 1, 3, 5)
    return x.contiguous().view(-1, p * q, c)


def plain_reverse(x: Tensor, kind: int, p: int, q: int, n: int, t: int, v: int) -> Tensor:
    """Inverse of `plain_partition`: (N * windows, P*Q, C) -> (N, T, V, C)."""
    c = x.shape[-1]
    if kind == 1:
        x = x.view(n, t // p, v // q, p, q, c).permute(0, 1, 3, 2, 4, 5)
    elif kind == 2:
        x = x.view(n, t // p, v // q, p, q, c).permute(0, 1, 3, 4, 2, 5)
    elif kind == 3:
        x = x.view(n, t // p, v // q, p, q, c).permute(0, 3, 1, 2, 4, 5)
    else:
        x = x.view(n, t // p, v // q, p, q, c).permute(0, 3, 1, 4, 2, 5)
    return x.contiguous().view(n, t, v, c)


def plain_bias(msa: SkateMSA) -> Tensor:
    """Relative-position bias rebuilt from the index buffer, as upstream does every step."""
    p, q = msa.size
    h = msa.heads
    gathered = msa.relative_position_bias_table[msa.relative_position_index.view(-1)]
    if msa.local_points:  # (P, P, h) tiled over the (Q, Q) point slots
        bias = gathered.view(p, p, h).repeat(q, q, 1)
    else:  # (P, P, Q, Q, h) -> query (frame, slot), key (frame, slot)
        bias = gathered.view(p, p, q, q, h).permute(0, 2, 1, 3, 4).reshape(p * q, p * q, h)
    return bias.permute(2, 0, 1)


def plain_mhsa(msa: SkateMSA, x: Tensor) -> Tensor:
    """Explicit attention inside windows: (B_, P*Q, 3C') -> (B_, P*Q, C')."""
    b, tokens, _ = x.shape
    h, d = msa.heads, msa.dim // msa.heads
    qkv = x.reshape(b, tokens, 3, h, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * msa.scale, qkv[1], qkv[2]
    attn = q @ k.transpose(-2, -1)
    if msa.rel:
        attn = attn + plain_bias(msa)
    attn = F.dropout(attn.softmax(dim=-1), msa.attn_drop, msa.training)
    return (attn @ v).transpose(1, 2).reshape(b, tokens, msa.dim)


def plain_block(blk: SkateFormerBlock, x: Tensor) -> Tensor:
    """One transformer block on (N, C, T, V), upstream's order of operations."""
    n, c, t, v = x.shape
    skip = x
    y = blk.mapping(blk.norm_1(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)  # (N, 2C, T, V)
    g = blk.gconv.shape[0]
    gpart = y[:, : c // 4].reshape(n, g, c // 4 // g, t, v)
    outs = [torch.einsum("ngctu,gvu->ngctv", gpart, blk.gconv).reshape(n, c // 4, t, v)]
    outs.append(blk.tconv(y[:, c // 4 : c // 2]))
    a = 3 * c // 8
    for i, msa in enumerate(blk.attention):
        chunk = y[:, c // 2 + i * a : c // 2 + (i + 1) * a].permute(0, 2, 3, 1)  # (N, T, V, 3C/8)
        p, q = msa.size
        o = plain_mhsa(msa, plain_partition(chunk, i + 1, p, q))
        outs.append(plain_reverse(o, i + 1, p, q, n, t, v).permute(0, 3, 1, 2))
    y = torch.cat(outs, dim=1).permute(0, 2, 3, 1)  # (N, T, V, C)
    x = skip + blk.drop_path(blk.proj_drop(blk.proj(y))).permute(0, 3, 1, 2)
    x = x.permute(0, 2, 3, 1)
    x = x + blk.drop_path(blk.mlp(blk.norm_2(x)))
    return x.permute(0, 3, 1, 2)


class PlainSkateFormer(nn.Module):
    """The same modules as a skelab `SkateFormer`, run in upstream's channels-first order."""

    def __init__(self, model: SkateFormer) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, index_t: Tensor) -> Tensor:
        m = self.model
        n, c, t, v, persons = x.shape
        x = x.permute(0, 1, 2, 4, 3).reshape(n, c, t, persons * v)
        for layer in m.stem:
            x = layer(x)
        div = torch.exp(
            torch.arange(0, m.embed_dim, 2).float() * (-math.log(10000.0) / m.embed_dim)
        )
        te = torch.zeros(n, t, m.embed_dim)
        te[..., 0::2] = torch.sin(index_t[..., None] * div)
        te[..., 1::2] = torch.cos(index_t[..., None] * div)
        x = x + torch.einsum("ntc,cv->nctv", te, m.joint_person_embedding)
        for stage in m.stages:
            for block in stage.blocks:
                if isinstance(block.downsample, nn.Identity):
                    y = x
                else:
                    y = block.downsample.bn(block.downsample.reduction(x))
                x = plain_block(block.transformer, y)
        return m.head(m.head_drop(x.mean(dim=(2, 3))))


# ------------------------------------------------------------------------------------------
# Measurement


@contextlib.contextmanager
def no_dropout(*models: nn.Module) -> Iterator[None]:
    """Temporarily zero attention dropout and drop-path so train mode is deterministic."""
    saved = []
    for model in models:
        for mod in model.modules():
            attr = (
                "attn_drop"
                if isinstance(mod, SkateMSA)
                else "p"
                if isinstance(mod, DropPath)
                else None
            )
            if attr is not None:
                saved.append((mod, attr, getattr(mod, attr)))
                setattr(mod, attr, 0.0)
    try:
        yield
    finally:
        for mod, attr, value in saved:
            setattr(mod, attr, value)


def set_fused(model: nn.Module, fused: bool | None) -> None:
    for mod in model.modules():
        if isinstance(mod, SkateMSA):
            mod.fused = fused


def equivalence(fast: nn.Module, plain: nn.Module, x: Tensor, it: Tensor, y: Tensor) -> dict:
    """Logit and gradient differences, on copies so that BatchNorm statistics stay untouched."""
    fast, plain = copy.deepcopy(fast), copy.deepcopy(plain)
    out: dict[str, float] = {}
    with no_dropout(fast, plain):
        for mode in ("train", "eval"):
            fast.train(mode == "train")
            plain.train(mode == "train")
            with torch.no_grad():
                a, b = fast(x, it), plain(x, it)
            out[f"max_abs_dlogits_{mode}"] = float((a - b).abs().max())
            out[f"rel_err_{mode}"] = float((a - b).norm() / b.norm())
        fast.train()
        plain.train()
        for m in (fast, plain):
            m.zero_grad(set_to_none=True)
            F.cross_entropy(m(x, it), y).backward()
        # Relative to each parameter's largest gradient, floored at 1e-3 of the largest overall:
        # conv biases in front of a training-mode BatchNorm have a true gradient of 0.
        pairs = list(zip(fast.parameters(), plain.parameters(), strict=True))
        floor = 1e-3 * max(float(pb.grad.abs().max()) for _, pb in pairs)
        worst = 0.0
        for pa, pb in pairs:
            scale = max(float(pb.grad.abs().max()), floor)
            worst = max(worst, float((pa.grad - pb.grad).abs().max()) / scale)
    out["max_rel_grad_diff"] = worst
    return out


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, it: Tensor, y: Tensor):
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x, it), y, label_smoothing=0.1).backward()
    opt.step()
    return time.perf_counter() - start


def forward_flops(model: nn.Module, window: int) -> int:
    """Forward FLOPs for one sample (2 per multiply-add; convs and matmuls only)."""
    model = copy.deepcopy(model).eval()
    x = torch.randn(1, 3, window, 24, 2)
    it = torch.linspace(-1, 1, window)[None]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x, it)
    return counter.get_total_flops()


def activation_bytes(model: nn.Module, batch: int, window: int) -> int:
    """Bytes of distinct tensors saved for backward by one training forward."""
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        st = t.untyped_storage()
        seen[st.data_ptr()] = st.nbytes()
        return t

    model.train()
    x = torch.randn(batch, 3, window, 24, 2)
    it = torch.linspace(-1, 1, window)[None].expand(batch, -1)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(x, it).sum()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    del loss
    return sum(b for ptr, b in seen.items() if ptr not in params)


MEMORY_PRESETS = {
    # name: (options, train batch)
    "default (upstream NTU)": ({}, 128),
    "lowmem (W48, [6,8]/[6,12], heads 16)": (
        dict(
            window=48,
            num_heads=16,
            type_1_size=[6, 8],
            type_2_size=[6, 12],
            type_3_size=[6, 8],
            type_4_size=[6, 12],
        ),
        32,
    ),
    "tiny (W32, [4,8]/[4,12], heads 8)": (
        dict(
            window=32,
            num_heads=8,
            type_1_size=[4, 8],
            type_2_size=[4, 12],
            type_3_size=[4, 8],
            type_4_size=[4, 12],
        ),
        8,
    ),
}


def memory_table() -> list[dict]:
    """Parameters and estimated training peak (activations + 4x weights for AdamW) per preset."""
    rows = []
    for name, (opts, batch) in MEMORY_PRESETS.items():
        model = build("skateformer", **opts)
        window = model.window
        per_sample = activation_bytes(model, 2, window) / 2
        params = count_parameters(model)
        state = 4 * 4 * params  # fp32 weights, grads, AdamW exp_avg and exp_avg_sq
        rows.append(
            {
                "preset": name,
                "options": opts,
                "params": params,
                "activation_MiB_per_sample": per_sample / 2**20,
                "batch": batch,
                "est_peak_GiB_at_batch": (per_sample * batch + state) / 2**30,
                "est_peak_GiB_at_128": (per_sample * 128 + state) / 2**30,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="batch 2, T 16, 1 warm-up, 1 step")
    parser.add_argument("--no-save", action="store_true", help="print only; write no results")
    args = parser.parse_args(argv)
    sizes: dict = {}
    if args.quick:
        args.batch, args.window, args.warmup, args.repeats = 2, 16, 1, 1
        sizes = dict(type_1_size=[2, 8], type_2_size=[2, 12], type_3_size=[2, 8])
        sizes["type_4_size"] = [2, 12]
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    fast = build("skateformer", window=args.window, **sizes)
    plain = PlainSkateFormer(copy.deepcopy(fast))
    sdpa = copy.deepcopy(fast)
    set_fused(sdpa, True)
    x = torch.randn(args.batch, 3, args.window, 24, 2)
    it = torch.linspace(-1, 1, args.window)[None].expand(args.batch, -1).contiguous()
    y = torch.randint(0, 60, (args.batch,))
    eq = equivalence(fast, plain, x, it, y)
    eq_sdpa = equivalence(sdpa, plain, x, it, y)

    sides = {"skelab": fast, "skelab-sdpa": sdpa, "plain": plain}
    opts = {
        k: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1) for k, m in sides.items()
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    for m in sides.values():
        m.train()
    for i in range(args.warmup + args.repeats):
        for k, m in sides.items():  # interleaved: every side sees the same host load
            t = train_step(m, opts[k], x, it, y)
            if i >= args.warmup:
                times[k].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    flop_window = args.window
    flops = {k: forward_flops(m, flop_window) for k, m in (("skelab", fast), ("plain", plain))}
    memory = [] if args.quick else memory_table()

    header = (
        f"skateformer · batch {args.batch} · T {args.window} · CPU "
        f"{platform.processor() or platform.machine()} · {args.threads} threads · torch "
        f"{torch.__version__} · fp32 · median of {args.repeats} after {args.warmup} warm-up, "
        "interleaved · train step = fwd + LSCE + bwd + AdamW, attn_drop 0.5, drop_path 0.2"
    )
    lines = [
        header,
        f"{'side':<12} {'step s':>8} {'min s':>8} {'samples/s':>10} {'speed-up vs plain':>18}"
        f" {'max |Δ logits|':>15}",
    ]
    rows = []
    for k in sides:
        a = med[k]
        delta = {"skelab": eq, "skelab-sdpa": eq_sdpa}.get(k)
        d = "–" if delta is None else f"{delta['max_abs_dlogits_train']:.1e}"
        rows.append(
            {
                "side": k,
                "median_s": a,
                "min_s": min(times[k]),
                "samples_per_s": args.batch / a,
                "speedup_vs_plain": med["plain"] / a,
            }
        )
        lines.append(
            f"{k:<12} {a:>8.3f} {min(times[k]):>8.3f} {args.batch / a:>10.2f}"
            f" {med['plain'] / a:>17.2f}x {d:>15}"
        )
    lines.append(
        f"equivalence vs plain (dropouts off): skelab rel err train {eq['rel_err_train']:.1e}, "
        f"eval {eq['rel_err_eval']:.1e}, max rel grad diff {eq['max_rel_grad_diff']:.1e}; "
        f"skelab-sdpa rel err train {eq_sdpa['rel_err_train']:.1e}, eval "
        f"{eq_sdpa['rel_err_eval']:.1e}, max rel grad diff {eq_sdpa['max_rel_grad_diff']:.1e}"
    )
    lines.append(
        f"forward FLOPs/sample at T={flop_window}: skelab {flops['skelab'] / 1e9:.3f} G, plain "
        f"{flops['plain'] / 1e9:.3f} G (upstream measured 6.929 G at T=64)"
    )
    if memory:
        lines.append(
            "training memory estimate (saved-for-backward tensors at batch 2 scaled linearly "
            "+ 16 B/param for weights, grads, AdamW; no allocator slack):"
        )
        lines.append(
            f"  {'preset':<38} {'params':>10} {'MiB/sample':>11} {'batch':>6} {'GiB@batch':>10}"
            f" {'GiB@128':>8}"
        )
        for r in memory:
            lines.append(
                f"  {r['preset']:<38} {r['params']:>10,} {r['activation_MiB_per_sample']:>11.1f}"
                f" {r['batch']:>6} {r['est_peak_GiB_at_batch']:>10.2f}"
                f" {r['est_peak_GiB_at_128']:>8.2f}"
            )
    text = "\n".join(lines)
    print(text)
    if not args.no_save and not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        result = {
            "model": "skateformer",
            "batch": args.batch,
            "window": args.window,
            "threads": args.threads,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "torch": torch.__version__,
            "rows": rows,
            "raw_times_s": times,
            "equivalence": {"skelab": eq, "skelab-sdpa": eq_sdpa},
            "forward_flops_per_sample": flops,
            "memory_estimate": memory,
        }
        (RESULTS / "skateformer.json").write_text(json.dumps(result, indent=2))
        (RESULTS / "skateformer.md").write_text("```\n" + text + "\n```\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
