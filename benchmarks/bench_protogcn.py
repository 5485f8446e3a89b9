"""ProtoGCN training step on the CPU: upstream's own model code vs skelab, same weights.

Protocol of benchmarks/bench_upstream.py and bench_degcn.py, for ProtoGCN's loss: each side runs
in its own worker process (upstream: firework8/ProtoGCN@ddf7f27 PYSKL `RecognizerGCN` with the
`ProtoGCN` backbone and `SimpleHead`, imported from a snapshot unpacked outside the repo through
benchmarks/protogcn_upstream_shims.py, which stands in for mmcv; skelab: this working tree).
Both load the golden upstream state dict (`../shared/golden/protogcn_ntu60.state_dict.pt`,
skelab through `load_upstream_checkpoint`), are built from the golden `model` dict (NTU60 X-Sub
joint: 400 prototypes, contrastive weight 0.2), start from the golden contrastive memory, turn
the PRN dropout off, and draw the same batch from the same seed.

A training step is zero_grad, forward, the training loss (upstream: `forward_train`'s
`loss_cls` = cross-entropy + 0.2 * class-specific contrastive loss, which also moves the
memory; skelab: `skelab.engine.losses.compute_loss`, the same terms), backward and an SGD step
(the configs' lr 0.025, momentum 0.9, Nesterov, weight decay 5e-4). Latency: `model.eval()` +
`torch.no_grad()` at batch 1 (upstream: backbone + head logits, as `forward_test` computes them
before its softmax). The coordinator asks the two workers in turn, one step each, alternating
which goes first, so both see the same host load; figures are medians. Before timing, each
worker reports its logits (eval and train mode) and the loss of the batch; the table gives the
largest differences from upstream's.

    mkdir -p /tmp/upstream_protogcn
    git --git-dir=<mirror of firework8/ProtoGCN> archive HEAD | tar -x -C /tmp/upstream_protogcn
    .venv/bin/python benchmarks/bench_protogcn.py --upstream /tmp/upstream_protogcn

Results: benchmarks/results/protogcn.{json,md}.
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
FIXTURE = "protogcn_ntu60"


def _as_tuples(value):
    """JSON lists back to the tuples PYSKL's config has (mstcn asserts tuples)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list) else value


def _worker(args: argparse.Namespace) -> int:
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the model code prints goes to stderr, not into the replies
    import torch

    torch.set_num_threads(args.threads)
    golden = Path(args.golden)
    meta = json.loads((golden / f"{FIXTURE}.json").read_text())
    state = torch.load(golden / f"{FIXTURE}.state_dict.pt", map_location="cpu", weights_only=True)
    case = torch.load(golden / f"{FIXTURE}.case.pt", map_location="cpu", weights_only=True)
    cfg = json.loads(json.dumps(meta["upstream_constructor"]))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 2, args.frames, 25, 3, generator=g)  # PYSKL (N, M, T, V, C)
    y = torch.randint(0, 60, (args.batch,), generator=g)
    if args.worker == "upstream":
        import protogcn_upstream_shims as shims

        _, builder = shims.load_models()
        backbone = cfg["backbone"]
        backbone["tcn_ms_cfg"] = [_as_tuples(c) for c in backbone["tcn_ms_cfg"]]
        model = builder.build_model(cfg)
        model.load_state_dict(state, strict=True)
        model.backbone.prn.dropout.p = 0.0
        model.cls_head.csc_loss.avg_f = case["csc_memory_before"].clone()

        def run(inp: torch.Tensor, lab: torch.Tensor | None) -> tuple:
            if lab is None:
                feats, _ = model.backbone(inp)
                return model.cls_head(feats), None
            losses = model(inp[:, None], lab[:, None], return_loss=True)
            return None, losses["loss_cls"]

        def logits_of(inp: torch.Tensor) -> torch.Tensor:
            return model.cls_head(model.backbone(inp)[0])

    else:
        from skelab.engine.losses import compute_loss
        from skelab.models import build, load_upstream_checkpoint

        model = load_upstream_checkpoint(build("protogcn", **cfg), state)
        model.backbone.prn.dropout.p = 0.0
        model.cls_head.csc_loss.avg_f.copy_(case["csc_memory_before"])
        x = x.permute(0, 4, 2, 3, 1).contiguous()  # skelab (N, C, T, V, M)

        def run(inp: torch.Tensor, lab: torch.Tensor | None) -> tuple:
            logits = model(inp)
            return logits, None if lab is None else compute_loss(model, logits, lab)[0]

        def logits_of(inp: torch.Tensor) -> torch.Tensor:
            return model(inp)

    x1 = x[:1].clone()
    opt = torch.optim.SGD(
        model.parameters(), lr=0.025, momentum=0.9, nesterov=True, weight_decay=5e-4
    )

    def step() -> float:
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        run(x, y)[1].backward()
        opt.step()
        return time.perf_counter() - start

    def latency() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            run(x1, None)
        return time.perf_counter() - start

    for line in sys.stdin:
        op = json.loads(line)["op"]
        if op == "check":
            out: dict = {}
            for mode in ("eval", "train"):
                model.train(mode == "train")
                with torch.no_grad():
                    out[mode] = logits_of(x).tolist()
            memory = model.cls_head.csc_loss.avg_f.clone()
            model.train()
            with torch.no_grad():
                out["loss_train"] = float(run(x, y)[1])
            model.cls_head.csc_loss.avg_f = memory  # the check leaves the memory as it was
            reply.write(json.dumps(out) + "\n")
        elif op == "step":
            model.train()
            reply.write(json.dumps({"s": step()}) + "\n")
        elif op == "latency":
            model.eval()
            reply.write(json.dumps({"s": latency()}) + "\n")
        elif op == "quit":
            break
    return 0


