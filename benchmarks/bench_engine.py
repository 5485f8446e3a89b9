"""Engine overhead: one ST-GCN training step through `Trainer.train_step` vs a hand-written loop.

Both sides start from the same weights and train on the same batch (random (N, 3, T, 25, 2)
clips and labels), with the same SGD (momentum 0.9, Nesterov, weight decay 1e-4, lr 0.1, as
ST-GCN's recipe) and plain cross-entropy. The hand-written step is the textbook five lines:
zero_grad, forward, cross_entropy, backward, step. The engine step adds what it does on every
step: the lr for the step, the loss hook (auxiliary losses, term bookkeeping), the forward-batch
loop, the grad scaler (disabled on the CPU) and the running accuracy.

Timing: `torch.set_num_threads(2)`, warm-up steps, then rounds that time one engine step and one
hand step back to back, alternating which goes first; median of each side and their ratio.
Equivalence: from identical weights and the same RNG state (ST-GCN has dropout), one step of
each side, max |difference| of every parameter afterwards.

    .venv/bin/python benchmarks/bench_engine.py            # stgcn, batch 16, T 64, 15 rounds
    .venv/bin/python benchmarks/bench_engine.py --quick    # tiny smoke run
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

from skelab.engine.configfile import from_dict
from skelab.engine.trainer import Trainer
from skelab.models import build, count_parameters

RESULTS = Path(__file__).resolve().parent / "results"


class _Batch:
    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y, self.index, self.index_t = x, y, torch.arange(len(y)), None


class _OneBatch:
    """A loader of one batch, enough to construct a Trainer without data files."""

    def __init__(self, batch: _Batch) -> None:
        self.batch = batch

    def set_epoch(self, epoch: int) -> None:
        pass

    def __len__(self) -> int:
        return 1

    def __iter__(self):
        yield self.batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="stgcn")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="batch 4, T 16, 4 rounds")
    args = ap.parse_args()
    if args.quick:
        args.batch, args.frames, args.rounds, args.warmup = 4, 16, 4, 1
    torch.set_num_threads(2)
    torch.manual_seed(0)

    cfg = from_dict(
        {
            "name": "bench",
            "model": {"name": args.model},
            "data": {"num_classes": 60, "window": args.frames},
            "train": {"epochs": 1, "batch_size": args.batch, "device": "cpu"},
            "optim": {
                "name": "sgd",
                "lr": 0.1,
                "momentum": 0.9,
                "nesterov": True,
                "weight_decay": 1e-4,
            },
        }
    )
    model = build(args.model, num_classes=60)
    batch = _Batch(
        torch.randn(args.batch, 3, args.frames, 25, 2), torch.randint(0, 60, (args.batch,))
    )
    loader = _OneBatch(batch)
    engine = Trainer(
        cfg,
        work_dir=None,
        model=copy.deepcopy(model),
        train_loader=loader,
        test_loader=loader,
        progress=False,
    )
    torch.set_num_threads(2)
    engine.model.train()
    hand_model = copy.deepcopy(model).train()
    hand_opt = torch.optim.SGD(
        hand_model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4
    )

    def hand_step() -> None:
        hand_opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(hand_model(batch.x), batch.y)
        loss.backward()
        hand_opt.step()

    def engine_step() -> None:
        engine.set_lr(0, 0, 1)
        engine.train_step(batch)

    # Equivalence: one step each from the same weights and RNG state.
    torch.manual_seed(1)
    engine_step()
    torch.manual_seed(1)
    hand_step()
    max_diff = max(
        float((p.detach() - q.detach()).abs().max())
        for p, q in zip(engine.model.parameters(), hand_model.parameters(), strict=True)
    )

    for _ in range(args.warmup):
        engine_step()
        hand_step()
    times: dict[str, list[float]] = {"engine": [], "hand": []}
    for r in range(args.rounds):
        order = [("engine", engine_step), ("hand", hand_step)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["engine"] / med["hand"]
    result = {
        "model": args.model,
        "parameters": count_parameters(model),
        "batch": args.batch,
        "frames": args.frames,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "threads": 2,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "engine_ms_median": 1000 * med["engine"],
        "hand_ms_median": 1000 * med["hand"],
        "engine_over_hand": ratio,
        "overhead_pct": 100 * (ratio - 1),
        "max_abs_param_diff_after_one_step": max_diff,
        "engine_ms_all": [1000 * t for t in times["engine"]],
        "hand_ms_all": [1000 * t for t in times["hand"]],
    }
    stem = "engine_quick" if args.quick else "engine"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = (
        f"{args.model} · batch {args.batch} · T {args.frames} · CPU, 2 threads · torch "
        f"{torch.__version__} · float32 · median of {args.rounds} interleaved rounds after "
        f"{args.warmup} warm-up\n\n"
        "| step | engine ms | hand-written ms | engine / hand | max abs param diff after 1 step |\n"
        "|---|---:|---:|---:|---:|\n"
        f"| train step | {1000 * med['engine']:.1f} | {1000 * med['hand']:.1f} | {ratio:.3f}x "
        f"({100 * (ratio - 1):+.1f}%) | {max_diff:.1e} |\n\n"
        "Command: `.venv/bin/python benchmarks/bench_engine.py"
        f"{' --quick' if args.quick else ''}`. The host is shared: each round times both sides "
        "back to back (alternating order), so contention hits both alike.\n"
    )
    (RESULTS / f"{stem}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
