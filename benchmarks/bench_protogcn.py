"""ProtoGCN training step on the CPU: upstream's own model code vs skelab before and after.

Upstream is firework8/ProtoGCN@ddf7f27 PYSKL `RecognizerGCN` with the `ProtoGCN` backbone and
`SimpleHead`, imported from a snapshot unpacked outside the repo through
benchmarks/protogcn_upstream_shims.py, which stands in for mmcv.
Both load the golden upstream state dict (`../shared/golden/protogcn_ntu60.state_dict.pt`,
skelab through `load_upstream_checkpoint`), are built from the golden `model` dict (NTU60 X-Sub
joint: 400 prototypes, contrastive weight 0.2), start from the golden contrastive memory, turn
the PRN dropout off, and draw the same batch from the same seed.

A training step is zero_grad, forward, the training loss (upstream: `forward_train`'s
`loss_cls` = cross-entropy + 0.2 * class-specific contrastive loss, which also moves the
memory; skelab: `skelab.engine.losses.compute_loss`, the same terms), backward and an SGD step
(the configs' lr 0.025, momentum 0.9, Nesterov, weight decay 5e-4). Latency: `model.eval()` +
`torch.no_grad()` at batch 1 (upstream: backbone + head logits, as `forward_test` computes them
before its softmax). The sides are `upstream`, optionally `before` (skelab's code of an earlier
commit, `--before DIR/src`) and `after` (this working tree), run as benchmarks/_sidebyside.py
describes (own processes, order rotated every round, medians of wall and process CPU time).
Before timing, each worker reports its logits (eval and train mode) and the loss of the batch;
the table gives the largest differences from upstream's.

    mkdir -p /tmp/upstream_protogcn
    git --git-dir=<mirror of firework8/ProtoGCN> archive HEAD | tar -x -C /tmp/upstream_protogcn
    git archive <commit> src | tar -x -C /tmp/skelab_before
    .venv/bin/python benchmarks/bench_protogcn.py --upstream /tmp/upstream_protogcn \\
        --before /tmp/skelab_before/src --before-commit <commit> --threads 1

Results: benchmarks/results/protogcn.{json,md}.
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
FIXTURE = "protogcn_ntu60"


def _as_tuples(value):
    """JSON lists back to the tuples PYSKL's config has (mstcn asserts tuples)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list) else value


def _worker(args: argparse.Namespace) -> int:
    reply = sbs.reply_channel()
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

        def memory() -> torch.Tensor:
            return model.cls_head.csc_loss.avg_f.clone()

        def set_memory(value: torch.Tensor) -> None:
            model.cls_head.csc_loss.avg_f = value

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

        def memory() -> torch.Tensor:
            return model.cls_head.csc_loss.avg_f.clone()

        def set_memory(value: torch.Tensor) -> None:
            model.cls_head.csc_loss.avg_f.copy_(value)

    x1 = x[:1].clone()
    opt = torch.optim.SGD(
        model.parameters(), lr=0.025, momentum=0.9, nesterov=True, weight_decay=5e-4
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
                out[mode] = logits_of(x).tolist()
        kept = memory()
        model.train()
        with torch.no_grad():
            out["loss_train"] = float(run(x, y)[1])
        set_memory(kept)  # the check leaves the memory as it was
        return out

    title = (
        f"protogcn · {args.worker} · one training step (fwd + loss + bwd + SGD) · batch "
        f"{args.batch} · T {args.frames} · {args.threads} thread(s) · torch {torch.__version__}"
    )
    return sbs.serve_model(reply, model, check=check, step=step, title=title, latency=latency)


def _side(name: str, args: argparse.Namespace) -> sbs.Side:
    env = {k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PROTOGCN_ROOT"] = str(Path(args.upstream).resolve())
    upstream = name == "upstream"
    env["PYTHONPATH"] = str(HERE.parent) if upstream else sbs.skelab_pythonpath(name, args.before)
    cmd = [sys.executable, str(HERE), "--worker", name, "--golden", args.golden]
    cmd += ["--threads", str(args.threads), "--batch", str(args.batch)]
    cmd += ["--frames", str(args.frames)]
    return sbs.Side(name, cmd, env, REPO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sbs.add_model_arguments(parser, upstream="/tmp/upstream_protogcn")
    parser.add_argument("--frames", type=int, default=64, help="clip length (configs: 100)")
    args = parser.parse_args(argv)
    args.golden = str(Path(args.golden).resolve())
    if args.worker:
        return _worker(args)
    import torch

    row = sbs.measure_model("protogcn", args, lambda n: _side(n, args), args.frames)
    if args.profile or args.flops:
        return 0
    header = (
        f"protogcn · upstream vs skelab · batch {args.batch} · T {args.frames} · CPU "
        f"{platform.machine()} · {args.threads} thread(s) per side · torch {torch.__version__} · "
        "fp32 · train step = fwd + CE + 0.2 x class-specific contrastive loss + bwd + SGD · "
        f"median of {args.repeats} after {args.warmup} warm-up; batch-1 latency median of "
        f"{args.latency} · each side its own process, order rotated every round"
        + (f" · before = skelab {args.before_commit}" if args.before_commit else "")
    )
    text = sbs.model_table(row, header)
    print(text)
    if not args.no_save:
        result = {
            "header": header,
            "batch": args.batch,
            "frames": args.frames,
            "threads": args.threads,
            "torch": torch.__version__,
            "upstream": "firework8/ProtoGCN@ddf7f27 protogcn/models (RecognizerGCN, ProtoGCN)",
            "before_commit": args.before_commit,
            **row,
        }
        sbs.save_results("protogcn", result, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
