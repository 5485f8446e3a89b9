"""skelab's memory estimate against PyTorch's memory tracker, side by side, for every model (CPU).

Both sides count the same training step: `skelab.engine.step.train_step` with the model's NTU-60
X-Sub joint preset (its optimizer, loss and clipping), at the same forward batch and window, the
second step (optimizer state present). bf16 uses the same CUDA autocast policy on both sides
(`skelab.bench.autocast_policy`), so the comparison isolates the counting.

- skelab: `skelab.bench.memory.probe_memory(...).at(batch).allocated_bytes` (meta tensors, two
  probes, activations + backward transient, or the optimizer phase, + weights, grads, state).
- tracker: `torch.distributed._tools.mem_tracker.MemTracker` under `FakeTensorMode` on the CPU:
  the model's weights and buffers are turned into fake tensors, two steps run inside the tracker,
  and its peak total of the second step is read (`get_tracker_snapshot("peak")`).

Neither side is a GPU measurement; the CUDA context is left out of both. The ratio column is
skelab / tracker.

    .venv/bin/python benchmarks/bench_memory.py                      # every model, batch 16
    .venv/bin/python benchmarks/bench_memory.py --models mlp stgcn-lite --precisions fp32
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from torch import nn

from skelab.bench.autocast_policy import CudaAutocast
from skelab.bench.memory import PRECISIONS, model_config, probe_memory
from skelab.engine.build import build_model, build_optimizer
from skelab.engine.step import make_scaler, train_step
from skelab.models import get_card, list_models

RESULTS = Path(__file__).resolve().parent / "results"
MIB = 2**20


def _fake_module(model: nn.Module, mode) -> None:
    for module in model.modules():
        for key, p in list(module._parameters.items()):
            if p is not None:
                fake = mode.from_tensor(p.detach())
                module._parameters[key] = nn.Parameter(fake, requires_grad=p.requires_grad)
        for key, b in list(module._buffers.items()):
            if b is not None:
                module._buffers[key] = mode.from_tensor(b)


def tracker_peak(cfg, precision: str, batch: int) -> int:
    """Peak bytes of the second training step, as MemTracker counts it under FakeTensorMode."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import MemTracker

    card = get_card(cfg.model.name)
    model = build_model(cfg).train()
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    _fake_module(model, mode)
    dtype = PRECISIONS[precision]
    with mode:
        optimizer = build_optimizer(cfg, model)
        w = cfg.data.window
        x = torch.randn(batch, 3, w, card.input_joints, 2)
        y = torch.randint(0, cfg.data.num_classes, (batch,))
        index_t = torch.randn(batch, w) if card.needs_index_t else None
        policy = CudaAutocast(dtype).attach(model) if dtype is not None else None
        tracker = MemTracker()
        tracker.track_external(model, optimizer)

        def step() -> None:
            train_step(
                model, optimizer, make_scaler(None, x.device), x, y, index_t=index_t,
                needs_index_t=card.needs_index_t, dtype=None, chunk_size=batch,
                label_smoothing=cfg.loss.label_smoothing, clip_grad=cfg.train.clip_grad,
            )  # fmt: skip

        with tracker:
            if policy is not None:
                with policy:
                    step()
                    tracker.reset_mod_stats()
                    step()
            else:
                step()
                tracker.reset_mod_stats()
                step()
        snapshot = tracker.get_tracker_snapshot("peak")
    return int(max(v.get("Total", 0) for v in snapshot.values()))


def write(rows: list[dict], args: argparse.Namespace) -> Path:
    """JSON and Markdown in benchmarks/results/ (rewritten after every row)."""
    head = (
        f"training step, second step · batch {args.batch} · window {args.window} · "
        f"{platform.processor() or platform.machine()} · torch {torch.__version__} · "
        "CPU counts, no GPU\n\n"
        "| model | precision | skelab MiB | mem_tracker MiB | ratio skelab/tracker | "
        "skelab s | tracker s |\n|---|---|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r['model']} | {r['precision']} | {r['skelab_mib']:.1f} | {r['tracker_mib']:.1f} | "
        f"{r['ratio']:.3f} | {r['skelab_s']:.1f} | {r['tracker_s']:.1f} |"
        for r in rows
    ]
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / ("memory" if args.models is None else "memory_subset")
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    stem.with_suffix(".md").write_text(head + "\n".join(lines) + "\n")
    return stem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--precisions", nargs="*", default=["fp32", "bf16"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--window", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = []
    for name in args.models or list_models():
        cfg = model_config(name, window=args.window)
        for precision in args.precisions:
            t0 = time.perf_counter()
            ours = probe_memory(cfg, precision=precision).at(args.batch).allocated_bytes
            t1 = time.perf_counter()
            theirs = tracker_peak(cfg, precision, args.batch)
            t2 = time.perf_counter()
            row = {
                "model": name, "precision": precision, "batch": args.batch,
                "window": cfg.data.window, "skelab_mib": ours / MIB, "tracker_mib": theirs / MIB,
                "ratio": ours / theirs, "skelab_s": t1 - t0, "tracker_s": t2 - t1,
            }  # fmt: skip
            rows.append(row)
            stem = write(rows, args)
            print(
                f"{name:15s} {precision}  skelab {row['skelab_mib']:9.1f} MiB  tracker "
                f"{row['tracker_mib']:9.1f} MiB  ratio {row['ratio']:.3f}  "
                f"({row['skelab_s']:.1f} s / {row['tracker_s']:.1f} s)",
                flush=True,
            )
    print(f"wrote {stem}.json and .md")


if __name__ == "__main__":
    main()