class Side:
    """One worker process."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name = name
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.update({k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
        env["PROTOGCN_ROOT"] = str(Path(args.upstream).resolve())
        env["PYTHONPATH"] = str(HERE.parent) if name == "upstream" else ""
        cmd = [sys.executable, str(HERE), "--worker", name, "--golden", args.golden]
        cmd += ["--threads", str(args.threads), "--batch", str(args.batch)]
        cmd += ["--frames", str(args.frames)]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
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
        } | {"abs_dloss_train": abs(ours["loss_train"] - up["loss_train"])}
        times: dict[str, dict[str, list[float]]] = {
            s.name: {"step": [], "latency": []} for s in sides
        }
        for op, warm, reps in (("step", args.warmup, args.repeats), ("latency", 2, args.latency)):
            for r in range(warm + reps):
                for s in sides if r % 2 == 0 else sides[::-1]:
                    t = s.ask(op)["s"]
                    if r >= warm:
                        times[s.name][op].append(t)
                print(f"  {op} {r + 1}/{warm + reps}", file=sys.stderr)
    finally:
        for s in sides:
            s.close()
    med = {n: {op: statistics.median(v) for op, v in d.items()} for n, d in times.items()}
    return {
        "median_s": med,
        "raw_s": times,
        "step_speedup": med["upstream"]["step"] / med["skelab"]["step"],
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
        f"| train step, s | {m['upstream']['step']:.3f} | {m['skelab']['step']:.3f} | "
        f"**{row['step_speedup']:.2f}x** |",
        f"| batch-1 eval latency, ms | {1000 * m['upstream']['latency']:.1f} | "
        f"{1000 * m['skelab']['latency']:.1f} | {row['latency_speedup']:.2f}x |",
        "",
        f"Same weights: max |Δ logits| eval {eq['max_abs_dlogits_eval']:.1e}, train "
        f"{eq['max_abs_dlogits_train']:.1e}; |Δ loss| train {eq['abs_dloss_train']:.1e}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", default="/tmp/upstream_protogcn", help="upstream snapshot")
    parser.add_argument("--golden", default=str(REPO.parent / "shared" / "golden"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=100, help="clip length (configs: 100)")
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
        f"protogcn · upstream vs skelab · batch {args.batch} · T {args.frames} · CPU "
        f"{platform.machine()} · {args.threads} threads per side · torch {torch.__version__} · "
        "fp32 · train step = fwd + CE + 0.2 x class-specific contrastive loss + bwd + SGD · "
        f"median of {args.repeats} after {args.warmup} warm-up; batch-1 latency median of "
        f"{args.latency} · each side its own process, sides alternated"
    )
    text = table(row, header)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        result = {
            "header": header,
            "batch": args.batch,
            "frames": args.frames,
            "threads": args.threads,
            "torch": torch.__version__,
            "upstream": "firework8/ProtoGCN@ddf7f27 protogcn/models (RecognizerGCN, ProtoGCN)",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            **row,
        }
        (RESULTS / "protogcn.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "protogcn.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
