"""ST-GCN's floor on the CPU: upstream's training step, skelab's, and the dense kernels alone.

Issue 18 asks for skelab's ST-GCN step at 1.5x upstream's. The step must run ST-GCN's dense
kernels whatever the code around them: per block the (9, 1) temporal convolution, the 1x1 mix
to K * C_out channels and, where a block strides or widens, the 1x1 residual convolution, each
forward and backward (gradients of input, weight and bias). This script times, in one process
and alternated (one thread, process CPU, medians): upstream's step (yysijie/st-gcn,
`net.st_gcn.Model`, the golden weights), skelab's step (same weights, batch, SGD) and those
kernels alone at the step's shapes (batch 8 clips x 2 persons, window 64, 25 joints), with
the 1x1 mixes in the form skelab runs them (`layers.pointwise.conv1x1`). upstream / kernels is
the most any reordering of the rest can give.

    .venv/bin/python benchmarks/floor_stgcn.py --upstream-root /tmp/hup --rounds 5
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from skelab.models import build, load_upstream_checkpoint
from skelab.models.layers.pointwise import conv1x1

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden"
CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


def stepper(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def step() -> float:
        start = time.process_time()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        return time.process_time() - start

    return step


def kernels(samples: int, frames: int, joints: int = 25, subsets: int = 3):
    """The dense kernels of one step, forward and backward, at the step's shapes."""
    blocks, c_in, t = [], 3, frames
    for c_out, s in zip(CHANNELS, STRIDES, strict=True):
        t_out = (t - 1) // s + 1
        strided = c_in > 3 and (c_in != c_out or s != 1)
        blocks.append(
            {
                "x": torch.randn(samples, c_in, t, joints, requires_grad=c_in > 3),
                "w_mix": torch.randn(subsets * c_out, c_in, requires_grad=True),
                "b_mix": torch.randn(subsets * c_out, requires_grad=True),
                "g_mix": torch.randn(samples, subsets * c_out, t, joints),
                "h": torch.randn(samples, c_out, t, joints, requires_grad=True),
                "w_t": torch.randn(c_out, c_out, 9, 1, requires_grad=True),
                "b_t": torch.randn(c_out, requires_grad=True),
                "g_t": torch.randn(samples, c_out, t_out, joints),
                "w_r": torch.randn(c_out, c_in, 1, 1, requires_grad=True) if strided else None,
                "b_r": torch.randn(c_out, requires_grad=True),
                "stride": s,
            }
        )
        c_in, t = c_out, t_out

    def run() -> float:
        start = time.process_time()
        for b in blocks:
            s = (b["stride"], 1)
            F.conv2d(b["h"], b["w_t"], b["b_t"], stride=s, padding=(4, 0)).backward(b["g_t"])
            conv1x1(b["x"], b["w_mix"], b["b_mix"]).backward(b["g_mix"])
            if b["w_r"] is not None:
                F.conv2d(b["x"], b["w_r"], b["b_r"], stride=s).backward(b["g_t"])
        return time.process_time() - start

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-root", type=Path, default=Path("/tmp/hup"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--golden", type=Path, default=GOLDEN)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    meta = json.loads((args.golden / "stgcn_ntu60.json").read_text())
    state = torch.load(args.golden / "stgcn_ntu60.state_dict.pt", weights_only=True)
    options = meta["upstream_constructor"]
    skelab = load_upstream_checkpoint(build("stgcn", **options), state).train()
    sys.path.insert(0, str(args.upstream_root / "yysijie+st-gcn"))
    upstream = importlib.import_module("net.st_gcn").Model(**options)
    upstream.load_state_dict(state, strict=True)
    upstream.train()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 64, 25, 2, generator=g)
    y = torch.randint(0, 60, (8,), generator=g)
    sides = {
        "upstream step": stepper(upstream, x, y),
        "skelab step": stepper(skelab, x, y),
        "dense kernels": kernels(16, 64),
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    names = list(sides)
    for r in range(args.rounds + 1):
        for name in names[r % 3 :] + names[: r % 3]:
            dt = sides[name]()
            if r:
                times[name].append(dt)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:<14} median {med[k]:.3f} s  {[round(t, 3) for t in v]}")
    up = med["upstream step"]
    print(
        f"upstream / skelab {up / med['skelab step']:.2f}x; "
        f"upstream / dense kernels alone {up / med['dense kernels']:.2f}x (the ceiling)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
