"""BlockGCN training step on the CPU: upstream's own model code vs skelab before and after.

Each side runs in its own worker process (benchmarks/_sidebyside.py: no shared imports, caches
or allocator state; order rotated every round; medians of wall and process CPU time):

* `upstream`: model/BlockGCN.py of a checkout of github.com/ZhouYuxuanYX/BlockGCN (`--upstream`,
  the repo root on `sys.path` as its main.py has it), with torch-topological, giotto-ph, gudhi,
  POT and einops importable from `--site` (e.g. `pip install --target DIR torch-topological
  giotto-ph gudhi POT einops --no-deps`), since upstream imports them at module level;
* `before` (optional, `--before DIR/src`): `skelab.models.build("blockgcn")` from an earlier
  commit (`git archive <commit> src | tar -x -C DIR`);
* `after`: `skelab.models.build("blockgcn")` from this working tree.

All load the golden upstream state dict (`../shared/golden/blockgcn_ntu60.state_dict.pt`;
skelab through `load_upstream_checkpoint`), and draw the same batch from the same seed: raw
joints, the joint stream BlockGCN's feeder makes from them (every joint minus joint 21, whose
slot keeps its trajectory) and labels. Before timing each worker reports its logits in eval and
train mode and its gradient norm; the table gives skelab's relative error against upstream.

A training step is zero_grad, forward (upstream `model(x, one_hot(y), joint)`, skelab
`model(x, joint=joint)`), cross-entropy (upstream main.py's loss; its loss2 is zero), backward
and SGD (lr 0.05, momentum 0.9, Nesterov, weight decay 4e-4), float32 (upstream uses fp16
autocast on CUDA only). Every worker uses the same thread count.

    .venv/bin/python benchmarks/bench_blockgcn.py --upstream /tmp/upstream_blockgcn/repo \
        --site /tmp/upstream_blockgcn/site --before /tmp/skelab_before/src --before-commit <commit>

Results: benchmarks/results/blockgcn.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import _sidebyside as sbs

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
RESULTS = HERE.parent / "results"
GOLDEN = Path(os.environ.get("SKELAB_SHARED", REPO.parent / "shared")) / "golden"
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
    reply = sbs.reply_channel()
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

    def check() -> dict:
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
        return out

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(run(x, joint, y), y).backward()
        opt.step()

    title = (
        f"blockgcn · {args.worker} · one training step (fwd + CE + bwd + SGD) · batch "
        f"{args.batch} · T {args.window} · {args.threads} thread(s) · torch {torch.__version__}"
    )
    return sbs.serve_model(reply, model, check=check, step=step, title=title)


def _rel(a, b) -> float:
    import torch

    a, b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    return float((a - b).norm() / b.norm())


def _side(name: str, args: argparse.Namespace) -> sbs.Side:
    cmd = [sys.executable, str(HERE), "--worker", name, "--batch", str(args.batch)]
    cmd += ["--window", str(args.window), "--threads", str(args.threads)]
    cmd += ["--seed", str(args.seed), "--upstream", args.upstream, "--site", args.site]
    env = {k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = sbs.skelab_pythonpath(name, args.before) if name == "before" else ""
    return sbs.Side(name, cmd, env, REPO)


def coordinate(args: argparse.Namespace) -> int:
    import torch

    names = ["upstream"] + (["before"] if args.before else []) + ["after"]
    sides = [_side(n, args) for n in names]
    try:
        checks = {s.name: s.ask("check") for s in sides}
        up = checks.pop("upstream")
        equiv = {
            name: {
                "rel_err_logits_eval": _rel(c["eval"], up["eval"]),
                "rel_err_logits_train": _rel(c["train"], up["train"]),
                "rel_err_grad": _rel(c["grad"], up["grad"]),
            }
            for name, c in checks.items()
        }
        if args.flops:
            sbs.write_flops(
                sides, "blockgcn", RESULTS, {"batch": args.batch, "window": args.window}
            )
            return 0
        if args.profile:
            sbs.write_profiles(
                sides, "blockgcn", sbs.profile_tags(args.profile, args.profile_before), RESULTS
            )
            return 0
        times = sbs.alternate(sides, "step", args.warmup, args.repeats)
    finally:
        for side in sides:
            side.close()
    med = sbs.medians(times)
    load = sbs.load_line()
    header = (
        f"blockgcn · batch {args.batch} · T {args.window} · CPU ({platform.machine()}), "
        f"{args.threads} thread(s) per side · torch {torch.__version__} · float32 · median of "
        f"{args.repeats} after {args.warmup} warm-up, sides in their own processes, order "
        "rotated every round" + (f" · before = skelab {args.before_commit}" if args.before else "")
    )
    lines = [header, "", *sbs.speed_header(med), *sbs.speed_rows("train step", med)]
    lines += ["", f"At the end of the run: {load}.", ""]
    for name, eq in equiv.items():
        lines.append(
            f"Golden weights, same batch, {name} vs upstream: rel err logits eval "
            f"{eq['rel_err_logits_eval']:.1e}, train {eq['rel_err_logits_train']:.1e}; "
            f"gradient rel err {eq['rel_err_grad']:.1e}."
        )
    text = "\n".join(lines)
    print(text)
    if not args.no_save:
        result = {
            "model": "blockgcn",
            "header": header,
            "batch": args.batch,
            "window": args.window,
            "threads": args.threads,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "torch": torch.__version__,
            "before_commit": args.before_commit,
            "median_step_s": med,
            "all_step_s": times,
            "equivalence": equiv,
            "load": load,
        }
        sbs.save_results("blockgcn", result, text)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", default="/tmp/upstream_blockgcn/repo", help="BlockGCN checkout")
    ap.add_argument("--site", default="/tmp/upstream_blockgcn/site", help="upstream's packages")
    sbs.add_common_arguments(ap, repeats=3)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", default="", help="only profile one step per side: tag of after")
    ap.add_argument("--profile-before", default="before", help="profile tag of before")
    ap.add_argument("--flops", action="store_true", help="only count dense FLOPs per side")
    ap.add_argument("--worker", choices=sbs.SIDES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    return worker(args) if args.worker else coordinate(args)


if __name__ == "__main__":
    raise SystemExit(main())
