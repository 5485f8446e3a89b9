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
RESULTS = HERE.parent / "results"
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


def measure(args: argparse.Namespace) -> dict:
    names = ["upstream"] + (["before"] if args.before else []) + ["after"]
    sides = [_side(n, args) for n in names]
    try:
        checks = {s.name: s.ask("check") for s in sides}
        up = checks["upstream"]
        equivalence = {
            n: {f"max_abs_dlogits_{m}": sbs.max_abs(c[m], up[m]) for m in ("eval", "train")}
            | {"abs_dloss_train": abs(c["loss_train"] - up["loss_train"])}
            for n, c in checks.items()
            if n != "upstream"
        }
        if args.flops:
            extra = {"batch": args.batch, "frames": args.frames}
            return {"profiles": sbs.write_flops(sides, "protogcn", RESULTS, extra)}
        if args.profile:
            return {
                "profiles": sbs.write_profiles(
                    sides, "protogcn", sbs.profile_tags(args.profile, args.profile_before), RESULTS
                )
            }
        times = {"step": sbs.alternate(sides, "step", args.warmup, args.repeats)}
        if args.latency:
            times["latency"] = sbs.alternate(sides, "latency", 2, args.latency)
    finally:
        for s in sides:
            s.close()
    return {
        "median_s": {op: sbs.medians(t) for op, t in times.items()},
        "raw_s": times,
        "equivalence": equivalence,
        "load": sbs.load_line(),
    }


def table(row: dict, header: str) -> str:
    med = row["median_s"]
    lines = [header, "", *sbs.speed_header(med["step"]), *sbs.speed_rows("train step", med["step"])]
    if "latency" in med:
        lines += sbs.speed_rows("batch-1 eval latency", med["latency"], 1000.0)
    lines += ["", f"At the end of the run: {row['load']}.", ""]
    for name, eq in row["equivalence"].items():
        lines.append(
            f"Same weights, {name} vs upstream: max |Δ logits| eval "
            f"{eq['max_abs_dlogits_eval']:.1e}, train {eq['max_abs_dlogits_train']:.1e}; "
            f"|Δ loss| train {eq['abs_dloss_train']:.1e}."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", default="/tmp/upstream_protogcn", help="upstream snapshot")
    parser.add_argument("--golden", default=str(REPO.parent / "shared" / "golden"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--before", default="", help="src/ folder of an earlier skelab commit")
    parser.add_argument("--before-commit", default="", help="recorded in the results")
    parser.add_argument("--frames", type=int, default=64, help="clip length (configs: 100)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency", type=int, default=5, help="timed batch-1 forwards (0: none)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument(
        "--profile", default="", help="only profile one step per side: tag of after"
    )
    parser.add_argument("--profile-before", default="before", help="profile tag of before")
    parser.add_argument("--flops", action="store_true", help="only count dense FLOPs per side")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.golden = str(Path(args.golden).resolve())
    if args.worker:
        return _worker(args)
    import torch

    row = measure(args)
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
            "before_commit": args.before_commit,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            **row,
        }
        (RESULTS / "protogcn.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "protogcn.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
