"""DeGCN training step on the CPU: upstream's own model code vs skelab before and after.

Protocol of benchmarks/_sidebyside.py (each side its own worker process, sides rotated every
round, medians of wall and process CPU time): `upstream` is WoominM/DeGCN_pytorch@a0a261f
`model.degcn.Model`, imported from a checkout of the repo given by `--upstream`, its root on
`sys.path` as main.py has it; `before` is skelab's code of an earlier commit (`--before DIR/src`,
optional); `after` is this working tree. All load the golden upstream state dict
(`../shared/golden/degcn_ntu60.state_dict.pt`, skelab through `load_upstream_checkpoint`), are
built with the golden constructor arguments (upstream's NTU60 X-Sub `model_args`) and draw the
same batch from the same seed.

A training step is zero_grad, forward, upstream main.py's loss (label-smoothed cross-entropy,
eps 0.1, of each of the two streams' logits, summed; skelab: `skelab.engine.losses.compute_loss`
on the model's `stream_logits()`), backward and an SGD step (momentum 0.9, Nesterov, weight
decay 4e-4). Latency: `model.eval()` + `torch.no_grad()` at batch 1. Before timing, each worker
reports its logits (eval and train mode) and the loss of the batch; the table gives the largest
differences from upstream's.

    git --git-dir=<mirror of WoominM/DeGCN_pytorch> archive HEAD model graph \\
        | tar -x -C /tmp/upstream_degcn
    git archive <commit> src | tar -x -C /tmp/skelab_before
    .venv/bin/python benchmarks/bench_degcn.py --upstream /tmp/upstream_degcn \\
        --before /tmp/skelab_before/src --before-commit <commit> --threads 1

Results: benchmarks/results/degcn.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import _sidebyside as sbs

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
RESULTS = sbs.RESULTS
FIXTURE = "degcn_ntu60"
SMOOTHING = 0.1  # upstream main.py LabelSmoothingCrossEntropy(eps=0.1)


def _worker(args: argparse.Namespace) -> int:
    reply = sbs.reply_channel()
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    golden = Path(args.golden)
    meta = json.loads((golden / f"{FIXTURE}.json").read_text())
    state = torch.load(golden / f"{FIXTURE}.state_dict.pt", map_location="cpu", weights_only=True)
    options = meta["upstream_constructor"]
    if args.worker == "upstream":
        from model.degcn import Model  # the upstream checkout is on sys.path

        model = Model(**options)
        model.load_state_dict(state, strict=True)

        def run(x: torch.Tensor, y: torch.Tensor | None) -> tuple:
            out = model(x)  # one logit tensor per stream
            loss = None
            if y is not None:
                loss = sum(F.cross_entropy(z, y, label_smoothing=SMOOTHING) for z in out)
            return sum(out), loss
    else:
        from skelab.engine.losses import compute_loss
        from skelab.models import build, load_upstream_checkpoint

        model = load_upstream_checkpoint(build("degcn", **options), state)

        def run(x: torch.Tensor, y: torch.Tensor | None) -> tuple:
            logits = model(x)
            loss = None
            if y is not None:
                loss = compute_loss(model, logits, y, label_smoothing=SMOOTHING)[0]
            return logits, loss

    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, 64, 25, 2, generator=g)
    y = torch.randint(0, 60, (args.batch,), generator=g)
    x1 = x[:1].clone()
    opt = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=4e-4
    )

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        run(x, y)[1].backward()
        opt.step()

    def latency() -> None:
        with torch.no_grad():
            run(x1, None)

    def check() -> dict:
        out: dict = {}
        for mode in ("eval", "train"):
            model.train(mode == "train")
            with torch.no_grad():
                logits, loss = run(x, y)
            out[mode] = logits.tolist()
            out[f"loss_{mode}"] = float(loss)
        return out

    title = (
        f"degcn · {args.worker} · one training step (fwd + loss + bwd + SGD) · batch "
        f"{args.batch} · T 64 · {args.threads} thread(s) · torch {torch.__version__}"
    )
    return sbs.serve_model(reply, model, check=check, step=step, title=title, latency=latency)


def _side(name: str, args: argparse.Namespace) -> sbs.Side:
    upstream = name == "upstream"
    cwd = Path(args.upstream).resolve() if upstream else REPO
    path = str(cwd) if upstream else sbs.skelab_pythonpath(name, args.before)
    env = {k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    cmd = [sys.executable, str(HERE), "--worker", name, "--golden", args.golden]
    cmd += ["--threads", str(args.threads), "--batch", str(args.batch)]
    return sbs.Side(name, cmd, env | {"PYTHONPATH": path}, cwd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sbs.add_model_arguments(parser, upstream="/tmp/upstream_degcn")
    args = parser.parse_args(argv)
    args.golden = str(Path(args.golden).resolve())
    if args.worker:
        return _worker(args)
    import torch

    row = sbs.measure_model("degcn", args, lambda n: _side(n, args), 64)
    if args.profile or args.flops:
        return 0
    header = (
        f"degcn · upstream vs skelab · batch {args.batch} · T 64 · CPU {platform.machine()} · "
        f"{args.threads} thread(s) per side · torch {torch.__version__} · fp32 · train step = "
        f"fwd + summed per-stream label-smoothed CE + bwd + SGD · median of {args.repeats} "
        f"after {args.warmup} warm-up; batch-1 latency median of {args.latency} · each side its "
        "own process, order rotated every round"
        + (f" · before = skelab {args.before_commit}" if args.before_commit else "")
    )
    text = sbs.model_table(row, header)
    print(text)
    if not args.no_save:
        result = {
            "header": header,
            "batch": args.batch,
            "threads": args.threads,
            "torch": torch.__version__,
            "upstream": "WoominM/DeGCN_pytorch@a0a261f model/degcn.py",
            "before_commit": args.before_commit,
            **row,
        }
        sbs.save_results("degcn", result, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
