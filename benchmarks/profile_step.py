"""Profile one CPU training step per model: by operator and by module.

One step is zero_grad, forward, cross-entropy (plus the model's auxiliary losses), backward and
an SGD step (momentum 0.9, Nesterov), batch 8, window 64, with the golden configuration of each
model (dropouts 0), after one warm-up step. `torch.profiler` records it twice: once flat (top
operators by self CPU time, forward and backward together) and once with a `record_function`
around every direct child module of the blocks, so the module table says where forward time
goes (backward ops are attributed to their forward op's autograd node, listed in the operator
table as `...Backward0`).

    .venv/bin/python benchmarks/profile_step.py --models skateformer --tag before

Writes benchmarks/results/profile_<model>_<tag>.txt.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.profiler import ProfilerActivity, profile, record_function

from skelab.models import build, load_upstream_checkpoint

HERE = Path(__file__).resolve()
RESULTS = HERE.parent / "results"
GOLDEN = HERE.parents[2] / "shared" / "golden"

FIXTURES = {
    "skateformer": ("skateformer_ntu60", 24, True),
    "ctrgcn": ("ctrgcn_ntu60", 25, False),
    "hypergcn": ("hypergcn_base_ntu60", 25, False),
    "msg3d": ("msg3d_ntu60", 25, False),
    "freqmixformer": ("freqmixformer_ntu60", 25, False),
    "stgcn": ("stgcn_ntu60", 25, False),
}


def load(name: str, golden: Path) -> nn.Module:
    """The model in its golden configuration with the golden (upstream-key) weights."""
    fixture = FIXTURES[name][0]
    meta = json.loads((golden / f"{fixture}.json").read_text())
    state = torch.load(golden / f"{fixture}.state_dict.pt", map_location="cpu", weights_only=True)
    return load_upstream_checkpoint(build(name, **meta["upstream_constructor"]), state)


def label_modules(model: nn.Module, depth: int) -> list:
    """Wrap the forward of every module `depth` levels down in a named `record_function`."""
    handles = []
    for name, module in model.named_modules():
        if name and name.count(".") < depth:

            def pre(mod, inp, _name=name):
                mod._prof_ctx = record_function(f"## {_name} ({type(mod).__name__})")
                mod._prof_ctx.__enter__()

            def post(mod, inp, out):
                mod._prof_ctx.__exit__(None, None, None)

            handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    return handles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="skateformer,ctrgcn,hypergcn,msg3d,freqmixformer")
    parser.add_argument("--tag", default="before", help="file suffix: profile_<model>_<tag>.txt")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--depth", type=int, default=4, help="module nesting depth to label")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--golden", type=Path, default=GOLDEN)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        profile_model(name, args)
    return 0


def profile_model(name: str, args: argparse.Namespace) -> None:
    """Profile one training step of `name`; write its operator and module tables."""
    _, points, needs_t = FIXTURES[name]
    model = load(name, args.golden).train()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, args.window, points, 2, generator=g)
    y = torch.randint(0, 60, (args.batch,), generator=g)
    inputs = (x,)
    if needs_t:
        inputs += (torch.linspace(-1, 1, args.window).expand(args.batch, -1).contiguous(),)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    aux = getattr(model, "auxiliary_losses", None)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(*inputs), y)
        if aux is not None:
            loss = loss + sum(aux().values())
        loss.backward()
        opt.step()

    step()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as flat:
        step()
    handles = label_modules(model, args.depth)
    with profile(activities=[ProfilerActivity.CPU]) as by_module:
        step()
    for h in handles:
        h.remove()
    ops = flat.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top)
    mods = [e for e in by_module.key_averages() if e.key.startswith("## ")]
    mods.sort(key=lambda e: e.cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in flat.key_averages())
    lines = [
        f"{name} · one training step (fwd + CE + bwd + SGD) · batch {args.batch} · T "
        f"{args.window} · {args.threads} threads · torch {torch.__version__} · CPU",
        f"total self CPU time of the step: {total / 1e6:.3f} s (profiler on; loaded machine)",
        "",
        "## top operators by self CPU time (forward and backward)",
        ops,
        "## modules by total forward CPU time (nesting depth <= "
        f"{args.depth}; parents include children)",
        f"{'module':<70} {'calls':>6} {'total ms':>10} {'share of step':>14}",
    ]
    for e in mods[: 3 * args.top]:
        lines.append(
            f"{e.key[3:]:<70} {e.count:>6} {e.cpu_time_total / 1e3:>10.1f}"
            f" {e.cpu_time_total / total:>13.1%}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile_{name}_{args.tag}.txt"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out} ({total / 1e6:.2f} s)")


if __name__ == "__main__":
    raise SystemExit(main())
