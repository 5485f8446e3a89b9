"""BlockGCN training step on the CPU: upstream's own model code vs skelab, same weights.

Each side runs in its own worker process (no shared imports, caches or allocator state):

* `upstream`: model/BlockGCN.py of a checkout of github.com/ZhouYuxuanYX/BlockGCN (`--upstream`,
  the repo root on `sys.path` as its main.py has it), with torch-topological, giotto-ph, gudhi,
  POT and einops importable from `--site` (e.g. `pip install --target DIR torch-topological
  giotto-ph gudhi POT einops --no-deps`), since upstream imports them at module level;
* `skelab`: `skelab.models.build("blockgcn")` from this working tree.

Both load the golden upstream state dict (`../shared/golden/blockgcn_ntu60.state_dict.pt`;
skelab through `load_upstream_checkpoint`), and draw the same batch from the same seed: raw
joints, the joint stream BlockGCN's feeder makes from them (every joint minus joint 21, whose
slot keeps its trajectory) and labels. Before timing each worker reports its logits in eval and
train mode and its gradient norm; the table gives skelab's relative error against upstream.

A training step is zero_grad, forward (upstream `model(x, one_hot(y), joint)`, skelab
`model(x, joint=joint)`), cross-entropy (upstream main.py's loss; its loss2 is zero), backward
and SGD (lr 0.05, momentum 0.9, Nesterov, weight decay 4e-4), float32 (upstream uses fp16
autocast on CUDA only). The coordinator asks the workers in turn, one step each, alternating the
order every round, so both see the same host load; figures are medians. Every worker uses the
same thread count.

    .venv/bin/python benchmarks/bench_blockgcn.py --upstream /tmp/upstream_blockgcn/repo \
        --site /tmp/upstream_blockgcn/site --batch 8 --repeats 3

Results: benchmarks/results/blockgcn.{json,md}.
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
GOLDEN = Path(os.environ.get("SKELAB_SHARED", REPO.parent / "shared")) / "golden"
TAG = "@@"  # prefix of protocol lines on a worker's stdout (anything else is ignored)
CENTER = 20  # 0-based joint 21, the joint stream's centre


def _batch(batch: int, window: int, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    joint = torch.randn(batch, 3, window, 25, 2, generator=g)
    x = joint - joint[:, :, :, CENTER : CENTER + 1]
    x[:, :, :, CENTER] = joint[:, :, :, CENTER]
    y = torch.randint(0, 60, (batch,), generator=g)
    return x, joint, y


def worker(args: argparse.Namespace) -> int:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    meta = json.loads((GOLDEN / "blockgcn_ntu60.json").read_text())
    state = torch.load(GOLDEN / "blockgcn_ntu60.state_dict.pt", weights_only=True)
    if args.worker == "upstream":
        sys.path[:0] = [args.site, args.upstream]
        os.chdir(args.upstream)
        from model.BlockGCN import Model  # noqa: PLC0415 - upstream code, from its checkout

        model = Model(**meta["upstream_constructor"])
        model.load_state_dict(state, strict=True)

        def run(x, joint, y):
            return model(x, F.one_hot(y, num_classes=60), joint)[0]
    else:
        from skelab.models import build, load_upstream_checkpoint

        model = load_upstream_checkpoint(build("blockgcn"), state)

        def run(x, joint, y):
            return model(x, joint=joint)

    x, joint, y = _batch(args.batch, args.window, args.seed)
    opt = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=4e-4
    )

    def reply(obj: dict) -> None:
        print(TAG + json.dumps(obj), flush=True)

    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "check":
            out = {}
            for mode in ("eval", "train"):
                model.train(mode == "train")
                with torch.no_grad():
                    out[mode] = run(x, joint, y).tolist()
            model.train()
            model.zero_grad(set_to_none=True)
            F.cross_entropy(run(x, joint, y), y).backward()
            grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
            out["grad"] = grads.tolist()
            model.zero_grad(set_to_none=True)
            reply(out)
        elif cmd == "step":
            model.train()
            start, cpu = time.perf_counter(), time.process_time()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(run(x, joint, y), y).backward()
            opt.step()
            reply({"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu})
        elif cmd == "quit":
            break
    return 0


def _rel(a, b) -> float:
    import torch

    a, b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    return float((a - b).norm() / b.norm())


class Side:
    def __init__(self, name: str, args: argparse.Namespace) -> None:
        cmd = [sys.executable, str(HERE), "--worker", name, "--batch", str(args.batch)]
        cmd += ["--window", str(args.window), "--threads", str(args.threads)]
        cmd += ["--seed", str(args.seed), "--upstream", args.upstream, "--site", args.site]
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        self.name = name
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def ask(self, cmd: str) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith(TAG):
                return json.loads(line[len(TAG) :])
        raise RuntimeError(f"{self.name} worker ended (exit {self.proc.wait()})")

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        self.proc.wait()


def coordinate(args: argparse.Namespace) -> int:
    import torch

    sides = {name: Side(name, args) for name in ("upstream", "skelab")}
    try:
        checks = {name: side.ask("check") for name, side in sides.items()}
        up, sk = checks["upstream"], checks["skelab"]
        equiv = {
            "rel_err_logits_eval": _rel(sk["eval"], up["eval"]),
            "rel_err_logits_train": _rel(sk["train"], up["train"]),
            "rel_err_grad": _rel(sk["grad"], up["grad"]),
        }
        times = {name: {"wall": [], "cpu": []} for name in sides}
        for i in range(args.warmup + args.repeats):
            order = list(sides) if i % 2 == 0 else list(sides)[::-1]
            for name in order:
                got = sides[name].ask("step")
                if i >= args.warmup:
                    for key in ("wall", "cpu"):
                        times[name][key].append(got[key])
                print(f"round {i + 1}: {name} {got}", file=sys.stderr, flush=True)
    finally:
        for side in sides.values():
            side.close()
    med = {name: {k: statistics.median(v) for k, v in ts.items()} for name, ts in times.items()}
    speedup = {k: med["upstream"][k] / med["skelab"][k] for k in ("wall", "cpu")}
    header = (
        f"blockgcn · batch {args.batch} · T {args.window} · CPU ({platform.machine()}), "
        f"{args.threads} threads · torch {torch.__version__} · float32 · median of "
        f"{args.repeats} after {args.warmup} warm-up, sides in their own processes, interleaved"
    )
    lines = [
        header,
        f"{'train step':<24} {'skelab s':>9} {'upstream s':>11} {'skelab sam/s':>13} "
        f"{'upstream sam/s':>15} {'speed-up (upstream/skelab)':>27}",
        *(
            f"{label:<24} {med['skelab'][k]:>9.3f} {med['upstream'][k]:>11.3f} "
            f"{args.batch / med['skelab'][k]:>13.2f} {args.batch / med['upstream'][k]:>15.2f} "
            f"{speedup[k]:>26.2f}x"
            for label, k in (("wall clock", "wall"), ("process CPU time", "cpu"))
        ),
        f"equivalence (golden weights, same batch): rel err logits eval "
        f"{equiv['rel_err_logits_eval']:.1e}, train {equiv['rel_err_logits_train']:.1e}; "
        f"gradient rel err {equiv['rel_err_grad']:.1e}",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        result = {
            "model": "blockgcn",
            "batch": args.batch,
            "window": args.window,
            "threads": args.threads,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "torch": torch.__version__,
            "median_step_s": med,
            "speedup_upstream_over_skelab": speedup,
            "all_step_s": times,
            "equivalence": equiv,
            "host_load_avg_at_end": os.getloadavg()[0],
        }
        (RESULTS / "blockgcn.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "blockgcn.md").write_text("```\n" + text + "\n```\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", default="/tmp/upstream_blockgcn/repo", help="BlockGCN checkout")
    ap.add_argument("--site", default="/tmp/upstream_blockgcn/site", help="upstream's packages")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-save", action="store_true", help="print only; write no results")
    ap.add_argument("--worker", choices=("upstream", "skelab"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    return worker(args) if args.worker else coordinate(args)


if __name__ == "__main__":
    raise SystemExit(main())
